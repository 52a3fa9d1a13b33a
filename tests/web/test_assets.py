"""The page weight budget, and nothing loaded from anywhere but Szpak itself."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .conftest import Browser

WEB = Path(__file__).resolve().parents[2] / "src" / "szpak" / "web"
BUDGET = 100 * 1024


def test_script_and_styles_are_within_budget() -> None:
    js = (WEB / "static" / "szpak.js").stat().st_size
    css = (WEB / "static" / "szpak.css").stat().st_size
    assert js + css < BUDGET, f"{js + css} bytes"


def test_templates_and_assets_load_nothing_from_elsewhere() -> None:
    for path in [*(WEB / "templates").rglob("*.html"), WEB / "static" / "szpak.css", WEB / "static" / "szpak.js"]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), path
        assert "@import" not in text and "url(http" not in text, path
        assert "eval(" not in text and "new Function" not in text, path


async def test_static_files_are_served_with_their_types(browser: Browser) -> None:
    for name, ctype in (("szpak.js", "text/javascript"), ("szpak.css", "text/css"), ("szpak.svg", "image/svg+xml")):
        r = await browser.get(f"/static/{name}")
        assert r.status_code == 200 and r.headers["content-type"].startswith(ctype), name
    for name in ("avatar-missing.png", "header-missing.png"):  # kept from the accounts work
        assert (await browser.get(f"/static/{name}")).status_code == 200


async def test_asset_urls_change_with_their_content(browser: Browser, app: Any) -> None:
    html = (await browser.page("/explore")).text
    versions = re.findall(r'/static/szpak\.(?:js|css)\?v=([0-9a-f]{10})', html)
    assert len(versions) == 2 and versions[0] != versions[1]
