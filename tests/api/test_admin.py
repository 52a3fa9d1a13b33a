"""The admin and moderation API (docs/api/moderation.md): who may call it, the entities,
the real effects of each action, post removal, and the moderation log."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from szpak.domain import organisations as orgs
from szpak.storage.models import Account, ModerationLogEntry, Status

from .domain_steps import set_user
from .test_media import image_bytes, stored_path, uploaded

pytestmark = pytest.mark.xdist_group("admin")

ADMIN_ACCOUNT_KEYS = {
    "id", "username", "domain", "created_at", "email", "ip", "ips", "locale", "invite_request", "role", "confirmed",
    "approved", "disabled", "silenced", "suspended", "sensitized", "account", "created_by_application_id",
    "invited_by_account_id",
}
ADMIN_REPORT_KEYS = {
    "id", "action_taken", "action_taken_at", "category", "comment", "forwarded", "created_at", "updated_at", "account",
    "target_account", "assigned_account", "action_taken_by_account", "statuses", "rules",
}
ADMIN_SCOPES = "read write follow admin:read admin:write"


async def admin_of(client: Any, name: str = "szef", role: str = "admin") -> Any:
    return await client.make_user(name, role=role, scopes=ADMIN_SCOPES)


async def log(client: Any) -> list[ModerationLogEntry]:
    async with client.app.state.ctx.read() as s:
        return list(await s.scalars(select(ModerationLogEntry).order_by(ModerationLogEntry.id)))


async def action(admin: Any, target: Any, type_: str, **extra: Any) -> Any:
    r = await admin.post(f"/api/v1/admin/accounts/{target.id}/action", json={"type": type_, **extra})
    assert r.status_code == 200, r.text
    return r.json()


# -- who may call --------------------------------------------------------------------------

ADMIN_CALLS = [
    ("GET", "/api/v1/admin/accounts"),
    ("GET", "/api/v2/admin/accounts"),
    ("GET", "/api/v1/admin/accounts/{id}"),
    ("POST", "/api/v1/admin/accounts/{id}/action"),
    ("POST", "/api/v1/admin/accounts/{id}/unsuspend"),
    ("DELETE", "/api/v1/admin/accounts/{id}"),
    ("GET", "/api/v1/admin/reports"),
    ("GET", "/api/szpak/v1/admin/log"),
]


@pytest.mark.parametrize(
    "role, name, bits",
    [
        ("user", "", 0),
        ("moderator", "Moderator", 0),
        # view_audit_log 0x4, manage_reports 0x10, manage_users 0x400, manage_user_access 0x40000,
        # delete_user_data 0x80000 (Mastodon's Role permission flags)
        ("admin", "Admin", 0x4 | 0x10 | 0x400 | 0x40000 | 0x80000),
        ("owner", "Owner", 0x1),  # administrator: bypasses every permission
    ],
)
async def test_credential_role_permissions(client: Any, role: str, name: str, bits: int) -> None:
    someone = await client.make_user("ktos", role=role, scopes=ADMIN_SCOPES)
    me = (await someone.get("/api/v1/accounts/verify_credentials")).json()
    assert me["role"]["name"] == name
    assert me["role"]["permissions"] == str(bits)
    if role in ("admin", "owner"):
        # The Admin::Account entity shows the same Role.
        shown = (await someone.get(f"/api/v1/admin/accounts/{someone.id}")).json()
        assert shown["role"] == me["role"]


@pytest.mark.parametrize("role", ["user", "moderator"])
async def test_only_admins_and_owners(client: Any, role: str) -> None:
    someone = await client.make_user("ktos", role=role, scopes=ADMIN_SCOPES)
    target = await client.make_user("cel")
    owner = await admin_of(client, "wlasciciel", role="owner")
    for method, url in ADMIN_CALLS:
        url = url.format(id=target.id)
        r = await someone.client.request(method, url, headers=someone.headers, json={"type": "suspend"})
        assert r.status_code == 403, (role, method, url, r.text)
        assert r.json() == {"error": "This action is not allowed"}
        r = await owner.client.request("GET", url.replace("/action", "").replace("/unsuspend", ""), headers=owner.headers)
        assert r.status_code == 200, (method, url, r.text)
    # Nothing happened to the target.
    assert (await target.get("/api/v1/accounts/verify_credentials")).status_code == 200


async def test_no_token_and_wrong_scope(client: Any) -> None:
    admin = await client.make_user("szef", role="admin", scopes="read write")
    assert (await client.get("/api/v1/admin/accounts")).status_code == 401
    r = await admin.get("/api/v1/admin/accounts")
    assert r.status_code == 403 and r.json()["error"] != "This action is not allowed"
    narrow = await client.make_user("wezszy", role="admin", scopes="admin:read:reports")
    assert (await narrow.get("/api/v1/admin/reports")).status_code == 200
    assert (await narrow.get("/api/v1/admin/accounts")).status_code == 403


async def test_apps_may_ask_for_admin_scopes(client: Any) -> None:
    scopes = "read admin:read admin:write admin:read:accounts admin:write:accounts admin:read:reports admin:write:reports"
    r = await client.post("/api/v1/apps", json={"client_name": "Mod", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                                               "scopes": scopes})
    assert r.status_code == 200, r.text
    assert r.json()["scopes"] == scopes.split()


# -- listing -------------------------------------------------------------------------------

async def test_list_and_show_accounts(client: Any) -> None:
    admin = await admin_of(client)
    ala, bob = await client.make_user("ala"), await client.make_user("bob")
    await set_user(client, bob, approved=False)
    r = await admin.get("/api/v1/admin/accounts")
    assert r.status_code == 200
    rows = r.json()
    assert {a["username"] for a in rows} == {"szef", "ala", "bob"}
    assert all(set(a) == ADMIN_ACCOUNT_KEYS for a in rows)
    me = next(a for a in rows if a["username"] == "szef")
    assert me["role"]["name"] == "Admin" and me["email"] == "szef@example.com" and me["account"]["acct"] == "szef"
    # Mastodon shows the role on the credential account too.
    assert (await admin.get("/api/v1/accounts/verify_credentials")).json()["role"]["name"] == "Admin"

    async def names(url: str) -> set[str]:
        r = await admin.get(url)
        assert r.status_code == 200, r.text
        return {a["username"] for a in r.json()}

    assert await names("/api/v1/admin/accounts?pending=true") == {"bob"}
    assert await names("/api/v1/admin/accounts?staff=true") == {"szef"}
    assert await names("/api/v1/admin/accounts?username=al") == {"ala"}
    assert await names("/api/v1/admin/accounts?email=bob@") == {"bob"}
    assert await names("/api/v1/admin/accounts?remote=true") == set()
    assert await names("/api/v1/admin/accounts?ip=127.0.0.1") == set()
    assert await names("/api/v2/admin/accounts?origin=local&status=pending") == {"bob"}
    assert await names("/api/v2/admin/accounts?permissions=staff") == {"szef"}
    assert await names("/api/v2/admin/accounts?status=active") == {"szef", "ala"}
    assert await names("/api/v1/admin/accounts?username=%25") == set()  # LIKE wildcards are literal
    assert (await admin.get("/api/v2/admin/accounts?status=weird")).status_code == 422
    assert (await admin.get("/api/v2/admin/accounts?origin=mars")).status_code == 422

    page = await admin.get("/api/v1/admin/accounts?limit=2")
    assert len(page.json()) == 2 and 'rel="next"' in page.headers["link"]

    shown = (await admin.get(f"/api/v1/admin/accounts/{ala.id}")).json()
    assert shown["id"] == ala.id and shown["approved"] and not shown["suspended"]
    assert (await admin.get("/api/v1/admin/accounts/424242")).status_code == 404


# -- account actions and their effects -----------------------------------------------------

async def test_suspend_stops_tokens_hides_posts_and_is_logged(client: Any) -> None:
    admin, ala, bob = await admin_of(client), await client.make_user("ala"), await client.make_user("bob")
    post = await bob.post_status("publiczny wpis")
    await ala.follow(bob)
    assert (await bob.get("/api/v1/accounts/verify_credentials")).status_code == 200  # the token is now cached
    assert post["id"] in [s["id"] for s in (await client.get("/api/v1/timelines/public")).json()]

    await action(admin, bob, "suspend", text="spam")
    assert (await bob.get("/api/v1/accounts/verify_credentials")).status_code == 401
    assert (await bob.post("/api/v1/statuses", json={"status": "x"})).status_code == 401
    assert post["id"] not in [s["id"] for s in (await client.get("/api/v1/timelines/public")).json()]
    assert (await ala.get("/api/v1/timelines/home")).json() == []
    assert (await ala.get(f"/api/v1/statuses/{post['id']}")).status_code == 404
    assert (await ala.get(f"/api/v1/accounts/{bob.id}")).status_code == 404
    assert (await admin.get(f"/api/v1/admin/accounts/{bob.id}")).json()["suspended"] is True

    (entry,) = await log(client)
    assert (entry.actor, entry.action, entry.target_type, str(entry.target_id), entry.target_label, entry.text) == (
        "@szef", "suspend", "account", bob.id, "@bob", "spam"
    )

    r = await admin.post(f"/api/v1/admin/accounts/{bob.id}/unsuspend")
    assert r.status_code == 200 and r.json()["suspended"] is False
    assert (await bob.get("/api/v1/accounts/verify_credentials")).status_code == 200
    assert post["id"] in [s["id"] for s in (await client.get("/api/v1/timelines/public")).json()]
    assert [e.action for e in await log(client)] == ["suspend", "unsuspend"]


async def test_suspending_a_member_stops_their_organisation_tokens(client: Any) -> None:
    admin, bob = await admin_of(client), await client.make_user("bob")
    async with client.app.state.ctx.tx() as tx:
        org = await orgs.create_organisation(tx, int(bob.id), username="sklep", kind="brand")
        token, _, _ = await orgs.issue_delegated_token(
            tx, orgs.Acting(org.id, int(bob.id), "owner"), caller_scopes=frozenset({"read", "write"}), requested=None,
            application_id=None,
        )
    headers = {"Authorization": f"Bearer {token}"}
    me = await client.get("/api/v1/accounts/verify_credentials", headers=headers)
    assert me.status_code == 200 and me.json()["acct"] == "sklep"
    await action(admin, bob, "suspend")
    assert (await client.get("/api/v1/accounts/verify_credentials", headers=headers)).status_code == 401
    assert (await client.post("/api/v1/statuses", headers=headers, json={"status": "jako sklep"})).status_code == 401


async def test_silence_hides_from_public_for_non_followers(client: Any) -> None:
    admin, ala, bob, cyd = [await admin_of(client)] + [await client.make_user(n) for n in ("ala", "bob", "cyd")]
    await ala.follow(bob)
    post = await bob.post_status("#glosno krzyczę")
    await action(admin, bob, "silence")

    def has(items: list[dict[str, Any]]) -> bool:
        return post["id"] in [s["id"] for s in items]

    assert not has((await client.get("/api/v1/timelines/public")).json())
    assert not has((await cyd.get("/api/v1/timelines/public")).json())
    assert not has((await cyd.get("/api/v1/timelines/tag/glosno")).json())
    assert has((await ala.get("/api/v1/timelines/public")).json())  # a follower still sees it
    assert has((await bob.get("/api/v1/timelines/public")).json())  # and so does its author
    assert (await cyd.get(f"/api/v1/statuses/{post['id']}")).status_code == 200  # not hidden, only kept out
    assert (await bob.get("/api/v1/accounts/verify_credentials")).status_code == 200
    shown = (await admin.get(f"/api/v1/admin/accounts/{bob.id}")).json()
    assert shown["silenced"] is True and shown["account"]["limited"] is True
    await admin.post(f"/api/v1/admin/accounts/{bob.id}/unsilence")
    assert has((await cyd.get("/api/v1/timelines/public")).json())


async def test_disable_and_enable(client: Any) -> None:
    admin, bob = await admin_of(client), await client.make_user("bob")
    post = await bob.post_status("widoczny")
    assert (await bob.get("/api/v1/accounts/verify_credentials")).status_code == 200
    await action(admin, bob, "disable")
    assert (await bob.get("/api/v1/accounts/verify_credentials")).status_code == 401
    assert (await client.get(f"/api/v1/statuses/{post['id']}")).status_code == 200  # the account stays visible
    assert (await admin.get(f"/api/v1/admin/accounts/{bob.id}")).json()["disabled"] is True
    r = await admin.post(f"/api/v1/admin/accounts/{bob.id}/enable")
    assert r.status_code == 200 and r.json()["disabled"] is False
    assert (await bob.get("/api/v1/accounts/verify_credentials")).status_code == 200


async def test_sensitive_mark_puts_media_posts_behind_a_warning(client: Any) -> None:
    admin, bob, ala = await admin_of(client), await client.make_user("bob"), await client.make_user("ala")
    await ala.follow(bob)
    media = await uploaded(bob)
    with_media = await bob.post("/api/v1/statuses", json={"status": "zdjęcie", "media_ids": [media["id"]]})
    with_media = with_media.json()
    text_only = await bob.post_status("sam tekst")
    boost = (await ala.post(f"/api/v1/statuses/{with_media['id']}/reblog")).json()
    url = f"/api/v1/statuses/{with_media['id']}"

    async def seen() -> dict[str, Any]:
        """How each path shows bob's posts (read twice: the second read comes from the cache)."""
        out: dict[str, Any] = {}
        for _ in range(2):
            out["one"] = (await ala.get(url)).json()["sensitive"]
            out["anonymous"] = (await client.get(url)).json()["sensitive"]
            home = {s["id"]: s for s in (await ala.get("/api/v1/timelines/home")).json()}
            out["home"] = home[with_media["id"]]["sensitive"]
            out["boost"] = home[boost["id"]]["reblog"]["sensitive"]
            out["text"] = home[text_only["id"]]["sensitive"]
            profile = (await client.get(f"/api/v1/accounts/{bob.id}/statuses")).json()
            out["profile"] = next(s for s in profile if s["id"] == with_media["id"])["sensitive"]
        return out

    unmarked = {"one": False, "anonymous": False, "home": False, "boost": False, "text": False, "profile": False}
    assert await seen() == unmarked  # warm the caches
    await action(admin, bob, "sensitive")
    assert await seen() == {**unmarked, "one": True, "anonymous": True, "home": True, "boost": True, "profile": True}
    later = (await bob.post("/api/v1/statuses", json={"status": "nowe", "media_ids": [(await uploaded(bob))["id"]]})).json()
    assert later["sensitive"] is True
    assert (await admin.post(f"/api/v1/admin/accounts/{bob.id}/unsensitive")).status_code == 200
    assert await seen() == unmarked
    assert (await ala.get(f"/api/v1/statuses/{later['id']}")).json()["sensitive"] is False


async def test_sensitive_and_warning(client: Any) -> None:
    admin, bob = await admin_of(client), await client.make_user("bob")
    await action(admin, bob, "sensitive", text="media")
    assert (await admin.get(f"/api/v1/admin/accounts/{bob.id}")).json()["sensitized"] is True
    assert {a["username"] for a in (await admin.get("/api/v1/admin/accounts?sensitized=true")).json()} == {"bob"}
    await admin.post(f"/api/v1/admin/accounts/{bob.id}/unsensitive")
    assert (await admin.get(f"/api/v1/admin/accounts/{bob.id}")).json()["sensitized"] is False
    await action(admin, bob, "none", text="be nice")
    assert [(e.action, e.text) for e in await log(client)] == [
        ("sensitive", "media"), ("unsensitive", ""), ("warn", "be nice")
    ]


async def test_bad_actions(client: Any) -> None:
    admin, bob = await admin_of(client), await client.make_user("bob")
    owner = await client.make_user("wlasciciel", role="owner")
    for body in ({"type": "explode"}, {"type": "suspend", "text": ["x"]}, {"type": "suspend", "report_id": "x"},
                 {"type": "suspend", "text": "x" * 6000}):
        r = await admin.post(f"/api/v1/admin/accounts/{bob.id}/action", json=body)
        assert r.status_code == 422, (body, r.text)
    r = await admin.post(f"/api/v1/admin/accounts/{bob.id}/action", json={"type": "suspend", "report_id": "777"})
    assert r.status_code == 404
    assert (await admin.post(f"/api/v1/admin/accounts/{admin.id}/action", json={"type": "suspend"})).status_code == 403
    assert (await admin.post(f"/api/v1/admin/accounts/{owner.id}/action", json={"type": "suspend"})).status_code == 403
    assert (await admin.post("/api/v1/admin/accounts/999999/action", json={"type": "suspend"})).status_code == 404
    assert (await admin.post("/api/v1/admin/accounts/abc/action", json={"type": "suspend"})).status_code == 404
    assert await log(client) == []
    assert (await bob.get("/api/v1/accounts/verify_credentials")).status_code == 200


async def test_approve_and_reject_pending_registrations(client: Any) -> None:
    admin, ala, bob = await admin_of(client), await client.make_user("ala"), await client.make_user("bob")
    await set_user(client, ala, approved=False)
    await set_user(client, bob, approved=False)
    client.app.state.token_cache.drop_account(int(ala.id))
    assert (await ala.get("/api/v1/accounts/verify_credentials")).status_code == 403
    r = await admin.post(f"/api/v1/admin/accounts/{ala.id}/approve")
    assert r.status_code == 200 and r.json()["approved"] is True
    assert (await ala.get("/api/v1/accounts/verify_credentials")).status_code == 200
    assert (await admin.post(f"/api/v1/admin/accounts/{ala.id}/approve")).status_code == 403  # not pending
    assert (await admin.post(f"/api/v1/admin/accounts/{ala.id}/reject")).status_code == 403

    r = await admin.post(f"/api/v1/admin/accounts/{bob.id}/reject")
    assert r.status_code == 200 and r.json()["username"] == "bob"
    async with client.app.state.ctx.read() as s:
        assert await s.get(Account, int(bob.id)) is None
    assert (await bob.get("/api/v1/accounts/verify_credentials")).status_code == 401
    assert [(e.action, e.target_label) for e in await log(client)] == [("approve", "@ala"), ("reject", "@bob")]


async def test_delete_only_a_suspended_account(client: Any) -> None:
    admin, ala, bob = await admin_of(client), await client.make_user("ala"), await client.make_user("bob")
    await ala.follow(bob)
    await bob.post_status("wpis")
    assert (await admin.delete(f"/api/v1/admin/accounts/{bob.id}")).status_code == 403
    await action(admin, bob, "suspend")
    r = await admin.delete(f"/api/v1/admin/accounts/{bob.id}")
    assert r.status_code == 200, r.text
    assert r.json()["username"] == "bob"
    async with client.app.state.ctx.read() as s:
        assert await s.get(Account, int(bob.id)) is None
        assert list(await s.scalars(select(Status).where(Status.account_id == int(bob.id)))) == []
    me = (await ala.get("/api/v1/accounts/verify_credentials")).json()
    assert me["following_count"] == 0
    assert [e.action for e in await log(client)] == ["suspend", "delete"]
    assert (await admin.delete(f"/api/v1/admin/accounts/{bob.id}")).status_code == 404


async def test_deleting_an_account_deletes_its_files(client: Any) -> None:
    admin, bob, ala = await admin_of(client), await client.make_user("bob"), await client.make_user("ala")
    pictures = {
        "avatar": ("a.png", image_bytes((300, 300)), "image/png"),
        "header": ("h.png", image_bytes((900, 300), color=(200, 10, 10)), "image/png"),
    }
    me = (await bob.patch("/api/v1/accounts/update_credentials", files=pictures)).json()
    # ala uploads the same avatar: her own file, which must stay.
    ala_me = (await ala.patch("/api/v1/accounts/update_credentials", files={"avatar": pictures["avatar"]})).json()
    system = client.app.state.settings.data_dir / "system"
    avatar, header, ala_avatar = (system / url.split("/system/", 1)[1] for url in (me["avatar"], me["header"], ala_me["avatar"]))
    media = await uploaded(bob)
    await bob.post("/api/v1/statuses", json={"status": "zdjęcie", "media_ids": [media["id"]]})
    loose = await uploaded(bob, image_bytes((50, 40)))  # never attached
    files = [stored_path(client, m[k]) for m in (media, loose) for k in ("url", "preview_url")]
    ala_media = stored_path(client, (await uploaded(ala))["url"])
    assert all(f.is_file() for f in (avatar, header, ala_avatar, ala_media, *files))

    await action(admin, bob, "suspend")
    assert (await admin.delete(f"/api/v1/admin/accounts/{bob.id}")).status_code == 200
    await client.run_jobs()
    assert [f for f in (avatar, header, *files) if f.exists()] == []
    assert ala_media.is_file() and ala_avatar.is_file()


# -- reports -------------------------------------------------------------------------------

async def test_reports_workflow(client: Any) -> None:
    admin, ala, bob = await admin_of(client), await client.make_user("ala"), await client.make_user("bob")
    post = await bob.post_status("spam")
    report = (await ala.post("/api/v1/reports", json={"account_id": bob.id, "status_ids": [post["id"]],
                                                       "comment": "spam", "category": "spam"})).json()
    other = (await bob.post("/api/v1/reports", json={"account_id": ala.id})).json()

    rows = (await admin.get("/api/v1/admin/reports")).json()
    assert [r["id"] for r in rows] == [other["id"], report["id"]]
    shown = (await admin.get(f"/api/v1/admin/reports/{report['id']}")).json()
    assert set(shown) == ADMIN_REPORT_KEYS
    assert shown["account"]["id"] == ala.id and shown["target_account"]["id"] == bob.id
    assert set(shown["target_account"]) == ADMIN_ACCOUNT_KEYS
    assert [s["id"] for s in shown["statuses"]] == [post["id"]] and shown["assigned_account"] is None

    async def ids(query: str) -> list[str]:
        return [r["id"] for r in (await admin.get(f"/api/v1/admin/reports{query}")).json()]

    assert await ids(f"?target_account_id={bob.id}") == [report["id"]]
    assert await ids(f"?account_id={bob.id}") == [other["id"]]
    assert (await admin.get("/api/v1/admin/reports?account_id=x")).status_code == 422

    r = await admin.post(f"/api/v1/admin/reports/{report['id']}/assign_to_self")
    assert r.json()["assigned_account"]["id"] == admin.id
    r = await admin.post(f"/api/v1/admin/reports/{report['id']}/unassign")
    assert r.json()["assigned_account"] is None
    r = await admin.post(f"/api/v1/admin/reports/{report['id']}/resolve")
    assert r.json()["action_taken"] is True and r.json()["action_taken_by_account"]["id"] == admin.id
    assert await ids("?resolved=true") == [report["id"]]
    assert await ids("") == [other["id"]]  # Mastodon lists unresolved reports by default
    r = await admin.post(f"/api/v1/admin/reports/{report['id']}/reopen")
    assert r.json()["action_taken"] is False
    assert (await admin.post("/api/v1/admin/reports/9999/resolve")).status_code == 404
    assert [e.action for e in await log(client)] == ["assign_to_self", "unassign", "resolve_report", "reopen_report"]


async def test_action_with_report_resolves_it(client: Any) -> None:
    admin, ala, bob = await admin_of(client), await client.make_user("ala"), await client.make_user("bob")
    report = (await ala.post("/api/v1/reports", json={"account_id": bob.id})).json()
    elsewhere = (await bob.post("/api/v1/reports", json={"account_id": ala.id})).json()
    # A report about someone else does not fit.
    r = await admin.post(f"/api/v1/admin/accounts/{bob.id}/action", json={"type": "silence", "report_id": elsewhere["id"]})
    assert r.status_code == 404
    await action(admin, bob, "silence", report_id=report["id"], text="raport")
    shown = (await admin.get(f"/api/v1/admin/reports/{report['id']}")).json()
    assert shown["action_taken"] is True
    assert [(e.action, e.target_type) for e in await log(client)] == [("silence", "account"), ("resolve_report", "report")]


# -- post removal --------------------------------------------------------------------------

async def test_no_account_may_delete_or_edit_another_accounts_post(client: Any) -> None:
    bob = await client.make_user("bob")
    brand = await client.make_user("marka", kind="brand")
    post = await bob.post_status("mój wpis")
    assert (await brand.delete(f"/api/v1/statuses/{post['id']}")).status_code == 403
    assert (await brand.put(f"/api/v1/statuses/{post['id']}", json={"status": "zmieniony"})).status_code == 403
    assert (await client.get(f"/api/v1/statuses/{post['id']}")).json()["content"] == "<p>mój wpis</p>"


async def test_moderator_removes_a_post_with_a_reason(client: Any) -> None:
    mod = await admin_of(client, "moderator", role="moderator")
    user = await client.make_user("zwykly", scopes=ADMIN_SCOPES)
    bob, ala = await client.make_user("bob"), await client.make_user("ala")
    post = await bob.post_status("zły wpis")
    boost = (await ala.post(f"/api/v1/statuses/{post['id']}/reblog")).json()
    url = f"/api/szpak/v1/admin/statuses/{post['id']}"
    assert (await user.delete(url, params={"reason": "x"})).status_code == 403
    assert (await client.delete(url)).status_code == 401
    assert (await mod.delete(url)).status_code == 422  # a reason is required
    assert (await mod.client.request("DELETE", url, headers=mod.headers, json={"reason": "   "})).status_code == 422
    r = await mod.client.request("DELETE", url, headers=mod.headers, json={"reason": "hate speech"})
    assert r.status_code == 200, r.text
    assert (await client.get(f"/api/v1/statuses/{post['id']}")).status_code == 404
    assert (await client.get(f"/api/v1/statuses/{boost['id']}")).status_code == 404
    assert (await mod.delete(url, params={"reason": "again"})).status_code == 404
    (entry,) = await log(client)
    assert (entry.actor, entry.action, entry.target_type, str(entry.target_id), entry.text) == (
        "@moderator", "remove_status", "status", post["id"], "hate speech"
    )
    assert "@bob" in entry.target_label
    # A moderator may not read the log (admins only).
    assert (await mod.get("/api/szpak/v1/admin/log")).status_code == 403


async def test_log_endpoint(client: Any) -> None:
    admin, bob = await admin_of(client), await client.make_user("bob")
    await action(admin, bob, "silence", text="głośno")
    await admin.post(f"/api/v1/admin/accounts/{bob.id}/unsilence")
    r = await admin.get("/api/szpak/v1/admin/log")
    assert r.status_code == 200
    entries = r.json()
    assert [e["action"] for e in entries] == ["unsilence", "silence"]  # newest first
    assert entries[1] | {"id": "", "created_at": ""} == {
        "id": "", "created_at": "", "actor": "@szef", "actor_account_id": admin.id, "action": "silence",
        "target_type": "account", "target_id": bob.id, "target": "@bob", "text": "głośno",
    }
    assert [e["action"] for e in (await admin.get("/api/szpak/v1/admin/log?limit=1")).json()] == ["unsilence"]
    assert [e["action"] for e in (await admin.get("/api/szpak/v1/admin/log?action=silence")).json()] == ["silence"]
    older = (await admin.get(f"/api/szpak/v1/admin/log?max_id={entries[0]['id']}")).json()
    assert [e["action"] for e in older] == ["silence"]
