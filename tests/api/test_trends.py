"""Trends: tags, statuses and links computed from the database (docs/api/trends.md)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from szpak.domain import interactions, statuses, trends

from .domain_steps import act, set_account, suspend
from .mastodon_schema import assert_entity

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api"


async def users(client, n, prefix="u"):
    return [await client.make_user(f"{prefix}{i}") for i in range(n)]


def fresh(client):
    """Forget the per-process rankings, so the next call computes them again."""
    cache = getattr(client.app.state, "trends", None)
    if cache is not None:
        cache.clear()


async def test_tag_used_by_five_accounts_outranks_one_used_by_one(client):
    people = await users(client, 5)
    for p in people:
        await p.post_status("Dziś wszyscy o #ulewa")
    await people[0].post_status("Tylko ja o #cisza")
    await people[0].post_status("I jeszcze raz #cisza, sam")
    r = await client.get("/api/v1/trends/tags")
    assert r.status_code == 200, r.text
    names = [t["name"] for t in r.json()]
    assert names[:2] == ["ulewa", "cisza"]
    for tag in r.json():
        assert_entity(tag, "Tag")
    ulewa = r.json()[0]
    assert len(ulewa["history"]) == 7
    assert ulewa["history"][0]["accounts"] == "5" and ulewa["history"][0]["uses"] == "5"
    assert all(int(h["day"]) % 86400 == 0 for h in ulewa["history"])
    # The same daily counts as the tag's own page.
    page = (await client.get("/api/v1/tags/ulewa")).json()
    assert page["history"] == ulewa["history"]
    # The old name of the endpoint answers the same.
    assert (await client.get("/api/v1/trends")).json() == r.json()


async def test_private_direct_and_unlisted_posts_never_trend(client):
    alice, bob, carol = await users(client, 3)
    secret = await alice.post_status("Tajne #sekret https://tajne.example/plan", visibility="private")
    await bob.post_status("@u0 tylko do ciebie #szept https://szept.example/", visibility="direct")
    await carol.post_status("Po cichu #cichy https://cichy.example/", visibility="unlisted")
    for who in (bob, carol):
        await who.follow(alice)
        await act(client, who, interactions.favourite, int(secret["id"]))
    assert (await client.get("/api/v1/trends/tags")).json() == []
    assert (await client.get("/api/v1/trends/links")).json() == []
    assert (await client.get("/api/v1/trends/statuses")).json() == []
    # Not even for the author or a follower who may read the post.
    fresh(client)
    assert (await alice.get("/api/v1/trends/statuses")).json() == []
    assert (await alice.get("/api/v1/trends/tags")).json() == []


async def test_authors_who_opt_out_or_are_suspended_do_not_trend(client):
    shy, gone, ok = await users(client, 3)
    await shy.post_status("#nieśmiały https://shy.example/")
    await gone.post_status("#zawieszony https://gone.example/")
    await set_account(client, shy, discoverable=False)
    await suspend(client, gone)
    await ok.post_status("#widoczny https://ok.example/")
    tags = [t["name"] for t in (await client.get("/api/v1/trends/tags")).json()]
    links = [c["url"] for c in (await client.get("/api/v1/trends/links")).json()]
    assert tags == ["widoczny"]
    assert links == ["https://ok.example"]


async def test_statuses_ranked_by_engagement_with_the_viewers_flags(client):
    author, *fans = await users(client, 5)
    quiet = await author.post_status("Nikt tego nie polubi")
    liked = await author.post_status("Jedno polubienie")
    loved = await author.post_status("Wszyscy to lubią")
    private = await author.post_status("Prywatny, ale lubiany", visibility="private")
    for fan in fans:
        await fan.follow(author)
        await act(client, fan, interactions.favourite, int(loved["id"]))
        await act(client, fan, interactions.favourite, int(private["id"]))
    await act(client, fans[0], interactions.favourite, int(liked["id"]))
    await act(client, fans[1], statuses.reblog, int(loved["id"]))
    r = await client.get("/api/v1/trends/statuses")
    assert r.status_code == 200
    ids = [s["id"] for s in r.json()]
    assert ids == [loved["id"], liked["id"]]
    assert quiet["id"] not in ids and private["id"] not in ids
    for st in r.json():
        assert_entity(st, "Status")
        assert "favourited" not in st  # anonymous: no viewer flags
    mine = (await fans[0].get("/api/v1/trends/statuses")).json()
    assert [s["id"] for s in mine] == ids and mine[0]["favourited"] is True
    # A viewer who muted the author doesn't get their posts.
    r = await fans[2].post(f"/api/v1/accounts/{author.id}/mute")
    assert r.status_code == 200
    assert (await fans[2].get("/api/v1/trends/statuses")).json() == []


async def test_links_grouped_by_url_and_ranked_by_distinct_sharers(client):
    people = await users(client, 4)
    for p in people[:3]:
        await p.post_status("Czytajcie https://Example.COM/artykul#sekcja")
    await people[3].post_status("A to inne: https://inny.example/x?y=1 i https://inny.example/x?y=1")
    await people[3].post_status("Mój profil http://testserver/@u3")
    r = await client.get("/api/v1/trends/links")
    assert r.status_code == 200
    cards = r.json()
    assert [c["url"] for c in cards] == ["https://example.com/artykul", "https://inny.example/x?y=1"]
    first = cards[0]
    assert_entity(first, "TrendsLink")
    assert first["provider_name"] == "example.com"
    assert first["type"] == "link" and first["image"] is None
    assert first["history"][0]["accounts"] == "3" and first["history"][0]["uses"] == "3"
    assert cards[1]["history"][0] == {**cards[1]["history"][0], "uses": "1", "accounts": "1"}


async def test_limit_offset_and_link_header(client):
    people = await users(client, 3)
    for i, p in enumerate(people):
        for j in range(i + 1):
            await p.post_status(f"#temat{j}")
    r = await client.get("/api/v1/trends/tags", params={"limit": 2})
    assert [t["name"] for t in r.json()] == ["temat0", "temat1"]
    assert 'rel="next"' in r.headers["link"] and "offset=2" in r.headers["link"]
    r = await client.get("/api/v1/trends/tags", params={"limit": 2, "offset": 2})
    assert [t["name"] for t in r.json()] == ["temat2"]
    assert "link" not in r.headers
    for bad in ({"limit": "abc"}, {"limit": "-5"}, {"offset": "x"}, {"offset": "-1"}, {"limit": "99999"}):
        assert (await client.get("/api/v1/trends/tags", params=bad)).status_code == 200


async def test_rankings_are_cached_for_a_while(client):
    alice = await client.make_user("alice")
    assert (await client.get("/api/v1/trends/tags")).json() == []
    await alice.post_status("#później")
    assert (await client.get("/api/v1/trends/tags")).json() == []  # the cached ranking
    fresh(client)
    assert [t["name"] for t in (await client.get("/api/v1/trends/tags")).json()] == ["później"]


async def test_a_rising_tag_beats_a_steady_one_and_old_posts_fade(client):
    people = await users(client, 3)
    for p in people:
        await p.post_status("#stały i #nowy")
    now = datetime.now(timezone.utc)
    fetch = trends.fetcher(client.app.state.ctx)
    assert [r.accounts_today for r in await trends.rank_tags(fetch, now=now)] == [3, 3]
    # Three days later, the same posts are history: nothing in the last 24 hours.
    assert await trends.rank_tags(fetch, now=now + timedelta(days=3)) == []
    assert await trends.rank_statuses(fetch, now=now + timedelta(days=3)) == []
    assert trends.rising_score(5, 0) > trends.rising_score(1, 0)
    assert trends.rising_score(5, 0) > trends.rising_score(5, 5)
    assert trends.status_score(10, 0, 0, age_hours=1) > trends.status_score(10, 0, 0, age_hours=20)
    assert trends.status_score(0, 1, 0, 1) > trends.status_score(1, 0, 0, 1)


async def test_cache_computes_once_per_ttl():
    cache = trends.TrendsCache(ttl=60)
    calls = []

    async def compute():
        calls.append(time.monotonic())
        return len(calls)

    assert await cache.get("x", compute) == 1
    assert await cache.get("x", compute) == 1
    cache.clear()
    assert await cache.get("x", compute) == 2


def test_doc_names_every_endpoint_and_the_formula():
    from fastapi.routing import APIRoute

    from szpak.api.routes import trends as routes

    doc = (DOCS / "trends.md").read_text(encoding="utf-8")
    for route in routes.router.routes:
        assert isinstance(route, APIRoute)
        for method in route.methods:
            assert f"`{method} {route.path}`" in doc, route.path
    assert "recent² / (baseline + 1)" in doc
