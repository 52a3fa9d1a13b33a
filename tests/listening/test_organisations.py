"""Organisation accounts, team members and roles, and delegated tokens."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from szpak import cli
from szpak.domain import oauth
from szpak.domain.errors import DomainError
from szpak.storage.models import AccessToken, Account, User
from szpak.storage.models.listening import OrganisationMember, OrganisationToken

from .conftest import P, add_member, make_org


async def test_create_organisation_makes_the_creator_owner(client: Any) -> None:
    ala = await client.make_user("ala")
    r = await ala.post(f"{P}/organisations", json={"username": "skarpetkowo", "kind": "brand", "display_name": "Skarpetkowo.pl"})
    assert r.status_code == 200, r.text
    org = r.json()
    assert (org["username"], org["kind"], org["role"]) == ("skarpetkowo", "brand", "owner")
    assert org["account"]["szpak_kind"] == "brand"
    # It is an ordinary account: the Mastodon API shows it.
    r = await client.get(f"/api/v1/accounts/{org['id']}")
    assert r.status_code == 200 and r.json()["acct"] == "skarpetkowo"

    r = await ala.get(f"{P}/organisations")
    assert [(o["username"], o["role"]) for o in r.json()] == [("skarpetkowo", "owner")]
    r = await ala.get(f"{P}/organisations/{org['id']}/members")
    assert [(m["account"]["username"], m["role"]) for m in r.json()] == [("ala", "owner")]


async def test_nobody_can_sign_in_as_the_organisation(client: Any) -> None:
    """No shared password: the organisation's log-in has none that matches."""
    ala = await client.make_user("ala")
    await make_org(ala, "bank")
    async with client.app.state.ctx.read() as s:
        for guess in ("", "bank", "sekretne-haslo"):
            with pytest.raises(DomainError):
                await oauth.authenticate(s, "bank", guess)
        user = await s.scalar(select(User).join(Account, Account.id == User.account_id).where(Account.username == "bank"))
    assert user is not None and not user.password_hash.startswith("$argon2")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"username": "x y", "kind": "brand"}, "Username"),
        ({"username": "bank", "kind": "person"}, "kind"),
        ({"username": "ala", "kind": "brand"}, "taken"),
    ],
)
async def test_create_organisation_refuses_bad_input(client: Any, body: dict[str, str], message: str) -> None:
    ala = await client.make_user("ala")
    r = await ala.post(f"{P}/organisations", json=body)
    assert r.status_code == 422, r.text
    assert message.lower() in r.json()["error"].lower()


async def test_organisation_endpoints_need_a_token_and_scope(client: Any) -> None:
    ala = await client.make_user("ala")
    reader = await client.make_user("czytelnik", scopes="read")
    org = await make_org(ala)
    assert (await client.get(f"{P}/organisations")).status_code == 401
    assert (await client.post(f"{P}/organisations", json={"username": "x", "kind": "brand"})).status_code == 401
    r = await reader.post(f"{P}/organisations", json={"username": "bank", "kind": "brand"})
    assert r.status_code == 403 and "scope" in r.json()["error"]
    # A member with a read-only token may read but not change.
    await add_member(ala, org, reader, "owner")
    assert (await reader.get(f"{P}/organisations/{org}/members")).status_code == 200
    r = await reader.patch(f"{P}/organisations/{org}", json={"alert_emails": ["a@example.com"]})
    assert r.status_code == 403


async def test_members_roles_and_outsiders(client: Any) -> None:
    ala = await client.make_user("ala")
    bartek = await client.make_user("bartek")
    celina = await client.make_user("celina")
    obcy = await client.make_user("obcy")
    org = await make_org(ala)
    await add_member(ala, org, bartek, "agent")
    r = await ala.post(f"{P}/organisations/{org}/members", json={"username": "celina", "role": "analyst"})
    assert r.status_code == 200 and r.json()["role"] == "analyst"

    r = await bartek.get(f"{P}/organisations/{org}/members")
    assert sorted((m["account"]["username"], m["role"]) for m in r.json()) == [
        ("ala", "owner"), ("bartek", "agent"), ("celina", "analyst"),
    ]
    # Outsiders: 403 for a real organisation, 404 for none.
    assert (await obcy.get(f"{P}/organisations/{org}/members")).status_code == 403
    assert (await obcy.get(f"{P}/organisations/{org}")).status_code == 403
    assert (await obcy.get(f"{P}/organisations/123456/members")).status_code == 404
    assert (await obcy.get(f"{P}/organisations/{obcy.id}/members")).status_code == 404  # a person, not an org
    # Only owners manage members.
    for who in (bartek, celina):
        r = await who.post(f"{P}/organisations/{org}/members", json={"account_id": obcy.id, "role": "analyst"})
        assert r.status_code == 403, r.text
    r = await ala.post(f"{P}/organisations/{org}/members", json={"account_id": bartek.id, "role": "analyst"})
    assert r.status_code == 409
    r = await ala.post(f"{P}/organisations/{org}/members", json={"account_id": obcy.id, "role": "boss"})
    assert r.status_code == 422
    r = await ala.post(f"{P}/organisations/{org}/members", json={"account_id": org, "role": "agent"})
    assert r.status_code == 422
    # Promote, demote, remove; a member may leave.
    r = await ala.patch(f"{P}/organisations/{org}/members/{celina.id}", json={"role": "agent"})
    assert r.status_code == 200 and r.json()["role"] == "agent"
    assert (await celina.delete(f"{P}/organisations/{org}/members/{celina.id}")).status_code == 200
    assert (await celina.get(f"{P}/organisations/{org}/members")).status_code == 403
    assert (await ala.delete(f"{P}/organisations/{org}/members/{bartek.id}")).status_code == 200
    assert (await ala.delete(f"{P}/organisations/{org}/members/{bartek.id}")).status_code == 404


async def test_the_last_owner_stays(client: Any) -> None:
    ala = await client.make_user("ala")
    bartek = await client.make_user("bartek")
    org = await make_org(ala)
    r = await ala.patch(f"{P}/organisations/{org}/members/{ala.id}", json={"role": "agent"})
    assert r.status_code == 409
    assert (await ala.delete(f"{P}/organisations/{org}/members/{ala.id}")).status_code == 409
    await add_member(ala, org, bartek, "owner")
    assert (await ala.delete(f"{P}/organisations/{org}/members/{ala.id}")).status_code == 200
    r = await bartek.get(f"{P}/organisations/{org}/members")
    assert [m["account"]["username"] for m in r.json()] == ["bartek"]


async def test_organisation_cannot_be_a_member(client: Any) -> None:
    ala = await client.make_user("ala")
    org = await make_org(ala, "sklep")
    other = await make_org(ala, "bank")
    r = await ala.post(f"{P}/organisations/{other}/members", json={"account_id": org, "role": "agent"})
    assert r.status_code == 422 and "people" in r.json()["error"]


async def test_alert_email_settings(client: Any) -> None:
    ala = await client.make_user("ala")
    bartek = await client.make_user("bartek")
    org = await make_org(ala)
    await add_member(ala, org, bartek, "agent")
    r = await ala.patch(f"{P}/organisations/{org}", json={"alert_emails": ["pr@sklep.pl", " pr@sklep.pl", "szef@sklep.pl"]})
    assert r.status_code == 200 and r.json()["alert_emails"] == ["pr@sklep.pl", "szef@sklep.pl"]
    assert (await ala.patch(f"{P}/organisations/{org}", json={"alert_emails": ["nie adres"]})).status_code == 422
    assert (await bartek.patch(f"{P}/organisations/{org}", json={"alert_emails": []})).status_code == 403


# --- delegated tokens ----------------------------------------------------------------------


async def delegated(member: Any, org: str, **body: Any) -> Any:
    return await member.post(f"{P}/organisations/{org}/tokens", json=body)


async def test_agent_posts_as_the_brand_with_a_delegated_token(client: Any) -> None:
    ala = await client.make_user("ala")
    bartek = await client.make_user("bartek")
    org = await make_org(ala)
    await add_member(ala, org, bartek, "agent")
    r = await delegated(bartek, org)
    assert r.status_code == 200, r.text
    grant = r.json()
    assert (grant["scope"], grant["role"], grant["member_id"]) == ("read write", "agent", bartek.id)
    headers = {"Authorization": f"Bearer {grant['access_token']}"}
    # Any Mastodon client: the token's account is the organisation.
    me = await client.get("/api/v1/accounts/verify_credentials", headers=headers)
    assert me.status_code == 200 and me.json()["username"] == "skarpetkowo"
    post = await client.post("/api/v1/statuses", headers=headers, json={"status": "Dzień dobry, tu Skarpetkowo!"})
    assert post.status_code == 200 and post.json()["account"]["id"] == org
    # The audit trail says who acted.
    async with client.app.state.ctx.read() as s:
        row = await s.get(OrganisationToken, int(grant["id"]))
    assert row is not None and (str(row.member_id), row.role) == (bartek.id, "agent")
    # With that token, listening endpoints see the member's role.
    r = await client.get(f"{P}/organisations/{org}/webhooks", headers=headers)
    assert r.status_code == 403  # agents don't manage webhooks
    assert (await client.get(f"{P}/organisations/{org}/queries", headers=headers)).status_code == 200


async def test_token_scopes_are_capped_by_role_and_by_own_token(client: Any) -> None:
    ala = await client.make_user("ala")
    celina = await client.make_user("celina")
    limited = await client.make_user("limited", scopes="read write")
    reader = await client.make_user("reader", scopes="read")
    org = await make_org(ala)
    await add_member(ala, org, celina, "analyst")
    await add_member(ala, org, limited, "owner")
    await add_member(ala, org, reader, "owner")

    r = await delegated(celina, org)
    assert r.status_code == 200 and r.json()["scope"] == "read"
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    r = await client.post("/api/v1/statuses", headers=headers, json={"status": "nie wolno"})
    assert r.status_code == 403
    assert (await delegated(celina, org, scopes="read write")).status_code == 403
    assert (await delegated(celina, org, scopes="read:statuses")).json()["scope"] == "read:statuses"
    assert (await delegated(celina, org, scopes="nonsense")).status_code == 422

    owner = await delegated(ala, org)
    assert owner.json()["scope"] == "read write follow push"  # ala's own token has no 'profile'
    # Never more than the member's own token holds.
    assert (await delegated(limited, org)).json()["scope"] == "read write"
    r = await delegated(limited, org, scopes="read follow")
    assert r.status_code == 403 and "follow" in r.json()["error"]
    # Minting is a change: a read-only token can't.
    r = await delegated(reader, org, scopes="read")
    assert r.status_code == 403 and "scope" in r.json()["error"]


async def test_delegated_tokens_do_not_mint_tokens_and_outsiders_get_none(client: Any) -> None:
    ala = await client.make_user("ala")
    obcy = await client.make_user("obcy")
    org = await make_org(ala)
    token = (await delegated(ala, org)).json()["access_token"]
    r = await client.post(f"{P}/organisations/{org}/tokens", headers={"Authorization": f"Bearer {token}"}, json={})
    assert r.status_code == 403
    assert (await delegated(obcy, org)).status_code == 403
    assert (await client.post(f"{P}/organisations/{org}/tokens", json={})).status_code == 401


async def test_removing_or_demoting_a_member_revokes_their_tokens(client: Any) -> None:
    ala = await client.make_user("ala")
    bartek = await client.make_user("bartek")
    org = await make_org(ala)
    await add_member(ala, org, bartek, "agent")
    first = (await delegated(bartek, org)).json()["access_token"]
    reader = (await delegated(bartek, org, scopes="read")).json()["access_token"]
    # Demoted to analyst: the read-write token dies (it was issued for 'agent'), both do: role above.
    r = await ala.patch(f"{P}/organisations/{org}/members/{bartek.id}", json={"role": "analyst"})
    assert r.status_code == 200
    check = lambda tok: client.get("/api/v1/accounts/verify_credentials", headers={"Authorization": f"Bearer {tok}"})  # noqa: E731
    assert (await check(first)).status_code == 401
    assert (await check(reader)).status_code == 401
    second = (await delegated(bartek, org)).json()
    assert second["scope"] == "read"
    assert (await check(second["access_token"])).status_code == 200
    assert (await ala.delete(f"{P}/organisations/{org}/members/{bartek.id}")).status_code == 200
    assert (await check(second["access_token"])).status_code == 401
    # The member's own token is untouched.
    assert (await bartek.get("/api/v1/accounts/verify_credentials")).status_code == 200


async def test_listing_and_revoking_delegated_tokens(client: Any) -> None:
    ala = await client.make_user("ala")
    bartek = await client.make_user("bartek")
    celina = await client.make_user("celina")
    org = await make_org(ala)
    await add_member(ala, org, bartek, "agent")
    await add_member(ala, org, celina, "agent")
    b = (await delegated(bartek, org)).json()
    c = (await delegated(celina, org)).json()
    listed = (await ala.get(f"{P}/organisations/{org}/tokens")).json()
    assert sorted(t["member"]["username"] for t in listed) == ["bartek", "celina"]
    assert all("access_token" not in t for t in listed)
    assert [t["id"] for t in (await bartek.get(f"{P}/organisations/{org}/tokens")).json()] == [b["id"]]
    # An agent may revoke their own, not a colleague's; an owner any.
    assert (await bartek.delete(f"{P}/organisations/{org}/tokens/{c['id']}")).status_code == 403
    assert (await bartek.delete(f"{P}/organisations/{org}/tokens/{b['id']}")).status_code == 200
    assert (await ala.delete(f"{P}/organisations/{org}/tokens/{c['id']}")).status_code == 200
    assert (await ala.get(f"{P}/organisations/{org}/tokens")).json() == []
    async with client.app.state.ctx.read() as s:
        revoked = list(await s.scalars(select(AccessToken.revoked_at).where(AccessToken.id.in_([int(b["id"]), int(c["id"])]))))
    assert all(revoked)


async def test_suspended_member_cannot_use_a_delegated_token_on_listening(client: Any) -> None:
    ala = await client.make_user("ala")
    bartek = await client.make_user("bartek")
    org = await make_org(ala)
    await add_member(ala, org, bartek, "agent")
    token = (await delegated(bartek, org)).json()["access_token"]
    async with client.app.state.ctx.tx() as tx:
        account = await tx.session.get(Account, int(bartek.id))
        assert account is not None
        from datetime import datetime, timezone

        account.suspended_at = datetime.now(timezone.utc)
    r = await client.get(f"{P}/organisations/{org}/queries", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403


# --- the command line -----------------------------------------------------------------------


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> str:
    monkeypatch.setenv("SZPAK_DATABASE_URL", database_url)
    monkeypatch.setenv("SZPAK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SZPAK_DOMAIN", "testserver")
    return database_url


async def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(cli.main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def test_cli_create_add_and_list_members(client: Any, env: str, capsys: pytest.CaptureFixture[str]) -> None:
    await client.make_user("ala")
    await client.make_user("bartek")
    code, out, err = await run(capsys, "orgs", "create", "skarpetkowo", "--kind", "brand", "--owner", "ala")
    assert (code, err) == (0, ""), err
    assert "@skarpetkowo" in out
    code, out, err = await run(capsys, "orgs", "add-member", "skarpetkowo", "bartek", "--role", "agent")
    assert (code, err) == (0, ""), err
    code, out, err = await run(capsys, "orgs", "list-members", "skarpetkowo")
    assert code == 0
    assert out.split("\n")[:2] == ["@ala\towner", "@bartek\tagent"]
    code, out, err = await run(capsys, "orgs", "list")
    assert "@skarpetkowo\tbrand\t2 members" in out
    # Problems are reported, not raised.
    code, out, err = await run(capsys, "orgs", "add-member", "skarpetkowo", "nikt", "--role", "agent")
    assert code == 1 and "nikt" in err
    code, out, err = await run(capsys, "orgs", "add-member", "skarpetkowo", "bartek", "--role", "agent")
    assert code == 1 and "already" in err
    code, out, err = await run(capsys, "orgs", "set-role", "skarpetkowo", "bartek", "--role", "analyst")
    assert code == 0
    code, out, err = await run(capsys, "orgs", "remove-member", "skarpetkowo", "bartek")
    assert code == 0
    async with client.app.state.ctx.read() as s:
        roles = list(await s.scalars(select(OrganisationMember.role)))
    assert roles == ["owner"]


async def test_cli_convert_an_existing_account(client: Any, env: str, capsys: pytest.CaptureFixture[str]) -> None:
    brand = await client.make_user("bank")
    await client.make_user("ala")
    code, out, err = await run(capsys, "orgs", "convert", "bank", "--kind", "institution", "--owner", "ala")
    assert (code, err) == (0, ""), err
    r = await brand.get(f"{P}/organisations/{brand.id}")
    # The converted account's own log-in keeps working, as an owner.
    assert r.status_code == 200 and (r.json()["kind"], r.json()["role"]) == ("institution", "owner")
    ala_orgs = await client.make_user("x")  # unrelated user: not a member
    assert (await ala_orgs.get(f"{P}/organisations/{brand.id}")).status_code == 403
