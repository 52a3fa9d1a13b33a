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

A job may still run twice if its handler alone outlasts the lease or the process
dies after the work but before marking it done: handlers must be idempotent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import or_, select, update

from szpak.domain.context import Context
from szpak.storage.models import Job

log = logging.getLogger(__name__)

JobHandler = Callable[[Context, dict[str, Any]], Awaitable[None]]
HANDLERS: dict[str, JobHandler] = {}
LEASE = timedelta(seconds=60)


def handler(kind: str) -> Callable[[JobHandler], JobHandler]:
    def register(fn: JobHandler) -> JobHandler:
        HANDLERS[kind] = fn
        return fn

    return register


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 2 ** attempts))


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
            self._wake.clear()

    async def claim(self) -> list[Job]:
        now = datetime.now(timezone.utc)
        lease = now + LEASE
        query = (
            select(Job)
            .where(
                Job.done_at.is_(None),
                Job.failed_at.is_(None),
                Job.run_at <= now,
                or_(Job.locked_until.is_(None), Job.locked_until < now),
            )
            .order_by(Job.run_at, Job.id)
            .limit(self.batch)
        )
        if not self.ctx.db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        async with self.ctx.db.write() as s:
            due = list(await s.scalars(query))
            claimed = []
            for job in due:
                res = await s.execute(
                    update(Job)
                    .where(Job.id == job.id, or_(Job.locked_until.is_(None), Job.locked_until < now))
                    .values(locked_until=lease, attempts=Job.attempts + 1)
                )
                if res.rowcount:
                    claimed.append(job)
                    self._leases[job.id] = lease
            return claimed

    async def run_once(self) -> int:
        """Run every due job once; returns how many ran. Tests call this to drive the worker."""
        return await self.run_claimed(await self.claim())

    async def run_claimed(self, jobs: list[Job]) -> int:
        """Run jobs this worker claimed, skipping any whose lease it has lost meanwhile."""
        ran = 0
        for job in jobs:
            if await self._still_ours(job):
                await self._run(job)
                ran += 1
            self._leases.pop(job.id, None)
        return ran

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

    async def _run(self, job: Job) -> None:
        fn = HANDLERS.get(job.kind)
        now = datetime.now(timezone.utc)
        if fn is None:
            # Nothing handles it (yet): keep it, so a later version can.
            async with self.ctx.db.write() as s:
                await s.execute(update(Job).where(Job.id == job.id).values(done_at=now, last_error="no handler"))
            return
        try:
            await fn(self.ctx, job.payload)
        except Exception as exc:
            log.warning("job %s (%s) failed: %r", job.id, job.kind, exc)
            attempts = job.attempts + 1
            values: dict[str, Any] = {"last_error": repr(exc)[:2000], "locked_until": None}
            if attempts >= job.max_attempts:
                values["failed_at"] = now
            else:
                values["run_at"] = now + backoff(attempts)
            async with self.ctx.db.write() as s:
                await s.execute(update(Job).where(Job.id == job.id).values(**values))
            return
        async with self.ctx.db.write() as s:
            await s.execute(update(Job).where(Job.id == job.id).values(done_at=now, locked_until=None))
