"""Polls: made with a status, rendered everywhere the status is, voted in, closed by a job
(docs/api/polls.md)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select, update

from szpak.domain import polls as poll_actions
from szpak.storage.models import Job, Notification, Status
from szpak.storage.models.polls import Poll
from szpak.storage.queries import load_bundle


def poll_body(options: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"options": options or ["tak", "nie", "nie wiem"], "expires_in": 3600, **extra}


async def post_poll(user: Any, text: str = "Pytanie?", **poll: Any) -> dict[str, Any]:
    return await user.post_status(text, poll=poll_body(**poll))


async def expire_now(client: Any, poll_id: str) -> None:
    """Let the poll's time run out: its expires_at and expiry job move into the past."""
    past = datetime.now(timezone.utc) - timedelta(seconds=1)
    async with client.app.state.ctx.tx() as tx:
        await tx.session.execute(update(Poll).where(Poll.id == int(poll_id)).values(expires_at=past))
        jobs = await tx.session.scalars(select(Job).where(Job.kind == poll_actions.EXPIRE_JOB, Job.done_at.is_(None)))
        for job in jobs:
            if int(job.payload["poll_id"]) == int(poll_id):
                job.run_at = past


# -- creating --------------------------------------------------------------------------------


async def test_poll_is_created_with_the_status_as_json(client):
    alice = await client.make_user("alice")
    before = datetime.now(timezone.utc)
    st = await post_poll(alice, multiple=True)
    poll = st["poll"]
    assert poll["options"] == [
        {"title": "tak", "votes_count": 0}, {"title": "nie", "votes_count": 0}, {"title": "nie wiem", "votes_count": 0},
    ]
    assert poll["multiple"] is True and poll["expired"] is False
    assert poll["votes_count"] == 0 and poll["voters_count"] == 0 and poll["emojis"] == []
    expires = datetime.strptime(poll["expires_at"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert abs((expires - before - timedelta(seconds=3600)).total_seconds()) < 5
    # The author counts as having voted (as Mastodon), with no choices of their own.
    assert poll["voted"] is True and poll["own_votes"] == []
    anon = (await client.get(f"/api/v1/statuses/{st['id']}")).json()["poll"]
    assert anon["id"] == poll["id"] and "voted" not in anon and "own_votes" not in anon


@pytest.mark.parametrize("how", ["form", "multipart"])
async def test_poll_from_form_and_multipart_bodies(client, how):
    alice = await client.make_user("alice")
    fields = {
        "status": "Który?", "poll[options][]": ["pierwszy", "drugi"],
        "poll[expires_in]": "300", "poll[multiple]": "true", "poll[hide_totals]": "false",
    }
    if how == "form":
        r = await alice.post("/api/v1/statuses", data=fields)
    else:
        r = await alice.post("/api/v1/statuses", data=fields, files={"unused": ("x.txt", b"x", "text/plain")})
    assert r.status_code == 200, r.text
    poll = r.json()["poll"]
    assert [o["title"] for o in poll["options"]] == ["pierwszy", "drugi"]
    assert poll["multiple"] is True
    assert [o["votes_count"] for o in poll["options"]] == [0, 0]


async def test_a_status_without_a_poll_has_none(client):
    alice = await client.make_user("alice")
    assert (await alice.post_status("bez ankiety"))["poll"] is None


async def test_instance_advertises_the_limits_that_are_enforced(client):
    alice = await client.make_user("alice")
    v1 = (await client.get("/api/v1/instance")).json()["configuration"]["polls"]
    v2 = (await client.get("/api/v2/instance")).json()["configuration"]["polls"]
    assert v1 == v2 == {"max_options": 4, "max_characters_per_option": 50, "min_expiration": 300, "max_expiration": 2629746}
    most = [f"opcja {i}" for i in range(v1["max_options"])]
    ok = {"options": most, "expires_in": v1["min_expiration"]}
    assert (await alice.post("/api/v1/statuses", json={"status": "a", "poll": ok})).status_code == 200
    ok = {"options": ["x" * v1["max_characters_per_option"], "y"], "expires_in": v1["max_expiration"]}
    assert (await alice.post("/api/v1/statuses", json={"status": "a", "poll": ok})).status_code == 200
    bad = [
        ({"options": [*most, "jeszcze"], "expires_in": 600}, "more than 4"),
        ({"options": ["x" * (v1["max_characters_per_option"] + 1), "y"], "expires_in": 600}, "longer than 50"),
        ({"options": ["a", "b"], "expires_in": v1["min_expiration"] - 1}, "too soon"),
        ({"options": ["a", "b"], "expires_in": v1["max_expiration"] + 1}, "too far"),
        ({"options": ["jedna"], "expires_in": 600}, "more than one"),
        ({"options": ["a", "a"], "expires_in": 600}, "duplicate"),
        ({"options": ["a", " "], "expires_in": 600}, "blank"),
        ({"options": ["a", "b"]}, "expires in"),
        ({"options": ["a", "b"], "expires_in": "jutro"}, "expires in"),
        ({"options": ["a", "b"], "expires_in": "1e999"}, "expires in"),
        ({"options": "a,b", "expires_in": 600}, "options"),
        ({"options": [["a"], {"b": 1}], "expires_in": 600}, "options"),
        ({"options": ["a", "b"], "expires_in": 600, "multiple": "może"}, "multiple"),
        ("ankieta", "Poll"),
    ]
    for poll, words in bad:
        r = await alice.post("/api/v1/statuses", json={"status": "a", "poll": poll})
        assert r.status_code == 422, (poll, r.text)
        assert words in r.json()["error"], (poll, r.json())
    statuses = (await alice.get(f"/api/v1/accounts/{alice.id}/statuses")).json()
    assert len(statuses) == 2  # nothing half-made by the refused ones


async def test_poll_and_media_together_are_refused(client):
    alice = await client.make_user("alice")
    r = await alice.post("/api/v1/statuses", json={"status": "a", "poll": poll_body(), "media_ids": ["1"]})
    assert r.status_code == 422 and "media" in r.json()["error"]


# -- reading and voting ----------------------------------------------------------------------


async def test_vote_and_read_back(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    carol = await client.make_user("carol")
    st = await post_poll(alice)
    pid = st["poll"]["id"]
    r = await bob.post(f"/api/v1/polls/{pid}/votes", json={"choices": [1]})
    assert r.status_code == 200, r.text
    poll = r.json()
    assert poll["voted"] is True and poll["own_votes"] == [1]
    assert [o["votes_count"] for o in poll["options"]] == [0, 1, 0]
    assert poll["votes_count"] == 1 and poll["voters_count"] == 1
    # Form body, as a Rails-style array.
    r = await carol.post(f"/api/v1/polls/{pid}/votes", data={"choices[]": "1"})
    assert r.status_code == 200, r.text
    # Each viewer sees their own marks, through every rendering path.
    got = (await carol.get(f"/api/v1/polls/{pid}")).json()
    assert got["own_votes"] == [1] and got["votes_count"] == 2
    for viewer, voted in ((alice, True), (bob, True), (carol, True)):
        assert (await viewer.get(f"/api/v1/statuses/{st['id']}")).json()["poll"]["voted"] is voted
    dave = await client.make_user("dave")
    mine = (await dave.get(f"/api/v1/statuses/{st['id']}")).json()["poll"]
    assert mine["voted"] is False and mine["own_votes"] == [] and mine["votes_count"] == 2
    anon = (await client.get(f"/api/v1/polls/{pid}")).json()
    assert "voted" not in anon and anon["options"][1]["votes_count"] == 2


async def test_cached_renders_follow_votes(client):
    """The status goes through the entity cache: a vote must show up at once."""
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    await bob.follow(alice)
    st = await post_poll(alice)
    for _ in range(2):  # fill the cache
        assert (await bob.get("/api/v1/timelines/home")).json()[0]["poll"]["votes_count"] == 0
    assert (await bob.post(f"/api/v1/polls/{st['poll']['id']}/votes", json={"choices": [0]})).status_code == 200
    home = (await bob.get("/api/v1/timelines/home")).json()[0]["poll"]
    assert home["votes_count"] == 1 and home["own_votes"] == [0]
    public = (await client.get("/api/v1/timelines/public")).json()[0]["poll"]
    assert public["options"][0]["votes_count"] == 1 and "own_votes" not in public


async def test_cached_and_fresh_renders_agree(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    st = await post_poll(alice)
    boost = (await bob.post(f"/api/v1/statuses/{st['id']}/reblog")).json()
    assert (await bob.post(f"/api/v1/polls/{st['poll']['id']}/votes", json={"choices": [2]})).status_code == 200
    app = client.app
    ids = [int(st["id"]), int(boost["id"])]
    for viewer in (None, int(alice.id), int(bob.id)):
        async with app.state.ctx.read() as s:
            cached = await app.state.presenter.statuses(s, ids, viewer)
            rows = [await s.get(Status, i) for i in ids]
            fresh = app.state.renderer.statuses(rows, await load_bundle(s, rows, viewer))
        assert cached == fresh
    assert cached[1]["reblog"]["poll"]["own_votes"] == [2]


async def test_vote_refusals(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    single = (await post_poll(alice))["poll"]["id"]
    multi = (await post_poll(alice, multiple=True))["poll"]["id"]

    async def vote(user: Any, pid: str, choices: Any) -> Any:
        return await user.post(f"/api/v1/polls/{pid}/votes", json={"choices": choices})

    for choices, words in (
        ([5], "does not exist"), ([-1], "does not exist"), (["abc"], "does not exist"), ([], "blank"),
        (None, "blank"), ([0, 2], "already voted"),
    ):
        r = await vote(bob, single, choices)
        assert r.status_code == 422 and words in r.json()["error"], (choices, r.text)
    r = await vote(alice, single, [0])
    assert r.status_code == 422 and "own poll" in r.json()["error"]
    assert (await vote(bob, single, [0])).status_code == 200
    r = await vote(bob, single, [1])
    assert r.status_code == 422 and r.json()["error"] == "Validation failed: You have already voted on this poll"
    r = await vote(bob, multi, [0, 2, 2])
    assert r.status_code == 200 and r.json()["own_votes"] == [0, 2] and r.json()["votes_count"] == 2
    assert r.json()["voters_count"] == 1
    assert (await vote(bob, multi, [1])).status_code == 422
    assert (await vote(bob, "12345", [0])).status_code == 404
    assert (await vote(bob, "nie-id", [0])).status_code == 404
    assert (await client.get("/api/v1/polls/12345")).status_code == 404


async def test_vote_needs_a_token_with_write_statuses(client):
    alice = await client.make_user("alice")
    reader = await client.make_user("reader", scopes="read")
    pid = (await post_poll(alice))["poll"]["id"]
    r = await client.post(f"/api/v1/polls/{pid}/votes", json={"choices": [0]})
    assert r.status_code == 401 and "error" in r.json()
    r = await reader.post(f"/api/v1/polls/{pid}/votes", json={"choices": [0]})
    assert r.status_code == 403
    assert (await reader.get(f"/api/v1/polls/{pid}")).status_code == 200
    writer = await client.make_user("writer", scopes="write:statuses")
    assert (await writer.post(f"/api/v1/polls/{pid}/votes", json={"choices": [0]})).status_code == 200


async def test_a_followers_only_poll_is_hidden_from_others(client):
    alice = await client.make_user("alice")
    follower = await client.make_user("follower")
    stranger = await client.make_user("stranger")
    await follower.follow(alice)
    st = await alice.post_status("Tylko dla swoich", visibility="private", poll=poll_body())
    pid = st["poll"]["id"]
    assert (await client.get(f"/api/v1/polls/{pid}")).status_code == 404
    assert (await stranger.get(f"/api/v1/polls/{pid}")).status_code == 404
    r = await stranger.post(f"/api/v1/polls/{pid}/votes", json={"choices": [0]})
    assert r.status_code == 404
    assert (await follower.get(f"/api/v1/polls/{pid}")).status_code == 200
    assert (await follower.post(f"/api/v1/polls/{pid}/votes", json={"choices": [0]})).status_code == 200
    assert (await alice.get(f"/api/v1/polls/{pid}")).json()["votes_count"] == 1


async def test_hidden_totals_show_only_once_the_poll_ends(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    st = await post_poll(alice, options=["a", "b"], hide_totals=True)
    pid = st["poll"]["id"]
    assert [o["votes_count"] for o in st["poll"]["options"]] == [None, None]
    voted = (await bob.post(f"/api/v1/polls/{pid}/votes", json={"choices": [1]})).json()
    assert [o["votes_count"] for o in voted["options"]] == [None, None]
    assert voted["votes_count"] == 1  # the total is not hidden, as Mastodon
    assert [o["votes_count"] for o in (await alice.get(f"/api/v1/polls/{pid}")).json()["options"]] == [None, None]
    await expire_now(client, pid)
    await client.run_jobs()
    ended = (await alice.get(f"/api/v1/statuses/{st['id']}")).json()["poll"]
    assert ended["expired"] is True
    assert [o["votes_count"] for o in ended["options"]] == [0, 1]


# -- expiry ------------------------------------------------------------------------------------


async def test_expiry_job_closes_the_poll_and_notifies_voters_and_author(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    carol = await client.make_user("carol")
    st = await post_poll(alice)
    pid = st["poll"]["id"]
    assert (await bob.post(f"/api/v1/polls/{pid}/votes", json={"choices": [0]})).status_code == 200
    await client.run_jobs()  # not due yet: nothing happens
    assert (await bob.get("/api/v1/notifications", params={"types[]": "poll"})).json() == []
    # Render once so that a cached copy exists; closing must drop it.
    assert (await client.get(f"/api/v1/statuses/{st['id']}")).json()["poll"]["expired"] is False
    await expire_now(client, pid)
    await client.run_jobs()
    for user in (alice, bob):
        notes = (await user.get("/api/v1/notifications", params={"types[]": "poll"})).json()
        assert [(n["type"], n["status"]["id"], n["account"]["id"]) for n in notes] == [("poll", st["id"], alice.id)]
        assert notes[0]["status"]["poll"]["expired"] is True
    assert (await carol.get("/api/v1/notifications")).json() == []
    assert (await client.get(f"/api/v1/statuses/{st['id']}")).json()["poll"]["expired"] is True
    r = await carol.post(f"/api/v1/polls/{pid}/votes", json={"choices": [1]})
    assert r.status_code == 422 and "ended" in r.json()["error"]
    # A repeated job changes nothing.
    async with client.app.state.ctx.tx() as tx:
        assert await poll_actions.close(tx, int(pid)) is False
    async with client.app.state.ctx.read() as s:
        count = len(list(await s.scalars(select(Notification).where(Notification.type == "poll"))))
    assert count == 2


async def test_a_stale_expiry_job_leaves_a_lengthened_poll_open(client):
    alice = await client.make_user("alice")
    st = await post_poll(alice)
    pid = int(st["poll"]["id"])
    async with client.app.state.ctx.tx() as tx:  # the job is due, but the poll runs longer now
        await tx.session.execute(update(Job).where(Job.kind == poll_actions.EXPIRE_JOB).values(
            run_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    await client.run_jobs()
    assert (await client.get(f"/api/v1/polls/{pid}")).json()["expired"] is False
    assert (await alice.get("/api/v1/notifications")).json() == []


async def test_deleting_the_status_deletes_the_poll(client):
    alice = await client.make_user("alice")
    st = await post_poll(alice)
    r = await alice.delete(f"/api/v1/statuses/{st['id']}")
    assert r.status_code == 200 and r.json()["poll"]["id"] == st["poll"]["id"]
    assert (await client.get(f"/api/v1/polls/{st['poll']['id']}")).status_code == 404
    await expire_now(client, st["poll"]["id"])
    await client.run_jobs()  # the expiry job finds nothing
    assert (await alice.get("/api/v1/notifications")).json() == []


# -- editing -----------------------------------------------------------------------------------


async def test_editing_the_poll(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    st = await post_poll(alice, options=["a", "b"])
    sid, pid = st["id"], st["poll"]["id"]
    assert (await bob.post(f"/api/v1/polls/{pid}/votes", json={"choices": [0]})).status_code == 200

    # Text only: the poll stays as it is, votes and all.
    r = await alice.put(f"/api/v1/statuses/{sid}", json={"status": "Pytanie, poprawione?"})
    assert r.status_code == 200 and r.json()["poll"]["votes_count"] == 1

    # Same options, other settings: votes kept.
    r = await alice.put(f"/api/v1/statuses/{sid}", json={"status": "Pytanie?", "poll": poll_body(["a", "b"], hide_totals=True)})
    assert r.status_code == 200, r.text
    assert r.json()["poll"]["votes_count"] == 1 and r.json()["poll"]["options"][0]["votes_count"] is None

    # New options: the votes go, as Mastodon; bob may vote again.
    r = await alice.put(f"/api/v1/statuses/{sid}", json={"status": "Pytanie?", "poll": poll_body(["c", "d", "e"])})
    poll = r.json()["poll"]
    assert [o["title"] for o in poll["options"]] == ["c", "d", "e"] and poll["votes_count"] == 0
    assert r.json()["edited_at"] is not None
    assert (await bob.get(f"/api/v1/polls/{pid}")).json()["own_votes"] == []
    assert (await bob.post(f"/api/v1/polls/{pid}/votes", json={"choices": [2]})).status_code == 200

    # Bad poll on edit: 422, nothing changed.
    r = await alice.put(f"/api/v1/statuses/{sid}", json={"status": "x", "poll": poll_body(["tylko jedna"])})
    assert r.status_code == 422
    assert (await client.get(f"/api/v1/polls/{pid}")).json()["votes_count"] == 1

    # A poll given as null takes it away.
    r = await alice.put(f"/api/v1/statuses/{sid}", json={"status": "Już bez ankiety", "poll": None})
    assert r.status_code == 200 and r.json()["poll"] is None
    assert (await client.get(f"/api/v1/polls/{pid}")).status_code == 404

    # And an edit may add one to a post without.
    plain = await alice.post_status("zwykły wpis")
    r = await alice.put(f"/api/v1/statuses/{plain['id']}", json={"status": "zwykły wpis", "poll": poll_body()})
    assert r.status_code == 200 and len(r.json()["poll"]["options"]) == 3


async def test_history_shows_each_revisions_poll(client):
    alice = await client.make_user("alice")
    st = await post_poll(alice, options=["a", "b"])
    sid = st["id"]

    async def polls_in_history() -> list[Any]:
        r = await client.get(f"/api/v1/statuses/{sid}/history")
        assert r.status_code == 200, r.text
        return [h["poll"] for h in r.json()]

    # Never edited: one revision, the post itself, with its poll.
    assert await polls_in_history() == [{"options": [{"title": "a"}, {"title": "b"}]}]
    await alice.put(f"/api/v1/statuses/{sid}", json={"status": "Pytanie?", "poll": poll_body(["c", "d", "e"])})
    await alice.put(f"/api/v1/statuses/{sid}", json={"status": "Już bez ankiety", "poll": None})
    assert await polls_in_history() == [
        {"options": [{"title": "a"}, {"title": "b"}]},
        {"options": [{"title": "c"}, {"title": "d"}, {"title": "e"}]},
        None,
    ]
    plain = await alice.post_status("zwykły wpis")
    assert [h["poll"] for h in (await client.get(f"/api/v1/statuses/{plain['id']}/history")).json()] == [None]


async def test_nobody_edits_another_accounts_poll(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    st = await post_poll(alice)
    r = await bob.put(f"/api/v1/statuses/{st['id']}", json={"status": "moje", "poll": poll_body(["x", "y"])})
    assert r.status_code == 403
    assert [o["title"] for o in (await client.get(f"/api/v1/polls/{st['poll']['id']}")).json()["options"]][0] == "tak"


async def test_streamed_payloads_carry_the_poll(client):
    """Streams render one bundle for all recipients (realtime/render.py): the poll is there
    for everyone, the author's marks too; a voter's own marks are left out, not guessed."""
    from szpak.realtime.render import StatusPayloads, load_marks

    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    st = await post_poll(alice)
    assert (await bob.post(f"/api/v1/polls/{st['poll']['id']}/votes", json={"choices": [1]})).status_code == 200
    app = client.app
    async with app.state.ctx.read() as s:
        row = await s.get(Status, int(st["id"]))
        payloads = StatusPayloads(app.state.renderer, row, await load_bundle(s, [row], None), await load_marks(s, [row.id]))
    anon = payloads.rendered(None)[0]["poll"]
    assert anon["options"][1]["votes_count"] == 1 and "voted" not in anon
    author = payloads.rendered(int(alice.id))[0]["poll"]
    assert author["voted"] is True and author["own_votes"] == []
    voter = payloads.rendered(int(bob.id))[0]["poll"]
    assert voter["votes_count"] == 1 and "voted" not in voter and "own_votes" not in voter
