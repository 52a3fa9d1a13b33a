"""/api/v1/notifications: every type, filters, pagination, show, dismiss, clear, unread count."""

from __future__ import annotations

from typing import Any

import pytest

from szpak.domain import interactions, relationships, statuses
from szpak.domain.statuses import StatusDraft

from .domain_steps import act, suspend
from .helpers import read_statements
from .mastodon_schema import assert_entity


async def _list(user: Any, query: str = "") -> list[dict[str, Any]]:
    r = await user.get(f"/api/v1/notifications{query}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_mention_is_a_notification_entity_with_its_status(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    st = await bob.post_status("Cześć @alice, co słychać?")
    r = await alice.get("/api/v1/notifications")
    assert r.status_code == 200
    [n] = r.json()
    assert n["type"] == "mention"
    assert n["account"]["id"] == bob.id
    assert n["status"]["id"] == st["id"]
    assert n["group_key"] == f"ungrouped-{n['id']}"
    assert_entity(n, "Notification")
    assert 'rel="next"' in r.headers["link"] and f"max_id={n['id']}" in r.headers["link"]
    # The author is not notified of their own post, and bob has nothing.
    assert await _list(bob) == []


async def test_every_type_is_listed_and_filtered(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    carol = await client.make_user("carol", locked=True)
    post = await alice.post_status("Mój wpis")
    await act(client, bob, relationships.follow, int(alice.id), notify_=True)  # follow
    await act(client, alice, relationships.follow, int(carol.id))  # follow_request → carol
    await act(client, bob, interactions.favourite, int(post["id"]))  # favourite
    await act(client, bob, statuses.reblog, int(post["id"]))  # reblog
    await bob.post_status("@alice patrz")  # mention
    await act(client, alice, relationships.follow, int(bob.id), notify_=True)
    await bob.post_status("Nowy wpis bez wzmianki")  # status (alice subscribed to bob)
    await act(client, alice, statuses.edit_status, int(post["id"]), StatusDraft(text="Mój wpis, poprawiony"))  # update → bob

    mine = await _list(alice)
    assert sorted(n["type"] for n in mine) == ["favourite", "follow", "mention", "reblog", "status"]
    for n in mine:
        assert_entity(n, "Notification")
        assert ("status" in n) == (n["type"] != "follow")
    assert [n["type"] for n in await _list(bob)] == ["update", "follow"]
    assert [n["type"] for n in await _list(carol)] == ["follow_request"]

    assert [n["type"] for n in await _list(alice, "?types[]=favourite")] == ["favourite"]
    assert [n["type"] for n in await _list(alice, "?types=reblog")] == ["reblog"]
    both = await _list(alice, "?types[]=favourite&types[]=follow")
    assert sorted(n["type"] for n in both) == ["favourite", "follow"]
    rest = await _list(alice, "?exclude_types[]=follow&exclude_types[]=mention&exclude_types[]=status")
    assert sorted(n["type"] for n in rest) == ["favourite", "reblog"]
    # Only unknown types asked for: nothing (Mastodon's answer too).
    assert await _list(alice, "?types[]=admin.sign_up") == []
    assert len(await _list(alice, f"?account_id={bob.id}")) == 5
    assert await _list(alice, f"?account_id={carol.id}") == []


async def test_pages_newest_first_with_link_header(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    for i in range(5):
        await bob.post_status(f"@alice numer {i}")
    everything = await _list(alice)
    ids = [n["id"] for n in everything]
    assert ids == sorted(ids, key=int, reverse=True) and len(ids) == 5

    r = await alice.get("/api/v1/notifications?limit=2")
    assert [n["id"] for n in r.json()] == ids[:2]
    link = r.headers["link"]
    next_url = link.split(";")[0].strip("<>")
    assert f"max_id={ids[1]}" in next_url
    r = await alice.get(next_url.replace("http://testserver", ""))
    assert [n["id"] for n in r.json()] == ids[2:4]
    assert [n["id"] for n in await _list(alice, f"?min_id={ids[3]}&limit=2")] == ids[1:3]
    assert [n["id"] for n in await _list(alice, f"?since_id={ids[3]}&limit=2")] == ids[:2]
    r = await alice.get(f"/api/v1/notifications?max_id={ids[-1]}")
    assert r.json() == [] and "link" not in r.headers


async def test_show_dismiss_and_clear(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    await bob.post_status("@alice pierwszy")
    await bob.post_status("@alice drugi")
    await alice.post_status("@bob odpowiedź")
    first, second = await _list(alice)
    [bobs] = await _list(bob)

    r = await alice.get(f"/api/v1/notifications/{first['id']}")
    assert r.status_code == 200 and r.json() == first
    assert (await alice.get(f"/api/v1/notifications/{bobs['id']}")).status_code == 404  # someone else's
    assert (await alice.get("/api/v1/notifications/12345")).status_code == 404
    assert (await alice.get("/api/v1/notifications/nie-liczba")).status_code == 404

    assert (await alice.post(f"/api/v1/notifications/{bobs['id']}/dismiss")).status_code == 404
    r = await alice.post(f"/api/v1/notifications/{first['id']}/dismiss")
    assert r.status_code == 200 and r.json() == {}
    assert (await alice.get(f"/api/v1/notifications/{first['id']}")).status_code == 404
    assert (await alice.post(f"/api/v1/notifications/{first['id']}/dismiss")).status_code == 404
    assert [n["id"] for n in await _list(alice)] == [second["id"]]

    r = await alice.post("/api/v1/notifications/clear")
    assert r.status_code == 200 and r.json() == {}
    assert await _list(alice) == []
    assert [n["id"] for n in await _list(bob)] == [bobs["id"]]  # bob's are untouched


async def test_notification_is_dropped_when_its_status_is_no_longer_visible(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    await act(client, alice, relationships.follow, int(bob.id), notify_=True)
    await bob.post_status("Tylko dla obserwujących", visibility="private")
    [n] = await _list(alice)
    assert n["type"] == "status"
    count = await alice.get("/api/v1/notifications/unread_count")
    assert count.json() == {"count": 1}

    await act(client, alice, relationships.unfollow, int(bob.id))
    assert await _list(alice) == []
    assert (await alice.get(f"/api/v1/notifications/{n['id']}")).status_code == 404
    assert (await alice.get("/api/v1/notifications/unread_count")).json() == {"count": 0}
    # Following again brings it back: the rule is applied when reading.
    await act(client, alice, relationships.follow, int(bob.id))
    assert [x["id"] for x in await _list(alice)] == [n["id"]]


async def test_blocked_or_suspended_actors_are_not_shown(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    carol = await client.make_user("carol")
    await act(client, bob, relationships.follow, int(alice.id))
    await act(client, carol, relationships.follow, int(alice.id))
    assert len(await _list(alice)) == 2
    await act(client, alice, relationships.block, int(bob.id))
    await suspend(client, carol)
    assert await _list(alice) == []


async def test_unread_count_follows_the_notifications_marker(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    for i in range(4):
        await bob.post_status(f"@alice wiadomość {i}")
    await act(client, bob, relationships.follow, int(alice.id))
    ids = [n["id"] for n in await _list(alice)]
    r = await alice.get("/api/v1/notifications/unread_count")
    assert r.status_code == 200 and r.json() == {"count": 5}
    assert (await alice.get("/api/v1/notifications/unread_count?limit=3")).json() == {"count": 3}
    assert (await alice.get("/api/v1/notifications/unread_count?types[]=follow")).json() == {"count": 1}
    assert (await alice.get("/api/v1/notifications/unread_count?exclude_types[]=follow")).json() == {"count": 4}

    r = await alice.post("/api/v1/markers", json={"notifications": {"last_read_id": ids[2]}})
    assert r.status_code == 200, r.text
    assert (await alice.get("/api/v1/notifications/unread_count")).json() == {"count": 2}
    await alice.post("/api/v1/markers", json={"notifications": {"last_read_id": ids[0]}})
    assert (await alice.get("/api/v1/notifications/unread_count")).json() == {"count": 0}


async def test_a_page_costs_the_same_queries_whatever_its_length(client):
    alice = await client.make_user("alice")
    users = [await client.make_user(f"user{i}") for i in range(6)]
    for u in users:
        await u.post_status("@alice hej")
        await act(client, u, relationships.follow, int(alice.id))
    await _list(alice, "?limit=1")  # warm the token cache
    with read_statements(client) as statements:
        assert len(await _list(alice, "?limit=2")) == 2
        small = len(statements)
        statements.clear()
        assert len(await _list(alice, "?limit=12")) == 12
        large = len(statements)
    assert small == large


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/notifications"),
        ("get", "/api/v1/notifications/1"),
        ("get", "/api/v1/notifications/unread_count"),
        ("post", "/api/v1/notifications/1/dismiss"),
        ("post", "/api/v1/notifications/clear"),
    ],
)
async def test_needs_a_token_with_the_notifications_scope(client, method, path):
    r = await getattr(client, method)(path)
    assert r.status_code == 401
    assert "error" in r.json()
    wrong = "write" if method == "get" else "read"
    other = await client.make_user("other", scopes=f"{wrong} follow")
    r = await getattr(other, method)(path)
    assert r.status_code == 403
    narrow = await client.make_user("narrow", scopes=f"{'read' if method == 'get' else 'write'}:notifications")
    r = await getattr(narrow, method)(path)
    assert r.status_code in (200, 404)


async def test_bad_input_is_a_client_error(client):
    alice = await client.make_user("alice")
    r = await alice.get("/api/v1/notifications?account_id=abc")
    assert r.status_code == 422 and "error" in r.json()
    r = await alice.get("/api/v1/notifications/unread_count?limit=many")  # the default, as Mastodon
    assert r.status_code == 200 and r.json() == {"count": 0}
    r = await alice.get("/api/v1/notifications/unread_count?account_id=-5")
    assert r.status_code == 422
    # Garbage pagination is ignored, as Mastodon does.
    r = await alice.get("/api/v1/notifications?max_id=x&limit=y")
    assert r.status_code == 200 and r.json() == []
    r = await alice.post("/api/v1/notifications/99999999999999999999999/dismiss")
    assert r.status_code == 404
