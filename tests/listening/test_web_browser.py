"""The listening page in a real browser (Debian's Chromium via Playwright) against a real
``szpak serve``: a post naming the brand appears on the page live, coloured once the
sentiment stage has labelled it, with no script error and no CSP violation.
Skipped where /usr/bin/chromium is absent."""

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
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "sekretne-haslo"

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

from e2e.server import PG_URL, Server, create_pg_database, drop_pg_database  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("listening-browser")
    name = f"szpak_listening_{uuid.uuid4().hex[:10]}"
    url = asyncio.run(create_pg_database(name)) if PG_URL else f"sqlite+aiosqlite:///{data_dir / 'szpak.sqlite3'}"
    srv = Server(url, data_dir).start()
    try:
        yield srv
    finally:
        srv.stop()
        if PG_URL:
            asyncio.run(drop_pg_database(name))


def sign_up(page: Any, username: str) -> str:
    """Sign up in the browser; returns the page script's API token."""
    page.goto("/auth/sign_up")
    page.fill("#username", username)
    page.fill("#email", f"{username}@example.com")
    page.fill("#password", PASSWORD)
    page.check("input[name=agreement]")
    page.click("form.stacked button[type=submit]")
    page.wait_for_url("**/home")
    return str(page.evaluate("document.body.dataset.token"))


def test_mentions_arrive_live_in_the_browser(server: Server) -> None:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
        )
        try:
            context = browser.new_context(locale="pl-PL", viewport={"width": 1280, "height": 900}, base_url=server.base_url)
            context.set_default_timeout(20_000)
            page = context.new_page()
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

            token = sign_up(page, "ala")
            api = httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
            org = api.post("/api/szpak/v1/organisations", json={"username": "skarpetkowo", "kind": "brand"}).json()["id"]
            r = api.post(f"/api/szpak/v1/organisations/{org}/queries", json={"query": "Skarpetkowo", "name": "Marka"})
            assert r.status_code == 200, r.text

            page.goto("/listening")
            page.wait_for_url(f"**/listening/{org}")
            page.wait_for_selector("#listening-live:not([hidden])")  # the stream is open

            other = browser.new_context(locale="pl-PL", base_url=server.base_url)
            fan_page = other.new_page()
            fan = httpx.Client(
                base_url=server.base_url, headers={"Authorization": f"Bearer {sign_up(fan_page, 'fan')}"}, timeout=10
            )
            r = fan.post("/api/v1/statuses", json={"status": "W Skarpetkowie znowu zgubili moją paczkę, dramat"})
            assert r.status_code == 200
            item = page.locator("#mentions li.mention", has_text="zgubili moją paczkę")
            item.wait_for()
            # Labelled by the sentiment stage a moment later: the pending style goes.
            page.wait_for_selector("#mentions li.mention:not(.pending)")
            assert re.search(r"sentiment-(negative|neutral|positive)", item.get_attribute("class") or "")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "listening-desktop.png"), full_page=True)
            fan.close()
            api.close()
            other.close()
            context.close()
        finally:
            browser.close()
    assert problems == []
