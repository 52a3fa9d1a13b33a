"""domain/formatting.py: mentions, hashtags and links in HTML; sanitising; the length rule."""

from __future__ import annotations

import pytest

from szpak.domain.errors import Invalid
from szpak.domain.formatting import URL_LENGTH, counted_length, link_html, render_plain, render_text, sanitize
from szpak.domain.statuses import normalize_language

BASE = "http://testserver"
KNOWN = {"ala": f"{BASE}/@ala", "bob": f"{BASE}/@Bob"}


def render(text: str, domain: str = "testserver"):  # type: ignore[no-untyped-def]
    return render_text(text, base_url=BASE, local_domain=domain, mention_url=KNOWN.get)


def test_plain_text_is_escaped_never_markup():
    parsed = render('<script>alert("x")</script> <img src=x onerror=alert(1)> & <b>b</b>')
    assert "<script" not in parsed.html and "<img" not in parsed.html and "<b>" not in parsed.html
    assert "&lt;script&gt;" in parsed.html
    assert "&lt;img src=x onerror=alert(1)&gt;" in parsed.html
    assert "&amp;" in parsed.html


def test_sanitize_strips_what_is_not_allowed():
    dirty = '<p onclick="x()">a<script>b</script><a href="javascript:alert(1)">c</a><iframe></iframe></p>'
    clean = sanitize(dirty)
    assert "onclick" not in clean and "<script" not in clean and "javascript:" not in clean
    assert "<iframe" not in clean
    assert clean.startswith("<p>")


def test_paragraphs_and_line_breaks():
    assert render("a\nb\n\nc").html == "<p>a<br>b</p><p>c</p>"
    assert render("x\r\ny").html == "<p>x<br>y</p>"
    assert render("   ").html == ""


def test_known_mentions_are_linked_unknown_left_as_text():
    parsed = render("Hej @Ala i @bob, a @nikt nie istnieje; mail ala@example.com")
    assert parsed.mentions == ["ala", "bob"]
    assert f'<a href="{BASE}/@ala" class="u-url mention">@<span>Ala</span></a>' in parsed.html
    assert "@nikt" in parsed.html and "/@nikt" not in parsed.html
    assert "ala@example.com" in parsed.html  # an e-mail address is not a mention


def test_mention_with_this_servers_name_is_local_even_without_a_dot():
    parsed = render("cześć @ala@testserver!")
    assert parsed.mentions == ["ala"]
    assert "@testserver" not in parsed.html.replace(f"{BASE}/", "")
    with_port = render_text(
        "@ala@localhost:3000 hej", base_url=BASE, local_domain="localhost:3000", mention_url=KNOWN.get
    )
    assert with_port.mentions == ["ala"]


def test_remote_mention_asks_for_the_full_handle():
    asked: list[str] = []

    def lookup(handle: str) -> str | None:
        asked.append(handle)
        return None

    render_text("@zed@mastodon.social", base_url=BASE, local_domain="testserver", mention_url=lookup)
    assert asked == ["zed@mastodon.social"]


def test_hashtags_keep_case_as_written_and_link_lower_case():
    parsed = render("#Kraków i #kraków oraz #2024 i #a_1 &#39;")
    assert parsed.tags == [("kraków", "Kraków"), ("a_1", "a_1")]
    assert f'<a href="{BASE}/tags/kraków" class="mention hashtag" rel="tag">#<span>Kraków</span></a>' in parsed.html
    assert "#2024" in parsed.html and "/tags/2024" not in parsed.html


def test_links_with_trailing_punctuation_and_parentheses():
    parsed = render("Zob. https://example.com/a?b=1. oraz (https://pl.wikipedia.org/wiki/Foo_(bar)) https://")
    assert parsed.links == ["https://example.com/a?b=1", "https://pl.wikipedia.org/wiki/Foo_(bar)"]
    assert 'href="https://example.com/a?b=1"' in parsed.html
    assert "</a>." in parsed.html


def test_long_link_is_shortened_with_mastodon_spans():
    url = "https://www.example.com/" + "segment/" * 10
    html = link_html(url)
    assert f'href="{url}"' in html
    assert '<span class="invisible">https://www.</span>' in html
    assert '<span class="ellipsis">example.com/segment/segment/se</span>' in html
    short = link_html("http://ex.pl/a")
    assert '<span class="">ex.pl/a</span>' in short and "ellipsis" not in short


def test_hashtag_and_mention_inside_a_link_stay_part_of_it():
    parsed = render("https://example.com/#tag/@ala")
    assert parsed.tags == [] and parsed.mentions == []


def test_counted_length_rules():
    assert counted_length("abc") == 3
    assert counted_length("https://example.com/" + "x" * 200) == URL_LENGTH
    assert counted_length("a https://example.com/x. b") == 2 + URL_LENGTH + 3
    # A remote mention counts as its @username; a local one as written.
    assert counted_length("@zed@mastodon.social") == len("@zed")
    assert counted_length("@ala@testserver", "testserver") == len("@ala@testserver")
    assert counted_length("zażółć") == 6


def test_render_plain_for_bios():
    assert render_plain("<b>hej</b> https://ex.pl").startswith("<p>&lt;b&gt;hej&lt;/b&gt; <a href=\"https://ex.pl\"")


@pytest.mark.parametrize(
    ("raw", "expected"), [("pl", "pl"), ("PL", "pl"), ("pl-PL", "pl"), ("en_GB", "en"), ("", None), (None, None)]
)
def test_language_codes_are_normalised(raw, expected):
    assert normalize_language(raw) == expected


@pytest.mark.parametrize("raw", ["polski", "p", "12", "pl!"])
def test_bad_language_codes_are_invalid(raw):
    with pytest.raises(Invalid):
        normalize_language(raw)
