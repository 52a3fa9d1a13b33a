"""The Bus carries committed domain events to every subscriber in every process.

One interface, two backends: ``InProcessBus`` (the embedded default: subscribers
are called directly) and ``RedisBus`` (events go through a Redis channel so that
all worker processes see all events). Subscribers must be quick and must not
raise; slow work belongs in a durable job.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from szpak.domain.events import Event

log = logging.getLogger(__name__)

Handler = Callable[[Event], Awaitable[None] | None]


class Bus(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def publish(self, events: list[Event]) -> None: ...
    def subscribe(self, handler: Handler) -> Callable[[], None]: ...


class _Subscribers:
    def __init__(self) -> None:
        self._handlers: list[Handler] = []

    def subscribe(self, handler: Handler) -> Callable[[], None]:
        self._handlers.append(handler)

        def unsubscribe() -> None:
            if handler in self._handlers:
                self._handlers.remove(handler)

        return unsubscribe

    async def dispatch(self, event: Event) -> None:
        for handler in list(self._handlers):
            try:
                result = handler(event)
                if asyncio.iscoroutine(result):
                    await result
            except Exception:  # a broken subscriber must not break delivery to others
                log.exception("event subscriber failed on %s", event.name)


class InProcessBus(_Subscribers):
    """Delivers events to subscribers in this process only."""

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def publish(self, events: list[Event]) -> None:
        for event in events:
            await self.dispatch(event)
