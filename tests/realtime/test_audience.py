"""Streams follow the same rules as the REST timelines, proved over a matrix.

``realtime/audience.py`` decides in memory who gets a status; the REST timelines
decide in SQL (``home_query``, ``public_query``, ``tag_query`` and
``visibility.visible_clause``). Here a seeded random society of accounts (follows,
follows without reblogs, blocks both ways, mutes active and expired, a suspended
author, mentions, replies, reblogs, tags, followed tags (in any case, some followed
then unfollowed), media, remote posts) is built, and for every viewer and every
status both sides must agree.

The second test drives the hub itself: connections are open *before* the
relationships are made, so its indexes must follow ``RelationshipChanged`` events,
and what it delivers must equal the REST timelines.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import select, update

from szpak.api.deps import lookup_token
from szpak.api.routes.timelines import home_query, public_query, tag_query
from szpak.domain import oauth, relationships, statuses, tag_follows
from szpak.domain.accounts import create_user
from szpak.domain.errors import DomainError
from szpak.domain.statuses import StatusDraft
from szpak.domain.visibility import visible_clause
from szpak.realtime import audience
from szpak.realtime.hub import Hub, facts_from_bundle
from szpak.realtime.streams import PUBLIC_STREAMS
from szpak.storage.models import Account, Follow, Mute, Status
from szpak.storage.queries import load_bundle

pytestmark = pytest.mark.xdist_group("realtime-audience")

TAGS = ("kraków", "smok")
#: Public streams compared, with the (local, remote, only_media) flags of GET /api/v1/timelines/public
#: (one per code path: each SQL timeline query costs tens of milliseconds).
PUBLIC_FLAGS = {
    "public": (False, False, False),
    "public:local": (True, False, False),
    "public:remote:media": (False, True, True),
}
#: Hashtag streams compared: (tag, local only).
HASHTAGS = (("kraków", False), ("smok", True))


class Society:
    """Accounts, relationships and posts, made with the domain actions."""

    def __init__(self, ctx: Any, seed: int, size: int = 7) -> None:
        self.ctx = ctx
        self.rng = random.Random(seed)
        self.size = size
        self.ids: list[int] = []
        self.tokens: dict[int, str] = {}

    async def act(self, actor_id: int, fn: Any, *args: Any, **kw: Any) -> Any:
        try:
            async with self.ctx.tx() as tx:
                actor = await tx.session.get(Account, actor_id)
                return await fn(tx, actor, *args, **kw)
        except DomainError:
            return None  # not allowed (a blocked follow, an invisible reblog...): skip it

    async def make_accounts(self, prefix: str) -> None:
        for n in range(self.size):
            async with self.ctx.tx() as tx:
                user = await create_user(
                    tx, username=f"{prefix}{n}", email=f"{prefix}{n}@example.com", password="sekretne-haslo"
                )
                token, _ = await oauth.issue_token(tx, application_id=None, user_id=user.id, scopes=["read"])
            self.ids.append(user.account_id)
            self.tokens[user.account_id] = token

    async def make_relationships(self) -> None:
        rng = self.rng
        pairs = [(a, b) for a in self.ids for b in self.ids if a != b]
        for a, b in pairs:
            if rng.random() < 0.55:
                await self.act(a, relationships.follow, b, reblogs=rng.random() > 0.25)
        for a, b in pairs:
            roll = rng.random()
            if roll < 0.08:
                await self.act(a, relationships.block, b)
            elif roll < 0.2:
                await self.act(a, relationships.mute, b, duration=0 if rng.random() < 0.6 else 3600)

    async def make_tag_follows(self) -> None:
        """Followed hashtags bring public posts into home (``followed_tags_clause``); written
        in any case, as clients send them, and some unfollowed again."""
        rng = self.rng
        for account in self.ids:
            for tag in (*TAGS, "nikt"):  # "nikt": a tag no post uses
                roll = rng.random()
                if roll < 0.7:
                    await self.act(account, tag_follows.follow, rng.choice([tag, tag.upper(), f"#{tag.capitalize()}"]))
                if roll < 0.1:
                    await self.act(account, tag_follows.unfollow, tag)

    async def make_posts(self, rounds: int = 2) -> list[int]:
        rng = self.rng
        made: list[int] = []
        for _ in range(rounds):
            for author in self.ids:
                for visibility in ("public", "unlisted", "private", "direct"):
                    text = "Wpis"
                    if rng.random() < 0.6:
                        other = rng.choice([i for i in self.ids if i != author])
                        text += f" @{await self.username(other)}"
                    if rng.random() < 0.6:
                        text += f" #{rng.choice(TAGS)}"
                    reply_to = rng.choice(made) if made and rng.random() < 0.35 else None
                    draft = StatusDraft(text=text, visibility=visibility, in_reply_to_id=reply_to)
                    st = await self.act(author, statuses.create_status, draft)
                    if st is not None:
                        made.append(st.id)
                if made and rng.random() < 0.8:
                    rb = await self.act(author, statuses.reblog, rng.choice(made))
                    if rb is not None and rb.id not in made:
                        made.append(rb.id)
        return made

    async def username(self, account_id: int) -> str:
        async with self.ctx.read() as s:
            return str(await s.scalar(select(Account.username).where(Account.id == account_id)))


async def sql_sets(ctx: Any, viewer: int, ids: list[int]) -> dict[str, set[int]]:
    """What the REST timelines (SQL) show this viewer, among ``ids``."""

    async def run(query: Any) -> set[int]:
        async with ctx.read() as s:
            return {st.id for st in await s.scalars(query.where(Status.id.in_(ids)))}

    out = {"home": await run(home_query(viewer)), "visible": await run(select(Status).where(visible_clause(viewer)))}
    for name, (local, remote, media) in PUBLIC_FLAGS.items():
        out[name] = await run(public_query(viewer, local=local, remote=remote, only_media=media))
    for tag, local in HASHTAGS:
        query = tag_query(viewer, tag, any_=[], all_=[], none=[], local=local, remote=False, only_media=False)
        out[f"hashtag{':local' if local else ''}#{tag}"] = await run(query)
    return out


async def memory_sets(ctx: Any, viewer: int, facts: dict[int, audience.StatusFacts]) -> dict[str, set[int]]:
    """What ``realtime/audience.py`` would stream to this viewer, with relations loaded as the hub loads them."""
    now = audience.utcnow()
    async with ctx.read() as s:
        rel = await audience.load_relations(s, viewer)
        no_reblogs = set(
            await s.scalars(
                select(Follow.target_account_id).where(Follow.account_id == viewer, Follow.show_reblogs.is_(False))
            )
        )
    out = {
        "home": {
            i for i, f in facts.items()
            if audience.home_accepts(rel, f, now, reblogs_hidden=f.author_id in no_reblogs)
        },
        "visible": {i for i, f in facts.items() if audience.may_see(rel, f)},
    }
    for name in PUBLIC_FLAGS:
        out[name] = {i for i, f in facts.items() if audience.public_accepts(rel, f, now, PUBLIC_STREAMS[name])}
    for tag, local in HASHTAGS:
        key = f"hashtag{':local' if local else ''}#{tag}"
        out[key] = {i for i, f in facts.items() if audience.hashtag_accepts(rel, f, now, tag, local_only=local)}
    return out


async def load_facts(ctx: Any, ids: list[int]) -> dict[int, audience.StatusFacts]:
    facts = {}
    async with ctx.read() as s:
        for st in await s.scalars(select(Status).where(Status.id.in_(ids))):
            facts[st.id] = facts_from_bundle(st, await load_bundle(s, [st], None))
    return facts


async def test_stream_rules_equal_the_rest_timelines(app: Any) -> None:
    ctx = app.state.ctx
    society = Society(ctx, seed=1, size=8)
    await society.make_accounts("s_")
    await society.make_relationships()
    await society.make_tag_follows()
    ids = await society.make_posts(rounds=3)
    rng = society.rng
    async with ctx.tx() as tx:
        # What no action makes yet: remote posts, media, an expired mute, a suspended author.
        sample = rng.sample(ids, len(ids) // 3)
        await tx.session.execute(update(Status).where(Status.id.in_(sample[::2])).values(local=False))
        await tx.session.execute(update(Status).where(Status.id.in_(sample[1::2])).values(has_media=True))
        await tx.session.execute(
            update(Mute).where(Mute.expires_at.is_not(None)).values(expires_at=datetime.now(UTC) - timedelta(1))
        )
        await tx.session.execute(
            update(Account).where(Account.id == society.ids[-1]).values(suspended_at=datetime.now(UTC))
        )
    facts = await load_facts(ctx, ids)
    compared = 0
    through_tags: set[int] = set()
    for viewer in society.ids:
        expected = await sql_sets(ctx, viewer, ids)
        got = await memory_sets(ctx, viewer, facts)
        for name, wanted in expected.items():
            assert got[name] == wanted, f"viewer {viewer}, {name}: extra {got[name] - wanted}, missing {wanted - got[name]}"
            compared += len(wanted)
        # Followed hashtags matter here: some home post comes only through one.
        async with ctx.read() as s:
            rel = await audience.load_relations(s, viewer)
        through_tags |= {
            i for i in expected["home"]
            if facts[i].author_id != viewer and facts[i].author_id not in rel.following
        }
    assert compared > 200  # the matrix is not trivially empty
    assert through_tags, "no home post came through a followed hashtag: the society does not test them"


async def test_the_hub_delivers_what_the_rest_timelines_show(app: Any) -> None:
    ctx = app.state.ctx
    hub: Hub = app.state.hub
    society = Society(ctx, seed=7, size=8)
    await society.make_accounts("h_")
    keys = [("user",), *[(name,) for name in PUBLIC_FLAGS], *[("hashtag:local" if lo else "hashtag", t) for t, lo in HASHTAGS]]
    conns = {}
    for account_id in society.ids:
        viewer = await lookup_token(ctx, app.state.token_cache, society.tokens[account_id])
        assert viewer is not None
        conn = await hub.open(viewer, "ws", society.tokens[account_id])
        for key in keys:
            await hub.subscribe(conn, key)
        conns[account_id] = conn
    # Relationships and followed hashtags change while the connections are open: the hub must keep up.
    await society.make_relationships()
    await society.make_tag_follows()
    ids = await society.make_posts(rounds=2)
    await hub.sync()

    through_tags: set[int] = set()
    for viewer, conn in conns.items():
        delivered: dict[str, set[int]] = {}
        while not conn.queue.empty():
            frame = orjson.loads(conn.queue.get_nowait())
            if frame["event"] == "update":
                stream = frame["stream"]
                name = stream[0] if len(stream) == 1 else f"{stream[0]}#{stream[1]}"
                delivered.setdefault(name, set()).add(int(orjson.loads(frame["payload"])["id"]))
        expected = await sql_sets(ctx, viewer, ids)
        assert delivered.get("user", set()) == expected["home"], f"home of {viewer}"
        async with ctx.read() as s:
            followed = set(await s.scalars(select(Follow.target_account_id).where(Follow.account_id == viewer)))
            authors = dict((await s.execute(select(Status.id, Status.account_id).where(Status.id.in_(expected["home"])))).all())
        through_tags |= {i for i, a in authors.items() if a != viewer and a not in followed}
        for name in PUBLIC_FLAGS:
            assert delivered.get(name, set()) == expected[name], f"{name} of {viewer}"
        for name in expected:
            if name.startswith("hashtag"):
                assert delivered.get(name, set()) == expected[name], f"{name} of {viewer}"
    assert through_tags, "no home post came through a followed hashtag: the society does not test them"
    for conn in conns.values():
        hub.close(conn)
    assert hub.accounts == {} and hub.followers == {} and not hub.tag_followers  # nothing left behind
