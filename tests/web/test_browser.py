"""The web UI in a real browser: Debian's Chromium driven by Playwright, against a real
``szpak serve`` (one per module). Skipped where /usr/bin/chromium is absent (``make test``
installs it with apt-get when it can).

Screenshots of the main pages at desktop and phone width are written to
``test-artifacts/screenshots/`` (gitignored) for people to look at.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("web-browser")]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "sekretne-haslo"
LIVE_TIMEOUT_MS = 10_000
XSS = '<script>window.__xss = 1</script> <img src=x onerror="window.__xss = 2"> <b>pogrubione?</b>'

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed (make test installs it with apt-get)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

from e2e.server import PG_URL, Server, create_pg_database, drop_pg_database  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("web-browser")
    name = f"szpak_web_{uuid.uuid4().hex[:10]}"
    url = asyncio.run(create_pg_database(name)) if PG_URL else f"sqlite+aiosqlite:///{data_dir / 'szpak.sqlite3'}"
    srv = Server(url, data_dir).start()
    try:
        yield srv
    finally:
        srv.stop()
        if PG_URL:
            asyncio.run(drop_pg_database(name))


@pytest.fixture(scope="module")
def chromium(server: Server) -> Iterator[Any]:
    """Started after the server: Playwright's sync API runs an event loop of its own, and
    the server fixture needs ``asyncio.run`` for PostgreSQL."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Person:
    """One browser context (its own cookies), recording what could betray a broken page."""

    def __init__(self, chromium: Any, server: Server, *, locale: str = "pl-PL", width: int = 1280, height: int = 900) -> None:
        self.server = server
        self.context = chromium.new_context(locale=locale, viewport={"width": width, "height": height}, base_url=server.base_url)
        self.context.set_default_timeout(LIVE_TIMEOUT_MS)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.frames: list[str] = []
        self.page.on("console", lambda m: self.problems.append(m.text) if m.type == "error" else None)
        self.page.on("response", lambda r: self.problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss()))
        self.page.on("websocket", lambda ws: ws.on("framereceived", lambda f: self.frames.append(str(f))))

    def goto(self, path: str) -> Any:
        return self.page.goto(path)

    def sign_up(self, username: str) -> None:
        self.goto("/auth/sign_up")
        self.page.fill("#username", username)
        self.page.fill("#email", f"{username}@example.com")
        self.page.fill("#password", PASSWORD)
        self.page.check("input[name=agreement]")
        self.page.click("form.stacked button[type=submit]")
        self.page.wait_for_url("**/home")

    def wait_live(self) -> None:
        self.page.wait_for_selector("body[data-live-state=open]")

    def mark(self) -> None:
        """Set a marker that a page load would wipe out."""
        self.page.evaluate("window.__notReloaded = true")

    def not_reloaded(self) -> bool:
        return bool(self.page.evaluate("window.__notReloaded === true"))

    def compose(self, text: str) -> None:
        self.page.fill("#compose-text", text)
        self.page.click("#compose button[type=submit]")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def people(chromium: Any, server: Server) -> Iterator[list[Person]]:
    made: list[Person] = []
    yield made
    for person in made:
        person.close()


def person(people: list[Person], chromium: Any, server: Server, **kw: Any) -> Person:
    p = Person(chromium, server, **kw)
    people.append(p)
    return p


def sign_up_post_follow_and_see_it_live(chromium: Any, server: Server, people: list[Person]) -> None:
    alice = person(people, chromium, server)
    bob = person(people, chromium, server)
    alice.sign_up("alice")
    bob.sign_up("bob")

    bob.goto("/@alice")
    bob.page.get_by_role("button", name="Obserwuj").click()
    bob.page.get_by_role("button", name="Przestań obserwować").wait_for()

    bob.goto("/home")
    bob.wait_live()
    bob.mark()
    alice.goto("/home")
    alice.wait_live()
    alice.mark()

    counter = alice.page.locator("#compose-counter")
    alice.page.fill("#compose-text", "Cześć z przeglądarki! #szpak https://example.com/bardzo/dlugi/adres/strony")
    assert counter.inner_text() == str(500 - len("Cześć z przeglądarki! #szpak ") - 23)
    alice.page.click("#compose button[type=submit]")
    alice.page.locator("#timeline article.status", has_text="Cześć z przeglądarki!").wait_for()
    assert alice.page.input_value("#compose-text") == ""
    assert alice.not_reloaded()

    live = bob.page.locator("#timeline article.status", has_text="Cześć z przeglądarki!")
    live.wait_for()
    assert bob.not_reloaded(), "the post must arrive without a page load"
    assert any('"event":"update"' in f.replace(" ", "") for f in bob.frames), "it came over the streaming API"
    assert live.locator("a.hashtag").get_attribute("href").endswith("/tags/szpak")

    # Deleted: it leaves the follower's page too (the id, beyond 2^53, must survive the trip).
    alice.page.locator("#timeline article.status", has_text="Cześć z przeglądarki!").get_by_role("button", name="Usuń").click()
    alice.page.wait_for_url("**/home")  # the form returns to the page the post was inserted into
    alice.page.locator("#timeline article.status", has_text="Cześć z przeglądarki!").wait_for(state="detached")
    live.wait_for(state="detached")
    assert bob.not_reloaded()
    assert alice.problems == [], alice.problems
    assert bob.problems == [], bob.problems


def png(colour: str) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (320, 200), colour).save(out, "PNG")
    return out.getvalue()


def api_post(server: Server, token: str, payload: dict[str, Any]) -> dict[str, Any]:
    r = httpx.post(f"{server.base_url}/api/v1/statuses", json=payload, headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def attach_an_image_see_it_live_and_vote(chromium: Any, server: Server, people: list[Person]) -> None:
    gosia = person(people, chromium, server)
    henryk = person(people, chromium, server)
    gosia.sign_up("gosia")
    henryk.sign_up("henryk")
    henryk.goto("/@gosia")
    henryk.page.get_by_role("button", name="Obserwuj").click()
    henryk.page.get_by_role("button", name="Przestań obserwować").wait_for()
    henryk.goto("/home")
    henryk.wait_live()
    henryk.mark()

    gosia.goto("/home")
    gosia.mark()
    gosia.page.click("#compose .compose-more summary")
    assert gosia.page.is_visible("#compose-media-1") and not gosia.page.is_visible("#compose-media-2")
    # Not an image: said at once, in Polish, and nothing is kept.
    gosia.page.set_input_files("#compose-media-1", {"name": "notatka.txt", "mimeType": "text/plain", "buffer": b"tekst"})
    assert "Tego pliku nie da się użyć jako obrazu" in gosia.page.locator("#compose .form-error").inner_text()
    assert gosia.page.locator("#compose .compose-preview").count() == 0
    # An image: previewed before posting, and the next row opens.
    gosia.page.set_input_files("#compose-media-1", {"name": "zachod.png", "mimeType": "image/png", "buffer": png("orange")})
    gosia.page.locator("#compose .compose-image[data-index='1'] img.compose-preview").wait_for()
    assert gosia.page.get_attribute("#compose .compose-preview", "src").startswith("blob:")
    assert gosia.page.is_visible("#compose-media-2") and gosia.page.is_hidden("#compose .form-error")
    gosia.page.fill("#compose-media-description-1", "Pomarańczowy zachód słońca nad morzem")
    gosia.compose("Widok z okna")
    for viewer in (gosia, henryk):
        card = viewer.page.locator("#timeline article.status", has_text="Widok z okna")
        card.wait_for()
        image = card.locator(".media img")
        image.wait_for()
        assert image.get_attribute("alt") == "Pomarańczowy zachód słońca nad morzem"
        assert card.locator(".media a").get_attribute("href").startswith("/system/media_attachments/")
        viewer.page.wait_for_function(
            "() => [...document.querySelectorAll('#timeline .media img')].every(i => i.complete && i.naturalWidth > 0)"
        )
        assert viewer.not_reloaded()
    assert gosia.page.locator("#compose .compose-preview").count() == 0, "the previews go once posted"

    # A poll: voted in from the page (a plain form), then its results show.
    token = gosia.page.get_attribute("body", "data-token")
    poll = api_post(server, token, {"status": "Kawa czy herbata?", "poll": {"options": ["Kawa", "Herbata"], "expires_in": 86400}})
    henryk.goto(f"/@gosia/{poll['id']}")
    henryk.page.get_by_label("Herbata").check()
    henryk.page.get_by_role("button", name="Zagłosuj").click()
    result = henryk.page.locator("article.status.focused .poll-result.chosen")
    result.wait_for()
    assert "100%" in result.inner_text() and "Herbata" in result.inner_text()
    assert henryk.page.locator("article.status.focused input[name=choices]").count() == 0
    assert gosia.problems == [], gosia.problems
    assert henryk.problems == [], henryk.problems


def reply_and_live_notification(chromium: Any, server: Server, people: list[Person]) -> None:
    carol = person(people, chromium, server)
    dave = person(people, chromium, server)
    carol.sign_up("carol")
    dave.sign_up("dave")
    carol.goto("/home")
    carol.compose("Kto zna dobry sklep ze skarpetkami?")
    post = carol.page.locator("#timeline article.status", has_text="Kto zna dobry sklep").first
    post.wait_for()
    link = post.locator("a.timestamp").get_attribute("href")
    assert link and re.fullmatch(r"/@carol/\d+", link)

    carol.goto("/notifications")
    carol.wait_live()
    carol.mark()

    dave.goto(link)
    assert dave.page.input_value("#compose-text") == "@carol "
    dave.page.fill("#compose-text", "@carol Skarpetkowo.pl, polecam!")
    dave.page.click("#compose button[type=submit]")
    dave.page.locator("#replies article.status", has_text="polecam").wait_for()

    notification = carol.page.locator("#notifications li.notification", has_text="wspomina o Tobie")
    notification.wait_for()
    assert "polecam" in notification.inner_text()
    assert carol.not_reloaded()
    assert carol.problems == [] and dave.problems == []


def switch_language_and_it_is_remembered(chromium: Any, server: Server, people: list[Person]) -> None:
    reader = person(people, chromium, server, locale="pl-PL")
    reader.goto("/explore")
    assert reader.page.get_attribute("html", "lang") == "pl"
    assert reader.page.get_by_role("link", name="Odkrywaj").is_visible()
    reader.page.get_by_role("button", name="English").click()
    reader.page.wait_for_selector("html[lang=en]")
    assert reader.page.get_by_role("heading", name="Explore").is_visible()
    reader.goto("/explore")
    assert reader.page.get_attribute("html", "lang") == "en"
    reader.page.get_by_role("button", name="Polski").click()
    reader.page.wait_for_selector("html[lang=pl]")
    assert reader.problems == []


def script_and_image_payloads_are_shown_as_text(chromium: Any, server: Server, people: list[Person]) -> None:
    eve = person(people, chromium, server)
    frank = person(people, chromium, server)
    eve.sign_up("eve")
    frank.sign_up("frank")
    frank.goto("/@eve")
    frank.page.get_by_role("button", name="Obserwuj").click()
    frank.page.get_by_role("button", name="Przestań obserwować").wait_for()
    frank.goto("/home")
    frank.wait_live()

    eve.goto("/home")
    eve.compose(XSS)
    for viewer in (eve, frank):
        status = viewer.page.locator("#timeline article.status", has_text="window.__xss = 1")
        status.wait_for()
        content = status.locator(".content")
        assert "<script>window.__xss = 1</script>" in content.inner_text()
        assert '<img src=x onerror="window.__xss = 2">' in content.inner_text()
        assert content.locator("img, script, b").count() == 0
    for viewer in (eve, frank):
        viewer.page.reload()
        viewer.page.locator("#timeline article.status", has_text="window.__xss = 1").wait_for()
        viewer.page.wait_for_timeout(200)
        assert viewer.page.evaluate("typeof window.__xss") == "undefined"
        assert viewer.problems == [], viewer.problems


def keyboard_and_semantics(chromium: Any, server: Server, people: list[Person]) -> None:
    reader = person(people, chromium, server)
    reader.goto("/explore")
    reader.page.keyboard.press("Tab")
    assert reader.page.evaluate("document.activeElement.className") == "skip-link"
    reader.page.keyboard.press("Enter")
    assert reader.page.evaluate("location.hash") == "#main"
    assert reader.page.evaluate("document.activeElement.id") == "main"
    for path in ("/explore", "/auth/sign_in", "/auth/sign_up", "/search?q=kot"):
        reader.goto(path)
        audit = reader.page.evaluate(
            """() => ({
                h1: document.querySelectorAll('h1').length,
                unlabelled: [...document.querySelectorAll('input:not([type=hidden]), textarea, select, button')]
                    .filter(el => !el.closest('[hidden]') && !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                                  && !(el.tagName === 'BUTTON' && el.textContent.trim()))
                    .map(el => el.name || el.tagName),
                noAlt: [...document.querySelectorAll('img')].filter(img => !img.hasAttribute('alt')).length,
                landmarks: ['header', 'nav', 'main', 'footer'].filter(t => document.querySelector(t)).length,
            })"""
        )
        assert audit == {"h1": 1, "unlabelled": [], "noAlt": 0, "landmarks": 4}, (path, audit)
    # The log-in form by keyboard alone: the login field has focus on arrival.
    reader.goto("/auth/sign_in")
    assert reader.page.evaluate("document.activeElement.id") == "login"
    reader.page.keyboard.type("nobody")
    reader.page.keyboard.press("Tab")
    reader.page.keyboard.type("wrong-password")
    reader.page.keyboard.press("Enter")
    reader.page.get_by_role("alert").wait_for()
    assert "Nieprawidłowy" in reader.page.get_by_role("alert").inner_text()


def screenshots_of_the_main_pages(chromium: Any, server: Server, people: list[Person]) -> None:
    shop = person(people, chromium, server)
    shop.sign_up("skarpetkowo")
    token = shop.page.get_attribute("body", "data-token")
    r = httpx.patch(f"{server.base_url}/api/v1/accounts/update_credentials", data={"kind": "brand"},
                    headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["szpak_kind"] == "brand", r.text
    shop.page.goto("/settings")
    shop.page.fill("#display_name", "Skarpetkowo.pl")
    shop.page.fill("#note", "Skarpetki antyzapachowe. Odpowiadamy od 8 do 20. #skarpetki")
    shop.page.get_by_role("button", name="Zapisz profil").click()
    shop.page.wait_for_url("**/settings?saved=profile*")
    shop.goto("/home")
    for text in (
        "Szukamy testerów skarpetek antyzapachowych! Zgłoszenia w odpowiedziach. #skarpetki #testerzy",
        "Dziękujemy za wszystkie opinie – czytamy każdą. Krytykę też.",
    ):
        shop.compose(text)
        shop.page.locator("#timeline article.status", has_text=text[:20]).wait_for()
    reader = person(people, chromium, server)
    reader.sign_up("zosia")
    reader.goto("/@skarpetkowo")
    reader.page.get_by_role("button", name="Obserwuj").click()
    reader.page.get_by_role("button", name="Przestań obserwować").wait_for()
    # A post with an image (uploaded as any Mastodon client does) and a poll.
    media = httpx.post(
        f"{server.base_url}/api/v2/media", headers={"authorization": f"Bearer {token}"},
        files={"file": ("skarpetki.png", png("teal"), "image/png")}, data={"description": "Turkusowe skarpetki w paski"},
    )
    assert media.status_code == 200, media.text
    api_post(server, token, {"status": "Nowy kolor w sklepie: turkus. #skarpetki", "media_ids": [media.json()["id"]]})
    api_post(server, token, {
        "status": "Jaki kolor następny?", "poll": {"options": ["Musztardowy", "Butelkowa zieleń", "Bordo"], "expires_in": 86400},
    })
    reader.goto("/home")
    reader.page.get_by_label("Bordo").check()
    reader.page.get_by_role("button", name="Zagłosuj").click()
    reader.page.locator("article.status .poll-result.chosen").wait_for()
    first = reader.page.locator("article.status", has_text="Szukamy testerów").locator("a.timestamp").first.get_attribute("href")
    reader.goto(first)
    reader.page.fill("#compose-text", "@skarpetkowo Chętnie przetestuję! Moje obecne skarpetki nie dają rady.")
    reader.page.click("#compose button[type=submit]")
    reader.page.locator("#replies article.status").first.wait_for()
    app = httpx.post(f"{server.base_url}/api/v1/apps", json={"client_name": "Kalendarz marki", "redirect_uris": ["https://app.example/cb"], "scopes": "read write"}).json()
    authorize = f"/oauth/authorize?response_type=code&client_id={app['client_id']}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=read+write"

    pages = {
        "home": "/home", "explore": "/explore", "status": first, "profile": "/@skarpetkowo",
        "notifications": "/notifications", "settings": "/settings", "search": "/search?q=skarpetek",
        "tag": "/tags/skarpetki", "authorize": authorize, "not-found": "/no/such/page",
    }
    anonymous = {"landing": "/", "sign-in": "/auth/sign_in", "sign-up": "/auth/sign_up"}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    visitor = person(people, chromium, server)
    for width, height, label in ((1280, 900, "desktop"), (390, 844, "phone")):
        for who, targets in ((reader, pages), (visitor, anonymous)):
            who.page.set_viewport_size({"width": width, "height": height})
            for name, path in targets.items():
                who.goto(path)
                overflow = who.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 1, f"{name} scrolls sideways at {width}px"
                who.page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
    assert len(list(SCREENSHOTS.glob("*.png"))) >= 26
    # The not-found page answers 404 on purpose: its response, and the console's note of it.
    unexpected = [p for p in reader.problems + visitor.problems if not p.endswith("/no/such/page") and "status of 404" not in p]
    assert unexpected == []


# pytest-xdist's ``xdist_group`` has no effect under pytest 9 (it rewrites a node id attribute
# that pytest no longer reads), so tests of one module may land on both workers, each then
# starting its own server and browser. Two tests, each a sequence of named scenarios, keep
# that to at most two starts while every scenario still reads on its own.


def test_people_use_szpak_together_live(chromium: Any, server: Server, people: list[Person]) -> None:
    sign_up_post_follow_and_see_it_live(chromium, server, people)
    attach_an_image_see_it_live_and_vote(chromium, server, people)
    reply_and_live_notification(chromium, server, people)
    script_and_image_payloads_are_shown_as_text(chromium, server, people)
    switch_language_and_it_is_remembered(chromium, server, people)


def test_keyboard_semantics_and_screenshots(chromium: Any, server: Server, people: list[Person]) -> None:
    keyboard_and_semantics(chromium, server, people)
    screenshots_of_the_main_pages(chromium, server, people)
