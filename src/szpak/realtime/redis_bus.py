"""The Redis bus: committed events reach every process through one pub/sub channel.

``publish`` first hands the events to this process's own subscribers (so a
process sees its own writes at once: a revoked token is dropped from its cache
before the revoking request returns), then publishes one message per commit on
the channel. Every process listens on the channel and dispatches messages from
the *other* processes, in the order Redis delivers them.

Failures: a failed publish is logged and counted, never raised: the write has
already committed and its durable jobs do not depend on the bus. The listener
reconnects and re-subscribes with back-off; events published while it was away
are not replayed (streaming clients refetch their timelines when they
reconnect, as Mastodon clients do).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from szpak.domain.events import Event
from szpak.realtime.bus import _Subscribers

log = logging.getLogger(__name__)

DEFAULT_CHANNEL = "szpak:events"


class RedisBus(_Subscribers):
    """Events to and from every process sharing one Redis channel."""

    def __init__(
        self, url: str, *, channel: str = DEFAULT_CHANNEL, max_backoff: float = 5.0, start_timeout: float = 5.0
    ) -> None:
        super().__init__()
        self.url = url
        self.channel = channel
        self.max_backoff = max_backoff
        self.start_timeout = start_timeout
        #: Tags this process's messages so that it skips them when they come back.
        self.origin = uuid.uuid4().hex
        #: The listener's Redis client name (``CLIENT LIST`` shows which process it is).
        self.client_name = f"szpak-bus-{self.origin[:12]}"
        self.publish_failures = 0
        self.reconnects = 0
        self._subscribed = asyncio.Event()
        self._publisher: aioredis.Redis | None = None
        self._listener_client: aioredis.Redis | None = None
        self._listener: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect and subscribe; if Redis is down, keep trying in the background."""
        self._publisher = aioredis.Redis.from_url(self.url, socket_connect_timeout=2, socket_timeout=2)
        self._listener_client = aioredis.Redis.from_url(
            self.url, socket_connect_timeout=2, socket_keepalive=True, health_check_interval=10,
            client_name=self.client_name,
        )
        self._listener = asyncio.create_task(self._listen(), name="szpak-redis-bus")
        try:
            await asyncio.wait_for(self._subscribed.wait(), timeout=self.start_timeout)
        except TimeoutError:
            log.warning("Redis bus at %s is not reachable yet; retrying in the background", self.url)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        for client in (self._publisher, self._listener_client):
            if client is not None:
                await client.aclose()
        self._publisher = self._listener_client = None

    @property
    def connected(self) -> bool:
        """Whether the listener is subscribed right now."""
        return self._subscribed.is_set()

    async def publish(self, events: list[Event]) -> None:
        for event in events:
            await self.dispatch(event)
        if self._publisher is None:
            return
        message = orjson.dumps({"origin": self.origin, "events": [e.to_dict() for e in events]})
        try:
            await self._publisher.publish(self.channel, message)
        except (RedisError, OSError) as exc:
            self.publish_failures += 1
            log.warning("Redis bus: %d event(s) not sent to other processes: %r", len(events), exc)

    async def _listen(self) -> None:
        delay = 0.1
        assert self._listener_client is not None
        while True:
            pubsub = self._listener_client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                if self.reconnects:
                    log.info("Redis bus: subscribed again to %s", self.channel)
                self._subscribed.set()
                delay = 0.1
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        await self._receive(message["data"])
            except (RedisError, OSError) as exc:
                self._subscribed.clear()
                self.reconnects += 1
                log.warning("Redis bus: lost the subscription (%r); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.shield(pubsub.aclose())

    async def _receive(self, data: bytes | str) -> None:
        try:
            message: dict[str, Any] = orjson.loads(data)
            if message.get("origin") == self.origin:
                return
            events = [Event.from_dict(item) for item in message.get("events", ())]
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            log.warning("Redis bus: ignoring a malformed message on %s", self.channel)
            return
        for event in events:
            await self.dispatch(event)
