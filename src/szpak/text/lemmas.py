"""Lemmatisation and search terms (morfeusz2/SGJP, diacritic-insensitive).

Index side (:func:`index_terms`) stores, for every word of a post, its folded
surface form **and** its folded lemmas; unknown words (not in SGJP: brands,
English, typos, text typed without diacritics) get the folded word plus
*heuristic stems* marked with a trailing ``~`` (``blipie`` → ``blip~``), so an
unknown name matches across its inflections without colliding with real
words.  Hashtags are indexed as ``#tag`` and as words; mentions as ``@user``.

Query side (:func:`query_terms`) returns, for each query word, the set of
alternatives any of which must be among a post's index terms: the folded
word, its folded lemmas, the folded forms of those lemmas (so a post written
without diacritics still matches an inflected query), and — for an ASCII word
that could be a Polish word typed without diacritics (``zolwia``) — the same
for every diacritic restoration SGJP knows (``żółwia`` → lemma ``żółw``).
Restoration enumerates ``a→ą, c→ć, e→ę, l→ł, n→ń, o→ó, s→ś, z→ż/ź`` variants
(at most :data:`MAX_RESTORE_VARIANTS`), ~10 µs per variant, cached.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

from . import _morf
from .normalize import fold, fold_cached
from .tokenize import tokenize, word_parts

__all__ = [
    "lemmas",
    "stems",
    "restore_diacritics",
    "index_terms",
    "query_terms",
    "word_alternatives",
    "MAX_RESTORE_VARIANTS",
    "STEM_MARK",
]

STEM_MARK = "~"
MAX_RESTORE_VARIANTS = 2048
_MIN_STEM = 3

# (ending, replacement) pairs undoing common Polish nominal endings and the
# consonant alternations before -e/-ie, plus English plural/possessive.
# All on folded text (so ł is l, ó is o).
_STEM_RULES: tuple[tuple[str, str], ...] = (
    ("owie", ""), ("ami", ""), ("ach", ""), ("owi", ""), ("om", ""), ("em", ""),
    ("iem", ""), ("ow", ""), ("ie", ""), ("rze", "r"), ("cie", "t"),
    ("dzie", "d"), ("dze", "g"), ("sce", "sk"), ("ce", "k"), ("ze", "g"),
    ("u", ""), ("a", ""), ("o", ""), ("y", ""), ("i", ""), ("e", ""),
    ("'s", ""), ("s'", ""), ("ies", "y"), ("es", ""), ("s", ""),
)

_RESTORE: dict[str, str] = {
    "a": "aą", "c": "cć", "e": "eę", "l": "lł", "n": "nń",
    "o": "oó", "s": "sś", "z": "zżź",
}


def stems(folded: str) -> frozenset[str]:
    """Heuristic stems (``~``-marked) of an unknown folded word."""
    out = {folded + STEM_MARK}
    for ending, replacement in _STEM_RULES:
        if folded.endswith(ending) and len(folded) - len(ending) >= _MIN_STEM:
            out.add(folded[: len(folded) - len(ending)] + replacement + STEM_MARK)
    return frozenset(out)


@lru_cache(maxsize=262144)
def lemmas(token: str) -> frozenset[str]:
    """Folded lemmas of a word (all morfeusz interpretations).

    Unknown words give the folded word itself plus its heuristic
    :func:`stems`.  ``lemmas("skarpetek") == {"skarpetka"}``.
    """
    interps = _morf.analyse(token)
    found = {fold_cached(i.lemma) for i in interps if i.tag != "interp"}
    if found:
        return frozenset(found)
    folded = fold(token)
    if not any(c.isalpha() for c in folded):
        return frozenset({folded})
    return stems(folded) | {folded}


@lru_cache(maxsize=16384)
def restore_diacritics(folded: str) -> frozenset[str]:
    """Dictionary words whose folded spelling is ``folded`` (``zolw`` →
    ``{"żółw"}``); empty when there are too many variants to try."""
    options = [_RESTORE.get(c, c) for c in folded]
    count = 1
    for option in options:
        count *= len(option)
    if count > MAX_RESTORE_VARIANTS or count == 1:
        return frozenset()
    analyser = _morf.morfeusz()
    found: set[str] = set()
    for letters in itertools.product(*options):
        variant = "".join(letters)
        if variant == folded:
            continue
        results = analyser.analyse(variant)
        if len(results) and all(r[0] == 0 for r in results) and any(
            r[2][2] != "ign" for r in results
        ):
            found.add(variant)
    return frozenset(found)


def _forms_of(lemma_set: frozenset[str], word: str) -> set[str]:
    """Folded forms of the (unfolded) lemmas of ``word``."""
    forms: set[str] = set()
    for interp in _morf.analyse(word):
        if interp.tag != "interp" and fold(interp.lemma) in lemma_set:
            forms |= {fold_cached(g.form) for g in _morf.generate(interp.lemma)}
    return forms


@lru_cache(maxsize=16384)
def word_alternatives(word: str) -> frozenset[str]:
    """Index terms any of which satisfies the query word ``word``."""
    folded = fold(word)
    alternatives = {folded} | lemmas(word)
    alternatives |= _forms_of(lemmas(word), word)
    if folded.isascii() and folded.isalpha():
        for variant in restore_diacritics(folded):
            variant_lemmas = lemmas(variant)
            alternatives |= variant_lemmas | _forms_of(variant_lemmas, variant)
    return frozenset(alternatives)


@lru_cache(maxsize=262144)
def _word_terms(word: str) -> frozenset[str]:
    """Folded surface + lemmas of a word and of its hyphen/apostrophe parts."""
    terms = {fold_cached(word)} | lemmas(word)
    for part in word_parts(word):
        terms.add(fold_cached(part))
        terms |= lemmas(part)
    return frozenset(terms)


def index_terms(text: str) -> set[str]:
    """Terms to index a post's plain ``text`` under (see module docstring).

    Pass plain text; use :func:`szpak.text.normalize.html_to_text` first
    for stored status HTML.
    """
    terms: set[str] = set()
    for token in tokenize(text):
        if token.kind == "word":
            terms |= _word_terms(token.text)
        elif token.kind == "hashtag":
            terms.add("#" + token.norm)
            terms |= _word_terms(token.text[1:])
        elif token.kind == "mention":
            terms.add("@" + token.norm)
            terms.add("@" + token.norm.split("@", 1)[0])
    return terms


def query_terms(query: str) -> list[set[str]]:
    """For each word of a search ``query``, the set of alternative index
    terms (a post matches when every set intersects its index terms).

    ``#tag`` yields ``{"#tag"}``; ``@user`` yields ``{"@user"}``; URLs are
    ignored.
    """
    out: list[set[str]] = []
    for token in tokenize(query):
        if token.kind == "word":
            out.append(set(word_alternatives(token.text)))
        elif token.kind == "hashtag":
            out.append({"#" + token.norm})
        elif token.kind == "mention":
            out.append({"@" + token.norm})
    return out
