"""Scheduled statuses: kept until their time, published by a durable job that survives a
restart, moved without publishing twice (docs/api/scheduled.md)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from sqlalchemy import select

from szpak.app import create_app
from szpak.domain import scheduled as scheduled_actions
from szpak.storage.models import Job
from szpak.storage.models.scheduled import ScheduledStatus

from .domain_steps import set_user, suspend


def later(**delta: float) -> str:
    at = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(**(delta or {"hours": 1}))
    return at.isoformat()


def parse(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")


async def schedule(user: Any, text: str = "Na później", **fields: Any) -> dict[str, Any]:
    fields.setdefault("scheduled_at", later())
    r = await user.post("/api/v1/statuses", json={"status": text, **fields})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def publish_jobs(app: Any, *, version: int | None = None) -> list[int]:
    """Make the pending publish jobs due now (those for ``version`` only, if given)."""
    now = datetime.now(timezone.utc) - timedelta(seconds=1)
    moved = []
    async with app.state.ctx.tx() as tx:
        jobs = await tx.session.scalars(select(Job).where(Job.kind == scheduled_actions.PUBLISH_JOB, Job.done_at.is_(None)))
        for job in jobs:
            if version is None or job.payload.get("version") == version:
                job.run_at = now
                moved.append(job.id)
    return moved


async def texts(user: Any) -> list[str]:
    return [s["content"] for s in (await user.get(f"/api/v1/accounts/{user.id}/statuses")).json()]


async def test_schedule_returns_a_scheduled_status_not_a_status(client):
    alice = await client.make_user("alice")
    at = later(minutes=10)
    sch = await schedule(
        alice, "Jutro o dziesiątej", scheduled_at=at, visibility="unlisted", spoiler_text="cw", language="pl",
        poll={"options": ["tak", "nie"], "expires_in": 600, "multiple": True},
    )
    assert set(sch) == {"id", "scheduled_at", "params", "media_attachments"}
    assert parse(sch["scheduled_at"]) == datetime.fromisoformat(at)
    p = sch["params"]
    assert p["text"] == "Jutro o dziesiątej" and p["visibility"] == "unlisted" and p["spoiler_text"] == "cw"
    assert p["language"] == "pl" and p["sensitive"] is False and p["media_ids"] is None
    assert p["poll"] == {"options": ["tak", "nie"], "expires_in": 600, "multiple": True, "hide_totals": False}
    assert p["scheduled_at"] is None and p["idempotency"] is None and p["with_rate_limit"] is False
    assert {"in_reply_to_id", "application_id"} <= set(p)
    assert sch["media_attachments"] == []
    assert await texts(alice) == []  # not posted yet
    assert (await alice.get(f"/api/v1/scheduled_statuses/{sch['id']}")).json() == sch
    assert (await alice.get("/api/v1/scheduled_statuses")).json() == [sch]


async def test_form_body_and_offset_times(client):
    alice = await client.make_user("alice")
    at = (datetime.now(timezone(timedelta(hours=2))) + timedelta(hours=3)).replace(microsecond=0)
    r = await alice.post("/api/v1/statuses", data={"status": "z formularza", "scheduled_at": at.isoformat()})
    assert r.status_code == 200, r.text
    assert parse(r.json()["scheduled_at"]) == at
    assert r.json()["scheduled_at"].endswith("Z")


async def test_time_must_be_valid_and_five_minutes_ahead(client):
    alice = await client.make_user("alice")
    for value, message in (
        ("banana", "Record invalid"),
        ("2026-13-45T99:00:00Z", "Record invalid"),
        (12345, "Record invalid"),
        (later(minutes=4), "Validation failed: Scheduled at The scheduled date must be in the future"),
        (later(minutes=-60), "Validation failed: Scheduled at The scheduled date must be in the future"),
    ):
        r = await alice.post("/api/v1/statuses", json={"status": "x", "scheduled_at": value})
        assert r.status_code == 422 and r.json() == {"error": message}, (value, r.text)
    for body, words in (
        ({"status": "", "scheduled_at": later()}, "blank"),
        ({"status": "x", "visibility": "secret", "scheduled_at": later()}, "Visibility"),
        ({"status": "x", "language": "klingoński", "scheduled_at": later()}, "Language"),
        ({"status": "x", "poll": {"options": ["a"], "expires_in": 600}, "scheduled_at": later()}, "Poll"),
    ):
        r = await alice.post("/api/v1/statuses", json=body)
        assert r.status_code == 422 and words in r.json()["error"], (body, r.text)
    r = await alice.post("/api/v1/statuses", json={"status": "x", "in_reply_to_id": "999", "scheduled_at": later()})
    assert r.status_code == 404
    assert (await alice.get("/api/v1/scheduled_statuses")).json() == []


async def test_daily_limit(client):
    alice = await client.make_user("alice")
    day = (datetime.now(timezone.utc) + timedelta(days=3)).replace(hour=1, minute=0, second=0, microsecond=0)
    for i in range(scheduled_actions.DAILY_LIMIT):
        await schedule(alice, f"wpis {i}", scheduled_at=(day + timedelta(minutes=i)).isoformat())
    r = await alice.post("/api/v1/statuses", json={"status": "o jeden za dużo", "scheduled_at": (day + timedelta(hours=5)).isoformat()})
    assert r.status_code == 422 and "limit of 25" in r.json()["error"]
    await schedule(alice, "następnego dnia", scheduled_at=(day + timedelta(days=1)).isoformat())


async def test_only_the_owner_sees_and_changes_it(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    sch = await schedule(alice)
    path = f"/api/v1/scheduled_statuses/{sch['id']}"
    assert (await bob.get(path)).status_code == 404
    assert (await bob.put(path, json={"scheduled_at": later(hours=2)})).status_code == 404
    assert (await bob.delete(path)).status_code == 404
    assert (await bob.get("/api/v1/scheduled_statuses")).json() == []
    assert (await alice.get(path)).json()["scheduled_at"] == sch["scheduled_at"]
    assert (await alice.get("/api/v1/scheduled_statuses/nie-id")).status_code == 404


async def test_tokens_and_scopes(client):
    alice = await client.make_user("alice")
    sch = await schedule(alice)
    path = f"/api/v1/scheduled_statuses/{sch['id']}"
    for method, url in (("GET", "/api/v1/scheduled_statuses"), ("GET", path), ("PUT", path), ("DELETE", path)):
        r = await client.request(method, url)
        assert r.status_code == 401 and "error" in r.json(), (method, url)
    reader = await client.make_user("reader", scopes="read:statuses")
    writer = await client.make_user("writer", scopes="write:statuses")
    assert (await writer.get("/api/v1/scheduled_statuses")).status_code == 403
    assert (await reader.delete(path)).status_code == 403
    assert (await reader.put(path, json={"scheduled_at": later()})).status_code == 403
    r = await reader.post("/api/v1/statuses", json={"status": "x", "scheduled_at": later()})
    assert r.status_code == 403


async def test_pagination_with_link_headers(client):
    alice = await client.make_user("alice")
    made = [await schedule(alice, f"wpis {i}", scheduled_at=later(hours=i + 1)) for i in range(3)]
    r = await alice.get("/api/v1/scheduled_statuses", params={"limit": 2})
    assert [s["id"] for s in r.json()] == [made[2]["id"], made[1]["id"]]
    nxt = r.links["next"]["url"]
    assert f"max_id={made[1]['id']}" in nxt
    r = await alice.get(nxt)
    assert [s["id"] for s in r.json()] == [made[0]["id"]]
    r = await alice.get("/api/v1/scheduled_statuses", params={"min_id": made[0]["id"], "limit": 1})
    assert [s["id"] for s in r.json()] == [made[1]["id"]]


async def test_the_job_publishes_it_through_the_normal_path(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    await bob.follow(alice)
    parent = await bob.post_status("Kto idzie?")
    sch = await schedule(
        alice, "@bob ja idę", in_reply_to_id=parent["id"], poll={"options": ["tak", "nie"], "expires_in": 900},
    )
    assert sch["params"]["in_reply_to_id"] == int(parent["id"])  # an integer, as Mastodon documents it
    await client.run_jobs()  # not due: nothing published
    assert await texts(alice) == []
    await publish_jobs(client.app)
    await client.run_jobs()
    [status] = (await alice.get(f"/api/v1/accounts/{alice.id}/statuses")).json()
    assert "ja idę" in status["content"] and status["in_reply_to_id"] == parent["id"]
    assert [o["title"] for o in status["poll"]["options"]] == ["tak", "nie"]
    expires = parse(status["poll"]["expires_at"])
    assert abs((expires - datetime.now(timezone.utc) - timedelta(seconds=900)).total_seconds()) < 10
    notes = (await bob.get("/api/v1/notifications")).json()
    assert [(n["type"], n["status"]["id"]) for n in notes] == [("mention", status["id"])]
    assert (await bob.get("/api/v1/timelines/home")).json()[0]["id"] == status["id"]
    assert (await alice.get("/api/v1/scheduled_statuses")).json() == []
    assert (await alice.get(f"/api/v1/scheduled_statuses/{sch['id']}")).status_code == 404
    # A repeated job publishes nothing more.
    assert await scheduled_actions.publish(client.app.state.ctx, int(sch["id"]), 0) is None
    assert len(await texts(alice)) == 1


async def test_reschedule_publishes_once_at_the_new_time(client):
    alice = await client.make_user("alice")
    sch = await schedule(alice, "przesunięty")
    new_at = later(hours=5)
    r = await alice.put(f"/api/v1/scheduled_statuses/{sch['id']}", json={"scheduled_at": new_at})
    assert r.status_code == 200 and parse(r.json()["scheduled_at"]) == datetime.fromisoformat(new_at)
    r = await alice.put(f"/api/v1/scheduled_statuses/{sch['id']}", json={"scheduled_at": later(minutes=1)})
    assert r.status_code == 422 and "future" in r.json()["error"]
    r = await alice.put(f"/api/v1/scheduled_statuses/{sch['id']}", json={"scheduled_at": "banana"})
    assert r.status_code == 422 and r.json()["error"] == "Record invalid"
    # The old time comes: its job runs and publishes nothing.
    assert await publish_jobs(client.app, version=0)
    await client.run_jobs()
    assert await texts(alice) == []
    assert len((await alice.get("/api/v1/scheduled_statuses")).json()) == 1
    # The new time comes: published, once.
    assert await publish_jobs(client.app, version=1)
    await client.run_jobs()
    assert len(await texts(alice)) == 1
    await publish_jobs(client.app)
    await client.run_jobs()
    assert len(await texts(alice)) == 1


async def test_cancelled_is_never_published(client):
    alice = await client.make_user("alice")
    sch = await schedule(alice)
    r = await alice.delete(f"/api/v1/scheduled_statuses/{sch['id']}")
    assert r.status_code == 200 and r.json() == {}
    assert (await alice.delete(f"/api/v1/scheduled_statuses/{sch['id']}")).status_code == 404
    await publish_jobs(client.app)
    await client.run_jobs()
    assert await texts(alice) == []


async def test_dropped_when_the_author_can_no_longer_post(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    await schedule(alice)
    await schedule(bob)
    await suspend(client, alice)
    await set_user(client, bob, disabled=True)
    await publish_jobs(client.app)
    await client.run_jobs()
    async with client.app.state.ctx.read() as s:
        assert list(await s.scalars(select(ScheduledStatus))) == []
    carol = await client.make_user("carol")
    assert (await carol.get("/api/v1/timelines/public")).json() == []


async def test_dropped_when_its_reply_target_is_gone(client):
    alice = await client.make_user("alice")
    parent = await alice.post_status("rodzic")
    await schedule(alice, "odpowiedź", in_reply_to_id=parent["id"])
    assert (await alice.delete(f"/api/v1/statuses/{parent['id']}")).status_code == 200
    await publish_jobs(client.app)
    await client.run_jobs()
    assert await texts(alice) == []
    assert (await alice.get("/api/v1/scheduled_statuses")).json() == []


async def test_survives_a_restart(settings):
    """Scheduled in one app; that app stops; a fresh app's worker publishes it."""
    from tests.conftest import Client

    first = create_app(settings, migrate=False)
    async with first.router.lifespan_context(first):
        async with Client(transport=httpx.ASGITransport(app=first), base_url="http://testserver") as client:
            client.app = first
            alice = await client.make_user("alice")
            sch = await schedule(alice, "Po restarcie")
    second = create_app(settings, migrate=False)
    async with second.router.lifespan_context(second):
        await publish_jobs(second)
        ran = 0
        while n := await second.state.worker.run_once():
            ran += n
        assert ran >= 1
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://testserver") as c:
            r = await c.get(f"/api/v1/accounts/{alice.id}/statuses")
            assert [s["content"] for s in r.json()] == ["<p>Po restarcie</p>"]
            r = await c.get(f"/api/v1/scheduled_statuses/{sch['id']}", headers=alice.headers)
            assert r.status_code == 404


async def test_media_are_shown_kept_and_attached_on_publishing(client):
    import io

    from PIL import Image

    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 120, 220)).save(out, format="PNG")
    r = await alice.post("/api/v2/media", files={"file": ("a.png", out.getvalue(), "image/png")})
    assert r.status_code in (200, 202), r.text
    media_id = r.json()["id"]
    at = later(days=2)
    sch = await schedule(alice, "Ze zdjęciem", media_ids=[media_id], scheduled_at=at)
    assert sch["params"]["media_ids"] == [media_id]
    assert [m["id"] for m in sch["media_attachments"]] == [media_id]
    listed = (await alice.get("/api/v1/scheduled_statuses")).json()
    assert [m["id"] for m in listed[0]["media_attachments"]] == [media_id]
    # Someone else's upload, or a poll beside media, is refused.
    r = await bob.post("/api/v1/statuses", json={"status": "cudze", "media_ids": [media_id], "scheduled_at": later()})
    assert r.status_code == 422
    r = await alice.post("/api/v1/statuses", json={
        "status": "oba", "media_ids": [media_id], "poll": {"options": ["a", "b"], "expires_in": 600},
        "scheduled_at": later(),
    })
    assert r.status_code == 422 and "media" in r.json()["error"]
    # The upload's own expiry (a day after upload) comes before the post's time: it stays.
    from szpak.storage.models import MediaAttachment

    async with client.app.state.ctx.tx() as tx:
        upload = await tx.session.get(MediaAttachment, int(media_id))
        upload.created_at = datetime.now(timezone.utc) - timedelta(days=2)  # as if uploaded long ago
        for job in await tx.session.scalars(select(Job).where(Job.kind == "media.expire", Job.done_at.is_(None))):
            if datetime.fromisoformat(at) - job.run_at > timedelta(hours=1):
                job.run_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    await client.run_jobs()
    await publish_jobs(client.app)
    await client.run_jobs()
    [status] = (await alice.get(f"/api/v1/accounts/{alice.id}/statuses")).json()
    assert [m["id"] for m in status["media_attachments"]] == [media_id]
