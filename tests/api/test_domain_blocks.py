"""Domain blocks: ``GET/POST/DELETE /api/v1/domain_blocks`` and where they apply today
(``Relationship.domain_blocking``, suggestions, directory; local accounts never hidden)."""

from __future__ import annotations

from typing import Any

import pytest

from szpak.storage.models import Account

from .helpers import error, links, ok


async def unblock(user: Any, body: dict[str, Any]) -> Any:
    """DELETE with a JSON body (httpx's ``delete`` takes none)."""
    return await user.client.request("DELETE", "/api/v1/domain_blocks", json=body, headers=user.headers)


async def remote_account(client: Any, username: str, domain: str) -> str:
    """A remote account as federation would store it (Szpak cannot make one through the API yet)."""
    async with client.app.state.ctx.tx() as tx:
        account = Account(username=username, username_lower=username.lower(), domain=domain, domain_key=domain)
        tx.session.add(account)
        await tx.session.flush()
        return str(account.id)


async def test_block_list_unblock(client: Any) -> None:
    alice = await client.make_user("alice")
    assert ok(await alice.get("/api/v1/domain_blocks")) == []
    assert ok(await alice.post("/api/v1/domain_blocks", data={"domain": "Spam.Example"})) == {}
    assert ok(await alice.post("/api/v1/domain_blocks", json={"domain": "https://spam.example/some/path"})) == {}
    ok(await alice.post("/api/v1/domain_blocks", json={"domain": "zażółć.pl"}))
    assert ok(await alice.get("/api/v1/domain_blocks")) == ["xn--za-6ja4f8n1l.pl", "spam.example"]
    bob = await client.make_user("bob")
    assert ok(await bob.get("/api/v1/domain_blocks")) == []
    assert ok(await alice.delete("/api/v1/domain_blocks", params={"domain": "spam.example"})) == {}
    assert ok(await unblock(alice, {"domain": "never.example"})) == {}
    assert ok(await alice.get("/api/v1/domain_blocks")) == ["xn--za-6ja4f8n1l.pl"]


async def test_pagination(client: Any) -> None:
    alice = await client.make_user("alice")
    for name in ("a.example", "b.example", "c.example"):
        ok(await alice.post("/api/v1/domain_blocks", json={"domain": name}))
    r = await alice.get("/api/v1/domain_blocks", params={"limit": 2})
    assert ok(r) == ["c.example", "b.example"]
    r2 = await alice.get(links(r)["next"].removeprefix("http://testserver"))
    assert ok(r2) == ["a.example"]
    assert "min_id=" in links(r2)["prev"]


@pytest.mark.parametrize(
    "body", [{}, {"domain": ""}, {"domain": "   "}, {"domain": "localhost"}, {"domain": "a..b"},
             {"domain": "-bad.example"}, {"domain": ["x.example"]}, {"domain": "x" * 300 + ".pl"}, {"domain": 5}],
)
async def test_bad_domains_are_422(client: Any, body: dict[str, Any]) -> None:
    alice = await client.make_user("alice")
    error(await alice.post("/api/v1/domain_blocks", json=body), 422)
    error(await unblock(alice, body), 422)
    assert ok(await alice.get("/api/v1/domain_blocks")) == []


async def test_relationship_domain_blocking_and_local_accounts(client: Any) -> None:
    alice, bob = await client.make_user("alice"), await client.make_user("bob")
    remote = await remote_account(client, "zdalny", "spam.example")
    ok(await alice.post("/api/v1/domain_blocks", json={"domain": "spam.example"}))
    ok(await alice.post("/api/v1/domain_blocks", json={"domain": "testserver.example"}))
    rels = ok(await alice.get("/api/v1/accounts/relationships", params=[("id[]", remote), ("id[]", bob.id)]))
    assert [(r["id"], r["domain_blocking"]) for r in rels] == [(remote, True), (bob.id, False)]
    [theirs] = ok(await bob.get("/api/v1/accounts/relationships", params={"id[]": remote}))
    assert theirs["domain_blocking"] is False

    # the directory leaves the blocked domain's account out for alice only; local ones stay
    listed = [a["id"] for a in ok(await alice.get("/api/v1/directory"))]
    assert remote not in listed and bob.id in listed
    assert remote in [a["id"] for a in ok(await bob.get("/api/v1/directory"))]
    # and so do suggestions (here: followed by carol, whom both follow)
    carol = await client.make_user("carol")
    ok(await carol.post(f"/api/v1/accounts/{remote}/follow"))
    await alice.follow(carol)
    await bob.follow(carol)
    assert remote not in [s["account"]["id"] for s in ok(await alice.get("/api/v2/suggestions"))]
    assert remote in [s["account"]["id"] for s in ok(await bob.get("/api/v2/suggestions"))]

    ok(await unblock(alice, {"domain": "spam.example"}))
    [rel] = ok(await alice.get("/api/v1/accounts/relationships", params={"id[]": remote}))
    assert rel["domain_blocking"] is False


async def test_scopes(client: Any) -> None:
    error(await client.get("/api/v1/domain_blocks"), 401)
    error(await client.post("/api/v1/domain_blocks", json={"domain": "x.example"}), 401)
    reader = await client.make_user("reader", scopes="read")
    error(await reader.post("/api/v1/domain_blocks", json={"domain": "x.example"}), 403)
    legacy = await client.make_user("legacy", scopes="follow")
    assert ok(await legacy.post("/api/v1/domain_blocks", json={"domain": "x.example"})) == {}
    assert ok(await legacy.get("/api/v1/domain_blocks")) == ["x.example"]
    mutes_only = await client.make_user("mutes", scopes="read:mutes")
    error(await mutes_only.get("/api/v1/domain_blocks"), 403)
