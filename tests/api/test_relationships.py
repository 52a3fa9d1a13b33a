"""The social graph: follow, follow requests, blocks, mutes, relationships, follower lists."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select, update

from szpak.storage.models import Account, Follow, Job, Mute, Notification

from .helpers import read_statements
from .mastodon_schema import assert_entity

SPEC_KEYS = {
    "id", "following", "showing_reblogs", "notifying", "followed_by", "blocking", "blocked_by", "muting",
    "muting_notifications", "requested", "requested_by", "domain_blocking", "endorsed", "note", "languages",
    "muting_expires_at",
}


async def rel(user: Any, other: Any) -> dict[str, Any]:
    r = await user.get("/api/v1/accounts/relationships", params={"id[]": other.id})
    assert r.status_code == 200, r.text
    [one] = r.json()
    return one  # type: ignore[no-any-return]


async def account(client: Any, user: Any) -> dict[str, Any]:
    return (await client.get(f"/api/v1/accounts/{user.id}")).json()  # type: ignore[no-any-return]


# -- follow / unfollow ----------------------------------------------------------------------

async def test_follow_and_unfollow(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    r = await alice.post(f"/api/v1/accounts/{bob.id}/follow")
    assert r.status_code == 200, r.text
    data = r.json()
    assert_entity(data, "Relationship")
    assert SPEC_KEYS <= set(data)
    assert data["id"] == bob.id
    assert data["following"] is True and data["showing_reblogs"] is True and data["notifying"] is False
    assert data["requested"] is False and data["followed_by"] is False
    assert (await rel(bob, alice))["followed_by"] is True
    assert (await account(client, bob))["followers_count"] == 1
    assert (await account(client, alice))["following_count"] == 1
    # Following again changes the options only; counts stay.
    r = await alice.post(f"/api/v1/accounts/{bob.id}/follow", data={"reblogs": "false", "notify": "true"})
    assert r.json()["showing_reblogs"] is False and r.json()["notifying"] is True
    assert (await account(client, bob))["followers_count"] == 1
    async with client.app.state.ctx.read() as s:
        n = await s.scalar(
            select(func.count()).select_from(Notification).where(
                Notification.account_id == int(bob.id), Notification.type == "follow"
            )
        )
    assert n == 1
    r = await alice.post(f"/api/v1/accounts/{bob.id}/unfollow")
    assert r.status_code == 200
    assert r.json()["following"] is False
    assert (await account(client, bob))["followers_count"] == 0
    r = await alice.post(f"/api/v1/accounts/{bob.id}/unfollow")
    assert r.status_code == 200 and r.json()["following"] is False
    assert (await account(client, alice))["following_count"] == 0


async def test_follow_with_options_json(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    r = await alice.post(f"/api/v1/accounts/{bob.id}/follow", json={"reblogs": False, "notify": True, "languages": ["pl"]})
    assert r.status_code == 200
    assert (r.json()["following"], r.json()["showing_reblogs"], r.json()["notifying"]) == (True, False, True)


async def test_follow_errors(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    assert (await client.post(f"/api/v1/accounts/{bob.id}/follow")).status_code == 401
    reader = await client.make_user("reader", scopes="read")
    assert (await reader.post(f"/api/v1/accounts/{bob.id}/follow")).status_code == 403
    blocks_only = await client.make_user("blocker", scopes="write:blocks")
    assert (await blocks_only.post(f"/api/v1/accounts/{bob.id}/follow")).status_code == 403
    assert (await alice.post("/api/v1/accounts/99999/follow")).status_code == 404
    assert (await alice.post("/api/v1/accounts/nope/follow")).status_code == 404
    assert (await alice.post(f"/api/v1/accounts/{alice.id}/follow")).status_code == 403
    assert (await alice.post(f"/api/v1/accounts/{bob.id}/follow", json={"reblogs": "sometimes"})).status_code == 422
    assert (await alice.post(f"/api/v1/accounts/{bob.id}/unfollow")).status_code == 200
    assert (await reader.post(f"/api/v1/accounts/{bob.id}/unfollow")).status_code == 403
    assert (await client.post(f"/api/v1/accounts/{bob.id}/unfollow")).status_code == 401


async def test_concurrent_follows_make_one_edge(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    results = await asyncio.gather(*(alice.post(f"/api/v1/accounts/{bob.id}/follow") for _ in range(4)))
    assert [r.status_code for r in results] == [200] * 4
    async with client.app.state.ctx.read() as s:
        edges = await s.scalar(select(func.count()).select_from(Follow).where(Follow.target_account_id == int(bob.id)))
    assert edges == 1
    assert (await account(client, bob))["followers_count"] == 1


async def test_remove_from_followers(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    await bob.follow(alice)
    r = await alice.post(f"/api/v1/accounts/{bob.id}/remove_from_followers")
    assert r.status_code == 200
    assert r.json()["followed_by"] is False
    assert (await rel(bob, alice))["following"] is False
    assert (await account(client, alice))["followers_count"] == 0
    assert (await client.post(f"/api/v1/accounts/{bob.id}/remove_from_followers")).status_code == 401
    reader = await client.make_user("reader", scopes="read")
    assert (await reader.post(f"/api/v1/accounts/{bob.id}/remove_from_followers")).status_code == 403
    assert (await alice.post("/api/v1/accounts/31337/remove_from_followers")).status_code == 404


# -- locked accounts and follow requests --------------------------------------------------------

async def test_locked_account_follow_request_authorize(client):
    alice = await client.make_user("alice", locked=True)
    bob = await client.make_user("bob")
    r = await bob.post(f"/api/v1/accounts/{alice.id}/follow", json={"notify": True})
    assert r.status_code == 200
    assert r.json()["requested"] is True and r.json()["following"] is False
    assert (await rel(alice, bob))["requested_by"] is True
    r = await alice.get("/api/v1/follow_requests")
    assert r.status_code == 200
    assert [a["id"] for a in r.json()] == [bob.id]
    r = await alice.post(f"/api/v1/follow_requests/{bob.id}/authorize")
    assert r.status_code == 200
    assert r.json()["followed_by"] is True and r.json()["requested_by"] is False
    after = await rel(bob, alice)
    assert after["following"] is True and after["notifying"] is True and after["requested"] is False
    assert (await alice.get("/api/v1/follow_requests")).json() == []
    assert (await account(client, alice))["followers_count"] == 1
    # Nothing left to authorize.
    assert (await alice.post(f"/api/v1/follow_requests/{bob.id}/authorize")).status_code == 404


async def test_follow_request_reject_and_withdraw(client):
    alice = await client.make_user("alice", locked=True)
    bob = await client.make_user("bob")
    carol = await client.make_user("carol")
    await bob.follow(alice)
    await carol.follow(alice)
    r = await alice.post(f"/api/v1/follow_requests/{bob.id}/reject")
    assert r.status_code == 200 and r.json()["requested_by"] is False
    assert (await rel(bob, alice))["requested"] is False
    assert (await alice.post(f"/api/v1/follow_requests/{bob.id}/reject")).status_code == 404
    # Unfollow withdraws a pending request (and its notification).
    r = await carol.post(f"/api/v1/accounts/{alice.id}/unfollow")
    assert r.json()["requested"] is False
    assert (await alice.get("/api/v1/follow_requests")).json() == []
    async with client.app.state.ctx.read() as s:
        left = await s.scalar(
            select(func.count()).select_from(Notification).where(Notification.type == "follow_request")
        )
    assert left == 0


async def test_follow_requests_auth_and_pagination(client):
    alice = await client.make_user("alice", locked=True)
    fans = [await client.make_user(f"fan{i}") for i in range(5)]
    for fan in fans:
        await fan.follow(alice)
    assert (await client.get("/api/v1/follow_requests")).status_code == 401
    writer = await client.make_user("writer", scopes="write")
    assert (await writer.get("/api/v1/follow_requests")).status_code == 403
    reader = await client.make_user("reader", scopes="read")
    assert (await reader.post(f"/api/v1/follow_requests/{fans[0].id}/authorize")).status_code == 403
    assert (await reader.post(f"/api/v1/follow_requests/{fans[0].id}/reject")).status_code == 403
    assert (await client.post(f"/api/v1/follow_requests/{fans[0].id}/authorize")).status_code == 401
    assert (await client.post(f"/api/v1/follow_requests/{fans[0].id}/reject")).status_code == 401
    assert (await alice.post("/api/v1/follow_requests/xyz/authorize")).status_code == 404
    r = await alice.get("/api/v1/follow_requests", params={"limit": 2})
    assert [a["id"] for a in r.json()] == [fans[4].id, fans[3].id]
    link = r.headers["link"]
    next_url = link.split(";")[0].strip("<>")
    # Paginated by the request's id, not the account id.
    async with client.app.state.ctx.read() as s:
        from szpak.storage.models import FollowRequest

        req_id = await s.scalar(select(FollowRequest.id).where(FollowRequest.account_id == int(fans[3].id)))
    assert f"max_id={req_id}" in next_url
    r = await alice.get(next_url.removeprefix("http://testserver"))
    assert [a["id"] for a in r.json()] == [fans[2].id, fans[1].id]


async def test_unlocking_accepts_pending_requests(client):
    alice = await client.make_user("alice", locked=True)
    bob = await client.make_user("bob")
    await bob.follow(alice)
    r = await alice.patch("/api/v1/accounts/update_credentials", json={"locked": False})
    assert r.status_code == 200
    assert (await rel(bob, alice))["requested"] is True  # accepted by a job, after commit
    await client.run_jobs()
    after = await rel(bob, alice)
    assert after["following"] is True and after["requested"] is False
    assert (await account(client, alice))["followers_count"] == 1


# -- blocks -------------------------------------------------------------------------------------------

async def test_block_severs_follows_and_lists(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    await alice.follow(bob)
    await bob.follow(alice)
    r = await alice.post(f"/api/v1/accounts/{bob.id}/block")
    assert r.status_code == 200
    d = r.json()
    assert_entity(d, "Relationship")
    assert d["blocking"] is True and d["following"] is False and d["followed_by"] is False
    assert (await rel(bob, alice))["blocked_by"] is True
    assert (await account(client, alice))["followers_count"] == 0
    assert (await account(client, bob))["followers_count"] == 0
    assert (await bob.post(f"/api/v1/accounts/{alice.id}/follow")).status_code == 403
    r = await alice.get("/api/v1/blocks")
    assert r.status_code == 200 and [a["id"] for a in r.json()] == [bob.id]
    r = await alice.post(f"/api/v1/accounts/{bob.id}/unblock")
    assert r.status_code == 200 and r.json()["blocking"] is False
    assert (await alice.get("/api/v1/blocks")).json() == []


async def test_block_auth_and_errors(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    assert (await client.post(f"/api/v1/accounts/{bob.id}/block")).status_code == 401
    follows_only = await client.make_user("f", scopes="write:follows read")
    assert (await follows_only.post(f"/api/v1/accounts/{bob.id}/block")).status_code == 403
    assert (await follows_only.post(f"/api/v1/accounts/{bob.id}/unblock")).status_code == 403
    assert (await follows_only.get("/api/v1/blocks")).status_code == 200  # read covers read:blocks
    writer = await client.make_user("w", scopes="write")
    assert (await writer.get("/api/v1/blocks")).status_code == 403
    assert (await client.get("/api/v1/blocks")).status_code == 401
    assert (await alice.post(f"/api/v1/accounts/{alice.id}/block")).status_code == 403
    assert (await alice.post("/api/v1/accounts/4040/block")).status_code == 404
    assert (await alice.post("/api/v1/accounts/4040/unblock")).status_code == 404
    follow_scope = await client.make_user("fs", scopes="follow")
    assert (await follow_scope.post(f"/api/v1/accounts/{bob.id}/block")).status_code == 200


async def test_blocks_paginate_by_block_id(client):
    alice = await client.make_user("alice")
    others = [await client.make_user(f"u{i}") for i in range(4)]
    for other in reversed(others):  # block ids run opposite to account ids
        assert (await alice.post(f"/api/v1/accounts/{other.id}/block")).status_code == 200
    r = await alice.get("/api/v1/blocks", params={"limit": 3})
    assert [a["id"] for a in r.json()] == [others[0].id, others[1].id, others[2].id]
    next_url = r.headers["link"].split(";")[0].strip("<>")
    r = await alice.get(next_url.removeprefix("http://testserver"))
    assert [a["id"] for a in r.json()] == [others[3].id]


# -- mutes ----------------------------------------------------------------------------------------------

async def test_mute_with_duration_and_list(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    carol = await client.make_user("carol")
    r = await alice.post(f"/api/v1/accounts/{bob.id}/mute", json={"notifications": False, "duration": 3600})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["muting"] is True and d["muting_notifications"] is False
    expires = datetime.fromisoformat(d["muting_expires_at"].replace("Z", "+00:00"))
    assert timedelta(minutes=59) < expires - datetime.now(timezone.utc) <= timedelta(hours=1)
    r = await alice.post(f"/api/v1/accounts/{carol.id}/mute", data={"notifications": "true"})
    assert r.json()["muting_notifications"] is True and r.json()["muting_expires_at"] is None
    r = await alice.get("/api/v1/mutes")
    assert r.status_code == 200
    listed = {a["id"]: a for a in r.json()}
    for muted in r.json():
        assert_entity(muted, "MutedAccount")
    assert list(listed) == [carol.id, bob.id]
    assert listed[carol.id]["mute_expires_at"] is None
    assert listed[bob.id]["mute_expires_at"] == d["muting_expires_at"]
    r = await alice.post(f"/api/v1/accounts/{carol.id}/unmute")
    assert r.json()["muting"] is False
    assert [a["id"] for a in (await alice.get("/api/v1/mutes")).json()] == [bob.id]


async def test_expired_mute_is_lifted_by_the_job(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    await alice.post(f"/api/v1/accounts/{bob.id}/mute", json={"duration": 60})
    assert await client.run_jobs() == 0  # not due yet
    past = datetime.now(timezone.utc) - timedelta(seconds=1)
    async with client.app.state.ctx.tx() as tx:
        await tx.session.execute(update(Mute).values(expires_at=past))
        await tx.session.execute(update(Job).where(Job.kind == "mutes.expire").values(run_at=past))
    # Expired mutes stop counting at once, even before the job removes the row.
    assert (await rel(alice, bob))["muting"] is False
    assert (await alice.get("/api/v1/mutes")).json() == []
    assert await client.run_jobs() == 1
    async with client.app.state.ctx.read() as s:
        assert await s.scalar(select(func.count()).select_from(Mute)) == 0


async def test_renewed_mute_survives_the_old_job(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    await alice.post(f"/api/v1/accounts/{bob.id}/mute", json={"duration": 60})
    await alice.post(f"/api/v1/accounts/{bob.id}/mute", json={"duration": 0})
    past = datetime.now(timezone.utc) - timedelta(seconds=1)
    async with client.app.state.ctx.tx() as tx:
        await tx.session.execute(update(Job).where(Job.kind == "mutes.expire").values(run_at=past))
    await client.run_jobs()
    assert (await rel(alice, bob))["muting"] is True


async def test_mute_auth_and_bad_input(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    assert (await client.post(f"/api/v1/accounts/{bob.id}/mute")).status_code == 401
    follows_only = await client.make_user("f", scopes="write:follows write:blocks")
    assert (await follows_only.post(f"/api/v1/accounts/{bob.id}/mute")).status_code == 403
    assert (await follows_only.post(f"/api/v1/accounts/{bob.id}/unmute")).status_code == 403
    assert (await client.get("/api/v1/mutes")).status_code == 401
    assert (await follows_only.get("/api/v1/mutes")).status_code == 403
    for bad in ({"duration": -5}, {"duration": "soon"}, {"duration": 10**9}, {"notifications": "hmm"}):
        r = await alice.post(f"/api/v1/accounts/{bob.id}/mute", json=bad)
        assert r.status_code == 422, bad
    assert (await alice.post(f"/api/v1/accounts/{alice.id}/mute")).status_code == 403
    assert (await alice.post("/api/v1/accounts/5050/mute")).status_code == 404
    assert (await alice.get("/api/v1/mutes")).json() == []


# -- relationships and familiar followers -----------------------------------------------------------

async def test_relationships_many(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    carol = await client.make_user("carol")
    dave = await client.make_user("dave")
    await alice.follow(bob)
    await carol.follow(alice)
    await alice.post(f"/api/v1/accounts/{dave.id}/mute")
    async with client.app.state.ctx.tx() as tx:
        await tx.session.execute(
            update(Account).where(Account.id == int(dave.id)).values(suspended_at=datetime.now(timezone.utc))
        )
    r = await alice.get(
        f"/api/v1/accounts/relationships?id[]={carol.id}&id[]=424242&id[]={bob.id}&id[]={dave.id}&id[]={bob.id}"
    )
    assert r.status_code == 200
    data = r.json()
    assert [d["id"] for d in data] == [carol.id, bob.id]
    assert data[0]["followed_by"] is True and data[0]["following"] is False
    assert data[1]["following"] is True and data[1]["followed_by"] is False
    for d in data:
        assert SPEC_KEYS <= set(d)
        assert d["note"] == "" and d["endorsed"] is False and d["domain_blocking"] is False
    r = await alice.get("/api/v1/accounts/relationships", params={"id[]": dave.id, "with_suspended": "true"})
    assert [d["muting"] for d in r.json()] == [True]
    r = await alice.get("/api/v1/accounts/relationships", params={"id": bob.id})
    assert [d["id"] for d in r.json()] == [bob.id]
    assert (await alice.get("/api/v1/accounts/relationships")).json() == []
    assert (await client.get("/api/v1/accounts/relationships", params={"id[]": bob.id})).status_code == 401
    writer = await client.make_user("w", scopes="write")
    assert (await writer.get("/api/v1/accounts/relationships", params={"id[]": bob.id})).status_code == 403
    r = await alice.get("/api/v1/accounts/relationships", params=[("id[]", str(i)) for i in range(1, 200)])
    assert r.status_code == 422


async def test_relationships_cost_does_not_grow_with_ids(client):
    alice = await client.make_user("alice")
    others = [await client.make_user(f"u{i}") for i in range(12)]
    for other in others[::2]:
        await alice.follow(other)
    with read_statements(client, selects_only=True) as one:
        r = await alice.get("/api/v1/accounts/relationships", params={"id[]": others[0].id})
        assert r.status_code == 200
    with read_statements(client, selects_only=True) as many:
        r = await alice.get("/api/v1/accounts/relationships", params=[("id[]", o.id) for o in others])
        assert len(r.json()) == 12
    assert len(many) == len(one), (len(one), len(many))


async def test_familiar_followers(client):
    me = await client.make_user("me")
    friend1 = await client.make_user("friend1")
    friend2 = await client.make_user("friend2")
    stranger = await client.make_user("stranger")
    target = await client.make_user("target")
    lonely = await client.make_user("lonely")
    for f in (friend1, friend2):
        await me.follow(f)
        await f.follow(target)
    await stranger.follow(target)
    r = await me.get(f"/api/v1/accounts/familiar_followers?id[]={target.id}&id[]={lonely.id}")
    assert r.status_code == 200
    data = r.json()
    assert [d["id"] for d in data] == [target.id, lonely.id]
    assert sorted(a["username"] for a in data[0]["accounts"]) == ["friend1", "friend2"]
    assert data[1]["accounts"] == []
    for item in data:
        assert_entity(item, "FamiliarFollowers")
    # Mastodon.py sends these ids as a JSON body on the GET.
    r = await me.client.request(
        "GET", "/api/v1/accounts/familiar_followers", json={"id": [target.id]}, headers=me.headers
    )
    assert r.status_code == 200
    assert sorted(a["username"] for a in r.json()[0]["accounts"]) == ["friend1", "friend2"]
    r = await me.client.request(
        "GET", "/api/v1/accounts/familiar_followers", content=b"{oops", headers={**me.headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert (await client.get("/api/v1/accounts/familiar_followers", params={"id[]": target.id})).status_code == 401
    writer = await client.make_user("w", scopes="write")
    assert (await writer.get("/api/v1/accounts/familiar_followers", params={"id[]": target.id})).status_code == 403


# -- followers and following lists ------------------------------------------------------------------

async def test_followers_and_following_lists(client):
    alice = await client.make_user("alice")
    fans = [await client.make_user(f"fan{i}") for i in range(3)]
    for fan in fans:
        await fan.follow(alice)
    await alice.follow(fans[0])
    r = await client.get(f"/api/v1/accounts/{alice.id}/followers")
    assert r.status_code == 200
    assert [a["id"] for a in r.json()] == [fans[2].id, fans[1].id, fans[0].id]
    r = await client.get(f"/api/v1/accounts/{alice.id}/following")
    assert [a["id"] for a in r.json()] == [fans[0].id]
    r = await client.get(f"/api/v1/accounts/{alice.id}/followers", params={"limit": 2})
    assert [a["id"] for a in r.json()] == [fans[2].id, fans[1].id]
    next_url = r.headers["link"].split(";")[0].strip("<>")
    async with client.app.state.ctx.read() as s:
        follow_id = await s.scalar(select(Follow.id).where(Follow.account_id == int(fans[1].id)))
    assert f"max_id={follow_id}" in next_url
    r = await client.get(next_url.removeprefix("http://testserver"))
    assert [a["id"] for a in r.json()] == [fans[0].id]
    assert (await client.get("/api/v1/accounts/8080/followers")).status_code == 404
    assert (await client.get("/api/v1/accounts/abc/following")).status_code == 404
    writer = await client.make_user("w", scopes="write")
    assert (await writer.get(f"/api/v1/accounts/{alice.id}/followers")).status_code == 403


async def test_hidden_collections_are_visible_to_their_owner_only(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    await bob.follow(alice)
    await alice.patch("/api/v1/accounts/update_credentials", json={"hide_collections": True})
    assert (await client.get(f"/api/v1/accounts/{alice.id}/followers")).json() == []
    assert (await bob.get(f"/api/v1/accounts/{alice.id}/followers")).json() == []
    assert [a["id"] for a in (await alice.get(f"/api/v1/accounts/{alice.id}/followers")).json()] == [bob.id]
    # Blocked viewers do not see the lists either.
    carol = await client.make_user("carol")
    await carol.follow(bob)
    await bob.post(f"/api/v1/accounts/{alice.id}/block")
    assert (await alice.get(f"/api/v1/accounts/{bob.id}/followers")).json() == []
    assert [a["id"] for a in (await client.get(f"/api/v1/accounts/{bob.id}/followers")).json()] == [carol.id]
