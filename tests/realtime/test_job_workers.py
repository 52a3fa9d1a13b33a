"""``szpak serve --workers N`` runs N job workers on one database: each job runs once.

Two ``Worker``s with their own engines stand for two processes.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from szpak.domain.context import Context
from szpak.jobs import runner
from szpak.jobs.runner import Worker
from szpak.realtime.bus import InProcessBus
from szpak.storage.db import Database
from szpak.storage.models import Job

pytestmark = pytest.mark.xdist_group("realtime-jobs")

KIND = "test.realtime.count"


@pytest.fixture
async def contexts(settings: Any) -> AsyncIterator[tuple[Context, Context]]:
    one = Context(settings, Database(settings.effective_database_url, pool_size=2), InProcessBus())
    two = Context(settings, Database(settings.effective_database_url, pool_size=2), InProcessBus())
    yield one, two
    await one.db.dispose()
    await two.db.dispose()


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> Counter[int]:
    counts: Counter[int] = Counter()

    async def count(ctx: Context, payload: dict[str, Any]) -> None:
        counts[payload["n"]] += 1
        await asyncio.sleep(0)  # let the other worker in between jobs

    monkeypatch.setitem(runner.HANDLERS, KIND, count)
    return counts


async def enqueue(ctx: Context, jobs: int) -> None:
    async with ctx.tx() as tx:
        for n in range(jobs):
            tx.enqueue(KIND, {"n": n})


async def test_two_workers_run_each_job_once(contexts: tuple[Context, Context], ran: Counter[int]) -> None:
    one, two = contexts
    await enqueue(one, 60)
    workers = [Worker(one, batch=7), Worker(two, batch=7)]

    async def drain(worker: Worker) -> int:
        total = 0
        while done := await worker.run_once():
            total += done
        return total

    totals = await asyncio.gather(*(drain(w) for w in workers))
    assert sum(totals) == 60
    assert sorted(ran) == list(range(60)) and set(ran.values()) == {1}
    async with one.read() as s:
        assert all(job.done_at is not None for job in await s.scalars(select(Job).where(Job.kind == KIND)))


async def test_a_job_whose_lease_passed_to_another_worker_is_skipped(
    contexts: tuple[Context, Context], ran: Counter[int]
) -> None:
    one, two = contexts
    await enqueue(one, 3)
    slow, other = Worker(one), Worker(two)
    claimed = await slow.claim()
    assert len(claimed) == 3
    # The slow worker took too long: a minute passes, its leases run out...
    past = datetime.now(UTC) - timedelta(seconds=1)
    async with one.tx() as tx:
        await tx.session.execute(update(Job).where(Job.kind == KIND).values(locked_until=past))
    for job in claimed:
        slow._leases[job.id] = past
    # ...the other worker takes two of the jobs; the slow one runs only the third.
    other.batch = 2
    assert await other.run_once() == 2
    assert await slow.run_claimed(claimed) == 1
    assert sorted(ran) == [0, 1, 2] and set(ran.values()) == {1}


async def test_a_failing_job_runs_max_attempts_times_then_fails(
    contexts: tuple[Context, Context], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, _ = contexts
    runs: list[int] = []

    async def broken(ctx: Context, payload: dict[str, Any]) -> None:
        runs.append(payload["n"])
        raise RuntimeError("still broken")

    monkeypatch.setitem(runner.HANDLERS, KIND, broken)
    async with one.tx() as tx:
        tx.enqueue(KIND, {"n": 7}).max_attempts = 3
    worker = Worker(one)
    for _ in range(5):
        await worker.run_once()
        async with one.tx() as tx:  # the back-off has passed
            await tx.session.execute(update(Job).where(Job.kind == KIND).values(run_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert runs == [7, 7, 7]
    async with one.read() as s:
        (job,) = await s.scalars(select(Job).where(Job.kind == KIND))
    assert job.attempts == 3 and job.failed_at is not None and job.done_at is None
    assert "still broken" in (job.last_error or "")
