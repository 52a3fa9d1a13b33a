"""Endorsements: ``POST /api/v1/accounts/:id/pin``/``unpin`` (``endorse``/``unendorse``), ``GET /api/v1/endorsements``,
``GET /api/v1/accounts/:id/endorsements`` and ``Relationship.endorsed``."""

from __future__ import annotations

from typing import Any

from .helpers import error, links, ok
from .mastodon_schema import assert_entity


async def endorsed(user: Any, other: Any) -> bool:
    [rel] = ok(await user.get("/api/v1/accounts/relationships", params={"id[]": other.id}))
    return rel["endorsed"]  # type: ignore[no-any-return]


async def test_pin_only_followed_accounts(client: Any) -> None:
    alice, bob, carol = [await client.make_user(n) for n in ("alice", "bob", "carol")]
    error(await alice.post(f"/api/v1/accounts/{bob.id}/pin"), 422)
    assert ok(await alice.get("/api/v1/endorsements")) == []
    await alice.follow(bob)
    rel = ok(await alice.post(f"/api/v1/accounts/{bob.id}/pin"))
    assert_entity(rel, "Relationship")
    assert rel["endorsed"] is True and rel["following"] is True
    assert ok(await alice.post(f"/api/v1/accounts/{bob.id}/pin"))["endorsed"] is True  # idempotent
    assert await endorsed(alice, bob) and not await endorsed(carol, bob)
    assert [a["id"] for a in ok(await alice.get("/api/v1/endorsements"))] == [bob.id]
    assert [a["id"] for a in ok(await client.get(f"/api/v1/accounts/{alice.id}/endorsements"))] == [bob.id]
    assert ok(await client.get(f"/api/v1/accounts/{bob.id}/endorsements")) == []

    rel = ok(await alice.post(f"/api/v1/accounts/{bob.id}/unpin"))
    assert rel["endorsed"] is False and rel["following"] is True
    assert ok(await alice.get("/api/v1/endorsements")) == []
    error(await alice.post("/api/v1/accounts/999/pin"), 404)
    error(await alice.post("/api/v1/accounts/xyz/unpin"), 404)


async def test_endorse_and_unendorse_are_pin_and_unpin(client: Any) -> None:
    """Mastodon 4.4 names: ``/endorse`` and ``/unendorse`` do what ``/pin`` and ``/unpin`` do."""
    alice, bob, carol = [await client.make_user(n) for n in ("alice", "bob", "carol")]
    error(await alice.post(f"/api/v1/accounts/{bob.id}/endorse"), 422)  # not followed
    await alice.follow(bob)
    rel = ok(await alice.post(f"/api/v1/accounts/{bob.id}/endorse"))
    assert_entity(rel, "Relationship")
    assert rel["id"] == bob.id and rel["endorsed"] is True and rel["following"] is True
    assert ok(await alice.post(f"/api/v1/accounts/{bob.id}/endorse"))["endorsed"] is True  # idempotent
    assert await endorsed(alice, bob)
    assert [a["id"] for a in ok(await alice.get("/api/v1/endorsements"))] == [bob.id]
    # The two spellings act on the same endorsement.
    assert ok(await alice.post(f"/api/v1/accounts/{bob.id}/unpin"))["endorsed"] is False
    ok(await alice.post(f"/api/v1/accounts/{bob.id}/pin"))
    rel = ok(await alice.post(f"/api/v1/accounts/{bob.id}/unendorse"))
    assert rel["endorsed"] is False and rel["following"] is True
    assert ok(await alice.get("/api/v1/endorsements")) == []
    assert ok(await alice.post(f"/api/v1/accounts/{carol.id}/unendorse"))["endorsed"] is False
    error(await alice.post("/api/v1/accounts/999/endorse"), 404)
    error(await alice.post("/api/v1/accounts/xyz/unendorse"), 404)
    error(await client.post(f"/api/v1/accounts/{bob.id}/endorse"), 401)


async def test_unfollow_takes_the_endorsement_away(client: Any) -> None:
    alice, bob = await client.make_user("alice"), await client.make_user("bob")
    await alice.follow(bob)
    ok(await alice.post(f"/api/v1/accounts/{bob.id}/pin"))
    ok(await alice.post(f"/api/v1/accounts/{bob.id}/unfollow"))
    assert ok(await alice.get("/api/v1/endorsements")) == []
    assert not await endorsed(alice, bob)
    # following again does not bring the old endorsement back; pinning again does
    await alice.follow(bob)
    assert ok(await alice.get("/api/v1/endorsements")) == []
    assert not await endorsed(alice, bob)
    ok(await alice.post(f"/api/v1/accounts/{bob.id}/pin"))
    assert [a["id"] for a in ok(await alice.get("/api/v1/endorsements"))] == [bob.id]
    # a block severs the follow, and with it the endorsement
    ok(await bob.post(f"/api/v1/accounts/{alice.id}/block"))
    assert ok(await alice.get("/api/v1/endorsements")) == []


async def test_hidden_collections_and_blocks_hide_a_profile_s_endorsements(client: Any) -> None:
    alice, bob, carol = [await client.make_user(n) for n in ("alice", "bob", "carol")]
    await alice.follow(bob)
    ok(await alice.post(f"/api/v1/accounts/{bob.id}/pin"))
    ok(await alice.post(f"/api/v1/accounts/{carol.id}/block"))
    assert ok(await carol.get(f"/api/v1/accounts/{alice.id}/endorsements")) == []
    ok(await alice.patch("/api/v1/accounts/update_credentials", json={"hide_collections": True}))
    assert ok(await client.get(f"/api/v1/accounts/{alice.id}/endorsements")) == []
    assert [a["id"] for a in ok(await alice.get(f"/api/v1/accounts/{alice.id}/endorsements"))] == [bob.id]
    error(await client.get("/api/v1/accounts/42/endorsements"), 404)


async def test_pagination(client: Any) -> None:
    alice = await client.make_user("alice")
    others = [await client.make_user(f"u{i}") for i in range(3)]
    for other in others:
        await alice.follow(other)
        ok(await alice.post(f"/api/v1/accounts/{other.id}/pin"))
    r = await alice.get("/api/v1/endorsements", params={"limit": 2})
    assert [a["id"] for a in ok(r)] == [others[2].id, others[1].id]
    r2 = await alice.get(links(r)["next"].removeprefix("http://testserver"))
    assert [a["id"] for a in ok(r2)] == [others[0].id]


async def test_scopes(client: Any) -> None:
    alice, bob = await client.make_user("alice"), await client.make_user("bob")
    error(await client.post(f"/api/v1/accounts/{bob.id}/pin"), 401)
    error(await client.get("/api/v1/endorsements"), 401)
    reader = await client.make_user("reader", scopes="read")
    error(await reader.post(f"/api/v1/accounts/{bob.id}/pin"), 403)
    follows_only = await client.make_user("follows", scopes="write:follows")
    error(await follows_only.post(f"/api/v1/accounts/{alice.id}/pin"), 403)
