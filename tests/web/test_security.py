"""Sessions, CSRF, CSP, escaping of user content, log-in rate limiting."""

from __future__ import annotations

import re
import stat
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from szpak.config import Settings
from szpak.web.keys import load_secret
from szpak.web.ratelimit import Limiter, LoginGuard
from szpak.web.routes import PAGE_MODULES

from .conftest import PASSWORD, Browser, csrf_of, new_browser

XSS_TEXT = '<script>window.__xss=1</script> <img src=x onerror="window.__xss=2"> "quoted" & done'


class MarkupAudit(HTMLParser):
    """Collects what could run in a page: inline scripts, event handler attributes, inline
    styles, and images whose source is not ours."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        values = dict(attrs)
        if tag == "script" and "src" not in names:
            self.found.append("inline <script>")
        if tag == "script" and not (values.get("src") or "").startswith("/static/"):
            self.found.append(f"foreign script {values.get('src')}")
        if tag == "style" or "style" in names:
            self.found.append(f"inline style on <{tag}>")
        self.found.extend(f"<{tag} {name}=...>" for name in names if name.startswith("on"))
        if tag == "img" and not (values.get("src") or "").startswith(("/static/", "/system/")):
            self.found.append(f"<img src={values.get('src')}>")


def audit(html: str) -> list[str]:
    parser = MarkupAudit()
    parser.feed(html)
    return parser.found


def set_cookie_headers(response: Any) -> list[str]:
    return response.headers.get_list("set-cookie")


async def test_session_cookie_is_httponly_and_samesite(browser: Browser) -> None:
    r = await browser.page("/auth/sign_in")
    anon = next(h for h in set_cookie_headers(r) if h.startswith("szpak_anon="))
    assert "HttpOnly" in anon and "SameSite=lax" in anon and "Path=/" in anon
    r = await browser.sign_up("alice")
    session = next(h for h in set_cookie_headers(r) if h.startswith("szpak_session="))
    assert "HttpOnly" in session and "SameSite=lax" in session and "Max-Age=2592000" in session
    assert "Secure" not in session  # plain http in tests


async def test_cookies_are_secure_under_https(app: Any) -> None:
    app.state.settings.scheme = "https"
    try:
        async with new_browser(app) as b:
            r = await b.page("/auth/sign_in")
            assert all("Secure" in h for h in set_cookie_headers(r))
    finally:
        app.state.settings.scheme = "http"


def _post_routes() -> list[str]:
    paths = []
    for route in (r for module in PAGE_MODULES for r in module.router.routes):
        if "POST" in getattr(route, "methods", ()):
            paths.append(re.sub(r"\{(\w+)\}", lambda m: "123" if m.group(1).endswith("id") else "bob", route.path))
    return paths


def test_the_forms_are_all_known() -> None:
    assert set(_post_routes()) >= {
        "/auth/sign_in", "/auth/sign_up", "/auth/sign_out", "/language", "/statuses", "/statuses/123/favourite",
        "/@bob/follow", "/@bob/unfollow", "/settings/profile", "/settings/pictures", "/settings/password",
    }


async def test_every_form_needs_the_csrf_token(client: Any, browser: Browser) -> None:
    bob = await client.make_user("bob")
    await bob.post_status("cel")
    await browser.sign_up("alice")
    token = csrf_of((await browser.page("/home")).text)
    for path in _post_routes():
        for data in ({}, {"csrf_token": "forged"}, {"csrf_token": token[:-2] + "xx"}):
            r = await browser.post(path, data=data, headers={"accept": "text/html"})
            assert r.status_code == 403, (path, data, r.status_code)
            assert "<html" in r.text
    # And the token of one session is worthless in another.
    async with new_browser(client.app) as other:
        await other.sign_up("carol")
        r = await other.post("/statuses", data={"csrf_token": token, "status": "podrobione"})
        assert r.status_code == 403


async def test_a_form_posted_from_another_site_is_refused(browser: Browser) -> None:
    await browser.sign_up("alice")
    token = csrf_of((await browser.page("/home")).text)
    r = await browser.post("/statuses", data={"csrf_token": token, "status": "x"}, headers={"origin": "https://evil.example"})
    assert r.status_code == 403
    r = await browser.post("/statuses", data={"csrf_token": token, "status": "x"}, headers={"origin": "http://testserver"})
    assert r.status_code == 303


async def test_csp_on_pages_only(browser: Browser) -> None:
    r = await browser.page("/explore")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
    assert "connect-src 'self' ws://testserver" in csp
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    api = await browser.get("/api/v1/instance")
    assert api.headers["content-type"].startswith("application/json")
    assert "content-security-policy" not in api.headers
    static = await browser.get("/static/szpak.js")
    assert static.status_code == 200 and "content-security-policy" not in static.headers


async def test_pages_contain_no_inline_script_style_or_handlers(client: Any, browser: Browser) -> None:
    bob = await client.make_user("bob")
    await bob.post_status("Cześć #wszystkim", spoiler_text="uwaga")
    await browser.sign_up("alice")
    pages = ["/home", "/explore", "/@bob", "/tags/wszystkim", "/search?q=bob", "/notifications", "/settings"]
    for path in pages:
        html = (await browser.page(path)).text
        assert audit(html) == [], path
        assert '<script src="/static/szpak.js' in html, path


async def test_user_content_is_escaped_everywhere(client: Any, browser: Browser) -> None:
    await browser.sign_up("alice")
    await browser.submit("/settings", "/settings/profile", {"display_name": "<script>x()</script>Ala", "note": XSS_TEXT})
    await browser.submit("/home", "/statuses", {"status": XSS_TEXT, "spoiler_text": '<b onmouseover="x()">CW</b>', "visibility": "public"})
    await browser.post_status(XSS_TEXT + " #tag")
    for path in ["/home", "/@alice", "/explore", "/tags/tag", "/search?q=Ala"]:
        html = (await browser.page(path)).text
        assert audit(html) == [], path
        if path != "/search?q=Ala":
            assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html, path


async def test_log_in_is_rate_limited_per_address_and_login(client: Any, browser: Browser) -> None:
    await client.make_user("alice")
    await client.make_user("bob")
    for _ in range(5):
        r = await browser.sign_in("alice", "wrong-password")
        assert r.status_code == 401 and "Nieprawidłowy e-mail" in r.text
    r = await browser.sign_in("alice", PASSWORD)  # even the right password waits now
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert "Za dużo nieudanych prób. Spróbuj ponownie za 5 minut." in r.text
    r = await browser.sign_in("ALICE@example.com".lower(), PASSWORD)  # another login: its own count
    assert r.status_code == 303
    async with new_browser(client.app) as b:
        assert (await b.sign_in("bob", "wrong")).status_code == 401
        assert (await b.sign_in("bob", PASSWORD)).status_code == 303


async def test_a_successful_log_in_clears_the_failures(client: Any, browser: Browser) -> None:
    await client.make_user("alice")
    for _ in range(4):
        await browser.sign_in("alice", "wrong")
    assert (await browser.sign_in("alice", PASSWORD)).status_code == 303
    await browser.submit("/home", "/auth/sign_out", {})
    for _ in range(4):
        assert (await browser.sign_in("alice", "wrong")).status_code == 401


def test_limiter_windows_slide() -> None:
    now = [1000.0]
    limiter = Limiter(2, 60, clock=lambda: now[0])
    limiter.hit("k")
    limiter.hit("k")
    assert limiter.retry_after("k") == pytest.approx(60)
    now[0] += 30
    assert limiter.retry_after("k") == pytest.approx(30)
    now[0] += 31
    assert limiter.retry_after("k") == 0
    guard = LoginGuard(clock=lambda: now[0])
    for _ in range(50):
        guard.failed("10.0.0.1", f"user{_}")
    assert guard.retry_after("10.0.0.1", "someone-else") > 0  # spraying many logins from one address


def test_limiter_memory_is_bounded() -> None:
    limiter = Limiter(1, 60, max_keys=100)
    for i in range(1000):
        limiter.hit(f"k{i}")
    assert len(limiter._hits) <= 100


async def test_log_out_revokes_the_page_token_and_the_session(browser: Browser) -> None:
    await browser.sign_up("alice")
    token = browser.token((await browser.page("/home")).text)
    me = await browser.get("/api/v1/accounts/verify_credentials", headers={"authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["username"] == "alice"
    r = await browser.submit("/home", "/auth/sign_out", {})
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert any(h.startswith('szpak_session=""') or "Max-Age=0" in h for h in set_cookie_headers(r))
    r = await browser.get("/api/v1/accounts/verify_credentials", headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert (await browser.page("/home")).status_code == 303


async def test_a_stolen_cookie_stops_working_after_log_out(app: Any, browser: Browser) -> None:
    await browser.sign_up("alice")
    cookie = browser.cookies["szpak_session"]
    await browser.submit("/home", "/auth/sign_out", {})
    async with new_browser(app) as thief:
        thief.cookies.set("szpak_session", cookie)
        r = await thief.page("/home")
        assert r.status_code == 303
        assert any("szpak_session" in h for h in set_cookie_headers(r))  # the stale cookie is cleared


async def test_password_change_logs_out_other_browsers(app: Any, browser: Browser) -> None:
    await browser.sign_up("alice")
    async with new_browser(app) as laptop:
        await laptop.sign_in("alice")
        laptop_token = laptop.token((await laptop.page("/home")).text)
        r = await browser.submit("/settings", "/settings/password", {
            "current_password": "wrong", "new_password": "nowe-haslo-123", "new_password_confirmation": "nowe-haslo-123",
        })
        assert r.status_code == 422 and "Obecne hasło jest nieprawidłowe." in r.text
        r = await browser.submit("/settings", "/settings/password", {
            "current_password": PASSWORD, "new_password": "nowe-haslo-123", "new_password_confirmation": "inne-haslo-123",
        })
        assert r.status_code == 422 and "Nowe hasła się różnią." in r.text
        r = await browser.submit("/settings", "/settings/password", {
            "current_password": PASSWORD, "new_password": "nowe-haslo-123", "new_password_confirmation": "nowe-haslo-123",
        })
        assert r.status_code == 303
        assert (await browser.page("/home")).status_code == 200
        assert (await laptop.page("/home")).status_code == 303
        r = await laptop.get("/api/v1/accounts/verify_credentials", headers={"authorization": f"Bearer {laptop_token}"})
        assert r.status_code == 401
        assert (await laptop.sign_in("alice", PASSWORD)).status_code == 401
        assert (await laptop.sign_in("alice", "nowe-haslo-123")).status_code == 303


async def test_next_never_leaves_the_site(client: Any, browser: Browser) -> None:
    await client.make_user("alice")
    for target, expected in (("//evil.example/x", "/home"), ("https://evil.example", "/home"), ("/\\evil", "/home"), ("/@alice", "/@alice")):
        token = csrf_of((await browser.page("/auth/sign_in")).text)
        r = await browser.post("/auth/sign_in", data={"csrf_token": token, "login": "alice", "password": PASSWORD, "next": target})
        assert r.status_code == 303 and r.headers["location"] == expected, target
        await browser.submit("/home", "/auth/sign_out", {})


async def test_page_token_is_a_scoped_web_app_token(browser: Browser) -> None:
    await browser.sign_up("alice")
    token = browser.token((await browser.page("/home")).text)
    r = await browser.get("/api/v1/apps/verify_credentials", headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["name"] == "Szpak Web"
    assert sorted(r.json()["scopes"]) == ["follow", "read", "write"]
    r = await browser.post("/api/v1/statuses", json={"status": "z API"}, headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["application"]["name"] == "Szpak Web"


def test_secret_key_is_generated_once_and_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    first = load_secret(settings)
    path = tmp_path / "secret_key"
    assert len(first) == 64 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(settings) == first
    assert load_secret(Settings(data_dir=tmp_path, secret_key="given", _env_file=None)) == b"given"  # type: ignore[call-arg]
