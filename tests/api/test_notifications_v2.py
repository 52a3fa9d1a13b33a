"""/api/v2/notifications: grouping, pagination, filters, one group, its accounts, dismiss,
unread count, scopes and bad input (docs/api/notifications-search.md)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select

from szpak.api.routes import notifications_v2
from szpak.domain import interactions, notify, relationships, statuses
from szpak.domain.accounts import create_user
from szpak.storage.models import Account, Notification

from .domain_steps import act, suspend
from .helpers import links, read_statements
from .mastodon_schema import assert_entity


async def _grouped(user: Any, query: str = "") -> dict[str, Any]:
    r = await user.get(f"/api/v2/notifications{query}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _conforms(results: dict[str, Any]) -> None:
    """GroupedNotificationsResults per the Mastodon OpenAPI description. That description
    types ``most_recent_notification_id`` as an integer where Mastodon's documentation says
    String; Szpak sends a string (as every id), so it is checked here as one."""
    data = copy.deepcopy(results)
    for g in data["notification_groups"]:
        assert isinstance(g["most_recent_notification_id"], str)
        g["most_recent_notification_id"] = int(g["most_recent_notification_id"])
    assert_entity(data, "GroupedNotificationsResults")


def _by_type(results: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for g in results["notification_groups"]:
        out.setdefault(g["type"], []).append(g)
    return out


async def _three_favourites(client: Any) -> tuple[Any, list[Any], dict[str, Any]]:
    alice = await client.make_user("alice")
    fans = [await client.make_user(name) for name in ("bob", "carol", "dave")]
    post = await alice.post_status("Mój wpis o kotach")
    for fan in fans:
        await act(client, fan, interactions.favourite, int(post["id"]))
    return alice, fans, post


async def test_three_favourites_of_one_post_are_one_group(client):
    alice, (bob, carol, dave), post = await _three_favourites(client)
    await act(client, alice, interactions.favourite, int(post["id"]))  # her own: no notification
    res = await _grouped(alice)
    _conforms(res)
    [group] = res["notification_groups"]
    assert group["type"] == "favourite"
    assert group["notifications_count"] == 3
    assert group["sample_account_ids"] == [dave.id, carol.id, bob.id]  # most recent first
    assert group["status_id"] == post["id"]
    assert group["group_key"].startswith(f"favourite-{post['id']}-")
    v1 = (await alice.get("/api/v1/notifications")).json()
    assert [n["id"] for n in v1] == [group["page_max_id"], v1[1]["id"], group["page_min_id"]]
    assert group["most_recent_notification_id"] == v1[0]["id"]
    assert group["latest_page_notification_at"] == v1[0]["created_at"]
    # v1 entities (and so streams) carry the same key, so clients can merge them into groups.
    assert {n["group_key"] for n in v1} == {group["group_key"]}
    assert sorted(a["id"] for a in res["accounts"]) == sorted([bob.id, carol.id, dave.id])
    assert "partial_accounts" not in res
    # The status is rendered for alice: her own favourite shows.
    [st] = res["statuses"]
    assert st["id"] == post["id"] and st["favourited"] is True and st["favourites_count"] == 4


async def test_mentions_stay_single_and_types_group_apart(client):
    alice = await client.make_user("alice")
    bob, carol = await client.make_user("bob"), await client.make_user("carol")
    post = await alice.post_status("Wpis")
    await act(client, bob, relationships.follow, int(alice.id))
    await act(client, carol, relationships.follow, int(alice.id))
    await act(client, bob, interactions.favourite, int(post["id"]))
    await act(client, bob, statuses.reblog, int(post["id"]))
    await act(client, carol, statuses.reblog, int(post["id"]))
    m1 = await bob.post_status("@alice pierwsza")
    m2 = await bob.post_status("@alice druga")
    res = await _grouped(alice)
    _conforms(res)
    groups = _by_type(res)
    assert [g["status_id"] for g in groups["mention"]] == [m2["id"], m1["id"]]
    for g in groups["mention"]:
        assert g["notifications_count"] == 1 and g["group_key"] == f"ungrouped-{g['most_recent_notification_id']}"
    [reblogs] = groups["reblog"]
    assert reblogs["notifications_count"] == 2 and reblogs["sample_account_ids"] == [carol.id, bob.id]
    [favs] = groups["favourite"]
    assert favs["notifications_count"] == 1
    [follows] = groups["follow"]
    assert follows["notifications_count"] == 2 and "status_id" not in follows
    assert follows["group_key"].startswith("follow-")
    # Newest first by each group's newest notification.
    tops = [int(g["page_max_id"]) for g in res["notification_groups"]]
    assert tops == sorted(tops, reverse=True)
    assert {s["id"] for s in res["statuses"]} == {post["id"], m1["id"], m2["id"]}

    # grouped_types restricts grouping: reblogs alone are grouped now.
    res = await _grouped(alice, "?grouped_types[]=reblog")
    groups = _by_type(res)
    assert len(groups["reblog"]) == 1 and len(groups["follow"]) == 2
    assert all(g["group_key"] == f"ungrouped-{g['page_max_id']}" for g in groups["follow"])
    res = await _grouped(alice, "?grouped_types[]=nonsense")
    assert len(res["notification_groups"]) == 7


async def test_pages_are_id_ranges_of_at_most_limit_groups(client):
    alice = await client.make_user("alice")
    bob, carol = await client.make_user("bob"), await client.make_user("carol")
    posts = [await alice.post_status(f"Wpis {i}") for i in range(5)]
    for p in posts:
        await act(client, bob, interactions.favourite, int(p["id"]))
        await act(client, carol, interactions.favourite, int(p["id"]))
    ids = [n["id"] for n in (await alice.get("/api/v1/notifications")).json()]  # newest first, 10

    r = await alice.get("/api/v2/notifications?limit=2")
    page = r.json()
    assert [g["status_id"] for g in page["notification_groups"]] == [posts[4]["id"], posts[3]["id"]]
    assert [g["notifications_count"] for g in page["notification_groups"]] == [2, 2]
    assert f"max_id={ids[3]}" in r.headers["link"] and f"min_id={ids[0]}" in r.headers["link"]
    nxt = r.headers["link"].split(";")[0].strip("<>").replace("http://testserver", "")
    r = await alice.get(nxt)
    assert [g["status_id"] for g in r.json()["notification_groups"]] == [posts[2]["id"], posts[1]["id"]]
    r = await alice.get(f"/api/v2/notifications?limit=2&max_id={ids[7]}")
    [last] = r.json()["notification_groups"]
    assert last["status_id"] == posts[0]["id"] and last["notifications_count"] == 2
    r = await alice.get(f"/api/v2/notifications?max_id={ids[-1]}")
    assert r.json()["notification_groups"] == [] and "link" not in r.headers

    # min_id: the groups just above it; a group cut by the page's edge counts what is inside.
    r = await alice.get(f"/api/v2/notifications?limit=2&min_id={ids[7]}")
    groups = r.json()["notification_groups"]
    assert [g["status_id"] for g in groups] == [posts[2]["id"], posts[1]["id"]]
    assert [g["notifications_count"] for g in groups] == [2, 1]
    assert groups[1]["page_min_id"] == groups[1]["page_max_id"] == ids[6]
    assert groups[1]["sample_account_ids"] == [carol.id]
    # since_id: newest first, down to it.
    r = await alice.get(f"/api/v2/notifications?since_id={ids[3]}")
    groups = r.json()["notification_groups"]
    assert [g["notifications_count"] for g in groups] == [2, 1]


async def test_a_group_cut_by_the_page_edge_continues_under_the_same_key(client):
    alice = await client.make_user("alice")
    bob, carol, dave = [await client.make_user(n) for n in ("bob", "carol", "dave")]
    p0, p1 = await alice.post_status("zero"), await alice.post_status("jeden")
    await act(client, bob, interactions.favourite, int(p0["id"]))
    await act(client, carol, interactions.favourite, int(p1["id"]))
    await act(client, dave, interactions.favourite, int(p0["id"]))
    seen: list[dict[str, Any]] = []
    url = "/api/v2/notifications?limit=1"
    while True:
        r = await alice.get(url)
        groups = r.json()["notification_groups"]
        if not groups:
            break
        seen += groups
        url = r.headers["link"].split(";")[0].strip("<>").replace("http://testserver", "")
    assert [(g["status_id"], g["sample_account_ids"]) for g in seen] == [
        (p0["id"], [dave.id]), (p1["id"], [carol.id]), (p0["id"], [bob.id])
    ]
    assert seen[0]["group_key"] == seen[2]["group_key"]
    # The whole group, asked for by key, holds both.
    r = await alice.get(f"/api/v2/notifications/{seen[0]['group_key']}")
    [whole] = r.json()["notification_groups"]
    assert whole["notifications_count"] == 2 and whole["sample_account_ids"] == [dave.id, bob.id]


async def test_types_exclude_types_and_account_id(client):
    alice = await client.make_user("alice")
    bob, carol = await client.make_user("bob"), await client.make_user("carol")
    post = await alice.post_status("Wpis")
    await act(client, bob, relationships.follow, int(alice.id))
    await act(client, bob, interactions.favourite, int(post["id"]))
    await act(client, carol, interactions.favourite, int(post["id"]))
    await carol.post_status("@alice hej")
    assert [g["type"] for g in (await _grouped(alice, "?types[]=favourite"))["notification_groups"]] == ["favourite"]
    assert [g["type"] for g in (await _grouped(alice, "?types=follow"))["notification_groups"]] == ["follow"]
    res = await _grouped(alice, "?exclude_types[]=favourite&exclude_types[]=follow")
    assert [g["type"] for g in res["notification_groups"]] == ["mention"]
    res = await _grouped(alice, f"?account_id={bob.id}")
    assert sorted((g["type"], g["notifications_count"]) for g in res["notification_groups"]) == [
        ("favourite", 1), ("follow", 1)
    ]
    assert [a["id"] for a in res["accounts"]] == [bob.id]
    empty = await _grouped(alice, "?types[]=admin.sign_up")
    assert empty == {"accounts": [], "statuses": [], "notification_groups": []}


async def test_partial_avatars(client):
    alice, (bob, carol, dave), post = await _three_favourites(client)
    res = await _grouped(alice, "?expand_accounts=partial_avatars")
    _conforms(res)
    assert [a["id"] for a in res["accounts"]] == [dave.id]  # the group's most recent, in full
    assert "note" in res["accounts"][0]
    assert sorted(a["id"] for a in res["partial_accounts"]) == sorted([carol.id, bob.id])
    for partial in res["partial_accounts"]:
        assert set(partial) == {"id", "acct", "url", "avatar", "avatar_static", "locked", "bot"}
        assert_entity(partial, "PartialAccountWithAvatar")


async def test_same_visibility_and_filters_as_v1(client):
    alice = await client.make_user("alice")
    bob, carol = await client.make_user("bob"), await client.make_user("carol")
    post = await alice.post_status("Wpis")
    await act(client, bob, interactions.favourite, int(post["id"]))
    await act(client, carol, interactions.favourite, int(post["id"]))
    await bob.post_status("@alice o brokułach")
    await act(client, alice, relationships.block, int(bob.id))
    res = await _grouped(alice)
    [group] = res["notification_groups"]
    assert group["notifications_count"] == 1 and group["sample_account_ids"] == [carol.id]
    await suspend(client, carol)
    assert (await _grouped(alice))["notification_groups"] == []

    # A hide filter on notifications drops the mention (as v1 does); warn marks it.
    dave = await client.make_user("dave")
    await dave.post_status("@alice znowu brokuły")
    body = {"title": "warzywa", "context": ["notifications"], "filter_action": "hide",
            "keywords_attributes": [{"keyword": "brokuły"}]}
    r = await alice.post("/api/v2/filters", json=body)
    assert r.status_code == 200, r.text
    assert (await alice.get("/api/v1/notifications")).json() == []
    assert (await _grouped(alice))["notification_groups"] == []
    await alice.put(f"/api/v2/filters/{r.json()['id']}", json={"filter_action": "warn"})
    res = await _grouped(alice)
    [mention] = res["notification_groups"]
    [st] = res["statuses"]
    assert st["id"] == mention["status_id"] and st["filtered"][0]["filter"]["title"] == "warzywa"


async def test_one_group_its_accounts_and_dismiss(client):
    alice, (bob, carol, dave), post = await _three_favourites(client)
    m = await bob.post_status("@alice hej")
    await alice.post_status("@bob cześć")
    res = await _grouped(alice)
    favs, mention = _by_type(res)["favourite"][0], _by_type(res)["mention"][0]
    [bobs] = (await _grouped(bob))["notification_groups"]

    r = await alice.get(f"/api/v2/notifications/{favs['group_key']}")
    assert r.status_code == 200, r.text
    one = r.json()
    _conforms(one)
    [g] = one["notification_groups"]
    assert g["group_key"] == favs["group_key"] and g["notifications_count"] == 3
    assert "page_min_id" not in g and [s["id"] for s in one["statuses"]] == [post["id"]]
    r = await alice.get(f"/api/v2/notifications/{favs['group_key']}/accounts")
    assert r.status_code == 200 and [a["id"] for a in r.json()] == [dave.id, carol.id, bob.id]
    for account in r.json():
        assert_entity(account, "Account")
    assert (await alice.get(f"/api/v2/notifications/{mention['group_key']}")).json()["statuses"][0]["id"] == m["id"]
    # Someone else's group, or a key that is no group: not found.
    assert (await alice.get(f"/api/v2/notifications/{bobs['group_key']}")).status_code == 404
    assert (await alice.get(f"/api/v2/notifications/{bobs['group_key']}/accounts")).status_code == 404
    assert (await alice.post(f"/api/v2/notifications/{bobs['group_key']}/dismiss")).status_code == 404

    r = await alice.post(f"/api/v2/notifications/{favs['group_key']}/dismiss")
    assert r.status_code == 200 and r.json() == {}
    assert [n["type"] for n in (await alice.get("/api/v1/notifications")).json()] == ["mention"]
    assert (await alice.get(f"/api/v2/notifications/{favs['group_key']}")).status_code == 404
    assert (await alice.post(f"/api/v2/notifications/{favs['group_key']}/dismiss")).status_code == 404
    assert (await alice.post(f"/api/v2/notifications/{mention['group_key']}/dismiss")).json() == {}
    assert (await _grouped(alice))["notification_groups"] == []
    assert len((await _grouped(bob))["notification_groups"]) == 1  # bob's untouched


async def test_unread_count_counts_groups_after_the_marker(client):
    alice, (bob, carol, dave), post = await _three_favourites(client)
    await bob.post_status("@alice raz")
    await bob.post_status("@alice dwa")
    await act(client, bob, relationships.follow, int(alice.id))
    await act(client, carol, relationships.follow, int(alice.id))

    async def count(query: str = "") -> int:
        r = await alice.get(f"/api/v2/notifications/unread_count{query}")
        assert r.status_code == 200, r.text
        return r.json()["count"]  # type: ignore[no-any-return]

    assert await count() == 4  # favourites, two mentions, follows
    assert await count("?limit=2") == 2
    assert await count("?grouped_types[]=favourite") == 5  # follows one by one
    assert await count("?grouped_types[]=nothing") == 7
    assert await count("?types[]=favourite") == 1
    assert await count("?exclude_types[]=mention") == 2
    assert await count(f"?account_id={carol.id}") == 2
    v1 = (await alice.get("/api/v1/notifications")).json()
    assert [n["type"] for n in v1[:3]] == ["follow", "follow", "mention"]
    await alice.post("/api/v1/markers", json={"notifications": {"last_read_id": v1[3]["id"]}})
    assert await count() == 2  # the two follows (one group) and the newer mention
    await alice.post("/api/v1/markers", json={"notifications": {"last_read_id": v1[2]["id"]}})
    assert await count() == 1
    await alice.post("/api/v1/markers", json={"notifications": {"last_read_id": v1[0]["id"]}})
    assert await count() == 0


async def test_a_page_costs_the_same_queries_whatever_its_length(client):
    alice = await client.make_user("alice")
    users = [await client.make_user(f"user{i}") for i in range(6)]
    for u in users:
        post = await alice.post_status(f"Wpis dla {u.username}")
        await act(client, u, interactions.favourite, int(post["id"]))
        await u.post_status("@alice hej")
    await _grouped(alice, "?limit=1")  # warm the token cache
    with read_statements(client) as statements:
        assert len((await _grouped(alice, "?limit=2&max_id=" + str(2**62)))["notification_groups"]) == 2
        small = len(statements)
        statements.clear()
        assert len((await _grouped(alice, "?limit=12&max_id=" + str(2**62)))["notification_groups"]) == 12
        large = len(statements)
    assert small == large


def test_group_keys_agree_with_the_sql_columns():
    """``group_key`` (Python) and ``group_columns`` (SQL) must split notifications alike;
    the windows are fixed UTC spans of GROUP_SPAN_HOURS hours read off the id."""
    hour = 3_600_000
    start = 480_000 * hour  # a window's first millisecond (480000 % 12 == 0)
    inside, last, after = start << 16, ((start + 12 * hour) << 16) - 1, (start + 12 * hour) << 16
    key = notify.group_key(inside, "favourite", 7)
    assert key == "favourite-7-480000" == notify.group_key(last, "favourite", 7)
    assert notify.group_key(after, "favourite", 7) == "favourite-7-480012"
    assert notify.group_key(inside, "favourite", 7, grouped_types=("reblog",)) == f"ungrouped-{inside}"
    assert notify.group_key(inside, "mention", 7) == f"ungrouped-{inside}"
    assert notify.group_key(inside, "follow", None) == "follow-480000"
    assert notify.group_clause("follow-480001") is None  # not a window's start
    assert notify.group_clause(f"favourite-{2**64}-480000") is None
    assert notify.group_clause("favourite-7-480000") is not None


async def test_windows_split_groups_alike_in_python_and_sql(client):
    """Notifications either side of a window's edge: two groups in the list (keys made in
    Python) and in the unread count (keys made in SQL)."""
    alice, bob, carol = [await client.make_user(n) for n in ("alice", "bob", "carol")]
    post = await alice.post_status("Stary wpis")
    hour = 3_600_000
    edge = 480_012 * hour  # the first millisecond of a window
    async with client.app.state.ctx.tx() as tx:
        for nid, who in (((edge << 16) - 1, bob), (edge << 16, carol), ((edge << 16) + 5, bob)):
            tx.session.add(Notification(
                id=nid, account_id=int(alice.id), from_account_id=int(who.id), type="favourite",
                status_id=int(post["id"]),
            ))
    res = await _grouped(alice)
    assert [(g["group_key"], g["notifications_count"]) for g in res["notification_groups"]] == [
        (f"favourite-{post['id']}-480012", 2), (f"favourite-{post['id']}-480000", 1)
    ]
    r = await alice.get("/api/v2/notifications/unread_count")
    assert r.json() == {"count": 2}
    r = await alice.get(f"/api/v2/notifications/favourite-{post['id']}-480012/accounts")
    assert [a["id"] for a in r.json()] == [bob.id, carol.id]


# -- large groups: read without loading them ---------------------------------------------


@contextmanager
def fetched_rows(client: Any) -> Iterator[list[tuple[str, int]]]:
    """(statement, rows fetched) of every statement the read engine runs in the block. Both
    async adapters (aiosqlite, asyncpg) buffer a result's rows in the cursor's ``_rows``
    when the statement runs, so their number is what was read into Python."""
    engine = client.app.state.ctx.db.read_engine.sync_engine
    seen: list[tuple[str, int]] = []

    def record(_conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        assert hasattr(cursor, "_rows"), type(cursor)  # else this helper measures nothing
        seen.append((statement, len(cursor._rows)))

    event.listen(engine, "after_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "after_cursor_execute", record)


async def _favourited_by_many(client: Any, alice: Any, n: int, text: str = "Wpis, który się rozszedł") -> tuple[
    dict[str, Any], list[str], list[str]
]:
    """A post of alice's favourited by ``n`` new accounts one after another: the post, the
    fans' ids (oldest favourite first) and alice's notification ids of it (newest first)."""
    post = await alice.post_status(text)
    ctx = client.app.state.ctx
    async with ctx.tx() as tx:
        users = [
            await create_user(tx, username=f"fan{len(text)}x{i}", email=f"fan{len(text)}x{i}@example.com",
                              password="sekretne-haslo")
            for i in range(n)
        ]
    fans = [u.account_id for u in users]
    for aid in fans:
        async with ctx.tx() as tx:
            await interactions.favourite(tx, await tx.session.get(Account, aid), int(post["id"]))
    async with ctx.read() as s:
        nids = (await s.scalars(select(Notification.id).where(
            Notification.account_id == int(alice.id), Notification.status_id == int(post["id"])
        ).order_by(Notification.id.desc()))).all()
    assert len(nids) == n
    return post, [str(a) for a in fans], [str(i) for i in nids]


async def test_one_large_group_is_counted_not_loaded(client):
    """60 favourites: the right count and the 8 newest actors, from the same statements as
    a group of 3 and no result set larger than a sample batch."""
    alice = await client.make_user("alice")
    small_post, small_fans, _ = await _favourited_by_many(client, alice, 3, "mały")
    post, fans, nids = await _favourited_by_many(client, alice, 60)
    [small_key, key] = [g["group_key"] for g in reversed((await _grouped(alice))["notification_groups"])]
    assert small_key.startswith(f"favourite-{small_post['id']}-") and key.startswith(f"favourite-{post['id']}-")

    async def one(group_key: str) -> tuple[dict[str, Any], list[tuple[str, int]]]:
        await alice.get(f"/api/v2/notifications/{group_key}")  # warm the token and account caches
        with fetched_rows(client) as seen:
            r = await alice.get(f"/api/v2/notifications/{group_key}")
        assert r.status_code == 200, r.text
        return r.json(), seen

    res, seen = await one(key)
    _conforms(res)
    [g] = res["notification_groups"]
    assert g["notifications_count"] == 60
    assert g["most_recent_notification_id"] == nids[0]
    assert g["sample_account_ids"] == fans[::-1][: notifications_v2.SAMPLE_ACCOUNTS] and len(fans[::-1][:8]) == 8
    assert [a["id"] for a in res["accounts"]] == g["sample_account_ids"]
    assert [s["id"] for s in res["statuses"]] == [post["id"]]
    assert max(rows for _sql, rows in seen) <= notifications_v2.SAMPLE_BATCH < 60

    small, small_seen = await one(small_key)
    [sg] = small["notification_groups"]
    assert sg["notifications_count"] == 3 and sg["sample_account_ids"] == small_fans[::-1]
    assert len(seen) == len(small_seen)  # statements do not grow with the group


async def test_large_group_accounts_are_paged_like_mastodon(client):
    """``/accounts`` pages over the group's notifications: 40 by default, at most 80,
    ``Link`` to go on; each page reads no more rows than it answers with."""
    alice = await client.make_user("alice")
    post, fans, nids = await _favourited_by_many(client, alice, 60)
    key = (await _grouped(alice))["notification_groups"][0]["group_key"]
    newest_first = fans[::-1]
    base = f"/api/v2/notifications/{key}/accounts"

    with fetched_rows(client) as seen:
        r = await alice.get(base)
    assert r.status_code == 200, r.text
    assert [a["id"] for a in r.json()] == newest_first[:40]
    assert max(rows for _sql, rows in seen) <= 40
    nxt, prev = links(r)["next"], links(r)["prev"]
    assert nxt.endswith(f"{base}?max_id={nids[39]}") and prev.endswith(f"{base}?min_id={nids[0]}")
    r = await alice.get(nxt.replace("http://testserver", ""))
    assert [a["id"] for a in r.json()] == newest_first[40:]
    r = await alice.get(links(r)["next"].replace("http://testserver", ""))
    assert r.status_code == 200 and r.json() == [] and "link" not in r.headers  # past the end: empty, not 404

    r = await alice.get(f"{base}?limit=500")  # capped at 80
    assert [a["id"] for a in r.json()] == newest_first
    r = await alice.get(f"{base}?limit=5&max_id={nids[9]}")
    assert [a["id"] for a in r.json()] == newest_first[10:15]
    assert links(r)["next"].endswith(f"?limit=5&max_id={nids[14]}")
    r = await alice.get(f"{base}?limit=5&min_id={nids[9]}")  # the five just above, newest first
    assert [a["id"] for a in r.json()] == newest_first[4:9]
    r = await alice.get(f"{base}?since_id={nids[3]}")
    assert [a["id"] for a in r.json()] == newest_first[:3]
    for account in r.json():
        assert_entity(account, "Account")

    # A group with nothing left to show is 404 whatever the page asked for.
    await alice.post(f"/api/v2/notifications/{key}/dismiss")
    for query in ("", f"?max_id={nids[0]}", "?limit=3"):
        assert (await alice.get(f"{base}{query}")).status_code == 404


async def test_list_page_samples_and_scan_are_bounded(client, monkeypatch):
    """In a page a large group names at most 8 actors; a page reads at most ``MAX_SCAN``
    notifications (fetched, not only used), ending there and going on under the same key."""
    alice = await client.make_user("alice")
    post, fans, nids = await _favourited_by_many(client, alice, 60)
    [g] = (await _grouped(alice))["notification_groups"]
    assert g["notifications_count"] == 60 and g["sample_account_ids"] == fans[::-1][:8]
    assert (g["page_max_id"], g["page_min_id"]) == (nids[0], nids[-1])

    monkeypatch.setattr(notifications_v2, "MAX_SCAN", 25)
    url, pages = "/api/v2/notifications", []
    while True:
        with fetched_rows(client) as seen:
            r = await alice.get(url)
        groups = r.json()["notification_groups"]
        if not groups:
            break
        assert max(rows for _sql, rows in seen) <= 25
        pages.append([(x["group_key"], x["notifications_count"], x["page_max_id"], x["page_min_id"]) for x in groups])
        url = links(r)["next"].replace("http://testserver", "")
    assert pages == [
        [(g["group_key"], 25, nids[0], nids[24])],
        [(g["group_key"], 25, nids[25], nids[49])],
        [(g["group_key"], 10, nids[50], nids[59])],
    ]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v2/notifications"),
        ("get", "/api/v2/notifications/unread_count"),
        ("get", "/api/v2/notifications/ungrouped-1"),
        ("get", "/api/v2/notifications/ungrouped-1/accounts"),
        ("post", "/api/v2/notifications/ungrouped-1/dismiss"),
    ],
)
async def test_needs_a_token_with_the_notifications_scope(client, method, path):
    r = await getattr(client, method)(path)
    assert r.status_code == 401 and "error" in r.json()
    wrong = "write" if method == "get" else "read"
    other = await client.make_user("other", scopes=f"{wrong} follow")
    r = await getattr(other, method)(path)
    assert r.status_code == 403 and "error" in r.json()
    narrow = await client.make_user("narrow", scopes=f"{'read' if method == 'get' else 'write'}:notifications")
    r = await getattr(narrow, method)(path)
    assert r.status_code in (200, 404)


async def test_bad_input_is_a_client_error(client):
    alice = await client.make_user("alice")
    r = await alice.get("/api/v2/notifications?account_id=abc")
    assert r.status_code == 422 and "error" in r.json()
    r = await alice.get("/api/v2/notifications/unread_count?account_id=-5")
    assert r.status_code == 422 and "error" in r.json()
    r = await alice.get("/api/v2/notifications/unread_count?limit=many")  # the default, as Mastodon
    assert r.status_code == 200 and r.json() == {"count": 0}
    # Garbage pagination is ignored and unknown expand_accounts means full, as Mastodon does.
    r = await alice.get("/api/v2/notifications?max_id=x&limit=y&expand_accounts=odd&include_filtered=maybe")
    assert r.status_code == 200 and r.json() == {"accounts": [], "statuses": [], "notification_groups": []}
    # NUL bytes and huge numbers never reach the database (PostgreSQL refuses both).
    for query in ("types[]=a%00b&exclude_types[]=%00&grouped_types[]=%00&expand_accounts=%00",
                  f"max_id={2**70}&since_id={2**64}&min_id=-1&limit={2**70}", "grouped_types=favourite%00"):
        for path in ("/api/v2/notifications", "/api/v2/notifications/unread_count"):
            r = await alice.get(f"{path}?{query}")
            assert r.status_code == 200, (path, query, r.text)
    for bad in ("1%00", str(2**70), "%00"):
        r = await alice.get(f"/api/v2/notifications?account_id={bad}")
        assert r.status_code == 422 and "error" in r.json()
    for key in ("nonsense", "favourite-abc-480000", "favourite-1-480001", "follow-", "ungrouped-0",
                f"ungrouped-{2**70}", "ungrouped-1%00", "reblog-1-2-3", "mention-1-480000",
                "%00", f"follow-{2**64}", "favourite-1-" + "9" * 30, "ungrouped-١٢"):
        for method, suffix in (("get", ""), ("get", "/accounts"), ("post", "/dismiss")):
            r = await getattr(alice, method)(f"/api/v2/notifications/{key}{suffix}")
            assert r.status_code == 404 and "error" in r.json(), (key, suffix, r.text)
