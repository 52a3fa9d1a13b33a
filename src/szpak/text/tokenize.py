"""Tokenizer for post text: words, ``#hashtags``, ``@mentions`` and URLs.

Rules
-----
* URLs (``http(s)://...`` and ``www....``) are recognised first and never
  split into words; trailing sentence punctuation is not part of the URL.
* ``@user`` and ``@user@domain`` are mentions; ``#tag`` is a hashtag (letters,
  digits, underscore).  Neither is glued to a preceding word character, so
  ``a@b.pl``-style e-mail addresses and ``C#`` are not mentions/hashtags.
* Words are runs of Unicode letters/digits; an apostrophe or hyphen *between*
  two such runs stays inside the word (``e-mail``, ``McDonald's``,
  ``Kennedy'ego``).  Everything else (punctuation, emoji, symbols) separates
  tokens and is dropped.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

from .normalize import fold_cached as fold

__all__ = ["Token", "TokenKind", "tokenize", "words", "scan_folded", "word_parts"]

TokenKind = Literal["word", "hashtag", "mention", "url"]

_JOINERS = "'\u2019\u02bc\\-\u2010\u2011"
_WORD = rf"[^\W_]+(?:[{_JOINERS}][^\W_]+)*"
_URL = r"(?:https?://|www\.)[^\s<>\"]+"
_MENTION = r"(?<![\w@/.])@(\w+(?:@[\w\-]+(?:\.[\w\-]+)+)?)"
_HASHTAG = r"(?<![\w#/&])#(\w*[^\W\d]\w*|\w+)"

_TOKEN_RE = re.compile(rf"({_URL})|{_MENTION}|{_HASHTAG}|({_WORD})", re.IGNORECASE)
_WORD_RE = re.compile(_WORD)
_URL_TRAILING = ".,;:!?)]}'\"\u2019\u201d"
_SPLIT_PARTS = re.compile(rf"[{_JOINERS}]")


class Token(NamedTuple):
    """One token.  ``norm`` is the folded form (``#``/``@`` sigils removed
    for hashtags and mentions; URLs are kept verbatim).  ``start``/``end``
    are offsets into the original string."""

    kind: TokenKind
    text: str
    norm: str
    start: int
    end: int


def _trim_url(url: str) -> str:
    """Drop sentence punctuation that ends up glued to the end of a URL."""
    while url and url[-1] in _URL_TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break  # balanced parentheses belong to the URL (Wikipedia links)
        url = url[:-1]
    return url


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into :class:`Token` objects with offsets."""
    tokens: list[Token] = []
    for match in _TOKEN_RE.finditer(text):
        url, mention, hashtag, word = match.groups()
        start = match.start()
        if url is not None:
            url = _trim_url(url)
            if url.lower() in ("www.", "http://", "https://"):
                continue
            tokens.append(Token("url", url, url, start, start + len(url)))
        elif mention is not None:
            tokens.append(Token("mention", match.group(), fold(mention), start, match.end()))
        elif hashtag is not None:
            tokens.append(Token("hashtag", match.group(), fold(hashtag), start, match.end()))
        else:
            tokens.append(Token("word", word, fold(word), start, match.end()))
    return tokens


def words(text: str) -> list[str]:
    """Folded word tokens of ``text`` (hashtag bodies included, no URLs or
    mentions) — the cheap form most callers need."""
    return [t.norm for t in tokenize(text) if t.kind in ("word", "hashtag")]


def scan_folded(folded: str) -> tuple[list[str], list[str], list[str]]:
    """Fast scan of already-folded text: ``(words, hashtags, mentions)``.

    Used on the matcher's hot path.  Text without ``@``, ``#``, ``/`` or
    ``www`` (the large majority of posts) takes a single ``findall``.
    """
    if "@" not in folded and "#" not in folded and "/" not in folded and "www" not in folded:
        return _WORD_RE.findall(folded), [], []
    found_words: list[str] = []
    tags: list[str] = []
    mentions: list[str] = []
    for url, mention, hashtag, word in _TOKEN_RE.findall(folded):
        if word:
            found_words.append(word)
        elif hashtag:
            tags.append(hashtag)
        elif mention:
            mentions.append(mention)
    return found_words, tags, mentions


def word_parts(word: str) -> list[str]:
    """Parts of a hyphenated/apostrophised word (``coca-cola`` → ``coca``,
    ``cola``); empty list for a plain word."""
    if "-" not in word and "'" not in word and "\u2019" not in word:
        return []
    return [p for p in _SPLIT_PARTS.split(word) if p]
