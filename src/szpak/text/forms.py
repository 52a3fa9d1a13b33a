"""Inflected forms of tracked terms (what the listening matcher looks for).

``expand("skarpeta")`` returns every folded form a post may use for the term.

* **Known words** (in SGJP): the morfeusz2 generator over the term's lemmas.
  If the term is itself a lemma (``skarpeta``, ``zamek``) only those lemmas
  are used; an inflected term (``skarpetki``) uses all its lemmas.
* **Diminutives**: for noun lemmas, regular diminutive candidates
  (``-a``→``-ka``/``-eczka``, ``-o``→``-ko``, consonant→``-ek``/``-ik``/``-yk``,
  ``-ek``→``-eczek``) are generated and *kept only if SGJP knows them* as
  noun lemmas, so ``skarpeta`` also matches ``skarpetka``/``skarpetki``.
  The reverse (a diminutive term matching its base) is not done.
* **Unknown words** (brands such as ``Skarpetkowo``, ``Blip``): endings are
  borrowed from dictionary nouns that end alike.  First, if a suffix of the
  name (≥ 4 letters) is a known noun (``Superkomputer`` → ``komputer``) its
  paradigm is used; otherwise the longest matching suffix among ~180 model
  nouns (``_models.MODEL_NOUNS``) is used, together with models matching one
  letter less, so consonant-final names get both ``-a`` and ``-u``
  genitives.  A model is grafted only if the name ends with the model's
  whole alternating tail (``słowo``/``słów`` has tail ``owo``), so stems are
  never mangled.
* **English**: ``sock`` → ``socks``, ``sock's``, ``socks'`` (``-es``/``-ies``
  rules too), applied to ASCII words unless ``lang="pl"``.

All returned strings are folded (see :func:`szpak.text.normalize.fold`).
"""

from __future__ import annotations

import itertools
import threading
from functools import lru_cache
from typing import NamedTuple

from . import _morf
from ._models import MODEL_NOUNS
from .normalize import fold
from .tokenize import tokenize

__all__ = [
    "expand",
    "expand_word",
    "expand_phrase",
    "english_forms",
    "graft_forms",
    "diminutives",
    "MAX_PHRASE_PRODUCT",
]

MAX_PHRASE_PRODUCT = 100_000
_MIN_DICT_SUFFIX = 4


class _Model(NamedTuple):
    """A model paradigm: forms = ``stem + ending`` where the lemma is
    ``stem + tail``."""

    lemma: str
    tail: str
    endings: frozenset[str]


def _common_prefix(words: list[str]) -> str:
    """Longest common prefix of ``words``."""
    first, last = min(words), max(words)
    i = 0
    while i < len(first) and i < len(last) and first[i] == last[i]:
        i += 1
    return first[:i]


def _model_for(lemma: str) -> _Model | None:
    """Build a grafting model from the noun forms SGJP generates for ``lemma``."""
    lower = lemma.lower()
    forms = [
        i.form.lower()
        for i in _morf.generate(lemma)
        if i.tag.startswith("subst") and i.lemma.lower() == lower
    ]
    if not forms:
        return None
    prefix = _common_prefix([lower, *forms])
    if not prefix:
        return None
    return _Model(lower, lower[len(prefix):], frozenset(f[len(prefix):] for f in forms))


_index_lock = threading.Lock()
_suffix_index: dict[str, list[_Model]] | None = None


def _get_suffix_index() -> dict[str, list[_Model]]:
    """Suffix → models, built once per process on first use (~10 ms)."""
    global _suffix_index
    if _suffix_index is None:
        with _index_lock:
            if _suffix_index is None:
                index: dict[str, list[_Model]] = {}
                for noun in MODEL_NOUNS:
                    model = _model_for(noun)
                    if model is None:
                        continue
                    for k in range(1, len(model.lemma) + 1):
                        index.setdefault(model.lemma[-k:], []).append(model)
                _suffix_index = index
    return _suffix_index


def _graft(word: str, model: _Model) -> set[str]:
    """Apply ``model``'s endings to ``word`` (which ends with its tail)."""
    stem = word[: len(word) - len(model.tail)] if model.tail else word
    return {stem + ending for ending in model.endings}


def _dictionary_suffix_models(word: str) -> list[_Model]:
    """Model from the longest known-noun suffix of ``word`` (≥ 4 letters)."""
    for k in range(len(word) - 2, _MIN_DICT_SUFFIX - 1, -1):
        lemma = _morf.known_noun_lemma(word[-k:])
        if lemma is not None:
            model = _model_for(lemma)
            if model is not None:
                return [model]
    return []


def _suffix_table_models(word: str) -> list[_Model]:
    """Models sharing the longest usable suffix with ``word`` (and one less)."""
    index = _get_suffix_index()
    best = 0
    found: list[tuple[int, _Model]] = []
    for k in range(min(len(word) - 1, 12), 0, -1):
        for model in index.get(word[-k:], ()):
            if len(model.tail) <= k and model.lemma != word:
                found.append((k, model))
                best = max(best, k)
    if not best:
        # No model ends like this (``Netflix``, ``Brandex``): a consonant-final
        # name still declines like a hard-stem masculine noun.
        if word[-1] not in "aeiouyąęó'":
            return list(index.get("p", ()))
        return []
    floor = max(1, best - 1)
    return [m for k, m in found if k >= floor]


@lru_cache(maxsize=65536)
def graft_forms(word: str) -> frozenset[str]:
    """Polish forms for an unknown (not in SGJP) word, by analogy."""
    lower = fold(word) if not word.isalpha() else word.lower()
    if len(lower) < 2 or not lower.replace("-", "").isalpha():
        return frozenset({fold(word)})
    models = _dictionary_suffix_models(lower) or _suffix_table_models(lower)
    forms: set[str] = {lower}
    for model in models:
        forms |= _graft(lower, model)
    return frozenset(fold(f) for f in forms)


def english_forms(word: str) -> frozenset[str]:
    """Plural and possessive forms of an English word (folded)."""
    w = fold(word)
    forms = {w, w + "'s"}
    if w.endswith(("s", "x", "z", "ch", "sh")):
        plural = w + "es"
        forms.add(w + "'")
    elif len(w) > 2 and w.endswith("y") and w[-2] not in "aeiou":
        plural = w[:-1] + "ies"
    else:
        plural = w + "s"
    forms |= {plural, plural + "'"}
    if plural != w + "s":
        forms.add(w + "s")  # brand plurals rarely follow the rules
    return frozenset(forms)


_DIMINUTIVE_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ka", ("eczka",)),
    ("a", ("ka", "eczka")),
    ("ko", ("eczko",)),
    ("o", ("ko", "eczko")),
    ("ek", ("eczek",)),
    ("", ("ek", "ik", "yk")),
)


def _diminutive_candidates(lemma: str) -> set[str]:
    """Regular diminutive shapes of a noun lemma (not yet validated)."""
    out: set[str] = set()
    for ending, replacements in _DIMINUTIVE_RULES:
        if lemma.endswith(ending) and len(lemma) > len(ending) + 1:
            stem = lemma[: len(lemma) - len(ending)] if ending else lemma
            if not ending and lemma[-1] in "aeiouyąęó":
                continue
            out.update(stem + r for r in replacements)
    return out


@lru_cache(maxsize=16384)
def diminutives(lemma: str) -> frozenset[str]:
    """Diminutive lemmas of a common-noun ``lemma`` that SGJP actually knows
    (one level deep, plus a second level: ``skarpeta`` → ``skarpetka`` →
    ``skarpeteczka``)."""
    found: set[str] = set()
    frontier = {lemma}
    for _ in range(2):
        next_frontier: set[str] = set()
        for base in frontier:
            for candidate in _diminutive_candidates(base):
                if candidate not in found and _morf.known_noun_lemma(candidate):
                    found.add(candidate)
                    next_frontier.add(candidate)
        frontier = next_frontier
    return frozenset(found)


def _lemma_forms(lemma: str) -> set[str]:
    """Folded forms of every homonym of ``lemma``."""
    return {fold(i.form) for i in _morf.generate(lemma)}


def _known_forms(word: str, interps: tuple[_morf.Interp, ...]) -> set[str]:
    """Forms for a word SGJP knows (plus its noun lemmas' diminutives)."""
    lower = word.lower()
    base = {i.lemma for i in interps if i.lemma.lower() == lower}
    lemmas = base or {i.lemma for i in interps}
    forms: set[str] = set()
    for lemma in lemmas:
        forms |= _lemma_forms(lemma)
    nouns = {
        i.lemma
        for i in interps
        if i.tag.startswith("subst") and i.lemma in lemmas and not i.lemma[:1].isupper()
    }
    for noun in nouns:
        for diminutive in diminutives(noun):
            forms |= _lemma_forms(diminutive)
    return forms


@lru_cache(maxsize=65536)
def expand_word(word: str, lang: str | None = None) -> frozenset[str]:
    """All folded forms of a single word; see the module docstring."""
    forms = {fold(word)}
    if lang != "en":
        interps = tuple(i for i in _morf.analyse(word) if i.tag not in ("interp", "dig"))
        if interps:
            forms |= _known_forms(word, interps)
        else:
            forms |= graft_forms(word)
    if lang != "pl" and word.isascii():
        forms |= english_forms(word)
    return frozenset(forms)


def _term_words(term: str) -> list[str]:
    """Words of a term as the tokenizer sees them (original spelling)."""
    return [t.text for t in tokenize(term) if t.kind in ("word", "hashtag")]


def expand_phrase(term: str, lang: str | None = None) -> tuple[frozenset[str], ...]:
    """Per-word form sets of a (possibly multi-word) term, in order."""
    return tuple(expand_word(w, lang) for w in _term_words(term))


def expand(term: str, lang: str | None = None) -> set[str]:
    """All folded forms of ``term``; for a phrase, every combination of its
    words' forms joined by single spaces (no agreement is enforced).

    ``lang``: ``"pl"`` (Polish forms only), ``"en"`` (English rules only) or
    ``None`` (both).  Raises ``ValueError`` if a phrase would expand to more
    than :data:`MAX_PHRASE_PRODUCT` combinations — use :func:`expand_phrase`.
    """
    per_word = expand_phrase(term, lang)
    if not per_word:
        return set()
    if len(per_word) == 1:
        return set(per_word[0])
    size = 1
    for forms in per_word:
        size *= len(forms)
    if size > MAX_PHRASE_PRODUCT:
        raise ValueError(f"phrase {term!r} has {size} combinations; use expand_phrase()")
    return {" ".join(combo) for combo in itertools.product(*per_word)}
