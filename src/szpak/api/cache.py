"""Rendered-entity caches, kept correct by domain events.

Most API responses are built from the same few objects: accounts (embedded in
every status) and statuses (in every timeline). Rendering them anew for every
request costs more than the rest of the request, so each process keeps the
viewer-independent JSON of recently used accounts and statuses, and drops an
entry when an event says it changed:

- ``AccountUpdated`` drops the account (and, with ``statuses``, every status: the
  sensitive mark changes how the account's posts render); ``StatusCreated``/``StatusDeleted`` drop the
  author (statuses_count) and the parent or reblogged status (replies/reblogs counts);
  ``StatusUpdated`` and ``StatusCountsChanged`` drop the status; ``RelationshipChanged``
  drops both accounts (follower counts).

The events reach every process through the bus (Redis when there are several), so
all caches stay correct. Where several processes share a database *without* Redis,
the events cannot reach each other and the caches are switched off
(``Settings.entity_cache``).

A read that started before an invalidation must not store what it read: every key
has a generation, bumped on invalidation; ``fill`` only stores when the generation
it saw at the start of the read is still current. Entries also expire after
``TTL`` seconds as a safety net.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any, Generic, TypeVar

from szpak.domain.events import (
    AccountUpdated,
    Event,
    StatusCountsChanged,
    RelationshipChanged,
    StatusCreated,
    StatusDeleted,
    StatusUpdated,
)

K = TypeVar("K")
TTL = 60.0


class GenerationalLRU(Generic[K]):
    """An LRU map with per-key generations, so a stale read cannot overwrite an invalidation.

    ``generation(key)`` is read before loading from the database and handed to ``fill``;
    any invalidation of that key in between (or a reset of the whole table, which bumps
    the epoch) makes the fill a no-op.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._data: OrderedDict[K, tuple[float, Any]] = OrderedDict()
        self._generations: dict[K, int] = {}
        self._epoch = 0
        self.enabled = True

    def get(self, key: K) -> Any | None:
        hit = self._data.get(key)
        if hit is None:
            return None
        if hit[0] < time.monotonic():
            del self._data[key]
            return None
        self._data.move_to_end(key)
        return hit[1]

    def generation(self, key: K) -> tuple[int, int]:
        return (self._epoch, self._generations.get(key, 0))

    def fill(self, key: K, value: Any, generation: tuple[int, int]) -> None:
        if not self.enabled or generation != (self._epoch, self._generations.get(key, 0)):
            return
        self._data[key] = (time.monotonic() + TTL, value)
        self._data.move_to_end(key)
        while len(self._data) > self.capacity:
            self._data.popitem(last=False)

    def invalidate(self, key: K) -> None:
        self._data.pop(key, None)
        self._generations[key] = self._generations.get(key, 0) + 1
        if len(self._generations) > self.capacity * 4:
            self.clear()

    def clear(self) -> None:
        self._data.clear()
        self._generations.clear()
        self._epoch += 1


class EntityCache:
    """The caches one process keeps, and the event handler that keeps them true."""

    def __init__(self, capacity: int = 20_000, *, enabled: bool = True) -> None:
        self.accounts: GenerationalLRU[int] = GenerationalLRU(capacity)
        self.credentials: GenerationalLRU[int] = GenerationalLRU(capacity // 4)
        self.statuses: GenerationalLRU[int] = GenerationalLRU(capacity * 2)
        for cache in (self.accounts, self.credentials, self.statuses):
            cache.enabled = enabled

    def drop_account(self, account_id: int) -> None:
        self.accounts.invalidate(account_id)
        self.credentials.invalidate(account_id)

    def drop_status(self, status_id: int | None) -> None:
        if status_id is not None:
            self.statuses.invalidate(status_id)

    async def on_event(self, event: Event) -> None:
        if isinstance(event, AccountUpdated):
            self.drop_account(event.account_id)
            if event.statuses:
                # Cores are kept by status, not by author; a moderation mark is rare enough
                # that dropping them all beats indexing them by account.
                self.statuses.clear()
        elif isinstance(event, StatusCreated):
            self.drop_account(event.account_id)
            self.drop_status(event.reblog_of_id)
            self.drop_status(event.in_reply_to_id)
        elif isinstance(event, StatusDeleted):
            self.drop_account(event.account_id)
            self.drop_status(event.status_id)
            self.drop_status(event.reblog_of_id)
            self.drop_status(event.in_reply_to_id)
        elif isinstance(event, StatusUpdated):
            self.drop_status(event.status_id)
        elif isinstance(event, RelationshipChanged):
            self.drop_account(event.account_id)
            self.drop_account(event.target_account_id)
        elif isinstance(event, StatusCountsChanged):
            self.drop_status(event.status_id)
