"""Helpers for the web UI tests: a browser-like client (cookies, forms with CSRF)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html import unescape
from typing import Any

import httpx
import pytest

PASSWORD = "sekretne-haslo"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "the page has no form with a CSRF token"
    return unescape(match.group(1))


class Browser(httpx.AsyncClient):
    """An httpx client that keeps cookies and fills in CSRF tokens like a browser would."""

    app: Any

    async def page(self, url: str, **kw: Any) -> httpx.Response:
        return await self.get(url, headers={"accept": "text/html", **kw.pop("headers", {})}, **kw)

    async def submit(self, page_url: str, action: str, data: dict[str, Any], **kw: Any) -> httpx.Response:
        """Load ``page_url``, take its CSRF token, post ``data`` to ``action``."""
        token = csrf_of((await self.page(page_url)).text)
        return await self.post(action, data={"csrf_token": token, **data}, **kw)

    async def sign_up(self, username: str, password: str = PASSWORD) -> httpx.Response:
        r = await self.submit(
            "/auth/sign_up", "/auth/sign_up",
            {"username": username, "email": f"{username}@example.com", "password": password, "agreement": "1"},
        )
        assert r.status_code == 303, r.text
        return r

    async def sign_in(self, login: str, password: str = PASSWORD) -> httpx.Response:
        return await self.submit("/auth/sign_in", "/auth/sign_in", {"login": login, "password": password})

    async def post_status(self, text: str, **fields: str) -> httpx.Response:
        r = await self.submit("/home", "/statuses", {"status": text, "visibility": "public", **fields})
        assert r.status_code == 303, r.text
        return r

    def token(self, html: str) -> str:
        match = re.search(r'data-token="([^"]+)"', html)
        assert match, "the page carries no access token"
        return match.group(1)


async def account_id(app: Any, username: str) -> str:
    from szpak.domain.accounts import get_local_account

    async with app.state.ctx.read() as s:
        return str((await get_local_account(s, username)).id)


def new_browser(app: Any, **headers: str) -> Browser:
    b = Browser(transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers=headers)
    b.app = app
    return b


@pytest.fixture
async def browser(app: Any) -> AsyncIterator[Browser]:
    async with new_browser(app, **{"accept-language": "pl-PL,pl;q=0.9"}) as b:
        yield b


@pytest.fixture
async def other_browser(app: Any) -> AsyncIterator[Browser]:
    async with new_browser(app, **{"accept-language": "en-GB,en;q=0.9"}) as b:
        yield b
