"""Folding, HTML stripping and tokenizer edge cases."""

import pytest

from szpak.text import fold, html_to_text, tokenize, words
from szpak.text.tokenize import scan_folded


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Żółw", "zolw"),
        ("ŁÓDŹ", "lodz"),
        ("Zażółć gęślą jaźń", "zazolc gesla jazn"),
        ("Straße", "strasse"),
        ("ﬁlm", "film"),
        ("Ｏｒｌｅｎ", "orlen"),
        ("McDonald’s", "mcdonald's"),
        ("café", "cafe"),
        ("ASCII", "ascii"),
    ],
)
def test_fold(raw: str, folded: str) -> None:
    assert fold(raw) == folded


def test_html_to_text_keeps_links_and_breaks_blocks() -> None:
    html = (
        '<p>Hej <a href="https://x.social/@ala" class="u-url mention">@<span>ala</span></a> &amp; '
        'kot<br>druga linia <a href="https://ex.com/a/b"><span class="invisible">https://</span>'
        '<span class="ellipsis">ex.com/a</span><span class="invisible">/b</span></a></p><p>trzeci</p>'
        "<script>alert(1)</script>"
    )
    assert html_to_text(html) == "Hej @ala & kot\ndruga linia https://ex.com/a/b\ntrzeci"


def test_html_to_text_plain_passthrough() -> None:
    assert html_to_text("zwykły tekst") == "zwykły tekst"


def test_tokenize_kinds_and_offsets() -> None:
    text = "Kupiłem #Skarpetki u @ala@mastodon.social 🧦🧦 https://skarpetkowo.pl/a?b=1. Serio!"
    tokens = tokenize(text)
    assert [(t.kind, t.norm) for t in tokens] == [
        ("word", "kupilem"),
        ("hashtag", "skarpetki"),
        ("word", "u"),
        ("mention", "ala@mastodon.social"),
        ("url", "https://skarpetkowo.pl/a?b=1"),
        ("word", "serio"),
    ]
    for token in tokens:
        assert text[token.start : token.end] == token.text


def test_urls_are_not_words() -> None:
    assert words("zob. https://orlen.pl/ceny-paliw?x=1 i www.blip.pl/abc") == ["zob", "i"]


def test_url_keeps_balanced_parenthesis_and_drops_trailing_punctuation() -> None:
    tokens = tokenize("(see https://en.wikipedia.org/wiki/Foo_(bar)).")
    assert [t.text for t in tokens if t.kind == "url"] == ["https://en.wikipedia.org/wiki/Foo_(bar)"]


def test_internal_hyphens_and_apostrophes_stay_in_words() -> None:
    assert words("e-mail do Coca-Coli, McDonald's i Kennedy'ego - koniec 'cytatu'") == [
        "e-mail", "do", "coca-coli", "mcdonald's", "i", "kennedy'ego", "koniec", "cytatu",
    ]


def test_emoji_dropped_and_digits_kept() -> None:
    assert words("🔥🔥 Promocja 2024 👍 -50%") == ["promocja", "2024", "50"]


def test_email_is_not_a_mention_and_csharp_is_not_a_hashtag() -> None:
    kinds = {(t.kind, t.norm) for t in tokenize("pisz na jan@x.pl, lubię C# i #python")}
    assert ("mention", "x.pl") not in kinds and all(k != "mention" for k, _ in kinds)
    assert ("hashtag", "python") in kinds
    assert sum(1 for k, _ in kinds if k == "hashtag") == 1


def test_local_mention() -> None:
    tokens = tokenize("dzięki @Orlen!")
    assert tokens[-1].kind == "mention" and tokens[-1].norm == "orlen"


def test_scan_folded_fast_and_slow_paths_agree_on_words() -> None:
    plain = fold("Zimowe opony, tanio!")
    assert scan_folded(plain) == (["zimowe", "opony", "tanio"], [], [])
    found, tags, mentions = scan_folded(fold("#Zima @ala http://x.pl opony"))
    assert found == ["opony"] and tags == ["zima"] and mentions == ["ala"]
