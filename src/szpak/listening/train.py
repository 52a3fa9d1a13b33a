"""Offline training and evaluation of the brand-listening sentiment model.

Data (see ``../shared/data/README.md``):

* PolEmo 2.0 sentence-level *train* split: the bulk of the Polish training data.  Ambivalent
  (``z_amb``) sentences are dropped from training (they mix praise and complaint and are not a
  class we predict); for evaluation we report dev both without them and with them mapped to
  ``neutral``.
* PolEmo *dev*: model checks and confidence calibration (temperature).  PolEmo *test* is only
  read by :func:`report_polemo_test`, for the final reported figure.
* The hand-written microblog posts shipped in ``listening/data/microblog_train.tsv``
  (``microblog_eval.tsv`` is held out and only evaluated).
* Optionally: the English VADER lexicon (if the ``vaderSentiment`` package is installed), as
  one-word examples, so English sentiment words have weights although PolEmo is Polish.
* Optionally: Allegro reviews (1-2 stars negative, 5 stars positive) - off by default.
* Extra ``label<TAB>text`` files and team corrections ``(label, text)``: weighted like the
  microblog posts.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from szpak.listening.sentiment import (
    LABELS,
    MODEL_DIR,
    E5Head,
    FeatureConfig,
    Featurizer,
    SentimentModel,
    canonical_label,
    embed,
    fit_idf,
    softmax,
)

Example = tuple[str, str]
"""``(label, text)`` with ``label`` one of :data:`LABELS`."""

PACKAGE_DATA_DIR = Path(__file__).resolve().parent / "data"
MICROBLOG_TRAIN = PACKAGE_DATA_DIR / "microblog_train.tsv"
MICROBLOG_EVAL = PACKAGE_DATA_DIR / "microblog_eval.tsv"
MICROBLOG_INDEPENDENT = PACKAGE_DATA_DIR / "microblog_independent.tsv"
"""Written before the 2026-11-27 training run and never used to choose anything (evaluation only)."""
METRICS_FILE = "metrics.json"

_POLEMO_LABELS = {"minus_m": "negative", "zero": "neutral", "plus_m": "positive", "amb": "ambivalent"}
_POLEMO_DOMAINS = ("hotels", "medicine", "products", "reviews")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,!?;:)%])")
_SPACE_AFTER_PAREN = re.compile(r"([(])\s+")


@dataclass
class TrainConfig:
    """Hyper-parameters; the defaults are the ones chosen on PolEmo dev + microblog CV."""

    features: FeatureConfig = field(default_factory=FeatureConfig)
    microblog_weight: float = 10.0
    extra_weight: float = 10.0
    lexicon_weight: float = 0.5
    lexicon_threshold: float = 1.0
    allegro_weight: float = 0.0
    alpha: float = 5e-6
    epochs: int = 20
    seed: int = 0
    use_e5: bool = True
    e5_C: float = 10.0
    e5_polemo_n: int = 3000
    e5_polemo_weight: float = 0.3
    e5_microblog_weight: float = 3.0
    route_below: float = 0.8
    e5_mix: float = 0.5


# --------------------------------------------------------------------------- data loading


def detokenize(text: str) -> str:
    """Undo PolEmo's spaces before punctuation so its text looks like typed text."""
    return _SPACE_AFTER_PAREN.sub(r"\1", _SPACE_BEFORE_PUNCT.sub(r"\1", text)).strip()


def _polemo_tag_suffix(tag: str) -> str:
    """``__label__z_minus_m`` / ``__label__meta_minus_m`` -> ``minus_m``."""
    body = tag.removeprefix("__label__")
    for prefix in ("z_", "meta_"):
        if body.startswith(prefix):
            return body[len(prefix) :]
    raise ValueError(f"unknown PolEmo label {tag!r}")


def load_polemo(
    data_dir: Path, split: str, kind: str = "sentence", ambivalent: str | None = None
) -> list[Example]:
    """PolEmo items of one split from all four domains.

    ``ambivalent``: ``None`` drops ``z_amb`` items, otherwise it is the label they get
    (e.g. ``"neutral"``).
    """
    examples: list[Example] = []
    for domain in _POLEMO_DOMAINS:
        path = data_dir / "sentiment" / "polemo2" / f"{domain}.{kind}.{split}.txt"
        if not path.is_file():
            raise FileNotFoundError(f"PolEmo file missing: {path}")
        for line in path.read_text(encoding="utf-8").splitlines():
            text, _, tag = line.strip().rpartition(" ")
            if not text:
                continue
            label = _POLEMO_LABELS[_polemo_tag_suffix(tag)]
            if label == "ambivalent":
                if ambivalent is None:
                    continue
                label = ambivalent
            examples.append((label, detokenize(text)))
    return examples


def load_allegro(data_dir: Path, split: str = "train") -> list[Example]:
    """Allegro reviews: 1-2 stars -> negative, 5 stars -> positive; 3-4 stars are dropped."""
    path = data_dir / "sentiment" / "allegro_reviews" / f"{split}.tsv"
    examples: list[Example] = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        text, _, rating = line.rpartition("\t")
        stars = float(rating)
        if stars <= 2.0:
            examples.append(("negative", text))
        elif stars >= 5.0:
            examples.append(("positive", text))
    return examples


def load_tsv(path: Path) -> list[Example]:
    """A ``label<TAB>text`` file; labels ``neg/neu/pos`` or ``negative/neutral/positive``.

    Blank lines and lines starting with ``#`` are skipped.
    """
    examples: list[Example] = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        label, sep, text = line.partition("\t")
        if not sep or not text.strip():
            raise ValueError(f"{path}:{number}: expected 'label<TAB>text'")
        try:
            examples.append((canonical_label(label), text.strip()))
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: {exc}") from None
    return examples


def load_vader_lexicon(threshold: float) -> list[Example]:
    """English VADER lexicon entries with ``|valence| >= threshold`` as one-word examples.

    Returns ``[]`` when the optional ``vaderSentiment`` package is not installed.
    """
    try:
        import vaderSentiment
    except ImportError:
        return []
    path = Path(vaderSentiment.__file__).resolve().parent / "vader_lexicon.txt"
    examples: list[Example] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 2:
            continue
        valence = float(parts[1])
        if valence >= threshold:
            examples.append(("positive", parts[0]))
        elif valence <= -threshold:
            examples.append(("negative", parts[0]))
    return examples


def normalize_corrections(corrections: Iterable[tuple[str, str]] | None) -> list[Example]:
    """Team corrections ``(label, text)`` with any accepted label spelling."""
    if corrections is None:
        return []
    return [(canonical_label(label), text) for label, text in corrections if text and text.strip()]


# --------------------------------------------------------------------------- e5 embedding cache


class EmbeddingCache:
    """e5 embeddings on disk, keyed by the SHA-1 of the text, so each text is embedded once.

    A directory of ``*.npz`` shards, each holding ``keys`` (hex SHA-1 strings) and ``emb``
    (float32, n × 384).  Embeddings depend only on the text, so a cached run trains exactly the
    model an uncached one would (up to the embedder's own float rounding).  ``None`` as the
    directory disables caching.
    """

    def __init__(self, directory: Path | None) -> None:
        self.directory = Path(directory) if directory is not None else None
        self._vectors: dict[str, np.ndarray] = {}
        if self.directory is not None and self.directory.is_dir():
            for shard in sorted(self.directory.glob("*.npz")):
                with np.load(shard, allow_pickle=False) as arrays:
                    for key, vector in zip(arrays["keys"], arrays["emb"]):
                        self._vectors[str(key)] = vector.astype(np.float32)

    @staticmethod
    def key(text: str) -> str:
        """Cache key of ``text``."""
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def __call__(self, texts: Sequence[str], chunk: int = 256) -> np.ndarray:
        """Embeddings of ``texts`` (computing and storing the missing ones)."""
        missing = list(dict.fromkeys(t for t in texts if self.key(t) not in self._vectors))
        for start in range(0, len(missing), chunk):
            part = missing[start : start + chunk]
            vectors = embed(part)
            for text, vector in zip(part, vectors):
                self._vectors[self.key(text)] = vector
            if self.directory is not None:
                self.directory.mkdir(parents=True, exist_ok=True)
                np.savez(
                    self.directory / f"{time.time_ns()}.npz",
                    keys=np.array([self.key(t) for t in part]),
                    emb=vectors.astype(np.float32),
                )
        if not texts:
            return np.zeros((0, 384), np.float32)
        return np.stack([self._vectors[self.key(t)] for t in texts]).astype(np.float32)


# --------------------------------------------------------------------------- training


@dataclass
class WeightedSet:
    """A named group of training examples sharing one sample weight."""

    name: str
    examples: list[Example]
    weight: float


def train_model(sets: Sequence[WeightedSet], config: TrainConfig) -> SentimentModel:
    """Fit IDF and a multinomial logistic-regression (SGD) classifier on weighted example sets."""
    used = [s for s in sets if s.examples and s.weight > 0]
    if not used:
        raise ValueError("no training data")
    texts = [text for s in used for _, text in s.examples]
    labels = np.array([label for s in used for label, _ in s.examples])
    weights = np.concatenate([np.full(len(s.examples), s.weight, dtype=np.float64) for s in used])
    missing = set(LABELS) - set(labels)
    if missing:
        raise ValueError(f"training data has no examples of {sorted(missing)}")

    featurizer = Featurizer(config.features)
    counts = featurizer.counts(texts)
    featurizer.idf = fit_idf(counts)
    classifier = SGDClassifier(
        loss="log_loss",
        alpha=config.alpha,
        max_iter=config.epochs,
        tol=None,
        class_weight="balanced",
        random_state=config.seed,
    )
    classifier.fit(featurizer.finish(counts), labels, sample_weight=weights)
    order = [list(classifier.classes_).index(label) for label in LABELS]
    coef = classifier.coef_[order].astype(np.float32)
    intercept = classifier.intercept_[order].astype(np.float32)
    meta = {
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "train_sets": {s.name: {"n": len(s.examples), "weight": s.weight} for s in used},
        "config": {k: v for k, v in asdict(config).items() if k != "features"},
    }
    return SentimentModel(featurizer, coef, intercept, meta=meta)


def train_e5_head(sets: Sequence[WeightedSet], config: TrainConfig, embed_fn: Any = None) -> E5Head:
    """Logistic regression on e5 embeddings of the (small) weighted sets."""
    used = [s for s in sets if s.examples and s.weight > 0]
    texts = [text for s in used for _, text in s.examples]
    labels = np.array([label for s in used for label, _ in s.examples])
    weights = np.concatenate([np.full(len(s.examples), s.weight) for s in used])
    classifier = LogisticRegression(C=config.e5_C, max_iter=3000, class_weight="balanced")
    classifier.fit((embed_fn or embed)(texts), labels, sample_weight=weights)
    order = [list(classifier.classes_).index(label) for label in LABELS]
    return E5Head(classifier.coef_[order].astype(np.float32), classifier.intercept_[order].astype(np.float32))


def e5_training_sets(sets: Sequence[WeightedSet], config: TrainConfig) -> list[WeightedSet]:
    """In-domain sets in full plus a seeded sample of PolEmo, for the (slow to embed) e5 head.

    The PolEmo sample is the first ``e5_polemo_n`` items of a seeded shuffle, so a larger
    ``e5_polemo_n`` extends the same sample (and reuses cached embeddings).
    """
    chosen: list[WeightedSet] = []
    for s in sets:
        if s.name == "polemo_sentence_train":
            order = list(range(len(s.examples)))
            random.Random(config.seed).shuffle(order)
            sample = [s.examples[i] for i in order[: config.e5_polemo_n]]
            chosen.append(WeightedSet(s.name, sample, config.e5_polemo_weight))
        elif s.name in ("microblog_train", "extra", "corrections"):
            chosen.append(WeightedSet(s.name, s.examples, config.e5_microblog_weight))
    return chosen


def fit_temperature(model: SentimentModel, examples: Sequence[Example]) -> float:
    """Temperature minimising the log-loss on ``examples`` (a held-out set such as PolEmo dev)."""
    scores = model.scores([text for _, text in examples])
    gold = np.array([LABELS.index(label) for label, _ in examples])
    best_t, best_loss = 1.0, float("inf")
    for temperature in np.exp(np.linspace(np.log(0.1), np.log(5.0), 60)):
        proba = softmax(scores / temperature)
        loss = float(-np.log(np.clip(proba[np.arange(len(gold)), gold], 1e-9, None)).mean())
        if loss < best_loss:
            best_t, best_loss = float(temperature), loss
    return best_t


# --------------------------------------------------------------------------- evaluation


def predict_labels(model: SentimentModel, texts: Sequence[str], batch_size: int = 512) -> list[str]:
    """Predicted labels for ``texts``, in batches."""
    predicted: list[str] = []
    for start in range(0, len(texts), batch_size):
        predicted.extend(label for label, _ in model.predict(list(texts[start : start + batch_size])))
    return predicted


def evaluate(model: SentimentModel, examples: Sequence[Example], batch_size: int = 512) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix."""
    if not examples:
        raise ValueError("nothing to evaluate")
    predicted = predict_labels(model, [text for _, text in examples], batch_size)
    return score([label for label, _ in examples], predicted)


def score(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Metrics dict for gold vs predicted labels."""
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=list(LABELS), zero_division=0
    )
    return {
        "n": len(gold),
        "accuracy": round(float(accuracy_score(gold, predicted)), 4),
        "macro_f1": round(float(f1_score(gold, predicted, labels=list(LABELS), average="macro", zero_division=0)), 4),
        "per_class": {
            label: {
                "precision": round(float(precision[i]), 4),
                "recall": round(float(recall[i]), 4),
                "f1": round(float(f1[i]), 4),
                "support": int(support[i]),
            }
            for i, label in enumerate(LABELS)
        },
        "confusion": {
            "labels": list(LABELS),
            "matrix": confusion_matrix(gold, predicted, labels=list(LABELS)).tolist(),
        },
    }


def format_metrics(name: str, metrics: dict[str, Any]) -> str:
    """One human-readable block for a metrics dict from :func:`evaluate`."""
    lines = [f"{name}: n={metrics['n']} accuracy={metrics['accuracy']:.4f} macro-F1={metrics['macro_f1']:.4f}"]
    for label, row in metrics["per_class"].items():
        lines.append(
            f"  {label:<9} P={row['precision']:.3f} R={row['recall']:.3f} F1={row['f1']:.3f} n={row['support']}"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- the whole run


def build_training_sets(
    data_dir: Path,
    config: TrainConfig,
    extra_files: Sequence[Path] = (),
    corrections: Iterable[tuple[str, str]] | None = None,
) -> list[WeightedSet]:
    """All weighted training sets used by ``szpak listening train``."""
    sets = [
        WeightedSet("polemo_sentence_train", load_polemo(data_dir, "train"), 1.0),
        WeightedSet("microblog_train", load_tsv(MICROBLOG_TRAIN), config.microblog_weight),
        WeightedSet("vader_lexicon", load_vader_lexicon(config.lexicon_threshold), config.lexicon_weight),
    ]
    if config.allegro_weight > 0:
        sets.append(WeightedSet("allegro_train", load_allegro(data_dir), config.allegro_weight))
    extra: list[Example] = []
    for path in extra_files:
        extra.extend(load_tsv(path))
    sets.append(WeightedSet("extra", extra, config.extra_weight))
    sets.append(WeightedSet("corrections", normalize_corrections(corrections), config.extra_weight))
    return sets


def run_training(
    data_dir: Path,
    out_dir: Path = MODEL_DIR,
    extra_files: Sequence[Path] = (),
    corrections: Iterable[tuple[str, str]] | None = None,
    config: TrainConfig | None = None,
    log: Any = print,
    emb_cache: Path | None = None,
) -> dict[str, Any]:
    """Train on ``data_dir``, calibrate and evaluate on dev sets, save model + ``metrics.json``.

    ``emb_cache``: a directory where e5 embeddings are kept between runs (see
    :class:`EmbeddingCache`); it changes the speed of a run, not its result.
    """
    config = config or TrainConfig()
    cache = EmbeddingCache(emb_cache)
    random.seed(config.seed)
    started = time.perf_counter()
    sets = build_training_sets(data_dir, config, extra_files, corrections)
    for s in sets:
        log(f"train set {s.name}: {len(s.examples)} examples, weight {s.weight}")
    model = train_model(sets, config)
    _round_as_saved(model)
    dev_all = load_polemo(data_dir, "dev", ambivalent="ambivalent")
    dev = [(label, text) for label, text in dev_all if label != "ambivalent"]
    model.temperature = fit_temperature(model, dev)
    fast_only = route_stats = None
    if config.use_e5:
        fast_only = _dev_metrics(model, dev_all)
        log("training the e5 head ...")
        model.e5_head = train_e5_head(e5_training_sets(sets, config), config, embed_fn=cache)
        model.route_below, model.e5_mix = config.route_below, config.e5_mix
        model.embed_fn = cache
        route_stats = routed_fraction(model, [text for _, text in load_tsv(MICROBLOG_EVAL)] + [t for _, t in dev[::10]])
    metrics: dict[str, Any] = {
        **_dev_metrics(model, dev_all),
        "microblog_eval_heldout": evaluate(model, load_tsv(MICROBLOG_EVAL)),
        "microblog_independent_heldout": evaluate(model, load_tsv(MICROBLOG_INDEPENDENT)),
        "microblog_train_fit": evaluate(model, load_tsv(MICROBLOG_TRAIN)),
        "temperature": round(model.temperature, 4),
    }
    if fast_only is not None:
        metrics["fast_stage_only"] = {
            **fast_only,
            "microblog_eval_heldout": evaluate(_fast_copy(model), load_tsv(MICROBLOG_EVAL)),
            "microblog_independent_heldout": evaluate(_fast_copy(model), load_tsv(MICROBLOG_INDEPENDENT)),
        }
        metrics["e5_routed_fraction"] = route_stats
    metrics["train_seconds"] = round(time.perf_counter() - started, 1)
    model.meta["metrics"] = {k: v["accuracy"] for k, v in metrics.items() if isinstance(v, dict) and "accuracy" in v}
    model.meta.pop("trained_at", None)  # keep config.json a function of data and settings only
    model.embed_fn = None
    model.save(out_dir)
    (out_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    for name, value in metrics.items():
        if isinstance(value, dict) and "accuracy" in value:
            log(format_metrics(name, value))
        elif isinstance(value, dict):
            for sub, inner in value.items():
                log(format_metrics(f"{name}/{sub}", inner) if isinstance(inner, dict) else f"{name}/{sub}: {inner}")
    log(f"temperature={model.temperature:.3f}; saved to {out_dir} in {metrics['train_seconds']}s")
    return metrics


def _round_as_saved(model: SentimentModel) -> None:
    """Round weights and IDF to float16, as :meth:`SentimentModel.save` stores them, so that the
    figures computed here are those of the shipped files."""
    model._coef_t = np.ascontiguousarray(model._coef_t.astype(np.float16).astype(np.float32))
    if model.featurizer.idf is not None:
        model.featurizer.idf = model.featurizer.idf.astype(np.float16).astype(np.float32)


def _fast_copy(model: SentimentModel) -> SentimentModel:
    """The same model with the e5 stage switched off."""
    copy = SentimentModel(model.featurizer, model.coef, model.intercept, model.temperature, model.meta)
    return copy


def _dev_metrics(model: SentimentModel, dev_all: Sequence[Example], split: str = "dev") -> dict[str, Any]:
    """PolEmo metrics without ambivalent items and with them counted as neutral (one pass)."""
    predicted = predict_labels(model, [text for _, text in dev_all])
    gold = [label for label, _ in dev_all]
    keep = [i for i, label in enumerate(gold) if label != "ambivalent"]
    return {
        f"polemo_sentence_{split}_without_amb": score([gold[i] for i in keep], [predicted[i] for i in keep]),
        f"polemo_sentence_{split}_amb_as_neutral": score(
            ["neutral" if g == "ambivalent" else g for g in gold], predicted
        ),
    }


def routed_fraction(model: SentimentModel, texts: Sequence[str]) -> float:
    """Share of ``texts`` the fast stage is unsure of, i.e. that go to the e5 stage."""
    if not texts or model.e5_head is None:
        return 0.0
    confidence = model.fast_proba(list(texts)).max(axis=1)
    return round(float((confidence < model.route_below).mean()), 4)


def report_polemo_test(model: SentimentModel, data_dir: Path) -> dict[str, Any]:
    """Final reporting on PolEmo's TEST split.  Never use the result to choose anything."""
    return _dev_metrics(model, load_polemo(data_dir, "test", ambivalent="ambivalent"), split="test")
