"""Follow suggestions (``/api/v2/suggestions``, ``/api/v1/suggestions``, dismissing) and the
profile directory (``/api/v1/directory``)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from szpak.storage.models import Account

from .helpers import error, ok
from .mastodon_schema import assert_entity


async def suggested(user: Any) -> dict[str, list[str]]:
    return {s["account"]["id"]: s["sources"] for s in ok(await user.get("/api/v2/suggestions"))}


async def set_account(client: Any, account_id: str, **values: Any) -> None:
    async with client.app.state.ctx.tx() as tx:
        await tx.session.execute(update(Account).where(Account.id == int(account_id)).values(**values))


async def test_friends_of_friends_first_then_popular(client: Any) -> None:
    me, friend, fof, popular, quiet = [await client.make_user(n) for n in ("me", "friend", "fof", "popular", "quiet")]
    await me.follow(friend)
    await friend.follow(fof)
    await friend.follow(popular)
    await fof.follow(popular)
    await quiet.follow(popular)
    await popular.post_status("Cześć")
    found = ok(await me.get("/api/v2/suggestions"))
    for item in found:
        assert_entity(item, "Suggestion")
    by_id = {s["account"]["id"]: s for s in found}
    assert me.id not in by_id and friend.id not in by_id  # myself, and whom I follow
    assert "friends_of_friends" in by_id[fof.id]["sources"]
    assert by_id[fof.id]["source"] == "past_interactions"
    assert by_id[popular.id]["sources"] == ["friends_of_friends", "most_followed"]
    assert "most_followed" in by_id[quiet.id]["sources"] and by_id[quiet.id]["source"] == "global"
    order = [s["account"]["id"] for s in found]
    assert order.index(popular.id) < order.index(quiet.id)
    # v1: the same accounts, as plain Account entities
    v1 = ok(await me.get("/api/v1/suggestions"))
    assert [a["id"] for a in v1] == order
    assert_entity(v1[0], "Account")
    assert len(ok(await me.get("/api/v2/suggestions", params={"limit": 1}))) == 1


async def test_exclusions(client: Any) -> None:
    me = await client.make_user("me")
    names = ("blocked", "blocker", "muted", "dismissed", "hidden", "requested", "suspended", "silenced", "fine")
    users = {n: await client.make_user(n, locked=(n == "requested")) for n in names}
    ok(await me.post(f"/api/v1/accounts/{users['blocked'].id}/block"))
    ok(await users["blocker"].post(f"/api/v1/accounts/{me.id}/block"))
    ok(await me.post(f"/api/v1/accounts/{users['muted'].id}/mute"))
    ok(await me.post(f"/api/v1/accounts/{users['requested'].id}/follow"))
    ok(await users["hidden"].patch("/api/v1/accounts/update_credentials", json={"discoverable": False}))
    from datetime import datetime, timezone

    await set_account(client, users["suspended"].id, suspended_at=datetime.now(timezone.utc))
    await set_account(client, users["silenced"].id, silenced_at=datetime.now(timezone.utc))
    assert users["dismissed"].id in await suggested(me)
    assert ok(await me.delete(f"/api/v1/suggestions/{users['dismissed'].id}")) == {}
    assert ok(await me.delete(f"/api/v1/suggestions/{users['dismissed'].id}")) == {}  # idempotent
    found = await suggested(me)
    assert users["fine"].id in found
    for name in names[:-1]:
        assert users[name].id not in found, name
    assert [a["id"] for a in ok(await me.get("/api/v1/suggestions"))] == list(found)
    # dismissal is per viewer
    other = await client.make_user("other")
    assert users["dismissed"].id in await suggested(other)
    error(await me.delete("/api/v1/suggestions/12345"), 404)
    error(await me.delete("/api/v1/suggestions/abc"), 404)


async def test_suggestion_scopes(client: Any) -> None:
    error(await client.get("/api/v2/suggestions"), 401)
    error(await client.get("/api/v1/suggestions"), 401)
    writer = await client.make_user("writer", scopes="write")
    error(await writer.get("/api/v2/suggestions"), 403)
    error(await writer.delete("/api/v1/suggestions/1"), 403)
    reader = await client.make_user("reader", scopes="read")
    assert [x["account"]["id"] for x in ok(await reader.get("/api/v2/suggestions"))] == [writer.id]


async def test_directory_orders_and_pages(client: Any) -> None:
    old, new, active, hidden = [await client.make_user(n) for n in ("old", "new", "active", "hidden")]
    ok(await hidden.patch("/api/v1/accounts/update_credentials", json={"discoverable": False}))
    await active.post_status("Jestem aktywny")
    newest_first = [a["id"] for a in ok(await client.get("/api/v1/directory", params={"order": "new"}))]
    assert newest_first == [active.id, new.id, old.id]  # not the undiscoverable one
    by_activity = [a["id"] for a in ok(await client.get("/api/v1/directory"))]
    assert by_activity[0] == active.id and hidden.id not in by_activity
    assert [a["id"] for a in ok(await client.get("/api/v1/directory", params={"order": "new", "offset": 1, "limit": 1}))] == [new.id]
    assert len(ok(await client.get("/api/v1/directory", params={"limit": 500}))) == 3  # clamped, not refused
    assert len(ok(await client.get("/api/v1/directory", params={"local": "true"}))) == 3
    assert_entity(ok(await client.get("/api/v1/directory"))[0], "Account")
    # a signed-in viewer does not see whom it blocks or mutes
    ok(await old.post(f"/api/v1/accounts/{new.id}/block"))
    ok(await old.post(f"/api/v1/accounts/{active.id}/mute"))
    assert [a["id"] for a in ok(await old.get("/api/v1/directory"))] == [old.id]


@pytest.mark.parametrize("params", [{"order": "popular"}, {"local": "maybe"}])
async def test_directory_bad_input_is_422(client: Any, params: dict[str, str]) -> None:
    error(await client.get("/api/v1/directory", params=params), 422)


@pytest.mark.parametrize("params", [{"offset": "-1"}, {"offset": "x"}, {"limit": "many"}, {"limit": "-5"}])
async def test_directory_limit_and_offset_are_never_refused(client: Any, params: dict[str, str]) -> None:
    """As Mastodon (tests/api/test_limits.py): junk or negative is the default / 0."""
    await client.make_user("alice")
    assert len(ok(await client.get("/api/v1/directory", params=params))) == 1


async def test_directory_remote_and_local(client: Any) -> None:
    alice = await client.make_user("alice")
    async with client.app.state.ctx.tx() as tx:
        remote = Account(username="daleki", username_lower="daleki", domain="far.example", domain_key="far.example")
        tx.session.add(remote)
        await tx.session.flush()
        remote_id = str(remote.id)
    assert remote_id in [a["id"] for a in ok(await client.get("/api/v1/directory"))]
    local = [a["id"] for a in ok(await client.get("/api/v1/directory", params={"local": "1"}))]
    assert local == [alice.id]
