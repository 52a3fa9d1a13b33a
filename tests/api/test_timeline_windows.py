"""The home timeline is evaluated window by window (api/routes/timelines.py, ``windowed_ids``);
over random worlds its pages must equal the one-statement query's, for every viewer and
for random ``max_id``/``since_id``/``limit``. Windows are made tiny here so that most pages
cross several of them."""

from __future__ import annotations

import random
from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import BigInteger, bindparam, select

from szpak.api.routes import timelines
from szpak.domain import relationships, tag_follows
from szpak.domain.errors import DomainError
from szpak.domain.statuses import StatusDraft, create_status, reblog
from szpak.storage.models import Account, Follow, Status, StatusTag, TagFollow
from szpak.storage.models.base import UTCDateTime
from szpak.storage.queries import fetch_raw

VISIBILITIES = ("public", "unlisted", "private", "direct")


async def _world(client: Any, rng: random.Random, users: int, posts: int) -> list[int]:
    made = [await client.make_user(f"w{i}") for i in range(users)]
    ids = [int(u.id) for u in made]
    names = {int(u.id): u.username for u in made}
    ctx = client.app.state.ctx
    status_ids: list[int] = []

    async def run(actor_id: int, fn: Any, *args: Any, **kw: Any) -> Any:
        try:
            async with ctx.tx() as tx:
                actor = await tx.session.get(Account, actor_id)
                return await fn(tx, actor, *args, **kw)
        except DomainError:
            return None

    for a in ids:
        for b in rng.sample(ids, k=max(1, users // 2)):
            if a != b:
                await run(a, relationships.follow, b, reblogs=rng.random() > 0.2)
    for a in ids[: users // 2]:  # half the viewers follow a hashtag or two
        for tag in rng.sample(["kawa", "herbata", "rower"], k=rng.choice([1, 2])):
            await run(a, tag_follows.follow, tag)
    for _ in range(posts):
        author = rng.choice(ids)
        roll = rng.random()
        if roll < 0.15 and status_ids:
            st = await run(author, reblog, rng.choice(status_ids))
        else:
            mention = f"@{names[rng.choice(ids)]} " if rng.random() < 0.3 else ""
            if rng.random() < 0.4:
                mention += f"#{rng.choice(['kawa', 'herbata', 'rower', 'inne'])} "
            reply_to = rng.choice(status_ids) if status_ids and rng.random() < 0.25 else None
            draft = StatusDraft(text=f"{mention}wpis {rng.random():.5f}", visibility=rng.choice(VISIBILITIES),
                                in_reply_to_id=reply_to)
            st = await run(author, create_status, draft)
        if st is not None:
            status_ids.append(st.id)
        if rng.random() < 0.05:
            await run(rng.choice(ids), relationships.block, rng.choice(ids))
        if rng.random() < 0.05:
            await run(rng.choice(ids), relationships.mute, rng.choice(ids))
        if rng.random() < 0.03:
            await run(rng.choice(ids), relationships.unfollow, rng.choice(ids))
    return ids


@pytest.mark.parametrize("seed", [1, 2])
async def test_windowed_home_equals_the_plain_query(client, monkeypatch, seed):
    monkeypatch.setattr(timelines, "WINDOW_PER_ROW", 1)
    monkeypatch.setattr(timelines, "WINDOW_GROWTH", 2)
    rng = random.Random(seed)
    viewers = await _world(client, rng, users=7, posts=90)
    statement = timelines._home_ids(False, True)
    without_tags = timelines._home_ids(False, with_tags=False)
    # The plain statement as written before the tag branch repeated the page bounds.
    reference = timelines._paged_ids(
        timelines.home_query(bindparam("viewer", type_=BigInteger), bindparam("now", type_=UTCDateTime())), False
    )
    assert without_tags is not statement
    ctx = client.app.state.ctx
    async with ctx.read() as s:
        every_id = list(await s.scalars(select(Status.id).order_by(Status.id)))
        tag_followers = set(await s.scalars(select(TagFollow.account_id)))
        follows = {(a, b) for a, b in (await s.execute(select(Follow.account_id, Follow.target_account_id))).all()}
        # Per tag-following viewer: posts (of followed tags) by accounts it does not follow.
        tagged_by_strangers: dict[int, set[int]] = {}
        for viewer_id in tag_followers:
            rows = await s.execute(
                select(Status.id, Status.account_id)
                .join(StatusTag, StatusTag.status_id == Status.id)
                .where(StatusTag.tag_id.in_(select(TagFollow.tag_id).where(TagFollow.account_id == viewer_id)))
            )
            tagged_by_strangers[viewer_id] = {
                sid for sid, author in rows.all() if author != viewer_id and (viewer_id, author) not in follows
            }
        checked = tagged_seen = 0
        for viewer in viewers:
            for _ in range(12):
                limit = rng.choice([1, 2, 3, 5, 20, 40])
                max_id = rng.choice([timelines.MAX_ID, rng.randrange(1, 2**62)]) if rng.random() < 0.3 else timelines.MAX_ID
                since = 0
                if rng.random() < 0.3:
                    pick = rng.choice(every_id)
                    if rng.random() < 0.5:
                        max_id = pick
                    else:
                        since = pick
                binds = {"viewer": viewer, "now": datetime.now(timezone.utc), "max_id": max_id, "since_id": since,
                         "limit": limit}
                plain = [r[0] for r in await fetch_raw(s, statement, binds)]
                assert plain == [r[0] for r in await fetch_raw(s, reference, binds)], (viewer, binds)
                windowed = await timelines.windowed_ids(s, statement, binds)
                assert windowed == plain, (viewer, binds)
                # For a viewer who follows no hashtag, the statement without that branch agrees.
                if viewer not in tag_followers:
                    assert await timelines.windowed_ids(s, without_tags, binds) == plain, (viewer, binds)
                elif plain:
                    chosen = await timelines.home_statement(s, viewer, False)
                    assert chosen is statement
                tagged_seen += sum(1 for i in plain if i in tagged_by_strangers.get(viewer, ()))
                checked += bool(plain)
        assert len(every_id) > 60 and checked > 20
        assert tag_followers and tagged_seen > 0  # the followed-tags branch was exercised


async def test_home_pages_through_windows_over_http(client, monkeypatch):
    """Paging with Link's max_id over windows smaller than a page gives every post once."""
    monkeypatch.setattr(timelines, "WINDOW_PER_ROW", 1)
    me = await client.make_user("me")
    friend = await client.make_user("friend")
    stranger = await client.make_user("stranger")
    await me.post(f"/api/v1/accounts/{friend.id}/follow")
    posted = []
    for i in range(30):
        posted.append(str((await friend.post_status(f"wpis {i}"))["id"]))
        await stranger.post_status(f"obcy {i}")
        await stranger.post_status(f"obcy bis {i}")
    seen: list[str] = []
    url = "/api/v1/timelines/home?limit=7"
    while url:
        r = await me.get(url)
        assert r.status_code == 200
        page = [s["id"] for s in r.json()]
        if not page:
            break
        seen += page
        nxt = [p for p in r.headers.get("link", "").split(",") if 'rel="next"' in p]
        url = nxt[0].split(";")[0].strip()[1:-1].replace("http://testserver", "") if nxt else ""
    assert seen == list(reversed(posted))
