"""Tracked-query language: parsing, evaluation and errors."""

import time

import pytest

from szpak.text import MAX_QUERY_CHARS, MAX_QUERY_TERMS, QueryError, parse
from szpak.text.query import And, Lang, Not, Or, Tag, Term


def test_precedence_not_and_or() -> None:
    root = parse("a b OR c -d").root
    assert root == Or((And((Term(("a",)), Term(("b",)))), And((Term(("c",)), Not(Term(("d",)))))))


def test_explicit_operators_parentheses_phrase_tag_lang() -> None:
    root = parse('Orlen AND (cena OR "ceny paliw") NOT praca #stacja lang:pl').root
    assert root == And((
        Term(("Orlen",)),
        Or((Term(("cena",)), Term(("ceny", "paliw"), phrase=True))),
        Not(Term(("praca",))),
        Tag("stacja"),
        Lang("pl"),
    ))


def test_lowercase_and_or_are_words() -> None:
    assert parse("rock and roll").root == And((Term(("rock",)), Term(("and",)), Term(("roll",))))


def test_hyphen_inside_word_is_not_negation() -> None:
    assert parse("e-mail").root == Term(("e-mail",))


def test_evaluate_on_leaf_keys_and_language() -> None:
    query = parse('Orlen (cena OR "ceny paliw") -praca lang:pl')
    assert query.evaluate({"orlen", "cena"}, "pl")
    assert query.evaluate({"orlen", "ceny paliw"}, "pl-PL")
    assert not query.evaluate({"orlen", "cena", "praca"}, "pl")
    assert not query.evaluate({"orlen", "cena"}, "en")
    assert not query.evaluate({"orlen", "cena"}, None)
    assert not query.evaluate({"orlen"}, "pl")


def test_positive_and_all_leaves() -> None:
    query = parse("a OR (b -c)")
    assert [leaf.key for leaf in query.positive] == ["a", "b"]
    assert [leaf.key for leaf in query.leaves] == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "query is empty"),
        ("   ", "query is empty"),
        ("(skarpety", "'(' at position 0 is never closed"),
        ("skarpety)", "')' at position 8 has no matching '('"),
        ("(a OR (b)", "never closed"),
        ("()", "empty parentheses"),
        ('""', "empty quoted phrase"),
        ('"  "', "empty quoted phrase"),
        ('"zimowe opony', "quote opened at position 0 is never closed"),
        ("a AND", "'AND' at position 2 is not followed by a term"),
        ("a OR", "'OR' at position 2 is not followed by a term"),
        ("OR a", "'OR' at position 0 needs a term"),
        ("a AND OR b", "'AND' at position 2 is not followed by a term"),
        ("a - b", "'-' at position 2 must be directly followed by a term"),
        ("NOT skarpety", "only excludes terms"),
        ("-skarpety -buty", "only excludes terms"),
        ("lang:pl", "only excludes terms"),
        ("a OR NOT b", "would match posts that contain none of its terms"),
        ("a OR lang:pl", "would match posts that contain none of its terms"),
        ("lang:de orlen", "unknown language 'de'"),
        ("!!! ???", "has no letters or digits"),
        ("#", "hashtag '#'"),
        ("@", "mention '@'"),
        ("(" * 40 + "a" + ")" * 40, "nested deeper than"),
    ],
)
def test_malformed_queries_raise_clear_errors(text: str, message: str) -> None:
    with pytest.raises(QueryError) as info:
        parse(text)
    assert message in str(info.value)


def test_error_carries_position() -> None:
    with pytest.raises(QueryError) as info:
        parse("orlen (cena")
    assert info.value.position == 6


def test_too_long_query() -> None:
    with pytest.raises(QueryError, match=f"limit {MAX_QUERY_CHARS}"):
        parse("a" * (MAX_QUERY_CHARS + 1))


def test_too_many_terms() -> None:
    with pytest.raises(QueryError, match=f"more than {MAX_QUERY_TERMS} terms"):
        parse(" ".join(["x"] * (MAX_QUERY_TERMS + 1)))
    parse(" ".join(["x"] * MAX_QUERY_TERMS))  # the limit itself is fine


def test_ten_thousand_term_paste_fails_fast() -> None:
    paste = " OR ".join(f"marka{i}" for i in range(10_000))
    start = time.perf_counter()
    with pytest.raises(QueryError):
        parse(paste)
    assert time.perf_counter() - start < 5  # generous; it takes microseconds


def test_many_terms_within_char_limit_fail_on_term_count() -> None:
    paste = " ".join("ab" for _ in range(1300))  # 3,899 chars
    with pytest.raises(QueryError, match="terms"):
        parse(paste)
