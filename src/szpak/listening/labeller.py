"""The sentiment stage: labels stored mentions in batches, off the event loop.

The match-and-store step (pipeline.py) makes a mention visible the moment its post
is matched, marked ``classified = False``; this stage then runs the sentiment model
over the waiting posts in one batch (a post mentioning several queries is classified
once), in a worker thread so the server keeps answering, stores the labels, announces
them (``MentionUpdated``: the live stream's ``mention.update``), sends ``mention``
webhooks, and checks the negative-share alerts of the queries concerned.

Why a separate stage: the model embeds uncertain texts with a small transformer
(tens of milliseconds each, far less per text in a batch); doing that inside the
post pipeline would hold every following post behind it.

Nothing is lost in a crash: waiting mentions are rows with ``classified = False``.
Each process labels what it stored (an in-memory queue) and, every
``SWEEP_SECONDS``, what has waited longer than ``STALE`` (left by a process that
died); labelling is idempotent (an UPDATE guarded by ``classified = False``).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from szpak.domain.events import MentionUpdated
from szpak.listening import deliveries
from szpak.listening.pipeline import Post, load_post, listening_text, mention_payload
from szpak.storage.models.listening import Mention

if TYPE_CHECKING:
    from szpak.listening.runtime import ListeningRuntime

log = logging.getLogger(__name__)

BATCH = 64
STALE = timedelta(seconds=30)
SWEEP_SECONDS = 10.0


class Labeller:
    def __init__(self, runtime: ListeningRuntime, *, batch: int = BATCH) -> None:
        self.rt = runtime
        self.ctx = runtime.ctx
        self.batch = batch
        self._queue: dict[int, None] = {}  # status ids, in arrival order
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._last_sweep = 0.0

    def submit(self, status_id: int) -> None:
        self._queue[status_id] = None
        self._wake.set()

    @property
    def waiting(self) -> int:
        return len(self._queue)

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._loop(), name="szpak-labeller")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=10)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._task.cancel()
            self._task = None

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            try:
                if loop.time() - self._last_sweep > SWEEP_SECONDS:
                    self._last_sweep = loop.time()
                    await self.sweep()
                done = await self.run_once()
            except Exception:
                log.exception("sentiment labelling failed; retried at the next sweep")
                done = 0
            if done:
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=SWEEP_SECONDS)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()

    async def sweep(self, *, older_than: timedelta = STALE) -> int:
        """Queue mentions that have waited too long (their process may have died)."""
        cutoff = datetime.now(timezone.utc) - older_than
        async with self.ctx.read() as s:
            ids = list(await s.scalars(
                select(Mention.status_id)
                .where(Mention.classified.is_(False), Mention.created_at < cutoff)
                .order_by(Mention.id)
                .limit(self.batch * 10)
            ))
        for status_id in ids:
            self._queue.setdefault(int(status_id), None)
        return len(ids)

    async def run_once(self) -> int:
        """Label one batch of waiting posts; returns how many posts were looked at."""
        if not self._queue:
            return 0
        status_ids = list(self._queue)[: self.batch]
        for status_id in status_ids:
            self._queue.pop(status_id, None)
        try:
            return await self._label(status_ids)
        except Exception:
            for status_id in status_ids:  # try again later
                self._queue.setdefault(status_id, None)
            raise

    async def _label(self, status_ids: list[int]) -> int:
        posts: list[Post] = []
        async with self.ctx.read() as s:
            for status_id in status_ids:
                post, _ = await load_post(s, status_id)
                if post is not None:
                    posts.append(post)
        if not posts:
            return len(status_ids)
        texts = [listening_text(p) for p in posts]
        labels = await self.rt.classifier.predict_async(texts)
        hot_queries: dict[int, datetime] = {}
        async with self.ctx.tx() as tx:
            s = tx.session
            hook_orgs = self.rt.matchers.mention_hook_orgs
            for post, (label, confidence) in zip(posts, labels):
                rows = (await s.execute(
                    update(Mention)
                    .where(Mention.status_id == post.id, Mention.classified.is_(False))
                    # (A member's correction marks the mention classified: it is not overwritten.)
                    .values(classified=True, sentiment=label, confidence=confidence)
                    .returning(Mention.id, Mention.organisation_id, Mention.query_id, Mention.sentiment,
                               Mention.confidence, Mention.terms)
                )).all()
                for mention_id, organisation_id, query_id, sentiment, conf, terms in rows:
                    tx.emit(MentionUpdated(
                        mention_id=mention_id, organisation_id=organisation_id, query_id=query_id,
                        status_id=post.id, sentiment=sentiment,
                    ))
                    hot_queries[query_id] = max(hot_queries.get(query_id, post.created_at), post.created_at)
                    if organisation_id in hook_orgs:
                        row: dict[str, Any] = {
                            "id": mention_id, "query_id": query_id, "sentiment": sentiment, "confidence": conf,
                            "terms": terms,
                        }
                        await deliveries.enqueue(tx, organisation_id, "mention", mention_payload(row, post, self.ctx))
        await self._check_negative(hot_queries)
        return len(status_ids)

    async def _check_negative(self, queries: dict[int, datetime]) -> None:
        """Now that they have labels: has the negative share of these queries spiked?
        (Checked once per window position, at the latest post in it.)"""
        groups: dict[int, tuple[datetime, list[int]]] = {}
        for query_id, at in queries.items():
            key = self.rt.alerts.bucket_of(at)
            latest, ids = groups.get(key, (at, []))
            groups[key] = (max(latest, at), ids + [query_id])
        for at, ids in groups.values():
            try:
                async with self.ctx.read() as s:
                    hot = await self.rt.alerts.windows(await s.connection(), ids, at)
                if hot:
                    await self.rt.alerts.evaluate(hot, at, kinds=("negative",))
            except Exception:
                log.exception("negative-share check failed for queries %s", ids)
