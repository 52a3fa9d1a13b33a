"""/api/v1/bookmarks and /api/v1/favourites: ordered and paged by when the mark was made."""

from __future__ import annotations

from typing import Any

import pytest

from szpak.domain import interactions, relationships

from .domain_steps import act
from .mastodon_schema import assert_entity

LISTS = [("/api/v1/bookmarks", interactions.bookmark, "bookmarks"), ("/api/v1/favourites", interactions.favourite, "favourites")]


@pytest.mark.parametrize(("path", "mark", "scope"), LISTS)
async def test_listed_newest_mark_first_with_link_paging(client, path, mark, scope):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    posts = [await alice.post_status(f"Wpis {i}") for i in range(4)]
    # Marked in an order unlike the posting order: the list follows the marks.
    order = [posts[2], posts[0], posts[3], posts[1]]
    for st in order:
        await act(client, bob, mark, int(st["id"]))
    expected = [st["id"] for st in reversed(order)]

    r = await bob.get(path)
    assert r.status_code == 200
    assert [s["id"] for s in r.json()] == expected
    for st in r.json():
        assert_entity(st, "Status")
        assert st[{"bookmarks": "bookmarked", "favourites": "favourited"}[scope]] is True

    r = await bob.get(f"{path}?limit=3")
    assert [s["id"] for s in r.json()] == expected[:3]
    next_url = r.headers["link"].split(";")[0].strip("<>")
    r = await bob.get(next_url.replace("http://testserver", ""))
    assert [s["id"] for s in r.json()] == expected[3:]
    prev_url = r.headers["link"].split(", ")[1].split(";")[0].strip("<>")
    r = await bob.get(prev_url.replace("http://testserver", ""))
    assert [s["id"] for s in r.json()] == expected[:3]
    # Others' marks are not listed.
    assert (await alice.get(path)).json() == []


@pytest.mark.parametrize(("path", "mark", "scope"), LISTS)
async def test_statuses_no_longer_visible_drop_out(client, path, mark, scope):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    await act(client, bob, relationships.follow, int(alice.id))
    open_post = await alice.post_status("Dla wszystkich")
    private = await alice.post_status("Dla obserwujących", visibility="private")
    await act(client, bob, mark, int(open_post["id"]))
    await act(client, bob, mark, int(private["id"]))
    assert [s["id"] for s in (await bob.get(path)).json()] == [private["id"], open_post["id"]]
    await act(client, bob, relationships.unfollow, int(alice.id))
    assert [s["id"] for s in (await bob.get(path)).json()] == [open_post["id"]]
    await act(client, alice, relationships.block, int(bob.id))
    assert (await bob.get(path)).json() == []


@pytest.mark.parametrize(("path", "mark", "scope"), LISTS)
async def test_tokens_and_scopes(client, path, mark, scope):
    assert (await client.get(path)).status_code == 401
    writer = await client.make_user("writer", scopes="write")
    assert (await writer.get(path)).status_code == 403
    wrong = await client.make_user("wrong", scopes="read:bookmarks" if scope == "favourites" else "read:favourites")
    assert (await wrong.get(path)).status_code == 403
    narrow = await client.make_user("narrow", scopes=f"read:{scope}")
    assert (await narrow.get(path)).status_code == 200


@pytest.mark.parametrize(("path", "mark", "scope"), LISTS)
async def test_garbage_paging_is_ignored_not_an_error(client, path, mark, scope):
    alice = await client.make_user("alice")
    st = await alice.post_status("Wpis")
    await act(client, alice, mark, int(st["id"]))
    r: Any = await alice.get(f"{path}?max_id=abc&since_id=-1&limit=lots")
    assert r.status_code == 200 and [s["id"] for s in r.json()] == [st["id"]]
    r = await alice.get(f"{path}?limit=0")
    assert r.status_code == 200 and len(r.json()) == 1
