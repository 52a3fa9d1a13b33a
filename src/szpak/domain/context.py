"""The write entry point: ``Context.tx()`` opens a transaction that actions write in.

Events emitted during the transaction are published after it commits; job rows
added to it are durable as soon as it commits and the worker is woken at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from szpak.config import Settings
from szpak.domain.events import Event
from szpak.realtime.bus import Bus
from szpak.storage.db import Database, WriteTx
from szpak.storage.models import Job


@dataclass
class Tx:
    """One write transaction: its statements, the settings, and what to do after commit.

    ``session`` is an ORM session in the transaction, built on first use;
    ``fetch``/``execute``/``insert`` run Core statements without one on SQLite
    (storage/db.py ``WriteTx``), which is what the hot write paths use."""

    write: WriteTx
    settings: Settings
    events: list[Event] = field(default_factory=list)
    #: Jobs written in this transaction (the commit wakes the worker when there are any).
    jobs: int = 0

    @property
    def session(self) -> AsyncSession:
        return self.write.session

    async def fetch(self, statement: Any, binds: dict[str, Any]) -> list[Any]:
        return await self.write.fetch(statement, binds)

    async def execute(self, statement: Any, binds: dict[str, Any] | list[dict[str, Any]]) -> int:
        return await self.write.execute(statement, binds)

    async def insert(self, table: Any, rows: list[dict[str, Any]]) -> None:
        await self.write.insert(table, rows)

    async def get(self, model: Any, ident: int) -> Any:
        """A row as an ORM object by primary key, None when absent (``WriteTx.get``)."""
        return await self.write.get(model, ident)

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def enqueue(self, kind: str, payload: dict[str, Any], *, run_at: datetime | None = None) -> Job:
        """A durable job, as an ORM object added to the session (flushed at the commit)."""
        job = Job(kind=kind, payload=payload)
        if run_at is not None:
            job.run_at = run_at
        self.session.add(job)
        self.jobs += 1
        return job

    async def insert_job(self, kind: str, payload: dict[str, Any]) -> None:
        """:meth:`enqueue` as a Core INSERT, for paths that build no session (posting)."""
        await self.insert(Job.__table__, [{"kind": kind, "payload": payload}])
        self.jobs += 1


class Context:
    """Everything an action or a reader needs: settings, storage, bus."""

    def __init__(self, settings: Settings, db: Database, bus: Bus) -> None:
        self.settings = settings
        self.db = db
        self.bus = bus
        #: Called after a commit that added jobs (the worker sets this to wake itself).
        self.on_jobs: Callable[[], None] | None = None

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[Tx]:
        async with self.db.transaction() as write:
            tx = Tx(write, self.settings)
            yield tx
        if tx.jobs and self.on_jobs is not None:
            self.on_jobs()
        if tx.events:
            await self.bus.publish(tx.events)

    def read(self):  # noqa: ANN201 - an async context manager of AsyncSession
        return self.db.read()
