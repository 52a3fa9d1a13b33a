"""Listening matcher: many tracked queries against a stream of posts.

Design
------
Compile time (:meth:`Matcher.build`, :meth:`Matcher.add`):

* every distinct leaf (term, phrase, ``#tag``, ``@user``) across all queries
  gets an integer id; identical leaves in different organisations' queries
  are shared;
* single-word terms are expanded to all their folded forms
  (:func:`szpak.text.forms.expand_word`) into one dict ``form → leaf ids``;
* phrases are indexed by the forms of their first word, with per-position
  form sets for the following words;
* each leaf that occurs *positively* in a query (not under NOT) points at
  that query.  Queries consisting of a single leaf need no evaluation.

Match time (:meth:`Matcher.match`): fold the post once, blank out URLs and
mentions (only when ``/``, ``www`` or ``@`` occur), turn every
non-alphanumeric run into a space and run one Aho-Corasick pass
(pyahocorasick; keys are ``" form "`` so only whole words are reported),
tokenize for phrase checks only when a phrase's first word occurred, then
evaluate just the candidate queries' compiled boolean expressions.  A query
can only match if one of its positive leaves occurred (queries that could
match without any term are rejected by the parser), so no other query is
looked at.

Because every non-alphanumeric character separates words here, parts of hyphenated or
apostrophised words match too (``PKN-Orlen`` → ``orlen``; ``Kennedy'ego``
→ ``kennedy``), and hashtag bodies count as words (``#Orlen`` matches the
term ``Orlen``), while ``#tag`` leaves match only hashtags.

Mutation (:meth:`add`, :meth:`remove`) is cheap (expansions are cached) and
marks the automaton dirty; it is rebuilt on the next :meth:`match` (or by
:meth:`compile`) in O(total forms) — ~5 ms for the 34k forms of the
10,000-query benchmark.  Mutating is not safe while another thread calls
:meth:`match`: build a new matcher and swap the reference (attribute
assignment is atomic), or serialise access.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Callable, Collection, Hashable, Iterable

import ahocorasick

from .forms import expand_phrase, expand_word
from .normalize import fold
from .query import Leaf, Mention, Query, Tag, Term, parse
from .tokenize import _HASHTAG, _MENTION, _URL, _WORD_RE

__all__ = ["Matcher", "Match"]

QueryId = Hashable
_Evaluator = Callable[[Collection[int], "str | None"], bool]
_SKIP_RE = re.compile(rf"{_URL}|{_MENTION}", re.IGNORECASE)
_MENTION_RE = re.compile(_MENTION)
_NON_ALNUM_RE = re.compile(r"[^\w ]+|_+")
_ASCII_SPACES = bytes(b if chr(b).isalnum() or b >= 128 else 32 for b in range(256))
_TAG_RE = re.compile(_HASHTAG)


@dataclass(frozen=True, slots=True)
class Match:
    """A query that matched a post.

    ``terms``: display text of the query's positive leaves that occurred;
    ``forms``: the folded post words (or ``"w1 w2"`` phrases, ``#tag``,
    ``@user``) that made them match — use them for highlighting by folding
    the post's tokens and comparing.
    """

    query_id: QueryId
    terms: tuple[str, ...]
    forms: tuple[str, ...]


@dataclass
class _LeafInfo:
    leaf: Leaf
    refs: int = 0


@dataclass
class _QueryInfo:
    query: Query
    leaf_ids: tuple[int, ...]
    positive_ids: tuple[int, ...]
    evaluator: _Evaluator | None  # None: single positive leaf, no evaluation


def _normalise_lang(lang: str | None) -> str | None:
    """``"pl-PL"`` → ``"pl"``; ``None``/empty stays ``None``."""
    if not lang:
        return None
    return lang.split("-", 1)[0].split("_", 1)[0].lower()


class Matcher:
    """Match posts against many tracked queries at once."""

    def __init__(self) -> None:
        self._leaf_ids: dict[str, int] = {}
        self._leaves: dict[int, _LeafInfo] = {}
        self._next_leaf = 0
        self._words: dict[str, list[int]] = {}
        # first-word form → first-word keys; key → second-word form → entries
        self._phrases: dict[str, set[str]] = {}
        self._phrase_groups: dict[str, dict[str, list[tuple[int, tuple[frozenset[str], ...]]]]] = {}
        self._tags: dict[str, list[int]] = {}
        self._mentions: dict[str, list[int]] = {}
        self._triggers: dict[int, list[QueryId]] = {}
        self._queries: dict[QueryId, _QueryInfo] = {}
        self._automaton: ahocorasick.Automaton | None = None
        self._dirty = False
        self._lock = threading.Lock()

    # ------------------------------------------------------------ building

    @classmethod
    def build(cls, queries: Iterable[tuple[QueryId, Query | str]]) -> "Matcher":
        """Compile ``(query_id, query)`` pairs (strings are parsed).

        Cost: dominated by form expansion, ~0.1–1 ms per *new* distinct
        word (cached per process afterwards); see ``docs/text.md``.
        """
        matcher = cls()
        for query_id, query in queries:
            matcher.add(query_id, query)
        matcher.compile()
        return matcher

    def __len__(self) -> int:
        return len(self._queries)

    def __contains__(self, query_id: object) -> bool:
        return query_id in self._queries

    def add(self, query_id: QueryId, query: Query | str) -> None:
        """Add or replace one query."""
        if isinstance(query, str):
            query = parse(query)
        if query_id in self._queries:
            self.remove(query_id)
        leaf_ids = tuple(self._acquire_leaf(leaf) for leaf in query.leaves)
        positive_ids = tuple(self._leaf_ids[leaf.key] for leaf in query.positive)
        simple = isinstance(query.root, (Term, Tag, Mention))
        evaluator = None if simple else query.compile(self._leaf_ids.__getitem__)
        self._queries[query_id] = _QueryInfo(query, leaf_ids, positive_ids, evaluator)
        for leaf_id in positive_ids:
            self._triggers.setdefault(leaf_id, []).append(query_id)

    def remove(self, query_id: QueryId) -> None:
        """Remove a query (no-op if absent)."""
        info = self._queries.pop(query_id, None)
        if info is None:
            return
        for leaf_id in info.positive_ids:
            triggers = self._triggers.get(leaf_id)
            if triggers is not None:
                triggers.remove(query_id)
                if not triggers:
                    del self._triggers[leaf_id]
        for leaf_id in info.leaf_ids:
            self._release_leaf(leaf_id)

    def _acquire_leaf(self, leaf: Leaf) -> int:
        """Return the id of ``leaf``, indexing it on first use."""
        key = leaf.key
        leaf_id = self._leaf_ids.get(key)
        if leaf_id is None:
            leaf_id = self._next_leaf
            self._next_leaf += 1
            self._leaf_ids[key] = leaf_id
            self._leaves[leaf_id] = _LeafInfo(leaf)
            self._index_leaf(leaf_id, leaf, add=True)
        self._leaves[leaf_id].refs += 1
        return leaf_id

    def _release_leaf(self, leaf_id: int) -> None:
        """Drop one reference; unindex the leaf when none remain."""
        info = self._leaves[leaf_id]
        info.refs -= 1
        if info.refs <= 0:
            self._index_leaf(leaf_id, info.leaf, add=False)
            del self._leaves[leaf_id]
            del self._leaf_ids[info.leaf.key]

    def _index_leaf(self, leaf_id: int, leaf: Leaf, add: bool) -> None:
        """Insert (or delete) ``leaf``'s lookup entries."""
        self._dirty = True
        if isinstance(leaf, Tag):
            _update(self._tags, fold(leaf.tag), leaf_id, add)
        elif isinstance(leaf, Mention):
            _update(self._mentions, fold(leaf.user), leaf_id, add)
        elif len(leaf.words) == 1:
            for form in expand_word(leaf.words[0]):
                _update(self._words, form, leaf_id, add)
        else:
            self._index_phrase(leaf_id, leaf, add)

    def _index_phrase(self, leaf_id: int, leaf: Term, add: bool) -> None:
        """Phrases are grouped by first word, then keyed by second-word form,
        so a common first word ("zimowe ...") costs one dict lookup."""
        per_word = expand_phrase(" ".join(leaf.words))
        first_key = fold(leaf.words[0])
        group = self._phrase_groups.setdefault(first_key, {})
        entry = (leaf_id, per_word[2:])
        for form in per_word[1]:
            bucket = group.setdefault(form, [])
            if add:
                bucket.append(entry)
            else:
                bucket[:] = [e for e in bucket if e[0] != leaf_id]
                if not bucket:
                    del group[form]
        if add:
            for form in per_word[0]:
                self._phrases.setdefault(form, set()).add(first_key)
        elif not group:
            del self._phrase_groups[first_key]
            for form in per_word[0]:
                keys = self._phrases.get(form)
                if keys is not None:
                    keys.discard(first_key)
                    if not keys:
                        del self._phrases[form]

    # ------------------------------------------------------------ matching

    def match(self, text: str, lang: str | None = None) -> list[Match]:
        """Queries matching a post's plain ``text`` in language ``lang``."""
        hits = self._leaf_hits(fold(text))
        if not hits:
            return []
        lang = _normalise_lang(lang)
        candidates: dict[QueryId, None] = {}
        for leaf_id in hits:
            for query_id in self._triggers.get(leaf_id, ()):
                candidates[query_id] = None
        results: list[Match] = []
        for query_id in candidates:
            info = self._queries[query_id]
            if info.evaluator is not None and not info.evaluator(hits, lang):
                continue
            found = [i for i in info.positive_ids if i in hits]
            results.append(
                Match(
                    query_id,
                    tuple(self._leaves[i].leaf.text for i in found),
                    tuple(hits[i] for i in found),
                )
            )
        return results

    def match_ids(self, text: str, lang: str | None = None) -> list[QueryId]:
        """Only the ids of matching queries."""
        return [m.query_id for m in self.match(text, lang)]

    def _leaf_hits(self, folded: str) -> dict[int, str]:
        """Leaf id → the folded post form that matched it."""
        automaton = self._automaton if not self._dirty else self._rebuild_automaton()
        mentions: list[str] = []
        if "/" in folded or "www" in folded or "@" in folded:
            if "@" in folded:
                mentions = _MENTION_RE.findall(folded)
            folded = _SKIP_RE.sub(" ", folded)  # URLs and mentions are not words
        hits: dict[int, str] = {}
        if "#" in folded and self._tags:
            for tag in _TAG_RE.findall(folded):
                for leaf_id in self._tags.get(tag, ()):
                    hits[leaf_id] = "#" + tag
        for mention in mentions:
            for leaf_id in self._mentions.get(mention.split("@", 1)[0], ()):
                hits[leaf_id] = "@" + mention
        if automaton is None:
            return hits
        # Every non-alphanumeric run becomes a space and keys are " form ",
        # so the automaton only reports whole words (and word parts split
        # at hyphens/apostrophes) — no boundary checks needed.
        if folded.isascii():
            spaced = " " + folded.encode().translate(_ASCII_SPACES).decode() + " "
        else:
            spaced = " " + _NON_ALNUM_RE.sub(" ", folded) + " "
        phrase_seen = False
        for _end, (form, leaf_ids, phrase_first) in automaton.iter(spaced):
            for leaf_id in leaf_ids:
                hits[leaf_id] = form
            phrase_seen = phrase_seen or phrase_first
        if phrase_seen:
            self._phrase_hits(_WORD_RE.findall(folded), hits)
        return hits

    def _rebuild_automaton(self) -> "ahocorasick.Automaton | None":
        """Recompile the Aho-Corasick automaton from the form dictionaries."""
        with self._lock:
            if self._dirty:
                automaton = ahocorasick.Automaton()
                for form, leaf_ids in self._words.items():
                    key = f" {_NON_ALNUM_RE.sub(' ', form)} "
                    automaton.add_word(key, (form, tuple(leaf_ids), form in self._phrases))
                for form in self._phrases.keys() - self._words.keys():
                    key = f" {_NON_ALNUM_RE.sub(' ', form)} "
                    automaton.add_word(key, (form, (), True))
                if len(automaton):
                    automaton.make_automaton()
                    self._automaton = automaton
                else:
                    self._automaton = None
                self._dirty = False
        return self._automaton

    def compile(self) -> None:
        """Rebuild lookup structures now instead of on the next match."""
        self._rebuild_automaton()

    def _phrase_hits(self, found_words: list[str], hits: dict[int, str]) -> None:
        """Check phrases whose first word occurs, on consecutive words."""
        phrases = self._phrases
        groups = self._phrase_groups
        last = len(found_words) - 1
        for i, word in enumerate(found_words):
            if i == last:
                break
            first_keys = phrases.get(word)
            if not first_keys:
                continue
            following = found_words[i + 1]
            for first_key in first_keys:
                for leaf_id, rest in groups[first_key].get(following, ()):
                    end = i + 2 + len(rest)
                    if end > last + 1:
                        continue
                    if all(found_words[i + 2 + k] in forms for k, forms in enumerate(rest)):
                        hits[leaf_id] = " ".join(found_words[i:end])

    # --------------------------------------------------------- inspection

    def stats(self) -> dict[str, int]:
        """Sizes of the compiled structures (for monitoring and benchmarks)."""
        return {
            "queries": len(self._queries),
            "leaves": len(self._leaves),
            "word_forms": len(self._words),
            "phrase_first_forms": len(self._phrases),
            "hashtags": len(self._tags),
            "mentions": len(self._mentions),
        }


def _update(index: dict[str, list[int]], key: str, leaf_id: int, add: bool) -> None:
    """Add/remove ``leaf_id`` under ``key`` in a multimap."""
    if add:
        index.setdefault(key, []).append(leaf_id)
        return
    bucket = index.get(key)
    if bucket is not None and leaf_id in bucket:
        bucket.remove(leaf_id)
        if not bucket:
            del index[key]
