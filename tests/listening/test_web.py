"""The listening page of the web UI: members only, the mention list with sentiment
colours and filters, the chart, corrections from a plain form, the live fragment."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import httpx
import pytest

from szpak.listening.runtime import ListeningRuntime

from .conftest import add_member, make_org, settle, track

PASSWORD = "sekretne-haslo"


class Browser(httpx.AsyncClient):
    async def page(self, url: str) -> httpx.Response:
        return await self.get(url, headers={"accept": "text/html"})

    async def form_post(self, page_url: str, action: str, data: dict[str, str]) -> httpx.Response:
        html = (await self.page(page_url)).text
        token = unescape(re.search(r'name="csrf_token" value="([^"]+)"', html).group(1))  # type: ignore[union-attr]
        return await self.post(action, data={"csrf_token": token, **data}, headers={"accept": "text/html"})


@pytest.fixture
async def browser(app: Any) -> Any:
    async with Browser(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers={"accept-language": "pl-PL"}
    ) as b:
        yield b


async def sign_in(b: Browser, login: str) -> None:
    r = await b.form_post("/auth/sign_in", "/auth/sign_in", {"login": login, "password": PASSWORD})
    assert r.status_code == 303, r.text


async def test_the_listening_page(client: Any, listening: ListeningRuntime, browser: Browser) -> None:
    ala = await client.make_user("ala")
    org = await make_org(ala)
    brand = await track(ala, org, "Skarpetkowo", name="Marka")
    await track(ala, org, "Skarpex", name="Konkurencja")
    fan = await client.make_user("fan")
    await fan.post_status("Skarpetkowo to dramat, paczka zginęła")
    await fan.post_status("Skarpex super")
    await fan.post_status("Skarpetkowo <b>pogrubione?</b> zwykły wpis")
    await settle(client)

    assert (await browser.page(f"/listening/{org}")).status_code in (302, 303)  # log in first
    await sign_in(browser, "ala")
    r = await browser.page("/listening")
    assert r.status_code == 303 and r.headers["location"] == f"/listening/{org}"  # the only organisation
    r = await browser.page(f"/listening/{org}")
    assert r.status_code == 200
    html = r.text
    assert "Nasłuch" in html and "właściciel" in html
    assert html.count('class="mention ') == 3
    assert 'class="mention sentiment-negative' in html and 'class="mention sentiment-positive' in html
    assert "&lt;b&gt;pogrubione?&lt;/b&gt;" in html and "<b>pogrubione" not in html  # post text is escaped
    assert '<svg class="listening-chart"' in html and "<rect" in html
    assert 'data-stream="/api/szpak/v1/organisations/' in html
    assert '<script src="/_web/listening/assets/listening.js"' in html
    # No inline script or style: the CSP allows neither.
    assert "<script>" not in html and " style=" not in html
    assert "script-src 'self'" in r.headers["content-security-policy"]

    # Filters.
    r = await browser.page(f"/listening/{org}?query_id={brand}&sentiment=negative")
    assert r.text.count('class="mention ') == 1 and "dramat" in r.text
    r = await browser.page(f"/listening/{org}?sentiment=nonsense&period=forever")
    assert r.status_code == 200 and r.text.count('class="mention ') == 3

    # Assets.
    js = await browser.get("/_web/listening/assets/listening.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert (await browser.get("/_web/listening/assets/../listening.py")).status_code == 404


async def test_corrections_from_the_page(client: Any, listening: ListeningRuntime, browser: Browser) -> None:
    ala = await client.make_user("ala")
    celina = await client.make_user("celina")
    org = await make_org(ala)
    await add_member(ala, org, celina, "analyst")
    await track(ala, org, "Skarpetkowo")
    fan = await client.make_user("fan")
    await fan.post_status("Skarpetkowo i tyle")
    await settle(client)
    [mention] = (await ala.get(f"/api/szpak/v1/organisations/{org}/mentions")).json()
    assert mention["sentiment"] == "neutral"

    await sign_in(browser, "ala")
    r = await browser.form_post(
        f"/listening/{org}", f"/listening/{org}/mentions/{mention['id']}/sentiment",
        {"sentiment": "negative", "next": f"/listening/{org}?period=7d"},
    )
    assert r.status_code == 303 and r.headers["location"].startswith(f"/listening/{org}?period=7d&saved=1")
    [mention] = (await ala.get(f"/api/szpak/v1/organisations/{org}/mentions")).json()
    assert (mention["sentiment"], mention["sentiment_corrected"]) == ("negative", True)
    r = await browser.page(f"/listening/{org}?saved=1")
    assert "Wydźwięk poprawiony." in r.text

    # Fragments for the page script.
    r = await browser.page(f"/_web/listening/{org}/mentions/{mention['id']}")
    assert r.status_code == 200 and f'id="m-{mention["id"]}"' in r.text and "sentiment-negative" in r.text

    # An analyst sees the page but no correction form, and may not post one.
    async with Browser(transport=httpx.ASGITransport(app=client.app), base_url="http://testserver") as other:
        await sign_in(other, "celina")
        r = await other.page(f"/listening/{org}")
        assert r.status_code == 200 and "mention-correct" not in r.text and "analityk" in r.text, re.findall(r".{80}mention-correct.{80}", r.text)
        token = unescape(re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1))  # type: ignore[union-attr]
        r = await other.post(
            f"/listening/{org}/mentions/{mention['id']}/sentiment",
            data={"csrf_token": token, "sentiment": "positive"}, headers={"accept": "text/html"},
        )
        assert r.status_code == 403


async def test_outsiders_and_forged_forms(client: Any, listening: ListeningRuntime, browser: Browser) -> None:
    ala = await client.make_user("ala")
    await client.make_user("obcy")
    org = await make_org(ala)
    await sign_in(browser, "obcy")
    assert (await browser.page(f"/listening/{org}")).status_code == 403
    assert (await browser.page("/listening/123456")).status_code == 404
    r = await browser.page("/listening")
    assert r.status_code == 200 and "Nie należysz do żadnej organizacji" in r.text
    assert (await browser.page(f"/_web/listening/{org}/mentions/1")).status_code == 403
    r = await browser.post(f"/listening/{org}/mentions/1/sentiment", data={"sentiment": "positive"})
    assert r.status_code in (400, 403)  # no CSRF token


def test_counted_phrases_follow_polish_plural_forms() -> None:
    from szpak.web.listening import Texts

    pl, en = Texts("pl"), Texts("en")
    assert [pl.alert_facts(n, 0).split(" w oknie")[0] for n in (1, 3, 5, 22, 112)] == [
        "1 wzmianka", "3 wzmianki", "5 wzmianek", "22 wzmianki", "112 wzmianek",
    ]
    assert en.alert_facts(1, 0).startswith("1 mention in") and en.alert_facts(2, 1) == "2 mentions in the window (1 negative)"
    assert pl.mentions_in_bucket(4, 1, 2, 1) == "4 wzmianki: negatywne 1, neutralne 2, pozytywne 1"
    assert pl["listening"] == "Nasłuch" and en["listening"] == "Listening"
