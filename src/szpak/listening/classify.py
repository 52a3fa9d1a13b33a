"""The pipeline's door to the sentiment model.

The model lives in ``szpak.listening.sentiment`` (``get_model().predict(texts)`` →
``[(label, confidence)]``, labels ``negative``/``neutral``/``positive``). It is
loaded once per process, on first use. When it is missing or broken, mentions are
still stored, with no sentiment (``None``): a mention is never lost for want of a
label, and a member can set it by hand.

``predict_async`` runs the model off the event loop: in a worker thread, or — in a
running server (``use_process``) — in a child process of its own, because much of the
model is Python code that holds the GIL and would slow every request of the server.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Protocol

from szpak.storage.models.listening import SENTIMENTS

log = logging.getLogger(__name__)

Prediction = tuple[str | None, float | None]


class SentimentModel(Protocol):
    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]: ...


class Classifier:
    """Wraps a model (or none) and never raises."""

    def __init__(self, model: SentimentModel | None = None, *, load: bool = True) -> None:
        self._model = model
        self._load = load and model is None
        self.name = type(model).__name__ if model is not None else "none"

    def _get(self) -> SentimentModel | None:
        if self._load:
            self._load = False
            try:
                from szpak.listening import sentiment

                self._model = sentiment.get_model()
                self.name = type(self._model).__name__
            except Exception:  # missing module, untrained model: store mentions without a label
                log.warning("no sentiment model: mentions are stored without sentiment", exc_info=True)
                self._model = None
        return self._model

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        model = self._get()
        if model is None:
            return [(None, None)] * len(texts)
        try:
            out = model.predict(list(texts))
        except Exception:
            log.exception("sentiment model failed on %d texts", len(texts))
            return [(None, None)] * len(texts)
        return _clean(out, len(texts))

    # --- off the event loop -------------------------------------------------------------

    _pool: ProcessPoolExecutor | None = None

    def use_process(self) -> None:
        """Predict in a child process from now on (only for the shipped model: an injected
        one, as in tests, stays in this process)."""
        if self._load and self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_child_init
            )
            self.name = "SentimentModel (child process)"

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:  # wait for the child to exit (in a thread: not on the loop)
            await asyncio.to_thread(pool.shutdown, True, cancel_futures=True)

    async def predict_async(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        if self._pool is not None:
            try:
                out = await asyncio.get_running_loop().run_in_executor(self._pool, _child_predict, list(texts))
                return _clean(out, len(texts))
            except Exception:  # a dead child: carry on in this process
                log.exception("sentiment child process failed; predicting in this process")
                await self.close()
        return await asyncio.to_thread(self.predict, texts)


def _clean(out: Sequence[tuple[str | None, float | None]], n: int) -> list[Prediction]:
    if len(out) != n:
        log.error("sentiment model gave %d labels for %d texts", len(out), n)
        return [(None, None)] * n
    results: list[Prediction] = []
    for label, confidence in out:
        if label not in SENTIMENTS or confidence is None:
            results.append((None, None))
        else:
            results.append((label, max(0.0, min(1.0, float(confidence)))))
    return results


_CHILD: Classifier | None = None

CHILD_NICENESS = 5
"""The model's child process runs this much nicer than the server: when the CPU is short,
matching and storing (what makes a mention visible) go first and labelling waits."""


def _child_init() -> None:
    try:
        os.nice(CHILD_NICENESS)
    except (AttributeError, OSError):  # no nice() on this platform: same priority
        pass


def _child_predict(texts: list[str]) -> list[Prediction]:
    """In the child process: the shipped model, loaded on first use."""
    global _CHILD
    if _CHILD is None:
        _CHILD = Classifier()
    return _CHILD.predict(texts)
