"""The job worker: claims due rows from ``jobs``, runs their handler, marks them done.

A job is written in the same transaction as the change that needs it, so work
that was accepted survives a crash: after a restart the worker finds it again.
A claimed job is leased (``locked_until``); if the process dies mid-job the
lease runs out and another worker (or the next start) retries it. Failures are
retried with exponential back-off up to ``max_attempts``.

Handlers register by kind with ``@handler("kind")`` and receive ``(ctx, payload)``.
Several processes may run workers against one database (``szpak serve --workers N``):

- a claim is an UPDATE guarded by the previous lease, so only one of them wins a
  job; on PostgreSQL the candidate rows are read ``FOR UPDATE SKIP LOCKED``, so
  workers take different jobs instead of queueing behind each other's claims
  (SQLite serialises writers with ``BEGIN IMMEDIATE`` anyway);
- a worker renews its lease before running each job of its batch once half of it
  has gone by, and skips a job whose lease another worker has taken over meanwhile,
  so a long batch does not run its tail twice.

Cost per batch, not per job: whether anything is due is asked on a read connection
(no write lock when the queue is empty), a batch is leased with one UPDATE, and the
jobs that succeed are marked done with one UPDATE at the end of the batch; after a
wake-up the worker waits ``COALESCE_SECONDS`` so that a burst of posts makes one batch.

A job may still run twice if its handler alone outlasts the lease or the process
dies after the work but before marking it done: handlers must be idempotent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import BigInteger, Integer, and_, bindparam, or_, select, update

from szpak.domain.context import Context
from szpak.storage.models import Job
from szpak.storage.queries import fetch_raw

log = logging.getLogger(__name__)

JobHandler = Callable[[Context, dict[str, Any]], Awaitable[None]]
HANDLERS: dict[str, JobHandler] = {}
LEASE = timedelta(seconds=60)
#: After a wake-up, how long the worker lets more jobs arrive before claiming.
COALESCE_SECONDS = 0.02


def handler(kind: str) -> Callable[[JobHandler], JobHandler]:
    def register(fn: JobHandler) -> JobHandler:
        HANDLERS[kind] = fn
        return fn

    return register


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 2 ** attempts))


@dataclass
class ClaimedJob:
    """A job this worker leased (the columns running it needs)."""

    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int


def _is_due(now: Any) -> Any:
    return and_(
        Job.done_at.is_(None),
        Job.failed_at.is_(None),
        Job.run_at <= now,
        or_(Job.locked_until.is_(None), Job.locked_until < now),
    )


_NOW = bindparam("now", type_=Job.__table__.c.run_at.type)


@cache
def _any_due() -> Any:
    return select(Job.id).where(_is_due(_NOW)).limit(1)


@cache
def _due(for_update: bool) -> Any:
    """Up to ``limit`` due jobs, oldest first (built once; bound per claim)."""
    query = (
        select(Job.id, Job.kind, Job.payload, Job.attempts, Job.max_attempts)
        .where(_is_due(_NOW))
        .order_by(Job.run_at, Job.id)
        .limit(bindparam("limit", type_=Integer()))
    )
    return query.with_for_update(skip_locked=True) if for_update else query


@cache
def _lease() -> Any:
    table = Job.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("job_id", type_=BigInteger()), or_(table.c.locked_until.is_(None), table.c.locked_until < _NOW))
        .values(locked_until=bindparam("lease", type_=table.c.locked_until.type), attempts=table.c.attempts + 1)
    )


@cache
def _done() -> Any:
    table = Job.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("job_id", type_=BigInteger()))
        .values(done_at=bindparam("done_at_now", type_=table.c.done_at.type), locked_until=None)
    )


class Worker:
    def __init__(self, ctx: Context, *, batch: int = 50, poll_seconds: float = 1.0) -> None:
        self.ctx = ctx
        self.batch = batch
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        #: job id → the lease this worker holds on it (``locked_until`` as it wrote it).
        self._leases: dict[int, datetime] = {}

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self.ctx.on_jobs = self.wake
        self._task = asyncio.create_task(self._loop(), name="szpak-jobs")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=5)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._task.cancel()

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                ran = await self.run_once()
            except Exception:
                log.exception("job worker iteration failed")
                ran = 0
            if ran:
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            except asyncio.TimeoutError:
                pass
            else:
                # Under a burst of writes, wait a moment so one claim takes many jobs
                # instead of one write transaction per posted status.
                await asyncio.sleep(COALESCE_SECONDS)
            self._wake.clear()

    async def claim(self) -> list[ClaimedJob]:
        """Lease up to ``batch`` due jobs. Whether anything is due is asked on a read
        connection first, so an empty queue costs no write lock; the batch is read and
        leased in one write transaction of Core statements (``WriteTx``: on SQLite no ORM
        session at all; on PostgreSQL the rows are read ``FOR UPDATE SKIP LOCKED``)."""
        now = datetime.now(timezone.utc)
        lease = now + LEASE
        binds = {"now": now, "limit": self.batch}
        async with self.ctx.db.read() as r:
            if not await fetch_raw(r, _any_due(), {"now": now}):
                return []
        async with self.ctx.db.transaction() as w:
            rows = await w.fetch(_due(not self.ctx.db.is_sqlite), binds, typed=True)
            if not rows:
                return []
            claimed = [ClaimedJob(*row) for row in rows]
            # The rows are this transaction's (SQLite: the one writer; PostgreSQL: locked
            # above); the guard only repeats what made them due.
            await w.execute(_lease(), [{"job_id": job.id, "lease": lease, "now": now} for job in claimed])
            for job in claimed:
                job.attempts += 1
                self._leases[job.id] = lease
            return claimed

    async def run_once(self) -> int:
        """Run every due job once; returns how many ran. Tests call this to drive the worker."""
        return await self.run_claimed(await self.claim())

    async def run_claimed(self, jobs: list[Job]) -> int:
        """Run jobs this worker claimed, skipping any whose lease it has lost meanwhile.

        Jobs that succeed are marked done together, in one statement at the end of the
        batch (or before renewing a lease): a crash before that re-runs them, which
        handlers must bear anyway (see the module docstring)."""
        ran = 0
        done: list[int] = []
        try:
            for job in jobs:
                lease = self._leases.get(job.id)
                if lease is not None and lease - datetime.now(timezone.utc) <= LEASE / 2 and done:
                    await self._mark_done(done)
                if await self._still_ours(job):
                    if await self._run(job):
                        done.append(job.id)
                    ran += 1
                self._leases.pop(job.id, None)
        finally:
            await self._mark_done(done)
        return ran

    async def _mark_done(self, ids: list[int]) -> None:
        if not ids:
            return
        now = datetime.now(timezone.utc)
        async with self.ctx.db.transaction() as w:
            await w.execute(_done(), [{"job_id": job_id, "done_at_now": now} for job_id in ids])
        ids.clear()

    async def _still_ours(self, job: Job) -> bool:
        """Renew the lease once half of it is gone; False if another worker has taken the job."""
        lease = self._leases.get(job.id)
        if lease is None:
            return False
        now = datetime.now(timezone.utc)
        if lease - now > LEASE / 2:
            return True
        renewed = now + LEASE
        async with self.ctx.db.write() as s:
            res = await s.execute(
                update(Job)
                .where(Job.id == job.id, Job.locked_until == lease, Job.done_at.is_(None))
                .values(locked_until=renewed)
            )
        if not res.rowcount:
            log.info("job %s (%s): lease taken over by another worker; skipping", job.id, job.kind)
            return False
        self._leases[job.id] = renewed
        return True

    async def _run(self, job: Job) -> bool:
        """Run one job; True when it succeeded (the caller marks it done), else its row is updated here."""
        fn = HANDLERS.get(job.kind)
        now = datetime.now(timezone.utc)
        if fn is None:
            # Nothing handles it (yet): keep it, so a later version can.
            async with self.ctx.db.write() as s:
                await s.execute(update(Job).where(Job.id == job.id).values(done_at=now, last_error="no handler"))
            return False
        try:
            await fn(self.ctx, job.payload)
        except Exception as exc:
            log.warning("job %s (%s) failed: %r", job.id, job.kind, exc)
            attempts = job.attempts  # the claim counted this run
            values: dict[str, Any] = {"last_error": repr(exc)[:2000], "locked_until": None}
            if attempts >= job.max_attempts:
                values["failed_at"] = now
            else:
                values["run_at"] = now + backoff(attempts)
            async with self.ctx.db.write() as s:
                await s.execute(update(Job).where(Job.id == job.id).values(**values))
            return False
        return True
