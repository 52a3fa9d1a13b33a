"""Inflection matrix for tracked terms (what the listening matcher expands)."""

import pytest

from szpak.text import expand, expand_phrase
from szpak.text.forms import diminutives, english_forms, graft_forms

# term -> forms that MUST be generated (folded)
MATRIX: dict[str, set[str]] = {
    # known common nouns: cases and plurals from SGJP
    "skarpeta": {"skarpety", "skarpecie", "skarpete", "skarpeta", "skarpet", "skarpetami", "skarpetach"},
    "skarpetka": {"skarpetki", "skarpetek", "skarpetce", "skarpetkami"},
    "zamek": {"zamku", "zamka", "zamki", "zamkow", "zamkiem"},
    "żółw": {"zolwia", "zolwie", "zolwiem", "zolwiowi", "zolwi"},
    # diminutives SGJP lists as separate lemmas (base -> diminutive only)
    "kot": {"kotek", "kotka", "kotki"},
    "piwo": {"piwko", "piwka"},
    # an inflected term uses its lemma
    "skarpetek": {"skarpetka", "skarpetki"},
    # proper names in SGJP
    "Orlen": {"orlenu", "orlenie", "orlenem", "orlenowi"},
    "Kraków": {"krakowa", "krakowie", "krakowem"},
    "Biedronka": {"biedronki", "biedronce", "biedronke", "biedronka"},
    # unknown brands: endings borrowed from nouns that end alike
    "Skarpetkowo": {"skarpetkowa", "skarpetkowie", "skarpetkowem", "skarpetkowu", "skarpetkow"},
    "Blip": {"blipa", "blipu", "blipie", "blipem", "blipowi", "blipy"},
    "Kawonet": {"kawonetu", "kawonecie", "kawonetem"},
    "Uber": {"ubera", "uberze", "uberem"},
    "Netflix": {"netflixa", "netflixie", "netflixem"},
    "Fotonica": {"fotonicy", "fotonice", "fotonica"},  # declined like "ulica"
    "Superkomputer": {"superkomputera", "superkomputerze", "superkomputery"},
    # English
    "sock": {"socks", "sock's", "socks'"},
    "battery": {"batteries", "battery's"},
    "box": {"boxes", "box's"},
}


@pytest.mark.parametrize("term", sorted(MATRIX))
def test_inflection_matrix(term: str) -> None:
    forms = expand(term)
    missing = MATRIX[term] - forms
    assert not missing, f"{term}: missing {sorted(missing)}"


def test_forms_are_folded_and_include_the_term() -> None:
    forms = expand("Żółw")
    assert "zolw" in forms
    assert all(f == f.lower() and "ó" not in f and "ł" not in f for f in forms)


def test_diminutives_are_validated_against_sgjp() -> None:
    assert "skarpetka" in diminutives("skarpeta")
    assert "skarpeteczka" in diminutives("skarpeta")  # second level
    # rule output that SGJP does not know ("blogyk", "blogek") is not invented
    assert not {"blogyk", "blogek", "blogik"} & diminutives("blog")


def test_diminutive_does_not_match_back_to_base() -> None:
    """Documented decision: a diminutive term does not expand to its base."""
    assert "skarpety" not in expand("skarpetka")


def test_proper_names_get_no_diminutives() -> None:
    assert not any(f.startswith("krakowek") for f in expand("Kraków"))


def test_grafting_never_mangles_the_stem() -> None:
    for form in graft_forms("Skarpetkowo"):
        assert form.startswith("skarpetk"), form
    for form in graft_forms("Blip"):
        assert form.startswith("blip"), form


def test_lang_restricts_rules() -> None:
    assert "socks" not in expand("sock", lang="pl")
    assert "skarpety" not in expand("skarpeta", lang="en")
    assert "socks" in expand("sock", lang="en")


def test_english_forms_of_non_ascii_word_are_skipped() -> None:
    assert "zolws" not in expand("żółw")
    assert english_forms("bus") >= {"buses", "bus's"}


def test_phrase_expands_each_word() -> None:
    per_word = expand_phrase("zimowe opony")
    assert len(per_word) == 2
    assert "zimowych" in per_word[0] and "opon" in per_word[1]
    assert "zimowych opon" in expand("zimowe opony")


def test_huge_phrase_product_is_refused() -> None:
    with pytest.raises(ValueError):
        expand("zimowy zimowy zimowy zimowy zimowy")
