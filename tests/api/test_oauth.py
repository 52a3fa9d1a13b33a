"""OAuth 2 end to end over the ASGI app: apps, the three grants, the authorize page,
PKCE, revocation, metadata, and who may (not) get tokens."""

from __future__ import annotations

import asyncio
import base64
import html
import re
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import update

from szpak.domain import oauth
from szpak.domain.accounts import create_user
from szpak.storage.models import Account, AuthorizationCode, User

REDIRECT = "https://app.example/callback"
PASSWORD = "sekretne-haslo"
VERIFIER = "v" * 20 + "-._~" + "A1" * 12  # 48 unreserved characters


@pytest.fixture(autouse=True)
def protocol_only(request: pytest.FixtureRequest) -> None:
    """These tests are about the protocol, so they draw the page this module ships;
    the web UI's restyled page (its hooks) is tested in tests/web and end to end."""
    if "client" not in request.fixturenames:
        return
    state = request.getfixturevalue("client").app.state
    for hook in ("render_authorize", "session_user"):
        if hasattr(state, hook):
            delattr(state, hook)


async def make_app(client: Any, *, scopes: str = "read write follow push", uris: str | list[str] = REDIRECT) -> dict[str, Any]:
    fields = {"client_name": "Test app", "redirect_uris": uris, "scopes": scopes}
    r = await (client.post("/api/v1/apps", json=fields) if isinstance(uris, list) else client.post("/api/v1/apps", data=fields))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def password_token(client: Any, app: dict[str, Any], login: str, **extra: str) -> httpx.Response:
    return await client.post(
        "/oauth/token",
        data={
            "grant_type": "password", "username": login, "password": PASSWORD,
            "client_id": app["client_id"], "client_secret": app["client_secret"], **extra,
        },
    )


async def set_user(client: Any, username: str, **values: Any) -> None:
    """Test setup: change a user's state directly (no admin actions exist for it yet)."""
    ctx = client.app.state.ctx
    async with ctx.tx() as tx:
        account_id = (await tx.session.execute(
            update(Account).where(Account.username_lower == username).values(
                suspended_at=values.pop("suspended_at", None)
            ).returning(Account.id)
        )).scalar_one()
        if values:
            await tx.session.execute(update(User).where(User.account_id == account_id).values(**values))


def authorize_query(app: dict[str, Any], **extra: str) -> dict[str, str]:
    return {"response_type": "code", "client_id": app["client_id"], "redirect_uri": REDIRECT, "scope": "read write", **extra}


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs of the consent form, whatever the template's attribute order."""
    fields = {}
    for tag in re.findall(r"<input\b[^>]*>", page):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', tag))
        if attrs.get("type") == "hidden" and "name" in attrs:
            fields[attrs["name"]] = html.unescape(attrs.get("value", ""))
    return fields


async def authorize(client: Any, app: dict[str, Any], *, login: str = "alice", **extra: str) -> httpx.Response:
    """Open the page, then post the form as a browser would (hidden fields + cookie)."""
    page = await client.get("/oauth/authorize", params=authorize_query(app, **extra))
    assert page.status_code == 200, page.text
    form = {**hidden_fields(page.text), "decision": "approve"}
    if login:
        form.update(login=login, password=PASSWORD)
    return await client.post("/oauth/authorize", data=form)


def redirect_params(r: httpx.Response) -> dict[str, str]:
    assert r.status_code == 302, r.text
    location = r.headers["location"]
    assert location.startswith(REDIRECT + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def exchange(client: Any, app: dict[str, Any], code: str, *, secret: bool = True, **extra: str) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "client_id": app["client_id"], "redirect_uri": REDIRECT}
    if secret:
        data["client_secret"] = app["client_secret"]
    return await client.post("/oauth/token", data={**data, **extra})


async def who(client: Any, token: str) -> httpx.Response:
    return await client.get("/api/v1/accounts/verify_credentials", headers={"Authorization": f"Bearer {token}"})


# --- applications -------------------------------------------------------------------------


async def test_create_app_form_and_json(client: Any) -> None:
    app = await make_app(client, uris=f"{REDIRECT}\nmyapp://oauth")
    assert app["name"] == "Test app"
    assert app["redirect_uris"] == [REDIRECT, "myapp://oauth"]
    assert app["scopes"] == ["read", "write", "follow", "push"]
    assert app["client_id"] and app["client_secret"] and app["client_secret_expires_at"] == 0
    r = await client.post(
        "/api/v1/apps", json={"client_name": "J", "redirect_uris": [oauth.OOB, REDIRECT], "scopes": "read:statuses"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["redirect_uris"] == [oauth.OOB, REDIRECT]
    assert r.json()["scopes"] == ["read:statuses"]
    r = await client.post("/api/v1/apps", data={"client_name": "D", "redirect_uris": oauth.OOB})
    assert r.json()["scopes"] == ["read"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"redirect_uris": REDIRECT}, "Application name can't be blank"),
        ({"client_name": "x"}, "Redirect URI can't be blank"),
        ({"client_name": "x", "redirect_uris": "javascript:alert(1)"}, "Redirect URI must be an absolute URI"),
        ({"client_name": "x", "redirect_uris": "https://a.example/cb#frag"}, "Redirect URI must be an absolute URI"),
        ({"client_name": "x", "redirect_uris": "/relative"}, "Redirect URI must be an absolute URI"),
        ({"client_name": "x", "redirect_uris": "https:///nohost"}, "Redirect URI must be an absolute URI"),
        ({"client_name": "x", "redirect_uris": REDIRECT, "scopes": "read bogus"}, "bogus is not a valid scope"),
    ],
)
async def test_create_app_rejects(client: Any, fields: dict[str, str], message: str) -> None:
    r = await client.post("/api/v1/apps", data=fields)
    assert r.status_code == 422
    assert message in r.json()["error"]


async def test_app_verify_credentials(client: Any) -> None:
    app = await make_app(client, scopes="read write")
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": app["client_id"], "client_secret": app["client_secret"]},
    )
    token = r.json()["access_token"]
    assert r.json()["scope"] == "read"
    r = await client.get("/api/v1/apps/verify_credentials", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    assert r.json()["name"] == "Test app" and r.json()["scopes"] == ["read", "write"]
    assert "client_secret" not in r.json()
    r = await client.get("/api/v1/apps/verify_credentials")
    assert r.status_code == 401 and "error" in r.json()
    r = await client.get("/api/v1/apps/verify_credentials", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401


# --- client credentials and client authentication ------------------------------------------


async def test_client_credentials_auth_methods(client: Any) -> None:
    app = await make_app(client)
    base = {"grant_type": "client_credentials", "scope": "read write"}
    ok_form = await client.post("/oauth/token", data={**base, "client_id": app["client_id"], "client_secret": app["client_secret"]})
    ok_json = await client.post("/oauth/token", json={**base, "client_id": app["client_id"], "client_secret": app["client_secret"]})
    basic = base64.b64encode(f"{app['client_id']}:{app['client_secret']}".encode()).decode()
    ok_basic = await client.post("/oauth/token", data=base, headers={"Authorization": f"Basic {basic}"})
    for r in (ok_form, ok_json, ok_basic):
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["token_type"] == "Bearer" and body["scope"] == "read write" and isinstance(body["created_at"], int)
        assert r.headers["cache-control"] == "no-store"
    # An app token has no user: user endpoints refuse it.
    r = await who(client, ok_form.json()["access_token"])
    assert r.status_code == 422

    wrong = base64.b64encode(f"{app['client_id']}:wrong".encode()).decode()
    for r in (
        await client.post("/oauth/token", data={**base, "client_id": app["client_id"], "client_secret": "wrong"}),
        await client.post("/oauth/token", data={**base, "client_id": app["client_id"]}),
        await client.post("/oauth/token", data={**base, "client_id": "unknown", "client_secret": "x"}),
        await client.post("/oauth/token", data=base),
        await client.post("/oauth/token", data=base, headers={"Authorization": f"Basic {wrong}"}),
        await client.post("/oauth/token", data=base, headers={"Authorization": "Basic %%%"}),
        await client.post("/oauth/token", json={**base, "client_id": ["x"], "client_secret": {"a": 1}}),
    ):
        assert r.status_code == 401, r.text
        assert r.json()["error"] == "invalid_client" and r.json()["error_description"]


async def test_token_errors_are_rfc6749_json(client: Any) -> None:
    app = await make_app(client, scopes="read")
    creds = {"client_id": app["client_id"], "client_secret": app["client_secret"]}
    cases = [
        ({"grant_type": "refresh_token", **creds}, "unsupported_grant_type"),
        ({**creds}, "invalid_request"),
        ({"grant_type": "client_credentials", "scope": "write", **creds}, "invalid_scope"),
        ({"grant_type": "client_credentials", "scope": "read nonsense", **creds}, "invalid_scope"),
        ({"grant_type": "authorization_code", **creds}, "invalid_request"),
    ]
    for data, error in cases:
        r = await client.post("/oauth/token", data=data)
        assert r.status_code == 400, (data, r.text)
        assert r.json()["error"] == error
    r = await client.post("/oauth/token", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


# --- password grant --------------------------------------------------------------------------


async def test_password_grant_with_username_or_email(client: Any) -> None:
    alice = await client.make_user("alice")
    app = await make_app(client)
    for login in ("alice", "ALICE", "@alice", "alice@example.com", "Alice@Example.com"):
        r = await password_token(client, app, login, scope="read write")
        assert r.status_code == 200, (login, r.text)
        assert r.json()["scope"] == "read write"
        me = await who(client, r.json()["access_token"])
        assert me.json()["id"] == alice.id
    r = await password_token(client, app, "alice")
    assert r.json()["scope"] == "read", "no scope asked means read, as in Mastodon"


async def test_password_grant_refusals(client: Any) -> None:
    await client.make_user("alice")
    app = await make_app(client, scopes="read")
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "password", "username": "alice", "password": "wrong-password",
              "client_id": app["client_id"], "client_secret": app["client_secret"]},
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = await password_token(client, app, "nobody")
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = await password_token(client, app, "alice", scope="read write")
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
    r = await client.post("/oauth/token", data={"grant_type": "password", "username": "alice", "password": PASSWORD,
                                                 "client_id": app["client_id"]})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("change", "message", "old_token_status"),
    [
        ({"approved": False}, "pending approval", 403),
        ({"disabled": True}, "disabled", 401),
        ({"suspended_at": datetime(2024, 1, 1, tzinfo=timezone.utc)}, "suspended", 401),
    ],
)
async def test_users_who_may_not_sign_in_get_no_token(
    client: Any, change: dict[str, Any], message: str, old_token_status: int
) -> None:
    await client.make_user("bob")
    app = await make_app(client)
    ok = await password_token(client, app, "bob")
    assert ok.status_code == 200
    await set_user(client, "bob", **change)
    r = await password_token(client, app, "bob")
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert message in r.json()["error_description"]
    # Nor through the authorize page, nor with a token issued earlier.
    r = await authorize(client, app, login="bob")
    assert r.status_code == 401 and message in r.text
    client.app.state.token_cache._entries.clear()
    assert (await who(client, ok.json()["access_token"])).status_code == old_token_status


async def test_unapproved_registration_cannot_log_in(client: Any) -> None:
    async with client.app.state.ctx.tx() as tx:
        await create_user(tx, username="waiting", email="w@example.com", password=PASSWORD, approved=False)
    app = await make_app(client)
    r = await password_token(client, app, "w@example.com")
    assert r.status_code == 400 and "pending approval" in r.json()["error_description"]


# --- the authorize page and the authorization code grant -------------------------------------


async def test_authorization_code_flow(client: Any) -> None:
    alice = await client.make_user("alice")
    app = await make_app(client)
    page = await client.get("/oauth/authorize", params=authorize_query(app, state="xyz 1/2"))
    assert page.status_code == 200
    assert "Test app" in page.text and "write" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    fields = hidden_fields(page.text)
    assert fields["state"] == "xyz 1/2" and fields["scope"] == "read write" and fields["csrf"]
    r = await client.post("/oauth/authorize", data={**fields, "login": "alice", "password": PASSWORD, "decision": "approve"})
    got = redirect_params(r)
    assert got["state"] == "xyz 1/2"
    token = await exchange(client, app, got["code"])
    assert token.status_code == 200, token.text
    assert token.json()["scope"] == "read write"
    assert (await who(client, token.json()["access_token"])).json()["id"] == alice.id
    # Codes are single-use.
    again = await exchange(client, app, got["code"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


async def test_code_must_match_client_redirect_and_time(client: Any) -> None:
    await client.make_user("alice")
    app = await make_app(client)
    other = await make_app(client)
    code = redirect_params(await authorize(client, app))["code"]
    for r in (
        await exchange(client, other, code),
        await exchange(client, app, code, redirect_uri="https://evil.example/cb"),
        await exchange(client, app, code, redirect_uri=""),
        await exchange(client, app, "not-a-code"),
    ):
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    # Failed attempts don't use the code up; expiry does.
    async with client.app.state.ctx.tx() as tx:
        await tx.session.execute(
            update(AuthorizationCode).values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1))
        )
    r = await exchange(client, app, code)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


async def test_code_is_valid_until_it_expires(client: Any) -> None:
    await client.make_user("alice")
    app = await make_app(client)
    code = redirect_params(await authorize(client, app))["code"]
    async with client.app.state.ctx.read() as s:
        row = (await s.execute(AuthorizationCode.__table__.select())).first()
    assert row is not None
    lifetime = row.expires_at.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)
    assert timedelta(minutes=9) < lifetime <= oauth.CODE_TTL
    assert (await exchange(client, app, code)).status_code == 200


async def test_concurrent_exchanges_of_one_code_yield_one_token(client: Any) -> None:
    await client.make_user("alice")
    app = await make_app(client)
    code = redirect_params(await authorize(client, app))["code"]
    results = await asyncio.gather(*(exchange(client, app, code) for _ in range(4)))
    assert sorted(r.status_code for r in results) == [200, 400, 400, 400]


async def test_interleaved_redemptions_cannot_both_succeed(client: Any) -> None:
    """The second transaction reads the code before the first commits; only the
    conditional UPDATE stops it (PostgreSQL) or the single writer does (SQLite)."""
    await client.make_user("alice")
    app_data = await make_app(client)
    code = redirect_params(await authorize(client, app_data))["code"]
    ctx = client.app.state.ctx
    async with ctx.read() as s:
        client_ = await oauth.find_client(s, app_data["client_id"], app_data["client_secret"])

    async def second() -> None:
        async with ctx.tx() as tx2:
            await oauth.redeem_code(tx2, client_, code, REDIRECT, None)

    async with ctx.tx() as tx1:
        await oauth.redeem_code(tx1, client_, code, REDIRECT, None)
        task = asyncio.create_task(second())
        await asyncio.sleep(0.3)
    with pytest.raises(oauth.OAuthError) as raised:
        await task
    assert raised.value.error == "invalid_grant"


async def test_code_of_a_since_suspended_user_is_refused(client: Any) -> None:
    await client.make_user("alice")
    app = await make_app(client)
    code = redirect_params(await authorize(client, app))["code"]
    await set_user(client, "alice", suspended_at=datetime.now(timezone.utc))
    r = await exchange(client, app, code)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("method", ["S256", "plain"])
async def test_pkce(client: Any, method: str) -> None:
    await client.make_user("alice")
    app = await make_app(client)
    challenge = oauth.pkce_challenge(VERIFIER, method)
    if method == "S256":
        assert challenge != VERIFIER and len(challenge) == 43

    async def code() -> str:
        r = await authorize(client, app, code_challenge=challenge, code_challenge_method=method)
        return redirect_params(r)["code"]

    first = await code()
    for verifier in (None, "w" * 48, VERIFIER[:-1] + "B"):
        extra = {"code_verifier": verifier} if verifier else {}
        r = await exchange(client, app, first, **extra)
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant", verifier
    # A public client (no secret) proves itself with the verifier.
    r = await exchange(client, app, first, secret=False, code_verifier=VERIFIER)
    assert r.status_code == 200, r.text


async def test_pkce_method_defaults_to_plain_and_is_validated(client: Any) -> None:
    await client.make_user("alice")
    app = await make_app(client)
    code = redirect_params(await authorize(client, app, code_challenge=VERIFIER))["code"]
    assert (await exchange(client, app, code, secret=False, code_verifier=VERIFIER)).status_code == 200
    for extra in ({"code_challenge": VERIFIER, "code_challenge_method": "S512"}, {"code_challenge": "short"}):
        r = await client.get("/oauth/authorize", params=authorize_query(app, state="s", **extra))
        got = redirect_params(r)
        assert got["error"] == "invalid_request" and got["state"] == "s"


async def test_code_without_pkce_needs_the_secret(client: Any) -> None:
    await client.make_user("alice")
    app = await make_app(client)
    code = redirect_params(await authorize(client, app))["code"]
    r = await exchange(client, app, code, secret=False, code_verifier=VERIFIER)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert (await exchange(client, app, code)).status_code == 200


async def test_authorize_client_and_redirect_errors_are_shown_not_redirected(client: Any) -> None:
    app = await make_app(client, uris=[REDIRECT, "myapp://cb"])
    for params in (
        authorize_query(app, redirect_uri="https://evil.example/cb"),
        {**authorize_query(app), "client_id": "unknown"},
        {k: v for k, v in authorize_query(app).items() if k != "redirect_uri"},  # two registered: must say which
    ):
        r = await client.get("/oauth/authorize", params=params)
        assert r.status_code == 400 and "location" not in r.headers
        assert "evil.example" not in r.text


async def test_redirect_uri_may_be_omitted_when_only_one_is_registered(client: Any) -> None:
    await client.make_user("alice")
    app = await make_app(client)
    query = {k: v for k, v in authorize_query(app).items() if k != "redirect_uri"}
    page = await client.get("/oauth/authorize", params=query)
    assert page.status_code == 200
    assert hidden_fields(page.text)["redirect_uri"] == REDIRECT


async def test_authorize_request_errors_go_back_to_the_client(client: Any) -> None:
    app = await make_app(client, scopes="read")
    for extra, error in (
        ({"scope": "read write"}, "invalid_scope"),
        ({"scope": "bogus"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": ""}, "invalid_request"),
    ):
        r = await client.get("/oauth/authorize", params=authorize_query(app, state="st", **extra))
        got = redirect_params(r)
        assert got["error"] == error and got["state"] == "st" and "code" not in got


async def test_granular_scope_subset(client: Any) -> None:
    await client.make_user("alice")
    app = await make_app(client, scopes="read write:statuses")
    r = await authorize(client, app, scope="read:accounts write:statuses")
    token = (await exchange(client, app, redirect_params(r)["code"])).json()
    assert token["scope"] == "read:accounts write:statuses"
    r = await client.get("/oauth/authorize", params=authorize_query(app, scope="write"))
    assert redirect_params(r)["error"] == "invalid_scope"


async def test_deny(client: Any) -> None:
    await client.make_user("alice")
    app = await make_app(client)
    page = await client.get("/oauth/authorize", params=authorize_query(app, state="abc"))
    r = await client.post("/oauth/authorize", data={**hidden_fields(page.text), "decision": "deny"})
    got = redirect_params(r)
    assert got == {"error": "access_denied", "error_description": got["error_description"], "state": "abc"}


async def test_out_of_band_code_and_deny(client: Any) -> None:
    await client.make_user("alice")
    app = await make_app(client, uris=oauth.OOB)
    query = {**authorize_query(app), "redirect_uri": oauth.OOB}
    page = await client.get("/oauth/authorize", params=query)
    form = hidden_fields(page.text)
    r = await client.post("/oauth/authorize", data={**form, "login": "alice", "password": PASSWORD, "decision": "approve"})
    assert r.status_code == 200 and "location" not in r.headers
    match = re.search(r'<code id="code">([^<]+)</code>', r.text)
    assert match
    token = await exchange(client, app, match.group(1), redirect_uri=oauth.OOB)
    assert token.status_code == 200, token.text
    r = await client.post("/oauth/authorize", data={**form, "decision": "deny"})
    assert r.status_code == 403 and "location" not in r.headers


async def test_wrong_password_shows_the_page_again(client: Any) -> None:
    await client.make_user("alice")
    app = await make_app(client)
    page = await client.get("/oauth/authorize", params=authorize_query(app))
    form = hidden_fields(page.text)
    r = await client.post("/oauth/authorize", data={**form, "login": "alice", "password": "nope-nope", "decision": "approve"})
    assert r.status_code == 401 and "location" not in r.headers
    assert hidden_fields(r.text)["client_id"] == app["client_id"]
    async with client.app.state.ctx.read() as s:
        assert (await s.execute(AuthorizationCode.__table__.select())).first() is None


async def test_csrf_is_required(client: Any) -> None:
    await client.make_user("alice")
    app = await make_app(client)
    page = await client.get("/oauth/authorize", params=authorize_query(app))
    form = {**hidden_fields(page.text), "login": "alice", "password": PASSWORD, "decision": "approve"}
    r = await client.post("/oauth/authorize", data={**form, "csrf": "x" * 43})
    assert r.status_code == 403
    client.cookies.clear()
    r = await client.post("/oauth/authorize", data=form)
    assert r.status_code == 403
    async with client.app.state.ctx.read() as s:
        assert (await s.execute(AuthorizationCode.__table__.select())).first() is None


async def test_browser_session_and_force_login(client: Any) -> None:
    alice = await client.make_user("alice")
    await client.make_user("bob")
    app = await make_app(client)
    async with client.app.state.ctx.read() as s:
        session_user = await s.get(User, (await s.execute(User.__table__.select().where(User.account_id == int(alice.id)))).first().id)

    async def current(_request: Any) -> Any:
        return session_user

    client.app.state.session_user = current
    try:
        page = await client.get("/oauth/authorize", params=authorize_query(app))
        assert "@alice" in page.text and 'name="password"' not in page.text
        r = await client.post("/oauth/authorize", data={**hidden_fields(page.text), "decision": "approve"})
        token = (await exchange(client, app, redirect_params(r)["code"])).json()["access_token"]
        assert (await who(client, token)).json()["id"] == alice.id

        # force_login: the session is ignored; credentials must be given (another account here).
        page = await client.get("/oauth/authorize", params=authorize_query(app, force_login="true"))
        assert 'name="password"' in page.text and "@alice" not in page.text
        form = hidden_fields(page.text)
        assert form["force_login"] == "true"
        r = await client.post("/oauth/authorize", data={**form, "decision": "approve"})
        assert r.status_code == 401
        r = await client.post("/oauth/authorize", data={**form, "login": "bob", "password": PASSWORD, "decision": "approve"})
        token = (await exchange(client, app, redirect_params(r)["code"])).json()["access_token"]
        assert (await who(client, token)).json()["username"] == "bob"
    finally:
        del client.app.state.session_user


async def test_built_in_page_without_the_web_ui(client: Any) -> None:
    """The page this module draws itself when no web UI installed its hooks."""
    await client.make_user("alice")
    app = await make_app(client)
    page = await client.get("/oauth/authorize", params=authorize_query(app, state="s", lang="en"))
    assert page.status_code == 200 and "Test app" in page.text and "would like to access" in page.text
    assert 'name="password"' in page.text and page.headers["x-frame-options"] == "DENY"
    form = hidden_fields(page.text)
    assert form["lang"] == "en" and form["state"] == "s"
    r = await client.post("/oauth/authorize", data={**form, "login": "alice", "password": "nope-nope", "decision": "approve"})
    assert r.status_code == 401 and "Invalid e-mail address, username or password." in r.text
    r = await client.post("/oauth/authorize", data={**form, "login": "alice", "password": PASSWORD, "decision": "approve"})
    assert (await exchange(client, app, redirect_params(r)["code"])).status_code == 200
    bad = await client.get("/oauth/authorize", params={**authorize_query(app), "client_id": "nope"})
    assert bad.status_code == 400 and "unknown client" in bad.text


async def test_render_authorize_hook(client: Any) -> None:
    from fastapi.responses import HTMLResponse

    seen: dict[str, Any] = {}

    def render(request: Any, *, app: Any, scopes: list[str], params: dict[str, str], error: str | None, status: int) -> Any:
        seen.update(app=app.name if app else None, scopes=scopes, params=params, error=error)
        return HTMLResponse("custom page", status_code=status)

    app = await make_app(client)
    client.app.state.render_authorize = render
    try:
        r = await client.get("/oauth/authorize", params=authorize_query(app, state="q"))
    finally:
        del client.app.state.render_authorize
    assert r.text == "custom page" and r.headers["x-frame-options"] == "DENY"
    assert seen["app"] == "Test app" and seen["scopes"] == ["read", "write"] and seen["error"] is None
    assert seen["params"]["state"] == "q" and seen["params"]["csrf"] == r.cookies.get("szpak_oauth_csrf")


# --- revocation, metadata, userinfo ------------------------------------------------------------


async def test_revoke(client: Any) -> None:
    await client.make_user("alice")
    app = await make_app(client)
    other = await make_app(client)
    token = (await password_token(client, app, "alice")).json()["access_token"]
    assert (await who(client, token)).status_code == 200  # now cached
    creds = {"client_id": app["client_id"], "client_secret": app["client_secret"]}
    r = await client.post("/oauth/revoke", data={"token": token, "client_id": other["client_id"],
                                                  "client_secret": other["client_secret"]})
    assert r.status_code == 403 and r.json()["error"] == "unauthorized_client"
    r = await client.post("/oauth/revoke", data={"token": token, "client_id": app["client_id"], "client_secret": "bad"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert (await who(client, token)).status_code == 200
    r = await client.post("/oauth/revoke", data={"token": token, **creds})
    assert r.status_code == 200 and r.json() == {}
    r = await who(client, token)
    assert r.status_code == 401 and "error" in r.json()
    for again in ({"token": token, **creds}, {"token": "never-issued", **creds}):
        assert (await client.post("/oauth/revoke", json=again)).status_code == 200
    assert (await client.post("/oauth/revoke", data=creds)).json()["error"] == "invalid_request"


async def test_metadata(client: Any) -> None:
    r = await client.get("/.well-known/oauth-authorization-server")
    assert r.status_code == 200
    meta = r.json()
    assert meta["token_endpoint"] == "http://testserver/oauth/token"
    assert meta["authorization_endpoint"] == "http://testserver/oauth/authorize"
    assert meta["revocation_endpoint"] == "http://testserver/oauth/revoke"
    assert set(meta["grant_types_supported"]) == {"authorization_code", "password", "client_credentials"}
    assert "S256" in meta["code_challenge_methods_supported"]
    assert "read:statuses" in meta["scopes_supported"] and "write:follows" in meta["scopes_supported"]


async def test_userinfo(client: Any) -> None:
    alice = await client.make_user("alice", scopes="profile")
    r = await alice.get("/oauth/userinfo")
    assert r.status_code == 200
    assert r.json()["preferred_username"] == "alice" and r.json()["sub"].endswith("/users/alice")
    bob = await client.make_user("bob", scopes="write")
    assert (await bob.get("/oauth/userinfo")).status_code == 403
    assert (await client.get("/oauth/userinfo")).status_code == 401


def test_scope_rules() -> None:
    assert oauth.scope_allows(frozenset({"read"}), "read:statuses")
    assert not oauth.scope_allows(frozenset({"read:statuses"}), "read")
    assert oauth.scope_allows(frozenset({"follow"}), "write:follows")
    assert not oauth.scope_allows(frozenset({"follow"}), "write:statuses")
    assert oauth.scope_allows(frozenset({"admin:read"}), "admin:read:accounts")
    assert not oauth.scope_allows(frozenset({"read"}), "admin:read:accounts")
    assert oauth.parse_scopes("read  write,follow read") == ["read", "write", "follow"]
    with pytest.raises(Exception, match="not a valid scope"):
        oauth.parse_scopes("read:everything")


async def test_failed_log_ins_are_throttled(client: Any) -> None:
    """Guessing passwords through the token endpoint or the authorize form is slowed down
    like the web UI's log-in form (5 failures per login and address)."""
    await client.make_user("alice")
    await client.make_user("bob")
    app = await make_app(client)
    for _ in range(5):
        r = await client.post("/oauth/token", data={
            "grant_type": "password", "username": "alice", "password": "zgadywanie",
            "client_id": app["client_id"], "client_secret": app["client_secret"],
        })
        assert r.status_code == 400
    r = await password_token(client, app, "alice")
    assert r.status_code == 429 and r.json()["error"] == "too_many_requests"
    assert int(r.headers["retry-after"]) > 0
    r = await authorize(client, app, login="alice")
    assert r.status_code == 429 and "location" not in r.headers
    assert (await password_token(client, app, "bob")).status_code == 200, "other logins are not locked out"
