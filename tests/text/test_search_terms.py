"""Lemmas, index terms and query terms: what search relies on."""

import pytest

from szpak.text import index_terms, lemmas, query_terms, restore_diacritics


def search_matches(query: str, post: str) -> bool:
    """Search semantics: every query word has an alternative among the
    post's index terms."""
    terms = index_terms(post)
    return all(alternatives & terms for alternatives in query_terms(query))


def test_lemmas_strip_homonym_suffix_and_fold() -> None:
    assert lemmas("zamku") == {"zamek"}
    assert "zolw" in lemmas("żółwia")
    assert lemmas("skarpetek") == {"skarpetka"}


def test_lemmas_of_agglutinated_form_use_first_segment() -> None:
    assert "zrobic" in lemmas("zrobiłem")


def test_unknown_word_gets_itself_and_marked_stems() -> None:
    assert lemmas("Blipie") >= {"blipie", "blip~"}
    assert lemmas("Blipa") >= {"blipa", "blip~"}


@pytest.mark.parametrize(
    ("query", "post"),
    [
        ("skarpetek", "Kupiłem nowe skarpetki"),
        ("skarpetki", "brak skarpetek w sklepie"),
        ("zolw", "Widziałem żółwia w parku"),
        ("zolwia", "Mój żółw śpi"),
        ("żółw", "widzialem zolwia w parku"),  # post typed without diacritics
        ("Łódź", "jade do lodzi"),
        ("Skarpetkowo", "Byłem w Skarpetkowie"),
        ("Blip", "Tęsknię za Blipem"),
        ("Orlen", "Ceny na Orlenie"),
        ("sock", "my socks are wet"),
        ("#zima", "Idzie #Zima"),
        ("zima", "Idzie #zima"),
        ("@ala", "cześć @ala@mastodon.social"),
        ("coca-cola", "Coca-Cola bez cukru"),
        ("cola", "Coca-Cola bez cukru"),
    ],
)
def test_search_finds_inflected_and_folded(query: str, post: str) -> None:
    assert search_matches(query, post)


@pytest.mark.parametrize(
    ("query", "post"),
    [
        ("skarpetek", "Kupiłem nowe buty"),
        ("#zima", "Idzie zima"),  # a hashtag query needs the hashtag
        ("zolw", "https://zolw.pl"),  # URLs are not words
        ("Blip", "Blipowy"),
    ],
)
def test_search_does_not_overmatch(query: str, post: str) -> None:
    assert not search_matches(query, post)


def test_restore_diacritics() -> None:
    assert "żółw" in restore_diacritics("zolw")
    assert restore_diacritics("xqzt") == frozenset()


def test_restore_diacritics_gives_up_on_too_many_variants() -> None:
    assert restore_diacritics("zazolczazolczazolc") == frozenset()


def test_query_terms_one_set_per_word() -> None:
    sets = query_terms("tanie skarpetki #zima https://x.pl")
    assert len(sets) == 3
    assert "skarpetka" in sets[1] and sets[2] == {"#zima"}
