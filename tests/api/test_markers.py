"""/api/v1/markers: save and read positions; versions count updates."""

from __future__ import annotations

import asyncio

import pytest

from .mastodon_schema import assert_entity


async def test_save_and_read_back_with_versions(client):
    alice = await client.make_user("alice")
    assert (await alice.get("/api/v1/markers")).json() == {}
    assert (await alice.get("/api/v1/markers?timeline[]=home")).json() == {}

    r = await alice.post("/api/v1/markers", json={"home": {"last_read_id": "103"}})
    assert r.status_code == 200, r.text
    home = r.json()["home"]
    assert list(r.json()) == ["home"]
    assert_entity(home, "Marker")
    assert home["last_read_id"] == "103" and home["version"] == 0

    r = await alice.post("/api/v1/markers", json={"home": {"last_read_id": "110"}, "notifications": {"last_read_id": 7}})
    assert r.json()["home"]["version"] == 1 and r.json()["home"]["last_read_id"] == "110"
    assert r.json()["notifications"] == {**r.json()["notifications"], "last_read_id": "7", "version": 0}

    r = await alice.get("/api/v1/markers?timeline[]=home&timeline[]=notifications")
    assert set(r.json()) == {"home", "notifications"}
    assert r.json()["home"]["last_read_id"] == "110" and r.json()["home"]["version"] == 1
    only = (await alice.get("/api/v1/markers?timeline=notifications")).json()
    assert list(only) == ["notifications"]
    assert (await alice.get("/api/v1/markers?timeline[]=public")).json() == {}


async def test_form_and_multipart_bodies(client):
    alice = await client.make_user("alice")
    r = await alice.post("/api/v1/markers", data={"notifications[last_read_id]": "55"})
    assert r.status_code == 200, r.text
    assert r.json()["notifications"]["last_read_id"] == "55"
    r = await alice.post("/api/v1/markers", files={"home[last_read_id]": (None, "66")})
    assert r.status_code == 200, r.text
    assert r.json()["home"]["last_read_id"] == "66"
    # An empty body saves nothing (Mastodon answers an empty object too).
    r = await alice.post("/api/v1/markers", json={})
    assert r.status_code == 200 and r.json() == {}


async def test_markers_are_per_user(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    await alice.post("/api/v1/markers", json={"home": {"last_read_id": "5"}})
    assert (await bob.get("/api/v1/markers?timeline[]=home")).json() == {}
    r = await bob.post("/api/v1/markers", json={"home": {"last_read_id": "9"}})
    assert r.json()["home"]["version"] == 0
    assert (await alice.get("/api/v1/markers?timeline[]=home")).json()["home"]["last_read_id"] == "5"


async def test_concurrent_saves_each_count_once(client):
    alice = await client.make_user("alice")
    await alice.post("/api/v1/markers", json={"home": {"last_read_id": "1"}})
    results = await asyncio.gather(
        *[alice.post("/api/v1/markers", json={"home": {"last_read_id": str(100 + i)}}) for i in range(8)]
    )
    assert all(r.status_code == 200 for r in results)
    assert sorted(r.json()["home"]["version"] for r in results) == list(range(1, 9))
    final = (await alice.get("/api/v1/markers?timeline[]=home")).json()["home"]
    assert final["version"] == 8


@pytest.mark.parametrize(
    "payload",
    [
        {"home": {"last_read_id": "abc"}},
        {"home": {"last_read_id": "1e5"}},
        {"home": {"last_read_id": "-3"}},
        {"home": {}},
        {"home": "12"},
        {"notifications": {"last_read_id": "99999999999999999999999"}},
    ],
)
async def test_bad_positions_are_rejected(client, payload):
    alice = await client.make_user("alice")
    r = await alice.post("/api/v1/markers", json=payload)
    assert r.status_code == 422, r.text
    assert "error" in r.json()
    assert (await alice.get("/api/v1/markers?timeline[]=home&timeline[]=notifications")).json() == {}


async def test_malformed_json_is_400(client):
    alice = await client.make_user("alice")
    headers = {**alice.headers, "Content-Type": "application/json"}
    r = await client.post("/api/v1/markers", content=b"{nope", headers=headers)
    assert r.status_code == 400


async def test_scopes_and_tokens(client):
    assert (await client.get("/api/v1/markers")).status_code == 401
    assert (await client.post("/api/v1/markers", json={"home": {"last_read_id": "1"}})).status_code == 401
    writer = await client.make_user("writer", scopes="write")
    reader = await client.make_user("reader", scopes="read")
    assert (await writer.get("/api/v1/markers?timeline[]=home")).status_code == 403
    assert (await reader.post("/api/v1/markers", json={"home": {"last_read_id": "1"}})).status_code == 403
    narrow = await client.make_user("narrow", scopes="read:statuses write:statuses")
    assert (await narrow.post("/api/v1/markers", json={"home": {"last_read_id": "1"}})).status_code == 200
    assert (await narrow.get("/api/v1/markers?timeline[]=home")).status_code == 200
