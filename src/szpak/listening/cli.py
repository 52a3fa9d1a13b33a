"""``szpak listening`` sub-commands: ``train`` and ``eval`` for the sentiment model."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# The model directory, without importing the model code (numpy, scikit-learn) for every
# `szpak` command: sentiment.py defines the same path.
MODEL_DIR = Path(__file__).with_name("model")

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_DATA_DIR = "../shared/data"


def resolve_data_dir(value: str) -> Path:
    """Resolve ``--data-dir``: absolute as given; relative against the cwd, then the repo root."""
    raw = Path(value).expanduser()
    candidates = [raw] if raw.is_absolute() else [Path.cwd() / raw, REPO_ROOT / raw]
    for candidate in candidates:
        if (candidate / "sentiment" / "polemo2").is_dir():
            return candidate.resolve()
    tried = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        f"training data not found (looked for sentiment/polemo2 under: {tried}); "
        "pass --data-dir pointing at the shared data folder"
    )


def cmd_train(args: argparse.Namespace) -> int:
    """Train the model, write it to ``--out`` and print dev metrics."""
    from szpak.listening.sentiment import SentimentModel
    from szpak.listening.train import format_metrics, report_polemo_test, run_training

    try:
        data_dir = resolve_data_dir(args.data_dir)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out_dir = Path(args.out)
    extra = [Path(p) for p in args.extra or []]
    for path in extra:
        if not path.is_file():
            print(f"error: --extra file not found: {path}", file=sys.stderr)
            return 2
    cache = Path(args.emb_cache) if args.emb_cache else None
    run_training(data_dir, out_dir, extra_files=extra, emb_cache=cache)
    if args.report_test:
        model = SentimentModel.load(out_dir)
        if cache is not None:
            from szpak.listening.train import EmbeddingCache

            model.embed_fn = EmbeddingCache(cache)
        report = report_polemo_test(model, data_dir)
        for name, metrics in report.items():
            print(format_metrics(name, metrics))
        (out_dir / "test_report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Print accuracy, macro-F1 and per-class scores of a model on a ``label<TAB>text`` file."""
    from szpak.listening.sentiment import SentimentModel
    from szpak.listening.train import evaluate, format_metrics, load_tsv

    try:
        examples = load_tsv(Path(args.file))
        model = SentimentModel.load(args.model)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not examples:
        print(f"error: no examples in {args.file}", file=sys.stderr)
        return 2
    metrics = evaluate(model, examples)
    print(format_metrics(str(args.file), metrics))
    if args.json:
        print(json.dumps(metrics))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``listening`` command group (``train``, ``eval``) to the ``szpak`` CLI."""
    listening = subparsers.add_parser("listening", help="brand-listening tools (sentiment model)")
    commands = listening.add_subparsers(dest="listening_command", required=True)

    train = commands.add_parser("train", help="train the sentiment model from the shared data")
    train.add_argument(
        "--data-dir",
        default=DEFAULT_DATA_DIR,
        help="shared data folder (default: ../shared/data, relative to the cwd or the repo root)",
    )
    train.add_argument("--out", default=str(MODEL_DIR), help="output model folder (default: the packaged model)")
    train.add_argument(
        "--extra",
        action="append",
        metavar="FILE",
        help="extra label<TAB>text training file (e.g. exported corrections); repeatable",
    )
    train.add_argument(
        "--report-test",
        action="store_true",
        help="after training, also score PolEmo's TEST split (final reporting only; never for tuning)",
    )
    train.add_argument(
        "--emb-cache",
        metavar="DIR",
        default=None,
        help="keep e5 embeddings in DIR between runs (same result, much faster reruns)",
    )
    train.set_defaults(func=cmd_train)

    evaluate = commands.add_parser("eval", help="score a model on a label<TAB>text file")
    evaluate.add_argument("file", help="labels neg/neu/pos or negative/neutral/positive, TAB, text")
    evaluate.add_argument("--model", default=None, help="model folder (default: the packaged model)")
    evaluate.add_argument("--json", action="store_true", help="also print the metrics as JSON")
    evaluate.set_defaults(func=cmd_eval)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m szpak.listening.cli``) for use before the lead's CLI exists."""
    parser = argparse.ArgumentParser(prog="szpak")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
