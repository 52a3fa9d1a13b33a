"""Featured hashtags: ``/api/v1/featured_tags`` (+ ``/suggestions``), ``/api/v1/tags/:name/feature``
and ``unfeature`` (Mastodon 4.4), and ``/api/v1/accounts/:id/featured_tags``."""

from __future__ import annotations

import re
from typing import Any

import pytest

from .helpers import error, ok
from .mastodon_schema import assert_entity


async def test_feature_list_delete(client: Any) -> None:
    alice = await client.make_user("alice")
    assert ok(await alice.get("/api/v1/featured_tags")) == []
    foo = ok(await alice.post("/api/v1/featured_tags", data={"name": "Foo"}))
    assert foo["name"] == "Foo" and foo["statuses_count"] == "0" and foo["last_status_at"] is None
    assert foo["url"].endswith("/tags/foo")
    assert_entity(foo, "FeaturedTag")
    assert ok(await alice.post("/api/v1/featured_tags", json={"name": "#foo"}))["id"] == foo["id"]  # once only
    bar = ok(await alice.post("/api/v1/featured_tags", json={"name": "bar"}))
    assert [t["name"] for t in ok(await alice.get("/api/v1/featured_tags"))] == ["Foo", "bar"]
    assert ok(await alice.delete(f"/api/v1/featured_tags/{foo['id']}")) == {}
    assert [t["id"] for t in ok(await alice.get("/api/v1/featured_tags"))] == [bar["id"]]
    error(await alice.delete(f"/api/v1/featured_tags/{foo['id']}"), 404)
    # somebody else's featured tag does not exist for them
    bob = await client.make_user("bob")
    error(await bob.delete(f"/api/v1/featured_tags/{bar['id']}"), 404)
    error(await bob.delete("/api/v1/featured_tags/nonsense"), 404)
    assert len(ok(await alice.get("/api/v1/featured_tags"))) == 1


async def test_counts_come_from_public_and_unlisted_posts_only(client: Any) -> None:
    alice, bob = await client.make_user("alice"), await client.make_user("bob")
    await alice.post_status("Pierwszy #Tatry")
    await alice.post_status("Drugi #tatry", visibility="unlisted")
    await alice.post_status("Tajny #tatry", visibility="private")
    await alice.post_status("@bob bardzo tajny #tatry", visibility="direct")
    await bob.post_status("Cudzy #tatry")
    featured = ok(await alice.post("/api/v1/featured_tags", json={"name": "tatry"}))
    assert featured["statuses_count"] == "2"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", featured["last_status_at"])
    shown = ok(await client.get(f"/api/v1/accounts/{alice.id}/featured_tags"))
    assert shown == [featured]
    assert ok(await bob.get(f"/api/v1/accounts/{alice.id}/featured_tags")) == [featured]
    assert ok(await client.get(f"/api/v1/accounts/{bob.id}/featured_tags")) == []
    error(await client.get("/api/v1/accounts/123/featured_tags"), 404)


async def test_suggestions_are_own_most_used_unfeatured_tags(client: Any) -> None:
    alice = await client.make_user("alice")
    for text in ("#morze i #góry", "#morze", "#morze #las", "tajne #bagna"):
        await alice.post_status(text, visibility="private" if "tajne" in text else "public")
    ok(await alice.post("/api/v1/featured_tags", json={"name": "las"}))
    names = [t["name"] for t in ok(await alice.get("/api/v1/featured_tags/suggestions"))]
    assert names[0] == "morze"
    assert set(names) == {"morze", "góry"}  # not the featured one, not one used only privately
    for tag in ok(await alice.get("/api/v1/featured_tags/suggestions")):
        assert_entity(tag, "Tag")


async def test_tag_feature_and_unfeature_by_name(client: Any) -> None:
    alice = await client.make_user("alice")
    tag = ok(await alice.post("/api/v1/tags/Wisła/feature"))
    assert tag["name"] == "Wisła" and tag["featuring"] is True and tag["following"] is False
    assert [t["name"] for t in ok(await alice.get("/api/v1/featured_tags"))] == ["Wisła"]
    assert ok(await alice.get("/api/v1/tags/wisła"))["featuring"] is True
    tag = ok(await alice.post("/api/v1/tags/wisła/unfeature"))
    assert tag["featuring"] is False
    assert ok(await alice.get("/api/v1/featured_tags")) == []
    error(await alice.post("/api/v1/tags/nigdyniebyl/unfeature"), 404)


async def test_at_most_ten(client: Any) -> None:
    alice = await client.make_user("alice")
    for i in range(10):
        ok(await alice.post("/api/v1/featured_tags", json={"name": f"tag{i}x"}))
    error(await alice.post("/api/v1/featured_tags", json={"name": "jedenasty"}), 422)
    assert len(ok(await alice.get("/api/v1/featured_tags"))) == 10


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "12"}, {"name": ["a"]}, {"name": "a b"}, {"name": "x" * 300}])
async def test_bad_input_is_422(client: Any, body: dict[str, Any]) -> None:
    alice = await client.make_user("alice")
    error(await alice.post("/api/v1/featured_tags", json=body), 422)
    assert ok(await alice.get("/api/v1/featured_tags")) == []


async def test_scopes(client: Any) -> None:
    error(await client.get("/api/v1/featured_tags"), 401)
    error(await client.post("/api/v1/featured_tags", json={"name": "x"}), 401)
    reader = await client.make_user("reader", scopes="read")
    error(await reader.post("/api/v1/featured_tags", json={"name": "kot"}), 403)
    error(await reader.post("/api/v1/tags/kot/feature"), 403)
    writer = await client.make_user("writer", scopes="write")
    error(await writer.get("/api/v1/featured_tags"), 403)
