"""Per-process listening state, one per :class:`Context`: the matcher, the sentiment
classifier, the alert evaluator's caches and the delivery loop.

``runtime_for(ctx)`` creates it on first use (a job handler, a route, a command);
``start``/``stop`` run the delivery loop when the server runs its workers.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from szpak.domain.context import Context
from szpak.domain.events import AlertRaised, Event, MentionCreated, MentionUpdated
from szpak.listening.alerts import AlertEvaluator
from szpak.listening.classify import Classifier
from szpak.listening.deliveries import Deliverer
from szpak.listening.labeller import Labeller
from szpak.listening.pipeline import MatcherCache, Pipeline
from szpak.listening.queries import read_versions

log = logging.getLogger(__name__)

_RUNTIMES: weakref.WeakKeyDictionary[Context, ListeningRuntime] = weakref.WeakKeyDictionary()


class ListeningRuntime:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.matchers = MatcherCache(ctx)
        self.classifier = Classifier()
        self.alerts = AlertEvaluator(ctx)
        self.deliverer = Deliverer(ctx)
        self.pipeline = Pipeline(self)
        self.labeller = Labeller(self)
        self._unsubscribe = ctx.bus.subscribe(self._on_event)
        self._warm: asyncio.Task[None] | None = None

    def _on_event(self, event: Event) -> None:
        # Deliveries are committed with these: send them now rather than at the next poll.
        if isinstance(event, (AlertRaised, MentionCreated, MentionUpdated)):
            self.deliverer.wake()

    async def start(self) -> None:
        """Build the matcher in the background, start labelling (the model in a child
        process) and delivering."""
        self.classifier.use_process()
        self._warm = asyncio.create_task(self._warm_up(), name="szpak-listening-warm-up")
        await self.labeller.start()
        await self.deliverer.start()

    async def _warm_up(self) -> None:
        try:
            # Load the sentiment model now, not on the first mention.
            await self.classifier.predict_async(["rozgrzewka"])
            async with self.ctx.read() as s:
                versions = await read_versions(s)
            await self.matchers.current(versions)
        except Exception:
            log.exception("could not build the listening matcher at start-up (it is retried on the next post)")

    async def stop(self) -> None:
        if self._warm is not None and not self._warm.done():
            self._warm.cancel()
        await self.labeller.stop()
        await self.deliverer.stop()
        await self.classifier.close()
        self._unsubscribe()


def runtime_for(ctx: Context) -> ListeningRuntime:
    rt = _RUNTIMES.get(ctx)
    if rt is None:
        rt = _RUNTIMES[ctx] = ListeningRuntime(ctx)
    return rt
