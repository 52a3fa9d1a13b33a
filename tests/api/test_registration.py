"""Registration through ``POST /api/v1/accounts``: modes, the returned token, per-field errors."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from szpak.storage.models import Account, User

from .mastodon_schema import assert_entity

GOOD = {"username": "nowy", "email": "nowy@example.com", "password": "dlugie-haslo", "agreement": True, "locale": "pl"}


async def app_token(client: Any, scopes: str = "read write follow") -> str:
    """An app-only token (client_credentials), as a client has before anyone signs up."""
    r = await client.post(
        "/api/v1/apps", json={"client_name": "Test app", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": scopes}
    )
    assert r.status_code == 200, r.text
    app = r.json()
    r = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": app["client_id"], "client_secret": app["client_secret"], "scope": scopes},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def count_accounts(client: Any) -> int:
    async with client.app.state.ctx.read() as s:
        return int(await s.scalar(select(func.count()).select_from(Account)))


async def test_open_registration_returns_a_token_usable_at_once(client):
    token = await app_token(client)
    r = await client.post("/api/v1/accounts", json=GOOD, headers=bearer(token))
    assert r.status_code == 200, r.text
    data = r.json()
    assert_entity(data, "Token")
    assert data["token_type"] == "Bearer"
    assert set(data["scope"].split()) == {"read", "write", "follow"}
    assert isinstance(data["created_at"], int)
    me = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(data["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "nowy"
    assert me.json()["szpak_kind"] == "person"
    # The new token can write too.
    r = await client.post("/api/v1/statuses", json={"status": "Pierwszy wpis"}, headers=bearer(data["access_token"]))
    assert r.status_code == 200, r.text


async def test_registration_accepts_form_and_multipart_bodies(client):
    token = await app_token(client)
    form = {**GOOD, "agreement": "true"}
    r = await client.post("/api/v1/accounts", data=form, headers=bearer(token))
    assert r.status_code == 200, r.text
    form2 = {**form, "username": "drugi", "email": "drugi@example.com"}
    r = await client.post(
        "/api/v1/accounts", data=form2, files={"unused": ("x.txt", b"x", "text/plain")}, headers=bearer(token)
    )
    assert r.status_code == 200, r.text
    assert await count_accounts(client) == 2


async def test_registration_needs_a_token_with_write_accounts(client):
    r = await client.post("/api/v1/accounts", json=GOOD)
    assert r.status_code == 401
    read_only = await app_token(client, "read")
    r = await client.post("/api/v1/accounts", json=GOOD, headers=bearer(read_only))
    assert r.status_code == 403
    assert await count_accounts(client) == 0


async def test_every_bad_field_is_reported_at_once(client):
    await client.make_user("zajety")
    token = await app_token(client)
    r = await client.post(
        "/api/v1/accounts",
        json={"username": "Zajety", "email": "not-an-email", "password": "krotkie", "agreement": False},
        headers=bearer(token),
    )
    assert r.status_code == 422, r.text
    body = r.json()
    assert_entity(body, "ValidationError")
    assert body["error"].startswith("Validation failed: ")
    details = body["details"]
    assert [d["error"] for d in details["username"]] == ["ERR_TAKEN"]
    assert [d["error"] for d in details["email"]] == ["ERR_INVALID"]
    assert [d["error"] for d in details["password"]] == ["ERR_TOO_SHORT"]
    assert [d["error"] for d in details["agreement"]] == ["ERR_ACCEPTED"]
    assert "Username has already been taken" in body["error"]
    assert "Password is too short" in body["error"]
    assert await count_accounts(client) == 1


async def test_blank_invalid_and_taken_values(client):
    await client.make_user("ktos")
    token = await app_token(client)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"username": ""}, "username", "ERR_BLANK"),
        ({"username": "ma spacje"}, "username", "ERR_INVALID"),
        ({"username": "x" * 31}, "username", "ERR_TOO_LONG"),
        ({"email": ""}, "email", "ERR_BLANK"),
        ({"email": "KTOS@example.com"}, "email", "ERR_TAKEN"),
        ({"password": ""}, "password", "ERR_BLANK"),
        ({"email": "nul\x00@example.com"}, "email", "ERR_INVALID"),
        ({"username": "nul\x00"}, "username", "ERR_INVALID"),
        ({"reason": "why\x00"}, "reason", "ERR_INVALID"),
    ]
    for change, field, code in cases:
        r = await client.post("/api/v1/accounts", json={**GOOD, **change}, headers=bearer(token))
        assert r.status_code == 422, (change, r.text)
        assert [d["error"] for d in r.json()["details"][field]] == [code], change
    # Malformed bodies are client errors, never server errors.
    r = await client.post(
        "/api/v1/accounts", content=b"{not json", headers={**bearer(token), "Content-Type": "application/json"}
    )
    assert r.status_code == 400
    r = await client.post("/api/v1/accounts", json={**GOOD, "agreement": "perhaps"}, headers=bearer(token))
    assert r.status_code == 422
    r = await client.post("/api/v1/accounts", json={**GOOD, "username": ["a"]}, headers=bearer(token))
    assert r.status_code == 422


async def test_approval_mode_token_exists_but_waits_for_a_moderator(client):
    client.app.state.settings.registrations = "approval"
    token = await app_token(client)
    r = await client.post("/api/v1/accounts", json={**GOOD, "reason": "Chcę pisać o Krakowie"}, headers=bearer(token))
    assert r.status_code == 200, r.text
    user_token = r.json()["access_token"]
    r = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(user_token))
    assert r.status_code == 403
    assert r.json()["error"] == "Your login is currently pending approval"
    async with client.app.state.ctx.read() as s:
        user = await s.scalar(select(User).join(Account, Account.id == User.account_id).where(Account.username == "nowy"))
    assert user is not None and user.approved is False
    assert user.registration_reason == "Chcę pisać o Krakowie"
    async with client.app.state.ctx.tx() as tx:
        await tx.session.execute(update(User).where(User.id == user.id).values(approved=True))
    r = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(user_token))
    assert r.status_code == 200
    assert r.json()["username"] == "nowy"


async def test_closed_mode_refuses_and_creates_nothing(client):
    client.app.state.settings.registrations = "closed"
    token = await app_token(client)
    r = await client.post("/api/v1/accounts", json=GOOD, headers=bearer(token))
    assert r.status_code == 403
    assert "error" in r.json()
    assert await count_accounts(client) == 0


async def test_registered_account_is_findable_by_search(client):
    token = await app_token(client)
    r = await client.post("/api/v1/accounts", json={**GOOD, "username": "zolw_lodzki"}, headers=bearer(token))
    assert r.status_code == 200
    alice = await client.make_user("alice")
    r = await alice.get("/api/v1/accounts/search", params={"q": "lodz"})
    assert [a["username"] for a in r.json()] == ["zolw_lodzki"]
