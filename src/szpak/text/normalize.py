"""Unicode folding and HTML-to-text helpers.

``fold`` is the single normalisation used by every consumer of the text layer
(search index, filters, listening matcher, event detection), so a folded query
and a folded post always agree: NFKC, then ``str.casefold``, then diacritics
stripped (including the Polish ``ł`` which has no Unicode decomposition).

>>> fold("Żółw")
'zolw'
"""

from __future__ import annotations

import sys
import unicodedata
from functools import lru_cache
from html.parser import HTMLParser

__all__ = ["fold", "fold_char_table", "html_to_text", "strip_marks"]

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


def _build_table() -> dict[int, str]:
    """Map every precomposed lowercase Latin letter with marks to its base."""
    table: dict[int, str] = {}
    for code in range(0x00C0, 0x0250):
        char = chr(code)
        if char != char.casefold():
            continue  # only folded (lowercase) input reaches the table
        base = "".join(
            c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c)
        )
        if base != char and base.isascii():
            table[code] = base
    # Latin Extended Additional (Vietnamese etc.).
    for code in range(0x1E00, 0x1F00):
        char = chr(code)
        base = "".join(
            c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c)
        )
        if base != char and base.isascii():
            table[code] = base
    for char, base in _SPECIAL_BASES.items():
        table[ord(char)] = base
    return table


_TABLE = _build_table()


def fold_char_table() -> dict[int, str]:
    """Return a copy of the character table used after casefolding."""
    return dict(_TABLE)


def strip_marks(text: str) -> str:
    """Remove combining marks (NFD decomposition) from ``text``."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Fold ``text`` for matching: NFKC, casefold, strip diacritics (ł→l).

    Pure ASCII input takes a fast path (``lower`` equals ``casefold`` there).
    """
    if text.isascii():
        return text.lower()
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_TABLE)
    if folded.isascii():
        return folded
    # Rare: marks not covered by the table (combining sequences, other
    # scripts).  Only pay for a full decomposition when a mark is present.
    if any(unicodedata.combining(c) for c in folded):
        folded = strip_marks(folded).translate(_TABLE)
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
