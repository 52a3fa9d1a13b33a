"""Shared, lazily created morfeusz2 access (one analyser per thread).

``morfeusz2.Morfeusz`` is not thread-safe, so each thread gets its own
instance on first use (creation takes ~80 ms and ~a few MB; the SGJP
dictionary itself is memory-mapped and shared).  Results are memoised in
process-wide LRU caches because analysis sits on the indexing hot path.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import NamedTuple

import morfeusz2

__all__ = ["Interp", "analyse", "generate", "known_noun_lemma", "morfeusz"]

_local = threading.local()


def morfeusz() -> morfeusz2.Morfeusz:
    """Return this thread's Morfeusz instance, creating it on first use."""
    instance = getattr(_local, "morfeusz", None)
    if instance is None:
        instance = morfeusz2.Morfeusz()
        _local.morfeusz = instance
    return instance


class Interp(NamedTuple):
    """One interpretation: surface ``form``, ``lemma`` stripped of its
    homonym suffix (``zamek:Sm3~a`` → ``zamek``) and the morphosyntactic
    ``tag``."""

    form: str
    lemma: str
    tag: str


def _strip_lemma(lemma: str) -> str:
    """``zamek:Sm3~a`` → ``zamek``; a lone ``:`` (punctuation) is kept."""
    head, sep, _ = lemma.partition(":")
    return head if head and sep else lemma


@lru_cache(maxsize=262144)
def analyse(word: str) -> tuple[Interp, ...]:
    """Interpretations of a single word (``ign`` ones dropped).

    Morfeusz returns a DAG of segments.  Interpretations spanning the whole
    word are preferred (``Coca-Cola`` → ``coca-cola``); when none exists the
    word is agglutinated (``zrobiłem`` = ``zrobił`` + ``em``) and the
    interpretations of the *first* segment are used, which carry the
    content lemma.
    """
    results = morfeusz().analyse(word)
    if not results:
        return ()
    last = max(end for _, end, _ in results)
    full = [r for r in results if r[0] == 0 and r[1] == last]
    chosen = full or [r for r in results if r[0] == 0]
    out = []
    for _, _, (form, lemma, tag, _names, _quals) in chosen:
        if tag == "ign":
            continue
        out.append(Interp(form, _strip_lemma(lemma), tag))
    return tuple(out)


@lru_cache(maxsize=32768)
def generate(lemma: str) -> tuple[Interp, ...]:
    """All forms SGJP generates for ``lemma`` (all homonyms), except those
    qualified as archaic (``daw.``, e.g. ``słowy``), which only add noise."""
    try:
        results = morfeusz().generate(lemma)
    except RuntimeError:  # unknown lemma on some morfeusz builds
        return ()
    return tuple(
        Interp(form, _strip_lemma(lem), tag)
        for form, lem, tag, _names, qualifiers in results
        if tag != "ign" and "daw." not in qualifiers
    )


def known_noun_lemma(word: str) -> str | None:
    """Return the dictionary lemma if ``word`` is itself a nominative
    singular noun lemma (case-insensitively), else ``None``."""
    lower = word.lower()
    for interp in analyse(word):
        if interp.tag.startswith("subst:sg:nom") and interp.lemma.lower() == lower:
            return interp.lemma
    return None
