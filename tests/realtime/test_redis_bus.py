"""The Redis bus: events cross processes, a process hears itself once, failures don't spread."""

from __future__ import annotations

import asyncio
import socket
import uuid
from typing import Any

import pytest
import redis.asyncio as aioredis

from szpak.domain.events import Custom, Event, NotificationCreated, RelationshipChanged, StatusCreated, TokenRevoked
from szpak.realtime.redis_bus import RedisBus

from .live import REDIS_URL

pytestmark = [
    pytest.mark.xdist_group("realtime-redis"),
    pytest.mark.skipif(not REDIS_URL, reason="SZPAK_TEST_REDIS_URL is not set (no Redis to test against)"),
]

EVENTS: list[Event] = [
    StatusCreated(status_id=1, account_id=2, visibility="public", mentioned_ids=(3, 4), tag_names=("kraków",)),
    NotificationCreated(notification_id=5, account_id=3, type="mention", from_account_id=2, status_id=1),
    RelationshipChanged(account_id=3, target_account_id=2, kind="follow"),
    TokenRevoked(token_hash="ab" * 32),
    Custom(topic="announcement", data={"payload": {"id": "1", "content": "<p>Cześć</p>"}}),
]


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.arrived = asyncio.Event()

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        self.arrived.set()

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        async def enough() -> None:
            while len(self.events) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(enough(), timeout)


async def started(channel: str, **kw: Any) -> RedisBus:
    bus = RedisBus(REDIS_URL, channel=channel, **kw)
    await bus.start()
    assert bus.connected
    return bus


async def test_events_reach_other_processes_once_and_in_order() -> None:
    channel = f"szpak-test:{uuid.uuid4().hex}"
    one, two = await started(channel), await started(channel)
    heard_by_one, heard_by_two = Recorder(), Recorder()
    one.subscribe(heard_by_one)
    two.subscribe(heard_by_two)
    try:
        await one.publish(EVENTS[:3])
        await one.publish(EVENTS[3:])
        await heard_by_two.wait_for(len(EVENTS))
        assert heard_by_two.events == EVENTS  # round-tripped through JSON, same order
        await two.publish([Custom(topic="done")])
        await heard_by_one.wait_for(len(EVENTS) + 1)
        assert heard_by_one.events == [*EVENTS, Custom(topic="done")]  # its own events once, not twice
    finally:
        await one.close()
        await two.close()


async def test_the_listener_comes_back_after_losing_redis() -> None:
    channel = f"szpak-test:{uuid.uuid4().hex}"
    listener, sender = await started(channel, max_backoff=0.2), await started(channel)
    heard = Recorder()
    listener.subscribe(heard)
    admin = aioredis.Redis.from_url(REDIS_URL)
    try:
        # Cut exactly this bus's subscription (other tests share the server).
        clients = await admin.client_list(_type="pubsub")
        ours = [c for c in clients if c.get("name") == listener.client_name]
        assert len(ours) == 1
        await admin.client_kill_filter(_id=ours[0]["id"])
        for _ in range(100):
            if listener.reconnects and listener.connected:
                break
            await asyncio.sleep(0.05)
        assert listener.reconnects >= 1 and listener.connected
        await sender.publish([RelationshipChanged(account_id=1, target_account_id=2, kind="follow")])
        await heard.wait_for(1)
    finally:
        await admin.aclose()
        await listener.close()
        await sender.close()


async def test_publishing_without_redis_still_reaches_this_process() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket is closed
    bus = RedisBus(f"redis://127.0.0.1:{port}/0", channel="szpak-test:nowhere", start_timeout=0.2)
    heard = Recorder()
    bus.subscribe(heard)
    await bus.start()
    try:
        assert not bus.connected
        await bus.publish([TokenRevoked(token_hash="cd" * 32)])  # the write already committed: no error
        assert heard.events == [TokenRevoked(token_hash="cd" * 32)]
        assert bus.publish_failures == 1
    finally:
        await bus.close()
