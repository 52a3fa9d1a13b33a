"""Tests for the brand-listening sentiment model (runtime API, training helpers, CLI)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from szpak.listening import cli, sentiment
from szpak.listening.sentiment import (
    LABELS,
    SentimentModel,
    canonical_label,
    get_model,
    normalize_text,
)
from szpak.listening.train import (
    MICROBLOG_EVAL,
    MICROBLOG_INDEPENDENT,
    MICROBLOG_TRAIN,
    TrainConfig,
    WeightedSet,
    evaluate,
    load_polemo,
    load_tsv,
    train_model,
)

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
needs_shared = pytest.mark.skipif(
    not (SHARED_DATA / "sentiment" / "polemo2").is_dir(),
    reason=f"shared training data not present at {SHARED_DATA}",
)


def test_committed_model_loads_fast_and_predicts() -> None:
    model = SentimentModel.load()
    out = model.predict(["Awaria naprawiona w 10 minut, dzięki!", "Nie działa od rana, masakra", ""])
    assert len(out) == 3
    for label, confidence in out:
        assert label in LABELS
        assert 0.0 <= confidence <= 1.0
    assert out[0][0] == "positive"
    assert out[1][0] == "negative"
    assert model.predict([]) == []


def test_get_model_is_cached() -> None:
    assert get_model() is get_model()


def test_committed_model_reaches_target_on_heldout_microblog_posts() -> None:
    metrics = evaluate(get_model(), load_tsv(MICROBLOG_EVAL))
    assert metrics["n"] >= 100
    assert metrics["accuracy"] >= 0.90, metrics
    assert metrics["macro_f1"] >= 0.88, metrics


def test_committed_model_on_independent_microblog_posts() -> None:
    # Written before this model's training run and never used to choose anything: a
    # regression guard at the measured figure's level, not a tuned target.
    metrics = evaluate(get_model(), load_tsv(MICROBLOG_INDEPENDENT))
    assert metrics["n"] >= 120
    assert metrics["accuracy"] >= 0.88, metrics


def test_microblog_sets_are_disjoint_and_well_formed() -> None:
    train = load_tsv(MICROBLOG_TRAIN)
    held_out = load_tsv(MICROBLOG_EVAL)
    independent = load_tsv(MICROBLOG_INDEPENDENT)
    assert len(train) + len(held_out) >= 300
    train_texts = {normalize_text(t) for _, t in train}
    assert train_texts.isdisjoint({normalize_text(t) for _, t in held_out})
    assert train_texts.isdisjoint({normalize_text(t) for _, t in independent})
    for examples in (train, held_out, independent):
        assert {label for label, _ in examples} == set(LABELS)


def test_normalisation_handles_microblog_noise() -> None:
    assert normalize_text("Dzięki @MegaNet!!! https://x.pl/a ŁÓDŹ 2024") == "dzieki  @user !!  url  lodz 0"


def test_canonical_label_accepts_both_styles() -> None:
    assert [canonical_label(x) for x in ("neg", "NEU", "positive")] == ["negative", "neutral", "positive"]
    with pytest.raises(ValueError):
        canonical_label("meh")


def test_save_load_round_trip(tmp_path: Path) -> None:
    model = get_model()
    model.save(tmp_path)
    again = SentimentModel.load(tmp_path)
    texts = ["super obsługa", "the app crashed again", "jutro premiera"]
    assert np.allclose(model.predict_proba(texts), again.predict_proba(texts), atol=1e-3)


def _tiny_sets(extra: list[tuple[str, str]]) -> list[WeightedSet]:
    base = load_tsv(MICROBLOG_TRAIN)
    return [WeightedSet("microblog", base, 1.0), WeightedSet("corrections", extra, 10.0)]


def test_corrections_change_predictions() -> None:
    config = TrainConfig(lexicon_weight=0.0, epochs=10)
    text = "zorglub flimflam kwadrat"
    before = train_model(_tiny_sets([]), config).predict([text])[0][0]
    target = "positive" if before != "positive" else "negative"
    corrections = [(target, f"{text} {i}") for i in range(5)] + [(target, text)]
    after = train_model(_tiny_sets(corrections), config).predict([text])[0][0]
    assert after == target != before


def _run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="szpak")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


@pytest.mark.parametrize("style", [("neg", "neu", "pos"), ("negative", "neutral", "positive")])
def test_eval_cli_parses_label_styles(tmp_path: Path, capsys: pytest.CaptureFixture[str], style: tuple[str, ...]) -> None:
    neg, neu, pos = style
    path = tmp_path / "small.tsv"
    path.write_text(
        f"{neg}\tTragiczna obsługa, nigdy więcej\n{neu}\tKiedy otwieracie nowy sklep?\n"
        f"{pos}\tDziękuję, wszystko działa super!\n{neg}\tthe app keeps crashing, useless\n",
        encoding="utf-8",
    )
    assert _run_cli(["listening", "eval", str(path), "--json"]) == 0
    out = capsys.readouterr().out
    assert "accuracy=" in out and "macro-F1=" in out
    metrics = json.loads(out.strip().splitlines()[-1])
    assert metrics["n"] == 4
    assert 0.0 <= metrics["accuracy"] <= 1.0


def test_eval_cli_rejects_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text("maybe\tsomething\n", encoding="utf-8")
    assert _run_cli(["listening", "eval", str(path)]) == 2


def test_train_cli_reports_missing_data_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_cli(["listening", "train", "--data-dir", str(tmp_path / "nope"), "--out", str(tmp_path / "m")]) == 2
    assert "training data not found" in capsys.readouterr().err


def test_model_card_and_metrics_are_shipped() -> None:
    assert (sentiment.MODEL_DIR / "MODEL_CARD.md").is_file()
    metrics = json.loads((sentiment.MODEL_DIR / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["microblog_eval_heldout"]["accuracy"] >= 0.90
    assert metrics["polemo_sentence_dev_without_amb"]["accuracy"] >= 0.80
    size = sum(p.stat().st_size for p in sentiment.MODEL_DIR.iterdir())
    assert size < 8 * 1024 * 1024


@needs_shared
def test_polemo_loader_reads_all_domains_and_ambivalent_policy() -> None:
    dropped = load_polemo(SHARED_DATA, "dev")
    mapped = load_polemo(SHARED_DATA, "dev", ambivalent="neutral")
    assert len(mapped) > len(dropped) > 4000
    assert {label for label, _ in mapped} == set(LABELS)
    assert not any(" ." in text[-3:] for _, text in dropped[:200])


@needs_shared
def test_small_polemo_training_learns_something() -> None:
    dev = load_polemo(SHARED_DATA, "dev")
    train = load_polemo(SHARED_DATA, "train")[::10]
    model = train_model([WeightedSet("polemo", train, 1.0)], TrainConfig(lexicon_weight=0.0, epochs=5))
    assert evaluate(model, dev[::5])["accuracy"] >= 0.65


@needs_shared
@pytest.mark.slow
def test_committed_model_reaches_target_on_polemo_sentence_dev() -> None:
    """The issue's figure, recomputed from the shipped model (not read from metrics.json):
    PolEmo 2.0 sentence dev, all four domains, ambivalent items left out.  Embeds the ~40 %
    of sentences the fast stage routes to e5, so it takes a minute or two on a busy machine."""
    metrics = evaluate(get_model(), load_polemo(SHARED_DATA, "dev"))
    assert metrics["n"] > 5000
    assert metrics["accuracy"] >= 0.80, metrics
    recorded = json.loads((sentiment.MODEL_DIR / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["accuracy"] == pytest.approx(recorded["polemo_sentence_dev_without_amb"]["accuracy"], abs=0.002)


def test_fast_stage_training_is_deterministic() -> None:
    config = TrainConfig(lexicon_weight=0.0, epochs=3)
    first = train_model(_tiny_sets([]), config)
    second = train_model(_tiny_sets([]), config)
    assert np.array_equal(first.coef, second.coef)
    assert np.array_equal(first.intercept, second.intercept)
