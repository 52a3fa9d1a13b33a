"""Throughput of the committed sentiment model: texts/s one at a time and batched, one core.

Run: ``OMP_NUM_THREADS=1 python bench/sentiment.py`` (also pins this process to one CPU where
the OS allows).  Texts are the held-out microblog posts, repeated.
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from szpak.listening.sentiment import SentimentModel  # noqa: E402
from szpak.listening.train import MICROBLOG_EVAL, load_tsv  # noqa: E402


def pin_to_one_core() -> str:
    """Restrict this process to a single CPU if possible; describe what was done."""
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"


def measure(model: SentimentModel, texts: list[str], batch_size: int, min_seconds: float = 2.0) -> float:
    """Texts per second predicting ``texts`` in batches of ``batch_size`` for at least ``min_seconds``."""
    done = 0
    started = time.perf_counter()
    while True:
        for start in range(0, len(texts), batch_size):
            model.predict(texts[start : start + batch_size])
        done += len(texts)
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return done / elapsed


def main() -> None:
    """Print load time and throughput for several batch sizes."""
    pinned = pin_to_one_core()
    started = time.perf_counter()
    model = SentimentModel.load()
    load_seconds = time.perf_counter() - started
    texts = [text for _, text in load_tsv(MICROBLOG_EVAL)] * 4
    model.predict(texts[:8])
    shipped_route = model.route_below
    routed = float((model.fast_proba(texts).max(axis=1) < shipped_route).mean()) if model.e5_head else 0.0
    print(f"sentiment bench ({pinned}); model load {load_seconds:.2f}s; {len(texts)} texts per round")
    modes = [("fast stage only", 0.0), (f"shipped cascade ({routed:.0%} of these texts go to e5)", shipped_route)]
    if model.e5_head is not None:
        modes.append(("e5 for every text", 2.0))
    for name, route_below in modes:
        model.route_below = route_below
        print(f" {name}:")
        for batch_size in (1, 64, 256):
            print(f"  batch {batch_size:>3}: {measure(model, texts, batch_size):8.0f} texts/s")
    model.route_below = shipped_route


if __name__ == "__main__":
    main()
