"""Szpak's one Polish/English text layer.

Search, filters, brand listening and event detection all go through this
package so that they agree on what a "word" is:

* :func:`fold` — NFKC + casefold + diacritics stripped (``Żółw`` → ``zolw``);
  :func:`html_to_text` for stored status HTML.
* :func:`tokenize` — words, ``#hashtags``, ``@mentions`` (``@u@domain``),
  URLs kept whole; emoji and punctuation dropped.
* :func:`lemmas` — folded morfeusz2/SGJP lemmas (heuristic ``~`` stems for
  unknown words); :func:`index_terms` / :func:`query_terms` for search.
* :func:`expand` — every folded inflected form of a tracked term, including
  SGJP diminutives and borrowed endings for unknown brand names.
* :func:`parse` — the tracked-query language (terms, ``"phrases"``,
  ``AND``/``OR``/``NOT``/``-``, parentheses, ``#tag``, ``@user``,
  ``lang:pl``/``lang:en``); :class:`QueryError` for malformed input.
* :class:`Matcher` — thousands of tracked queries against a post stream.

See ``docs/text.md`` for the design and measured throughput.
"""

from .forms import expand, expand_phrase, expand_word
from .lemmas import index_terms, lemmas, query_terms, restore_diacritics
from .matcher import Match, Matcher
from .normalize import fold, html_to_text
from .query import (
    MAX_QUERY_CHARS,
    MAX_QUERY_TERMS,
    Query,
    QueryError,
    parse,
)
from .tokenize import Token, scan_folded, tokenize, words

__all__ = [
    "fold",
    "html_to_text",
    "Token",
    "tokenize",
    "words",
    "scan_folded",
    "lemmas",
    "restore_diacritics",
    "index_terms",
    "query_terms",
    "expand",
    "expand_word",
    "expand_phrase",
    "parse",
    "Query",
    "QueryError",
    "MAX_QUERY_CHARS",
    "MAX_QUERY_TERMS",
    "Matcher",
    "Match",
]
