"""Listening matcher: inflection-aware, boolean, phrases, tags, languages."""

import pytest

from szpak.text import Matcher, parse

QUERIES = {
    "socks": "skarpeta",
    "brand": "Skarpetkowo",
    "fuel": "Orlen AND (cena OR ceny) -praca",
    "tyres": '"zimowe opony" lang:pl',
    "tag": "#zima",
    "mention": "@orlen",
    "blip": "Blip",
    "en": "sock lang:en",
    "cola": "Coca-Cola",
    "turtle": "żółw",
}


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher.build(QUERIES.items())


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("Kupiłem skarpetki w Skarpetkowie", "pl", {"socks", "brand"}),
        ("Skarpetkowa promocja? Nie, sklep w Skarpetkowem", "pl", {"brand"}),
        ("Ceny na Orlenie znowu w górę", "pl", {"fuel"}),
        ("Orlen szuka ludzi do pracy, cena?", "pl", set()),  # NOT praca
        ("PKN-Orlen: ceny paliw", "pl", {"fuel"}),  # hyphenated part
        ("https://orlen.pl/cena orlen", "pl", set()),  # URL words don't count
        ("Zmieniam zimowe opony", "pl", {"tyres"}),
        ("Zmieniam zimowe opony", "en", set()),  # lang filter
        ("Zimowych opon brak", "pl", {"tyres"}),  # phrase, both words inflected
        ("zimowe buty i letnie opony", "pl", set()),  # not consecutive
        ("Idzie #Zima", None, {"tag"}),
        ("Idzie zima", None, set()),  # #tag needs the hashtag
        ("dzięki @orlen@social.example", None, {"mention"}),
        ("Blipie, wróć!", None, {"blip"}),
        ("Blipowy klon", None, set()),  # derived adjective is another word
        ("my socks are wet", "en", {"en"}),
        ("my socks are wet", "pl", set()),
        ("coca-coli nie było", "pl", {"cola"}),
        ("ZOLWIA nie widzialem", "pl", {"turtle"}),  # no diacritics, caps
        ("Żółwie są wolne 🐢", "pl", {"turtle"}),
        ("skarpetkowy", "pl", set()),
    ],
)
def test_match(matcher: Matcher, text: str, lang: str | None, expected: set[str]) -> None:
    assert set(matcher.match_ids(text, lang)) == expected


def test_match_reports_terms_and_forms(matcher: Matcher) -> None:
    [match] = matcher.match("Tanio na Orlenie, ceny spadły", "pl")
    assert match.query_id == "fuel"
    # "ceny" is both a form of the term "cena" and the term "ceny"
    assert match.terms == ("Orlen", "cena", "ceny")
    assert match.forms == ("orlenie", "ceny", "ceny")


def test_shared_leaves_and_incremental_updates() -> None:
    matcher = Matcher.build([("a", "skarpeta"), ("b", "skarpeta lang:pl")])
    assert matcher.stats()["leaves"] == 1
    assert set(matcher.match_ids("skarpety!", "pl")) == {"a", "b"}
    matcher.remove("a")
    assert matcher.match_ids("skarpety!", "pl") == ["b"]
    matcher.add("c", parse('"nowe skarpety"'))
    assert set(matcher.match_ids("Nowe skarpety!", "pl")) == {"b", "c"}
    matcher.add("b", "Blip")  # replace
    assert matcher.match_ids("skarpety", "pl") == []
    for query_id in ("b", "c"):
        matcher.remove(query_id)
    assert matcher.stats() == {k: 0 for k in matcher.stats()}
    assert matcher.match("skarpety Blip") == []


def test_empty_matcher() -> None:
    assert Matcher().match("cokolwiek") == []


def test_many_queries_only_candidates_matched() -> None:
    letters = "abcdefghijklmnopqrstuvwxyz"
    names = [f"Zyx{a}{b}on" for a in letters for b in letters[:12]]  # 312 unknown brands
    pairs = [(f"q{i}", name) for i, name in enumerate(names)] + [("x", "Zyxabon AND skarpeta")]
    matcher = Matcher.build(pairs)
    text = "Zyxabonu też nie ufam, a w Zyxbaonie skarpety są ok"
    assert set(matcher.match_ids(text)) == {"q1", f"q{names.index('Zyxbaon')}", "x"}
