"""The hub in one process, without sockets: fan-out cost, slow consumers and the hooks.

Connections here are the hub's own ``Connection`` objects; frames are read from
their queues. The REST calls go through the ASGI client of the root conftest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.api.deps import lookup_token
from szpak.domain.events import AccountUpdated, Custom, FiltersChanged
from szpak.realtime import audience
from szpak.realtime.connection import Connection
from szpak.realtime.hub import Hub
from szpak.realtime.streams import StreamError
from szpak.storage.models import Account

pytestmark = pytest.mark.xdist_group("realtime-hub")


async def connect(client: Any, user: Any, *keys: tuple[str, ...]) -> Connection:
    app = client.app
    viewer = await lookup_token(app.state.ctx, app.state.token_cache, user.token)
    assert viewer is not None
    hub: Hub = app.state.hub
    conn = await hub.open(viewer, "ws", user.token)
    for key in keys:
        await hub.subscribe(conn, key)
    return conn


def drain(conn: Connection) -> list[dict[str, Any]]:
    frames = []
    while not conn.queue.empty():
        frames.append(orjson.loads(conn.queue.get_nowait()))
    return frames


@contextmanager
def count_queries(app: Any) -> Iterator[list[str]]:
    """Every SQL statement the app's engines run inside the block."""
    statements: list[str] = []
    db = app.state.ctx.db
    engines = {db.read_engine.sync_engine, db.write_engine.sync_engine}

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


async def post_and_deliver(client: Any, author: Any, text: str) -> list[str]:
    hub: Hub = client.app.state.hub
    with count_queries(client.app) as statements:
        await author.post_status(text)
        await hub.sync()
    return statements


async def test_fan_out_costs_the_same_for_one_follower_or_many(client: Any) -> None:
    hub: Hub = client.app.state.hub
    small, big = await client.make_user("small"), await client.make_user("big")
    conns = []
    for n in range(12):
        fan = await client.make_user(f"fan{n}")
        await fan.follow(big)
        if n == 0:
            await fan.follow(small)
        conns.append(await connect(client, fan, ("user",)))
    for author in (small, big):
        await author.get("/api/v1/accounts/verify_credentials")  # the token is cached from now on
        await author.post_status("rozgrzewka")
    await hub.sync()
    for conn in conns:
        drain(conn)

    renders = hub.stats["renders"]
    one = await post_and_deliver(client, small, "Do jednego")
    many = await post_and_deliver(client, big, "Do wszystkich")
    assert len(many) == len(one), "fan-out must not query per recipient"
    assert hub.stats["renders"] - renders == 2  # one rendering per post: every follower sees the same JSON
    got = [drain(conn) for conn in conns]
    assert [len(frames) for frames in got] == [2] + [1] * 11
    assert len({frames[-1]["payload"] for frames in got}) == 1


async def test_posting_costs_the_same_with_no_followers_or_many(client: Any) -> None:
    """Home timelines are read on demand, so a post's write does not grow with the audience."""
    loner, star = await client.make_user("loner"), await client.make_user("star")
    for n in range(15):
        await (await client.make_user(f"reader{n}")).follow(star)
    for author in (loner, star):
        await author.get("/api/v1/accounts/verify_credentials")
    with count_queries(client.app) as alone:
        await loner.post_status("Nikt mnie nie czyta")
    with count_queries(client.app) as famous:
        await star.post_status("Czyta mnie piętnaście osób")
    assert len(famous) == len(alone)


async def test_a_slow_consumer_is_cut_off_and_others_keep_receiving(client: Any) -> None:
    hub: Hub = client.app.state.hub
    author, slow, fast = await client.make_user("author"), await client.make_user("slow"), await client.make_user("fast")
    await slow.follow(author)
    await fast.follow(author)
    slow_conn = await connect(client, slow, ("user",))
    fast_conn = await connect(client, fast, ("user",))
    killed = asyncio.Event()
    slow_conn.on_kill(killed.set)
    limit = client.app.state.settings.stream_queue_size
    received = 0
    for n in range(limit + 3):
        await author.post_status(f"wpis {n}")
        await hub.sync()
        received += len(drain(fast_conn))  # the fast one reads as it goes; the slow one never does
    assert killed.is_set() and slow_conn.close_reason == "slow consumer"
    assert slow_conn.queue.qsize() == limit
    assert received == limit + 3
    hub.close(slow_conn)
    assert slow_conn not in hub.connections


@pytest.fixture
def settings(settings: Any) -> Any:
    return settings.model_copy(update={"stream_queue_size": 5})


class FakeLists:
    """Lists do not exist yet; the hub asks a ListSource, so a fake shows the hook works."""

    def __init__(self, owner: int, members: set[int]) -> None:
        self._owner, self._members = owner, members

    async def owner(self, session: AsyncSession, list_id: int) -> int | None:
        return self._owner if list_id == 7 else None

    async def members(self, session: AsyncSession, list_id: int) -> set[int]:
        return set(self._members)


async def test_list_streams_ask_the_list_source(client: Any) -> None:
    hub: Hub = client.app.state.hub
    reader, member, other = [await client.make_user(n) for n in ("reader", "member", "other")]
    await reader.follow(member)
    await reader.follow(other)
    hub.lists = FakeLists(owner=int(reader.id), members={int(member.id)})
    conn = await connect(client, reader, ("list", "7"))
    with pytest.raises(StreamError) as refused:
        await hub.subscribe(conn, ("list", "8"))
    assert refused.value.status == 404
    st = await member.post_status("Na liście")
    await other.post_status("Poza listą")
    await hub.sync()
    frames = drain(conn)
    assert [(f["stream"], orjson.loads(f["payload"])["id"]) for f in frames] == [(["list", "7"], st["id"])]


async def test_filters_changed_and_announcements_reach_user_streams(client: Any) -> None:
    hub: Hub = client.app.state.hub
    alice, bob = await client.make_user("alice"), await client.make_user("bob")
    alice_conn = await connect(client, alice, ("user",))
    bob_conn = await connect(client, bob, ("user",))
    bus = client.app.state.ctx.bus
    await bus.publish([FiltersChanged(account_id=int(alice.id))])
    announcement = {"id": "1", "content": "<p>Przerwa techniczna</p>"}
    await bus.publish([Custom(topic="announcement", data={"payload": announcement})])
    await hub.sync()
    assert drain(alice_conn) == [
        {"stream": ["user"], "event": "filters_changed"},  # no payload, as Mastodon
        {"stream": ["user"], "event": "announcement", "payload": orjson.dumps(announcement).decode()},
    ]
    assert [f["event"] for f in drain(bob_conn)] == ["announcement"]


async def test_a_suspended_account_loses_its_streams(client: Any) -> None:
    hub: Hub = client.app.state.hub
    alice = await client.make_user("alice")
    conn = await connect(client, alice, ("user",))
    ctx = client.app.state.ctx
    async with ctx.tx() as tx:
        await tx.session.execute(
            update(Account).where(Account.id == int(alice.id)).values(suspended_at=datetime.now(UTC))
        )
        tx.emit(AccountUpdated(account_id=int(alice.id)))
    await hub.sync()
    assert conn.closed and conn.close_reason == "token no longer valid"


async def test_a_relationship_change_during_loading_is_not_lost(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    hub: Hub = client.app.state.hub
    alice, bob = await client.make_user("alice"), await client.make_user("bob")
    loading, resume = asyncio.Event(), asyncio.Event()
    real_load = audience.load_relations

    async def slow_load(session: AsyncSession, account_id: int) -> audience.Relations:
        rel = await real_load(session, account_id)  # read before the follow commits...
        loading.set()
        await resume.wait()
        return rel

    monkeypatch.setattr(audience, "load_relations", slow_load)
    opening = asyncio.create_task(connect(client, bob, ("user",)))
    await loading.wait()
    await bob.follow(alice)  # ...committed while bob's relations are still loading
    await hub.sync()
    resume.set()
    conn = await opening
    assert int(alice.id) in hub.accounts[int(bob.id)].rel.following
    st = await alice.post_status("Widzisz mnie?")
    await hub.sync()
    assert [orjson.loads(f["payload"])["id"] for f in drain(conn)] == [st["id"]]


async def test_no_connections_no_work(client: Any) -> None:
    """A server nobody streams from spends nothing on fan-out."""
    hub: Hub = client.app.state.hub
    alice = await client.make_user("alice")
    await alice.get("/api/v1/accounts/verify_credentials")
    with count_queries(client.app) as plain:
        await alice.post_status("Cisza")
    statements = await post_and_deliver(client, alice, "Dalej cisza")
    assert len(statements) == len(plain)
    assert hub.stats["frames"] == 0
