"""The pipeline's door to the sentiment model.

The model lives in ``szpak.listening.sentiment`` (``get_model().predict(texts)`` →
``[(label, confidence)]``, labels ``negative``/``neutral``/``positive``). It is
loaded once per process, on first use. When it is missing or broken, mentions are
still stored, with no sentiment (``None``): a mention is never lost for want of a
label, and a member can set it by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
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
        results: list[Prediction] = []
        for label, confidence in out:
            if label not in SENTIMENTS:
                results.append((None, None))
            else:
                results.append((label, max(0.0, min(1.0, float(confidence)))))
        return results
