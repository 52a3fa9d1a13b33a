"""Tracked-query language used by brand listening.

Syntax (case of operators matters: ``AND``/``OR``/``NOT`` are upper case;
lower-case ``and``/``or`` are ordinary words)::

    query    := or_expr
    or_expr  := and_expr ( "OR" and_expr )*
    and_expr := unary ( ["AND"] unary )*        -- adjacency means AND
    unary    := "NOT" unary | "-" primary | primary
    primary  := "(" or_expr ")" | '"' phrase '"' | term | "#tag" | "@user"
              | "lang:pl" | "lang:en"

* A *term* matches any inflected form of the word (see :mod:`.forms`); a
  bare term the tokenizer splits into several words (``orlen.pl``) is a
  phrase.  A *phrase* matches consecutive words, each in any form.
* ``#tag`` matches the hashtag only; ``@user`` matches a mention of
  ``@user`` or ``@user@any.domain``.
* ``lang:pl`` / ``lang:en`` are true when the post is in that language
  (a post with unknown language satisfies neither).
* Every query must need at least one term to be present: ``NOT x``,
  ``-x``, ``lang:pl`` or ``x OR NOT y`` on their own are rejected.

Limits: :data:`MAX_QUERY_CHARS` characters, :data:`MAX_QUERY_TERMS` terms,
:data:`MAX_DEPTH` nested parentheses, :data:`MAX_PHRASE_WORDS` words per
phrase.  The character limit is checked before any parsing, so a pasted
10,000-term list fails immediately.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Collection, Iterator, Union

from .normalize import fold
from .tokenize import tokenize

__all__ = [
    "parse",
    "Query",
    "QueryError",
    "Node",
    "Term",
    "Tag",
    "Mention",
    "Lang",
    "And",
    "Or",
    "Not",
    "MAX_QUERY_CHARS",
    "MAX_QUERY_TERMS",
    "MAX_DEPTH",
    "MAX_PHRASE_WORDS",
    "LANGUAGES",
]

MAX_QUERY_CHARS = 4000
MAX_QUERY_TERMS = 500
MAX_DEPTH = 32
MAX_PHRASE_WORDS = 8
LANGUAGES = frozenset({"pl", "en"})
_OPERATORS = frozenset({"AND", "OR", "NOT"})
_TAG_RE = re.compile(r"#(\w+)")
_MENTION_RE = re.compile(r"@(\w+)(?:@[\w\-]+(?:\.[\w\-]+)+)?")


class QueryError(ValueError):
    """A malformed tracked query; ``str(error)`` is a human message and
    ``position`` (0-based, or ``None``) points into the query text."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


# --------------------------------------------------------------------- AST

Matched = Collection[str]


@dataclass(frozen=True)
class Term:
    """One word or a phrase; ``words`` keep the user's spelling."""

    words: tuple[str, ...]
    phrase: bool = False

    @property
    def key(self) -> str:
        """Leaf key: folded words joined by spaces."""
        return " ".join(fold(w) for w in self.words)

    @property
    def text(self) -> str:
        """Display text (for highlighting and UI)."""
        joined = " ".join(self.words)
        return f'"{joined}"' if self.phrase else joined

    def evaluate(self, matched: Matched, lang: str | None = None) -> bool:
        return self.key in matched


@dataclass(frozen=True)
class Tag:
    """A ``#hashtag``."""

    tag: str

    @property
    def key(self) -> str:
        return "#" + fold(self.tag)

    @property
    def text(self) -> str:
        return "#" + self.tag

    def evaluate(self, matched: Matched, lang: str | None = None) -> bool:
        return self.key in matched


@dataclass(frozen=True)
class Mention:
    """An ``@user`` mention (any domain)."""

    user: str

    @property
    def key(self) -> str:
        return "@" + fold(self.user)

    @property
    def text(self) -> str:
        return "@" + self.user

    def evaluate(self, matched: Matched, lang: str | None = None) -> bool:
        return self.key in matched


@dataclass(frozen=True)
class Lang:
    """``lang:xx`` filter."""

    code: str

    @property
    def text(self) -> str:
        return "lang:" + self.code

    def evaluate(self, matched: Matched, lang: str | None = None) -> bool:
        return lang is not None and lang.split("-", 1)[0].lower() == self.code


@dataclass(frozen=True)
class Not:
    child: "Node"

    def evaluate(self, matched: Matched, lang: str | None = None) -> bool:
        return not self.child.evaluate(matched, lang)


@dataclass(frozen=True)
class And:
    children: tuple["Node", ...]

    def evaluate(self, matched: Matched, lang: str | None = None) -> bool:
        return all(c.evaluate(matched, lang) for c in self.children)


@dataclass(frozen=True)
class Or:
    children: tuple["Node", ...]

    def evaluate(self, matched: Matched, lang: str | None = None) -> bool:
        return any(c.evaluate(matched, lang) for c in self.children)


Leaf = Union[Term, Tag, Mention]
Node = Union[Term, Tag, Mention, Lang, Not, And, Or]


def _walk(node: Node, negated: bool = False) -> Iterator[tuple[Node, bool]]:
    """Yield ``(node, negated)`` for every node, depth first."""
    yield node, negated
    if isinstance(node, Not):
        yield from _walk(node.child, not negated)
    elif isinstance(node, (And, Or)):
        for child in node.children:
            yield from _walk(child, negated)


@dataclass(frozen=True)
class Query:
    """A parsed tracked query."""

    source: str
    root: Node
    leaves: tuple[Leaf, ...] = field(default=())
    positive: tuple[Leaf, ...] = field(default=())

    def evaluate(self, matched: Matched, lang: str | None = None) -> bool:
        """True if the post whose matched leaf keys are ``matched`` (e.g.
        ``{"skarpeta", "#zima"}``, as produced by the matcher) and whose
        language is ``lang`` satisfies the query."""
        return self.root.evaluate(matched, lang)

    def compile(self, key_to_id: Callable[[str], int]) -> Callable[[Collection[int], str | None], bool]:
        """Compile to a closure over integer leaf ids (used by the matcher)."""
        return _compile(self.root, key_to_id)

    def __str__(self) -> str:
        return self.source


def _compile(node: Node, key_to_id: Callable[[str], int]) -> Callable[[Collection[int], str | None], bool]:
    """Turn an AST into nested closures working on sets of leaf ids."""
    if isinstance(node, (Term, Tag, Mention)):
        leaf_id = key_to_id(node.key)
        return lambda hits, lang: leaf_id in hits
    if isinstance(node, Lang):
        return node.evaluate  # type: ignore[return-value]
    if isinstance(node, Not):
        inner = _compile(node.child, key_to_id)
        return lambda hits, lang: not inner(hits, lang)
    parts = tuple(_compile(c, key_to_id) for c in node.children)
    if isinstance(node, And):
        return lambda hits, lang: all(p(hits, lang) for p in parts)
    return lambda hits, lang: any(p(hits, lang) for p in parts)


# ------------------------------------------------------------------- lexer

@dataclass(frozen=True)
class _Tok:
    kind: str  # "(", ")", "AND", "OR", "NOT", "-", "leaf"
    pos: int
    node: Node | None = None
    text: str = ""


_STOP = frozenset('()"') | frozenset(" \t\r\n\f\v")


def _term_node(raw: str, pos: int, quoted: bool) -> Node:
    """Build a Term/Tag/Mention/Lang node from a bare word or phrase."""
    if not quoted:
        if raw.lower().startswith("lang:"):
            code = raw[5:].lower()
            if code not in LANGUAGES:
                raise QueryError(
                    f"unknown language {raw[5:]!r} at position {pos + 5} (use lang:pl or lang:en)", pos
                )
            return Lang(code)
        if raw.startswith("#"):
            m = _TAG_RE.fullmatch(raw)
            if not m:
                raise QueryError(f"hashtag {raw!r} at position {pos} must be # followed by letters or digits", pos)
            return Tag(m.group(1))
        if raw.startswith("@"):
            m = _MENTION_RE.fullmatch(raw)
            if not m:
                raise QueryError(f"mention {raw!r} at position {pos} must look like @user or @user@domain", pos)
            return Mention(m.group(1))
    found = [t.text for t in tokenize(raw) if t.kind == "word"]
    if not found:
        what = "quoted phrase" if quoted else "term"
        raise QueryError(f"{what} {raw!r} at position {pos} has no letters or digits", pos)
    if len(found) > MAX_PHRASE_WORDS:
        raise QueryError(f"phrase at position {pos} has {len(found)} words (limit {MAX_PHRASE_WORDS})", pos)
    return Term(tuple(found), phrase=quoted or len(found) > 1)


def _lex(text: str) -> list[_Tok]:
    """Split a query into tokens, counting terms to fail fast on limits."""
    tokens: list[_Tok] = []
    terms = 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "()":
            tokens.append(_Tok(ch, i))
            i += 1
            continue
        if ch == "-" and (i + 1 >= n or text[i + 1].isspace()):
            raise QueryError(f"'-' at position {i} must be directly followed by a term to exclude", i)
        if ch == "-" and (not tokens or tokens[-1].kind != "leaf" or text[i - 1].isspace() or text[i - 1] == "("):
            tokens.append(_Tok("-", i))
            i += 1
            continue
        if ch == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise QueryError(f"quote opened at position {i} is never closed", i)
            inner = text[i + 1 : end]
            if not inner.strip():
                raise QueryError(f"empty quoted phrase at position {i}", i)
            node = _term_node(inner, i, quoted=True)
            tokens.append(_Tok("leaf", i, node, inner))
            i = end + 1
        else:
            j = i
            while j < n and text[j] not in _STOP:
                j += 1
            raw = text[i:j]
            if raw in _OPERATORS:
                tokens.append(_Tok(raw, i, text=raw))
                i = j
                continue
            tokens.append(_Tok("leaf", i, _term_node(raw, i, quoted=False), raw))
            i = j
        terms += 1
        if terms > MAX_QUERY_TERMS:
            raise QueryError(f"query has more than {MAX_QUERY_TERMS} terms; split it into several queries", i)
    return tokens


# ------------------------------------------------------------------ parser

class _Parser:
    """Recursive-descent parser over lexer tokens."""

    def __init__(self, tokens: list[_Tok], text: str) -> None:
        self.tokens = tokens
        self.text = text
        self.i = 0
        self.depth = 0

    def peek(self) -> _Tok | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        node = self.or_expr()
        tok = self.peek()
        if tok is not None:
            if tok.kind == ")":
                raise QueryError(f"unbalanced parentheses: ')' at position {tok.pos} has no matching '('", tok.pos)
            raise QueryError(f"unexpected {tok.text or tok.kind!r} at position {tok.pos}", tok.pos)
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.take()
            self._need_operand(tok)
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> Node:
        children = [self.unary()]
        while (tok := self.peek()) is not None and tok.kind not in ("OR", ")"):
            if tok.kind == "AND":
                self.take()
                self._need_operand(tok)
            children.append(self.unary())
        return children[0] if len(children) == 1 else And(tuple(children))

    def unary(self) -> Node:
        tok = self.peek()
        if tok is not None and tok.kind in ("NOT", "-"):
            self.take()
            self._need_operand(tok)
            return Not(self.unary() if tok.kind == "NOT" else self.primary())
        return self.primary()

    def primary(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise QueryError("query ends where a term was expected", len(self.text))
        if tok.kind == "leaf":
            self.take()
            assert tok.node is not None
            return tok.node
        if tok.kind == "(":
            self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise QueryError(f"parentheses nested deeper than {MAX_DEPTH} levels", tok.pos)
            nxt = self.peek()
            if nxt is not None and nxt.kind == ")":
                raise QueryError(f"empty parentheses at position {tok.pos}", tok.pos)
            if nxt is None:
                raise QueryError(f"unbalanced parentheses: '(' at position {tok.pos} is never closed", tok.pos)
            node = self.or_expr()
            close = self.peek()
            if close is None or close.kind != ")":
                raise QueryError(f"unbalanced parentheses: '(' at position {tok.pos} is never closed", tok.pos)
            self.take()
            self.depth -= 1
            return node
        if tok.kind == ")":
            raise QueryError(f"unbalanced parentheses: ')' at position {tok.pos} has no matching '('", tok.pos)
        raise QueryError(f"{tok.text!r} at position {tok.pos} needs a term before and after it", tok.pos)

    def _need_operand(self, op: _Tok) -> None:
        """Reject an operator followed by nothing, ``)`` or another binary operator."""
        nxt = self.peek()
        name = op.text or op.kind
        if nxt is None or nxt.kind in (")", "AND", "OR"):
            raise QueryError(f"{name!r} at position {op.pos} is not followed by a term", op.pos)


def _check_positive(query: Query) -> None:
    """Reject queries that could match a post containing none of their terms."""
    if not query.positive:
        raise QueryError(
            "query only excludes terms (NOT / -) or filters by language; add at least one term to look for"
        )
    for lang in (None, *sorted(LANGUAGES)):
        if query.root.evaluate(frozenset(), lang):
            raise QueryError(
                "query would match posts that contain none of its terms "
                "(e.g. 'x OR NOT y' or 'x OR lang:pl'); make every alternative require a term"
            )


def parse(text: str) -> Query:
    """Parse a tracked query; raise :class:`QueryError` when malformed."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(
            f"query is {len(text)} characters long (limit {MAX_QUERY_CHARS}); split it into several queries"
        )
    if not text.strip():
        raise QueryError("query is empty")
    tokens = _lex(text)
    if not tokens:
        raise QueryError("query is empty")
    root = _Parser(tokens, text).parse()
    leaves: list[Leaf] = []
    positive: list[Leaf] = []
    for node, negated in _walk(root):
        if isinstance(node, (Term, Tag, Mention)):
            if node not in leaves:
                leaves.append(node)
            if not negated and node not in positive:
                positive.append(node)
    query = Query(text, root, tuple(leaves), tuple(positive))
    _check_positive(query)
    return query
