"""The OAuth consent page in the web UI's templates, and approving with a browser session."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .conftest import PASSWORD, Browser

REDIRECT = "https://app.example/callback"


async def register_app(browser: Browser) -> dict[str, Any]:
    r = await browser.post("/api/v1/apps", json={"client_name": "Skarpetkowo <Pro>", "redirect_uris": [REDIRECT], "scopes": "read write follow"})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def query(app: dict[str, Any], **extra: str) -> dict[str, str]:
    return {"response_type": "code", "client_id": app["client_id"], "redirect_uri": REDIRECT, "scope": "read write", "state": "s1", **extra}


def hidden(page: str) -> dict[str, str]:
    out = {}
    for tag in re.findall(r"<input\b[^>]*>", page):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', tag))
        if attrs.get("type") == "hidden" and "name" in attrs:
            out[attrs["name"]] = html.unescape(attrs.get("value", ""))
    return out


async def test_consent_page_for_a_visitor_asks_for_credentials(browser: Browser) -> None:
    app = await register_app(browser)
    r = await browser.page("/oauth/authorize", params=query(app))
    assert r.status_code == 200
    assert '<link rel="stylesheet" href="/static/szpak.css' in r.text  # our template
    assert "Skarpetkowo &lt;Pro&gt;" in r.text  # the app name is escaped
    assert "Czytać Twoje wpisy" in r.text and "Publikować, edytować" in r.text
    assert 'name="login"' in r.text and 'name="password"' in r.text
    assert 'name="decision" value="approve"' in r.text and 'name="decision" value="deny"' in r.text
    fields = hidden(r.text)
    for key in ("response_type", "client_id", "redirect_uri", "scope", "state", "csrf"):
        assert fields[key], key
    assert fields["lang"] == "pl"
    policies = r.headers.get_list("content-security-policy")
    assert any("script-src 'self'" in p and "form-action" not in p for p in policies)


async def test_approving_with_the_browser_session(client: Any, browser: Browser) -> None:
    app = await register_app(browser)
    await browser.sign_up("alice")
    page = await browser.page("/oauth/authorize", params=query(app))
    assert 'name="password"' not in page.text and "<strong>@alice</strong>" in page.text
    r = await browser.post("/oauth/authorize", data={**hidden(page.text), "decision": "approve"})
    assert r.status_code == 302
    location = urlsplit(r.headers["location"])
    params = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert location.netloc == "app.example" and params["state"] == "s1"
    token = await browser.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": params["code"], "client_id": app["client_id"],
        "client_secret": app["client_secret"], "redirect_uri": REDIRECT,
    })
    assert token.status_code == 200
    me = await browser.get("/api/v1/accounts/verify_credentials", headers={"authorization": f"Bearer {token.json()['access_token']}"})
    assert me.json()["username"] == "alice"


async def test_deny_and_bad_credentials(client: Any, browser: Browser) -> None:
    await client.make_user("alice")
    app = await register_app(browser)
    page = await browser.page("/oauth/authorize", params=query(app))
    r = await browser.post("/oauth/authorize", data={**hidden(page.text), "login": "alice", "password": "wrong", "decision": "approve"})
    assert r.status_code == 401 and 'role="alert"' in r.text and 'name="password"' in r.text
    r = await browser.post("/oauth/authorize", data={**hidden(page.text), "decision": "deny"})
    assert r.status_code == 302 and "error=access_denied" in r.headers["location"]
    r = await browser.post("/oauth/authorize", data={**hidden(page.text), "login": "alice", "password": PASSWORD, "decision": "approve"})
    assert r.status_code == 302 and "code=" in r.headers["location"]


async def test_consent_page_in_english_for_an_english_browser(other_browser: Browser) -> None:
    app = await register_app(other_browser)
    r = await other_browser.page("/oauth/authorize", params=query(app))
    assert '<html lang="en">' in r.text and "Authorize an application" in r.text and hidden(r.text)["lang"] == "en"
    r = await other_browser.page("/oauth/authorize", params={**query(app), "client_id": "nope"})
    assert r.status_code == 400 and "unknown client" in r.text and 'name="decision"' not in r.text
