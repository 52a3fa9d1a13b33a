"""Polish and English: catalogs complete and compiled, plural forms, choosing and
remembering the language, dates, numbers and relative times in the reader's locale."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select

from szpak.storage.models import User
from szpak.web import catalog
from szpak.web.i18n import LANGUAGES, Formatter, compile_po, negotiate, po_path, translations

from .conftest import Browser, account_id, new_browser

NOW = datetime(2026, 3, 14, 12, 0, tzinfo=timezone.utc)


def test_every_message_has_a_polish_and_an_english_translation() -> None:
    assert catalog.problems() == []


def test_every_used_message_is_in_the_catalogs_and_nothing_is_fuzzy() -> None:
    used = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog.extract() if m.id}
    assert len(used) > 150
    for lang in LANGUAGES:
        with po_path(lang).open("rb") as fh:
            po = read_po(fh, locale=lang)
        ids = {m.id if isinstance(m.id, str) else m.id[0] for m in po if m.id}
        assert used <= ids, (lang, sorted(used - ids)[:5])
        assert not [m.id for m in po if m.id and m.fuzzy]


def test_compiled_catalogs_match_their_sources() -> None:
    for lang in LANGUAGES:
        po = po_path(lang)
        assert po.with_suffix(".mo").read_bytes() == compile_po(po), f"run: python -m szpak.web.catalog compile ({lang})"


def test_polish_catalog_declares_polish_plural_forms() -> None:
    text = po_path("pl").read_text(encoding="utf-8")
    assert '"Plural-Forms: nplurals=3; plural=(n==1 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);\\n"' in text


@pytest.mark.parametrize(
    ("n", "expected"),
    [(1, "1 post"), (2, "2 posty"), (4, "4 posty"), (5, "5 postów"), (12, "12 postów"), (22, "22 posty"),
     (25, "25 postów"), (0, "0 postów"), (101, "101 postów"), (104, "104 posty"), (112, "112 postów")],
)
def test_polish_plural_forms(n: int, expected: str) -> None:
    assert translations("pl").ngettext("%(num)s post", "%(num)s posts", n) % {"num": n} == expected


def test_english_plural_forms() -> None:
    en = translations("en")
    assert [en.ngettext("%(num)s post", "%(num)s posts", n) % {"num": n} for n in (1, 2, 5)] == ["1 post", "2 posts", "5 posts"]


async def test_profile_counts_use_plural_forms(client: Any, browser: Browser, other_browser: Browser) -> None:
    bob = await client.make_user("bob")
    await bob.post_status("jeden")
    assert "1 post<" in (await browser.page("/@bob")).text
    for i in range(4):
        await bob.post_status(f"kolejny {i}")
    assert "5 postów" in (await browser.page("/@bob")).text
    assert "5 posts" in (await other_browser.page("/@bob")).text


@pytest.mark.parametrize(
    ("header", "expected"),
    [("pl-PL,pl;q=0.9,en;q=0.8", "pl"), ("en-US,en;q=0.9", "en"), ("de-DE,de;q=0.9,en;q=0.5", "en"),
     ("fr", "pl"), ("", "pl"), ("en;q=0, pl;q=0.1", "pl"), ("en;q=0.5, pl;q=0.4", "en"), ("EN-gb", "en"),
     ("en;q=bad", "pl")],
)
def test_accept_language_negotiation(header: str, expected: str) -> None:
    assert negotiate(header, "pl") == expected


async def test_language_comes_from_accept_language(app: Any) -> None:
    async with new_browser(app, **{"accept-language": "en-GB,en;q=0.8"}) as b:
        r = await b.page("/explore")
        assert '<html lang="en">' in r.text and ">Explore<" in r.text
    async with new_browser(app, **{"accept-language": "pl"}) as b:
        r = await b.page("/explore")
        assert '<html lang="pl">' in r.text and ">Odkrywaj<" in r.text


async def test_switching_language_is_remembered(app: Any, browser: Browser) -> None:
    r = await browser.submit("/explore", "/language", {"lang": "en", "next": "/explore"})
    assert r.status_code == 303 and r.headers["location"] == "/explore"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("szpak_lang="))
    assert "szpak_lang=en" in cookie and "Max-Age=31536000" in cookie and "HttpOnly" in cookie
    assert '<html lang="en">' in (await browser.page("/explore")).text  # despite Accept-Language: pl
    await browser.sign_up("alice")
    await browser.submit("/settings", "/language", {"lang": "pl", "next": "/settings"})
    assert '<html lang="pl">' in (await browser.page("/settings")).text
    # The choice is saved on the account, so another browser (asking for English) gets Polish.
    async with new_browser(app, **{"accept-language": "en"}) as laptop:
        await laptop.sign_in("alice")
        assert '<html lang="pl">' in (await laptop.page("/home")).text
    alice = int(await account_id(app, "alice"))
    async with app.state.ctx.read() as s:
        assert await s.scalar(select(User.locale).where(User.account_id == alice)) == "pl"


async def test_unknown_language_is_ignored(browser: Browser) -> None:
    r = await browser.submit("/explore", "/language", {"lang": "xx", "next": "/explore"})
    assert r.status_code == 303 and not any(h.startswith("szpak_lang=") for h in r.headers.get_list("set-cookie"))


async def test_sign_up_saves_the_language_the_reader_used(app: Any) -> None:
    async with new_browser(app, **{"accept-language": "en"}) as b:
        await b.sign_up("eve")
    async with new_browser(app, **{"accept-language": "pl"}) as b:
        await b.sign_in("eve")
        assert '<html lang="en">' in (await b.page("/home")).text


def test_numbers_in_the_readers_locale() -> None:
    assert Formatter("pl").number(1234567) == "1\xa0234\xa0567"
    assert Formatter("en").number(1234567) == "1,234,567"


def test_dates_in_the_readers_locale_and_time_zone() -> None:
    moment = datetime(2026, 3, 14, 15, 30, tzinfo=timezone.utc)
    assert Formatter("pl", "Europe/Warsaw").datetime(moment, "long").startswith("14 marca 2026")
    assert "16:30" in Formatter("pl", "Europe/Warsaw").datetime(moment, "long")
    assert Formatter("en", "America/New_York").datetime(moment, "long").startswith("March 14, 2026")
    assert "11:30" in Formatter("en", "America/New_York").datetime(moment, "long")
    assert Formatter("pl", "Mars/Olympus").tz.key == "Europe/Warsaw"  # a bad cookie falls back


@pytest.mark.parametrize(
    ("lang", "ago", "expected"),
    [
        ("pl", timedelta(seconds=10), "przed chwilą"), ("en", timedelta(seconds=10), "just now"),
        ("pl", timedelta(minutes=1), "1 minutę temu"), ("pl", timedelta(minutes=3), "3 minuty temu"),
        ("pl", timedelta(minutes=5), "5 minut temu"), ("en", timedelta(minutes=5), "5 minutes ago"),
        ("pl", timedelta(hours=2), "2 godziny temu"), ("en", timedelta(hours=1), "1 hour ago"),
        ("pl", timedelta(days=1), "1 dzień temu"), ("pl", timedelta(days=3), "3 dni temu"),
        ("pl", timedelta(days=8), "6 mar 2026"), ("en", timedelta(days=8), "Mar 6, 2026"),
    ],
)
def test_relative_times(lang: str, ago: timedelta, expected: str) -> None:
    assert Formatter(lang, "Europe/Warsaw").relative(NOW - ago, now=NOW) == expected


def test_the_script_gets_every_plural_category_of_the_language() -> None:
    pl = Formatter("pl").plural_samples("Show %(num)s new post", "Show %(num)s new posts")
    assert set(pl) == {"one", "few", "many"} and pl["few"] == "Pokaż %(num)s nowe wpisy"
    en = Formatter("en").plural_samples("Show %(num)s new post", "Show %(num)s new posts")
    assert en == {"one": "Show %(num)s new post", "other": "Show %(num)s new posts"}


async def test_pages_show_times_as_time_elements(client: Any, browser: Browser) -> None:
    bob = await client.make_user("bob")
    st = await bob.post_status("teraz")
    html = (await browser.page("/@bob")).text
    assert f'<time datetime="{st["created_at"]}"' in html and "data-relative>przed chwilą</time>" in html
