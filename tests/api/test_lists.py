"""/api/v1/lists, /api/v1/lists/:id/accounts, /api/v1/accounts/:id/lists and
/api/v1/timelines/list/:id; exclusive lists in the home timeline; unfollow and block
taking accounts off lists."""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import error, links, ok
from .mastodon_schema import assert_entity


def ids(r: Any) -> list[str]:
    return [x["id"] for x in ok(r)]


async def make_list(user: Any, title: str = "Kraków", **fields: Any) -> dict[str, Any]:
    return ok(await user.post("/api/v1/lists", json={"title": title, **fields}))  # type: ignore[no-any-return]


async def add(user: Any, list_id: str, *members: Any) -> Any:
    return await user.post(f"/api/v1/lists/{list_id}/accounts", json={"account_ids": [m.id for m in members]})


@pytest.fixture
async def trio(client: Any) -> tuple[Any, Any, Any]:
    """alice follows bob and carol."""
    alice, bob, carol = [await client.make_user(n) for n in ("alice", "bob", "carol")]
    await alice.follow(bob)
    await alice.follow(carol)
    return alice, bob, carol


# -- CRUD --------------------------------------------------------------------------------

async def test_create_show_index_update_delete(client: Any) -> None:
    alice = await client.make_user("alice")
    created = await make_list(alice, "Znajomi z Gdańska")
    assert_entity(created, "List")
    assert created == {"id": created["id"], "title": "Znajomi z Gdańska", "replies_policy": "list", "exclusive": False}
    other = await make_list(alice, "Work", replies_policy="none", exclusive=True)
    assert (other["replies_policy"], other["exclusive"]) == ("none", True)

    assert ok(await alice.get(f"/api/v1/lists/{created['id']}")) == created
    assert ids(await alice.get("/api/v1/lists")) == [created["id"], other["id"]]

    updated = ok(await alice.put(f"/api/v1/lists/{created['id']}", json={"replies_policy": "followed"}))
    assert updated == {**created, "replies_policy": "followed"}  # the title is kept
    updated = ok(await alice.put(f"/api/v1/lists/{created['id']}", data={"title": "Trójmiasto", "exclusive": "true"}))
    assert (updated["title"], updated["replies_policy"], updated["exclusive"]) == ("Trójmiasto", "followed", True)

    assert ok(await alice.delete(f"/api/v1/lists/{created['id']}")) == {}
    error(await alice.get(f"/api/v1/lists/{created['id']}"), 404)
    assert ids(await alice.get("/api/v1/lists")) == [other["id"]]


async def test_form_encoded_create_as_mastodon_py_sends_it(client: Any) -> None:
    alice = await client.make_user("alice")
    created = ok(await alice.post("/api/v1/lists", data={"title": "Zespół", "replies_policy": "followed", "exclusive": "1"}))
    assert (created["title"], created["replies_policy"], created["exclusive"]) == ("Zespół", "followed", True)


async def test_someone_elses_list_is_not_found(trio: Any, client: Any) -> None:
    alice, bob, _ = trio
    mine = await make_list(alice)
    for method, url, kw in [
        ("GET", f"/api/v1/lists/{mine['id']}", {}),
        ("PUT", f"/api/v1/lists/{mine['id']}", {"json": {"title": "przejęta"}}),
        ("DELETE", f"/api/v1/lists/{mine['id']}", {}),
        ("GET", f"/api/v1/lists/{mine['id']}/accounts", {}),
        ("POST", f"/api/v1/lists/{mine['id']}/accounts", {"json": {"account_ids": [alice.id]}}),
        ("DELETE", f"/api/v1/lists/{mine['id']}/accounts", {"json": {"account_ids": [alice.id]}}),
        ("GET", f"/api/v1/timelines/list/{mine['id']}", {}),
    ]:
        r = await client.request(method, url, headers=bob.headers, **kw)
        assert error(r, 404) == "Record not found", (method, url)
    assert ids(await bob.get("/api/v1/lists")) == []
    assert ok(await alice.get(f"/api/v1/lists/{mine['id']}"))["title"] == "Kraków"  # untouched


@pytest.mark.parametrize("bad", ["abc", "0", "-1", "99999999999999999999", "1.5"])
async def test_malformed_ids_are_not_found(client: Any, bad: str) -> None:
    alice = await client.make_user("alice")
    error(await alice.get(f"/api/v1/lists/{bad}"), 404)
    error(await alice.get(f"/api/v1/timelines/list/{bad}"), 404)
    error(await alice.put(f"/api/v1/lists/{bad}", json={"title": "x"}), 404)


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"title": ""},
        {"title": "   "},
        {"title": "x" * 257},
        {"title": ["a"]},
        {"title": "ok", "replies_policy": "everyone"},
        {"title": "ok", "exclusive": "perhaps"},
    ],
)
async def test_bad_list_fields_are_422(client: Any, fields: dict[str, Any]) -> None:
    alice = await client.make_user("alice")
    error(await alice.post("/api/v1/lists", json=fields), 422)
    mine = await make_list(alice)
    if fields:
        error(await alice.put(f"/api/v1/lists/{mine['id']}", json=fields), 422)
    assert ok(await alice.get(f"/api/v1/lists/{mine['id']}")) == mine


async def test_malformed_bodies_are_4xx(client: Any) -> None:
    alice = await client.make_user("alice")
    r = await alice.client.post(
        "/api/v1/lists", content=b"{not json", headers={**alice.headers, "content-type": "application/json"}
    )
    error(r, 400)
    error(await alice.post("/api/v1/lists", json=["title"]), 422)


async def test_list_count_is_limited(client: Any) -> None:
    from szpak.domain.lists import MAX_LISTS

    alice = await client.make_user("alice")
    for n in range(MAX_LISTS):
        await make_list(alice, f"lista {n}")
    assert "maximum number of lists" in error(await alice.post("/api/v1/lists", json={"title": "one too many"}), 422)


# -- members -----------------------------------------------------------------------------

async def test_add_list_and_remove_members(trio: Any, client: Any) -> None:
    alice, bob, carol = trio
    mine = await make_list(alice)
    url = f"/api/v1/lists/{mine['id']}/accounts"
    assert ok(await add(alice, mine["id"], bob)) == {}
    # Rails form encoding, as Mastodon.py sends it; adding bob again is harmless.
    assert ok(await alice.post(url, data={"account_ids[]": [carol.id, bob.id]})) == {}
    members = ok(await alice.get(url))
    for account in members:
        assert_entity(account, "Account")
    assert [a["id"] for a in members] == sorted([bob.id, carol.id], key=int, reverse=True)
    assert ok(await alice.delete(url, params={"account_ids[]": bob.id})) == {}
    assert ids(await alice.get(url)) == [carol.id]
    # A JSON body on DELETE works too; removing a non-member does nothing.
    r = await alice.client.request("DELETE", url, json={"account_ids": [bob.id]}, headers=alice.headers)
    assert ok(r) == {}
    assert ids(await alice.get(url)) == [carol.id]


async def test_only_followed_accounts_may_be_added(trio: Any, client: Any) -> None:
    alice, bob, _ = trio
    stranger = await client.make_user("stranger")
    mine = await make_list(alice)
    assert "only add accounts you follow" in error(await add(alice, mine["id"], bob, stranger), 422)
    error(await add(alice, mine["id"], alice), 422)  # nor oneself
    assert ids(await alice.get(f"/api/v1/lists/{mine['id']}/accounts")) == []  # all or nothing
    error(await alice.post(f"/api/v1/lists/{mine['id']}/accounts", json={"account_ids": ["424242"]}), 404)


@pytest.mark.parametrize("payload", [{}, {"account_ids": []}, {"account_ids": ["abc"]}, {"account_ids": [True]},
                                     {"account_ids": "-5"}, {"account_ids": [{"id": 1}]}])
async def test_bad_account_ids_are_422(trio: Any, payload: dict[str, Any]) -> None:
    alice, _, _ = trio
    mine = await make_list(alice)
    url = f"/api/v1/lists/{mine['id']}/accounts"
    error(await alice.post(url, json=payload), 422)
    error(await alice.client.request("DELETE", url, json=payload, headers=alice.headers), 422)


async def test_members_paginate_with_link_and_limit_zero_means_all(client: Any) -> None:
    alice = await client.make_user("alice")
    others = [await client.make_user(f"member{n}") for n in range(5)]
    for other in others:
        await alice.follow(other)
    mine = await make_list(alice)
    ok(await add(alice, mine["id"], *others))
    url = f"/api/v1/lists/{mine['id']}/accounts"
    expected = sorted((o.id for o in others), key=int, reverse=True)

    first = await alice.get(url, params={"limit": 2})
    assert ids(first) == expected[:2]
    nxt = links(first)["next"]
    second = await alice.get(nxt.replace("http://testserver", ""))
    assert ids(second) == expected[2:4]
    third = await alice.get(links(second)["next"].replace("http://testserver", ""))
    assert ids(third) == expected[4:]
    prev = await alice.get(links(second)["prev"].replace("http://testserver", ""))
    assert ids(prev) == expected[:2]

    everything = await alice.get(url, params={"limit": 0})
    assert ids(everything) == expected
    assert "link" not in everything.headers
    assert ids(await alice.get(url)) == expected  # default 40


async def test_unfollow_and_block_take_accounts_off_lists(client: Any) -> None:
    alice, bob, carol, dave = [await client.make_user(n) for n in ("alice", "bob", "carol", "dave")]
    for other in (bob, carol, dave):
        await alice.follow(other)
    one, two = await make_list(alice, "one"), await make_list(alice, "two")
    ok(await add(alice, one["id"], bob, carol, dave))
    ok(await add(alice, two["id"], bob))
    ok(await alice.post(f"/api/v1/accounts/{bob.id}/unfollow"))
    assert ids(await alice.get(f"/api/v1/accounts/{bob.id}/lists")) == []
    assert ids(await alice.get(f"/api/v1/lists/{two['id']}/accounts")) == []
    ok(await alice.post(f"/api/v1/accounts/{carol.id}/block"))
    ok(await dave.post(f"/api/v1/accounts/{alice.id}/block"))  # blocked by the member: the follow ends too
    assert ids(await alice.get(f"/api/v1/lists/{one['id']}/accounts")) == []
    # Following again does not put anyone back.
    await alice.follow(bob)
    assert ids(await alice.get(f"/api/v1/lists/{one['id']}/accounts")) == []


async def test_remove_from_followers_takes_the_account_off_the_followers_lists(trio: Any) -> None:
    alice, bob, _ = trio
    mine = await make_list(alice)
    ok(await add(alice, mine["id"], bob))
    ok(await bob.post(f"/api/v1/accounts/{alice.id}/remove_from_followers"))
    assert ids(await alice.get(f"/api/v1/lists/{mine['id']}/accounts")) == []


async def test_account_lists(trio: Any, client: Any) -> None:
    alice, bob, carol = trio
    one, two, three = [await make_list(alice, t) for t in ("one", "two", "three")]
    ok(await add(alice, one["id"], bob))
    ok(await add(alice, three["id"], bob, carol))
    found = ok(await alice.get(f"/api/v1/accounts/{bob.id}/lists"))
    assert found == [one, three]
    for entity in found:
        assert_entity(entity, "List")
    assert ok(await bob.get(f"/api/v1/accounts/{bob.id}/lists")) == []  # only the viewer's own lists
    error(await alice.get("/api/v1/accounts/424242/lists"), 404)
    assert two["id"] not in [x["id"] for x in found]


async def test_deleting_a_list_removes_its_members(trio: Any) -> None:
    alice, bob, _ = trio
    mine = await make_list(alice)
    ok(await add(alice, mine["id"], bob))
    ok(await alice.delete(f"/api/v1/lists/{mine['id']}"))
    assert ok(await alice.get(f"/api/v1/accounts/{bob.id}/lists")) == []


# -- the list timeline -------------------------------------------------------------------

async def test_list_timeline_shows_members_posts_newest_first(trio: Any, client: Any) -> None:
    alice, bob, carol = trio
    mine = await make_list(alice)
    ok(await add(alice, mine["id"], bob))
    b1 = await bob.post_status("Pierwszy")
    await carol.post_status("Nie na liście")
    b2 = await bob.post_status("Drugi", visibility="private")
    await alice.post_status("Własny wpis właściciela")
    r = await alice.get(f"/api/v1/timelines/list/{mine['id']}")
    assert ids(r) == [b2["id"], b1["id"]]
    for status in r.json():
        assert_entity(status, "Status")
    # The payload is what the viewer sees elsewhere.
    assert r.json()[0] == ok(await alice.get(f"/api/v1/statuses/{b2['id']}"))


async def test_list_timeline_respects_visibility_mutes_and_blocks(trio: Any, client: Any) -> None:
    alice, bob, carol = trio
    dave = await client.make_user("dave")
    mine = await make_list(alice)
    ok(await add(alice, mine["id"], bob, carol))
    await bob.post_status("@dave tylko dla Dave'a", visibility="direct")
    await bob.post_status("@dave prywatnie o Davie", visibility="private")  # alice follows bob: she sees it
    seen = await bob.post_status("Publicznie")
    ok(await alice.post(f"/api/v1/accounts/{carol.id}/mute"))
    await carol.post_status("Wyciszona")
    timeline = [s["content"] for s in ok(await alice.get(f"/api/v1/timelines/list/{mine['id']}"))]
    assert not any("tylko dla" in c for c in timeline)
    assert any("prywatnie" in c for c in timeline)
    assert not any("Wyciszona" in c for c in timeline)
    assert seen["id"] in ids(await alice.get(f"/api/v1/timelines/list/{mine['id']}"))
    del dave


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("followed", {"self", "owner", "to_member", "to_followed"}),
        ("list", {"self", "owner", "to_member"}),
        ("none", {"self", "owner"}),
    ],
)
async def test_replies_policy(client: Any, policy: str, expected: set[str]) -> None:
    alice, bob, carol, dave, erin = [await client.make_user(n) for n in ("alice", "bob", "carol", "dave", "erin")]
    for other in (bob, carol, dave):
        await alice.follow(other)
    mine = await make_list(alice, replies_policy=policy)
    ok(await add(alice, mine["id"], bob, carol))  # dave is followed, not a member; erin neither
    roots = {who.username: await who.post_status(f"Wątek {who.username}") for who in (alice, bob, carol, dave, erin)}
    made = {
        "self": await bob.post_status("do siebie", in_reply_to_id=roots["bob"]["id"]),
        "owner": await bob.post_status("do właścicielki", in_reply_to_id=roots["alice"]["id"]),
        "to_member": await bob.post_status("do członkini", in_reply_to_id=roots["carol"]["id"]),
        "to_followed": await bob.post_status("do obserwowanego", in_reply_to_id=roots["dave"]["id"]),
        "to_stranger": await bob.post_status("do obcej", in_reply_to_id=roots["erin"]["id"]),
    }
    shown = set(ids(await alice.get(f"/api/v1/timelines/list/{mine['id']}", params={"limit": 40})))
    assert {name for name, st in made.items() if st["id"] in shown} == expected
    assert roots["bob"]["id"] in shown and roots["carol"]["id"] in shown
    assert roots["dave"]["id"] not in shown


async def test_list_timeline_pagination_and_link(trio: Any) -> None:
    alice, bob, _ = trio
    mine = await make_list(alice)
    ok(await add(alice, mine["id"], bob))
    posted = [(await bob.post_status(f"wpis {n}"))["id"] for n in range(5)]
    newest_first = posted[::-1]
    url = f"/api/v1/timelines/list/{mine['id']}"
    first = await alice.get(url, params={"limit": 2})
    assert ids(first) == newest_first[:2]
    assert f"/api/v1/timelines/list/{mine['id']}" in links(first)["next"]
    second = await alice.get(links(first)["next"].replace("http://testserver", ""))
    assert ids(second) == newest_first[2:4]
    assert ids(await alice.get(url, params={"min_id": posted[1], "limit": 2})) == [posted[3], posted[2]]
    assert ids(await alice.get(url, params={"since_id": posted[3]})) == [posted[4]]
    empty = await alice.get(url, params={"max_id": posted[0]})
    assert ids(empty) == [] and "link" not in empty.headers


async def test_list_timeline_follows_membership_changes(trio: Any) -> None:
    alice, bob, carol = trio
    mine = await make_list(alice)
    ok(await add(alice, mine["id"], bob))
    b = await bob.post_status("bob")
    c = await carol.post_status("carol")
    url = f"/api/v1/timelines/list/{mine['id']}"
    assert ids(await alice.get(url)) == [b["id"]]
    ok(await add(alice, mine["id"], carol))
    assert ids(await alice.get(url)) == [c["id"], b["id"]]
    ok(await alice.delete(f"/api/v1/lists/{mine['id']}/accounts", params={"account_ids[]": bob.id}))
    assert ids(await alice.get(url)) == [c["id"]]


# -- exclusive lists and the home timeline ------------------------------------------------

async def test_exclusive_list_members_leave_the_home_timeline(trio: Any) -> None:
    alice, bob, carol = trio
    b = await bob.post_status("bob")
    c = await carol.post_status("carol")
    own = await alice.post_status("alice")
    mine = await make_list(alice, exclusive=True)
    ok(await add(alice, mine["id"], bob))
    assert ids(await alice.get("/api/v1/timelines/home")) == [own["id"], c["id"]]
    assert ids(await alice.get(f"/api/v1/timelines/list/{mine['id']}")) == [b["id"]]
    # A non-exclusive list leaves home alone.
    ok(await alice.put(f"/api/v1/lists/{mine['id']}", json={"exclusive": False}))
    assert ids(await alice.get("/api/v1/timelines/home")) == [own["id"], c["id"], b["id"]]
    # Other viewers' home timelines are untouched by alice's exclusive list.
    ok(await alice.put(f"/api/v1/lists/{mine['id']}", json={"exclusive": True}))
    await carol.follow(bob)
    assert b["id"] in ids(await carol.get("/api/v1/timelines/home"))


async def test_exclusive_home_statement_is_built_once(trio: Any, client: Any) -> None:
    """The home statement stays one cached statement with bind parameters."""
    from szpak.api.routes import timelines

    alice, bob, _ = trio
    mine = await make_list(alice, exclusive=True)
    ok(await add(alice, mine["id"], bob))
    await bob.post_status("bob")
    before = timelines._home_ids.cache_info().currsize
    ok(await alice.get("/api/v1/timelines/home"))
    ok(await bob.get("/api/v1/timelines/home"))
    assert timelines._home_ids.cache_info().currsize <= max(before, 1)


# -- scopes and tokens -------------------------------------------------------------------

ENDPOINTS = [
    ("GET", "/api/v1/lists", "read:lists"),
    ("POST", "/api/v1/lists", "write:lists"),
    ("GET", "/api/v1/lists/{id}", "read:lists"),
    ("PUT", "/api/v1/lists/{id}", "write:lists"),
    ("DELETE", "/api/v1/lists/{id}", "write:lists"),
    ("GET", "/api/v1/lists/{id}/accounts", "read:lists"),
    ("POST", "/api/v1/lists/{id}/accounts", "write:lists"),
    ("DELETE", "/api/v1/lists/{id}/accounts", "write:lists"),
    ("GET", "/api/v1/accounts/{member}/lists", "read:lists"),
    ("GET", "/api/v1/timelines/list/{id}", "read:lists"),
]


@pytest.mark.parametrize(("method", "template", "scope"), ENDPOINTS)
async def test_tokens_and_scopes(client: Any, method: str, template: str, scope: str) -> None:
    owner = await client.make_user("owner")
    member = await client.make_user("member")
    await owner.follow(member)
    mine = await make_list(owner)
    url = template.format(id=mine["id"], member=member.id)
    kw: dict[str, Any] = {}
    if method in ("POST", "PUT"):
        kw["json"] = {"title": "nowy tytuł", "account_ids": [member.id]}
    elif method == "DELETE" and url.endswith("/accounts"):
        kw["params"] = {"account_ids[]": member.id}

    r = await client.request(method, url, **kw)
    assert error(r, 401)
    wrong = "write:lists" if scope.startswith("read") else "read:lists"
    narrow = await client.make_user("narrow", scopes=f"{wrong} read:statuses write:statuses")
    # The narrow user's token must fail on scope before anything else (even 404).
    r = await client.request(method, url, headers=narrow.headers, **kw)
    assert error(r, 403) == "This action is outside the authorized scopes"
    # The owner's token without the scope is refused; with exactly that scope it is served.
    r = await client.request(method, url, headers=await token_for(client, owner, wrong), **kw)
    assert error(r, 403) == "This action is outside the authorized scopes"
    r = await client.request(method, url, headers=await token_for(client, owner, scope), **kw)
    assert r.status_code == 200, r.text


async def token_for(client: Any, user: Any, scopes: str) -> dict[str, str]:
    """Authorization headers for another token of ``user`` with these scopes."""
    from sqlalchemy import select

    from szpak.domain import oauth
    from szpak.storage.models import User

    async with client.app.state.ctx.tx() as tx:
        user_id = await tx.session.scalar(select(User.id).where(User.account_id == int(user.id)))
        token, _ = await oauth.issue_token(tx, application_id=None, user_id=user_id, scopes=scopes.split())
    return {"Authorization": f"Bearer {token}"}
