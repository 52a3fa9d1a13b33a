"""Unicode folding and HTML-to-text helpers.

``fold`` is the single normalisation used by every consumer of the text layer
(search index, filters, listening matcher, event detection), so a folded query
and a folded post always agree: NFKD (compatibility decomposition: ``ﬁ`` →
``fi``, full-width → ASCII), ``str.casefold``, combining marks dropped, and
letters without a decomposition mapped to their base (the Polish ``ł``, ``ø``,
``æ``...).  Typographic apostrophes/hyphens become ASCII.

>>> fold("Żółw")
'zolw'
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import lru_cache
from html.parser import HTMLParser

__all__ = ["fold", "fold_cached", "html_to_text", "strip_marks"]

# Letters whose base letter is not reachable through Unicode decomposition.
_SPECIAL_BASES: dict[str, str] = {
    "ł": "l",
    "đ": "d",
    "ð": "d",
    "ø": "o",
    "ħ": "h",
    "ı": "i",
    "ŀ": "l",
    "ŧ": "t",
    "æ": "ae",
    "œ": "oe",
    "þ": "th",
    # Typographic apostrophes and hyphens collapse to ASCII so that tokens
    # such as ``McDonald’s`` and ``McDonald's`` fold identically.
    "\u2019": "'",
    "\u2018": "'",
    "\u02bc": "'",
    "\u2010": "-",
    "\u2011": "-",
}


def strip_marks(text: str) -> str:
    """Remove combining marks (NFD decomposition) from ``text``."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_MARKS_RE = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
_SPECIALS: tuple[tuple[str, str], ...] = tuple(_SPECIAL_BASES.items())


def fold(text: str) -> str:
    """Fold ``text`` for matching: compatibility-normalise (NFKD), casefold,
    drop combining marks, map letters without a decomposition (ł→l, ø→o...).

    Pure ASCII input takes a fast path (``lower`` equals ``casefold`` there).
    Non-Latin scripts are casefolded but otherwise kept.
    """
    if text.isascii():
        return text.lower()
    folded = _MARKS_RE.sub("", unicodedata.normalize("NFKD", text).casefold())
    if folded.isascii():
        return folded
    for char, base in _SPECIALS:
        if char in folded:
            folded = folded.replace(char, base)
    return folded


@lru_cache(maxsize=131072)
def fold_cached(word: str) -> str:
    """``fold`` memoised for short strings such as single tokens."""
    return sys.intern(fold(word))


_BLOCK_TAGS = frozenset(
    {"p", "br", "div", "li", "ul", "ol", "blockquote", "pre", "h1", "h2", "h3",
     "h4", "h5", "h6", "tr", "td", "th", "hr", "section", "article"}
)
_SKIP_TAGS = frozenset({"script", "style", "template"})


class _TextExtractor(HTMLParser):
    """Collect character data, turning block-level tags into line breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Convert sanitised status HTML to plain text.

    Block elements (``<p>``, ``<br>``...) become line breaks, entities are
    decoded, ``<script>``/``<style>`` content is dropped.  Mastodon's
    ``<span class="invisible">`` URL parts are kept, so links come back whole.
    Plain text without ``<`` or ``&`` is returned unchanged.
    """
    if "<" not in html and "&" not in html:
        return html
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)
