"""One streaming client: its subscriptions and a bounded queue of frames to send.

The hub never waits on a client: it formats a frame and ``push``es it into the
connection's queue without blocking. A writer task per connection drains the
queue into the socket. A client that reads too slowly fills its queue; the next
push finds it full, and the connection is cut (``kill``) instead of letting it
hold memory or slow the hub down for everyone else.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Callable
from typing import Literal

import orjson

from szpak.api.deps import Viewer
from szpak.realtime.streams import StreamKey

log = logging.getLogger(__name__)

Transport = Literal["ws", "sse"]
Frame = str | bytes

_ids = itertools.count(1)


class FrameQueue:
    """A bounded FIFO of frames with one waiting reader: ``asyncio.Queue``'s interface, lighter.

    An idle connection holds one of these; ``asyncio.Queue`` costs about 4.5 kB
    (three deques), this one a deque and, only while the writer waits, a future.
    """

    __slots__ = ("maxsize", "_items", "_waiter")

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: deque[Frame] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, frame: Frame) -> None:
        if len(self._items) >= self.maxsize:
            raise asyncio.QueueFull
        self._items.append(frame)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def get_nowait(self) -> Frame:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.popleft()

    async def get(self) -> Frame:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()


class Connection:
    """A streaming client as the hub sees it."""

    __slots__ = ("id", "viewer", "token", "transport", "subs", "queue", "closed", "close_reason", "_on_kill")

    def __init__(self, viewer: Viewer, transport: Transport, queue_size: int, token: str) -> None:
        self.id = next(_ids)
        self.viewer = viewer
        #: The bearer token, to re-check it when the account changes (suspension, disabling).
        self.token = token
        self.transport: Transport = transport
        self.subs: set[StreamKey] = set()
        self.queue = FrameQueue(queue_size)
        self.closed = False
        self.close_reason = ""
        self._on_kill: Callable[[], None] | None = None

    @property
    def account_id(self) -> int:
        assert self.viewer.account_id is not None
        return self.viewer.account_id

    def on_kill(self, callback: Callable[[], None]) -> None:
        """The transport says how to stop it (cancel its writer) when the hub cuts it off."""
        self._on_kill = callback

    def push(self, frame: Frame) -> bool:
        """Queue a frame without waiting; a full queue means a slow consumer, which is cut off."""
        if self.closed:
            return False
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            log.info("streaming connection %s is too slow (%s frames queued); disconnecting", self.id, self.queue.qsize())
            self.kill("slow consumer")
            return False
        return True

    def kill(self, reason: str) -> None:
        """Stop delivering to this connection and ask its transport to end it."""
        if self.closed:
            return
        self.closed = True
        self.close_reason = reason
        callback, self._on_kill = self._on_kill, None
        if callback is not None:
            callback()


def ws_frame(key: StreamKey, event: str, payload: str | None) -> str:
    """A WebSocket message: ``{"stream":[...],"event":...,"payload":"<string>"}`` (payload omitted when None)."""
    head = b'{"stream":' + orjson.dumps(list(key)) + b',"event":' + orjson.dumps(event)
    if payload is None:
        return (head + b"}").decode()
    return (head + b',"payload":' + orjson.dumps(payload) + b"}").decode()


def sse_frame(event: str, payload: str | None) -> bytes:
    """A server-sent event; Mastodon writes ``data: undefined`` for events without a payload."""
    data = "undefined" if payload is None else payload
    return f"event: {event}\ndata: {data}\n\n".encode()


SSE_HEARTBEAT = b":thump\n"


class Frames:
    """Formats one event once per (transport, stream) pair, however many connections receive it."""

    __slots__ = ("event", "payload", "_cache")

    def __init__(self, event: str, payload: str | None) -> None:
        self.event = event
        self.payload = payload
        self._cache: dict[tuple[str, StreamKey], Frame] = {}

    def for_connection(self, conn: Connection, key: StreamKey) -> Frame:
        cache_key = (conn.transport, key if conn.transport == "ws" else ())
        frame = self._cache.get(cache_key)
        if frame is None:
            frame = ws_frame(key, self.event, self.payload) if conn.transport == "ws" else sse_frame(self.event, self.payload)
            self._cache[cache_key] = frame
        return frame
