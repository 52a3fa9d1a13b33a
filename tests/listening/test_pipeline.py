"""Matching inside the post pipeline: what becomes a mention, edits and deletions, the
matcher following query changes in every process, durability across a crash, the
mention lists and statistics, sentiment corrections, and the live stream."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from szpak import cli
from szpak.app import create_app
from szpak.domain.events import Event, EVENT_TYPES, MentionCreated, MentionDeleted
from szpak.listening.classify import Classifier
from szpak.listening.runtime import ListeningRuntime, runtime_for
from szpak.storage.models import Account, Job, Status
from szpak.storage.models.listening import Mention, SentimentCorrection

from .conftest import KeywordSentiment, P, add_member, make_org, mentions, settle, sse_events, track


@pytest.fixture
def events(app: Any) -> list[Event]:
    seen: list[Event] = []
    app.state.ctx.bus.subscribe(seen.append)
    return seen


async def test_a_public_post_becomes_a_mention_in_any_form(client: Any, listening: ListeningRuntime) -> None:
    ala = await client.make_user("ala")
    org = await make_org(ala)
    qid = await track(ala, org, "Skarpetkowo", name="Marka")
    klientka = await client.make_user("klientka")
    for name in ("f1", "f2", "f3"):
        await (await client.make_user(name)).follow(klientka)
    post = await klientka.post_status("Zamówiłam w Skarpetkowie i dramat, paczka zginęła", language="pl")
    await klientka.post_status("Nic o sklepie tutaj")
    assert await client.run_jobs() >= 2
    [m] = await mentions(ala, org)
    # Visible at once; the sentiment follows from the batched sentiment stage.
    assert (m["sentiment"], m["confidence"], m["sentiment_pending"]) == (None, None, True)
    await settle(client)

    [m] = await mentions(ala, org)
    assert m["sentiment_pending"] is False
    assert m["status"]["id"] == post["id"]
    assert m["status"]["account"]["username"] == "klientka"
    assert m["query"] == {"id": qid, "name": "Marka", "category": "other"}
    assert (m["sentiment"], m["confidence"], m["sentiment_corrected"]) == ("negative", 0.9, False)
    assert (m["reach"], m["language"]) == (3, "pl")
    assert (m["terms"], m["forms"]) == (["Skarpetkowo"], ["skarpetkowie"])
    assert m["created_at"] == post["created_at"]
    r = await ala.get(f"{P}/mentions/{m['id']}")
    assert r.status_code == 200 and r.json() == m


async def test_private_and_direct_posts_never_enter_listening(client: Any, listening: ListeningRuntime) -> None:
    ala = await client.make_user("ala")
    org = await make_org(ala)
    await track(ala, org, "Skarpetkowo")
    fan = await client.make_user("fan")
    model = KeywordSentiment()
    listening.classifier = Classifier(model)
    await fan.post_status("Skarpetkowo po cichu", visibility="private")
    await fan.post_status("@ala Skarpetkowo w wiadomości", visibility="direct")
    await settle(client)
    assert await mentions(ala, org) == []
    assert model.calls == 0  # not even classified
    unlisted = await fan.post_status("Skarpetkowo niepublicznie, ale otwarcie", visibility="unlisted")
    await settle(client)
    assert [m["status"]["id"] for m in await mentions(ala, org)] == [unlisted["id"]]


async def test_accounts_that_opt_out_of_indexing_or_are_suspended_are_not_heard(
    client: Any, listening: ListeningRuntime
) -> None:
    ala = await client.make_user("ala")
    org = await make_org(ala)
    await track(ala, org, "Skarpetkowo")
    shy = await client.make_user("shy")
    r = await shy.patch("/api/v1/accounts/update_credentials", json={"indexable": False})
    assert r.status_code == 200 and r.json()["indexable"] is False
    await shy.post_status("Skarpetkowo, ale nie szukajcie mnie")
    bad = await client.make_user("bad")
    async with client.app.state.ctx.tx() as tx:
        await tx.session.execute(update(Account).where(Account.id == int(bad.id)).values(suspended_at=datetime.now(timezone.utc)))
    # (A suspended account's token no longer works, so its post is created directly.)
    from szpak.domain.statuses import StatusDraft, create_status

    async with client.app.state.ctx.tx() as tx:
        author = await tx.session.get(Account, int(bad.id))
        await create_status(tx, author, StatusDraft(text="Skarpetkowo spam"))
    await settle(client)
    assert await mentions(ala, org) == []


async def test_an_author_who_opts_out_later_leaves_the_lists(client: Any, listening: ListeningRuntime) -> None:
    ala = await client.make_user("ala")
    org = await make_org(ala)
    await track(ala, org, "Skarpetkowo")
    fan = await client.make_user("fan")
    await fan.post_status("Skarpetkowo wczoraj")
    await settle(client)
    assert len(await mentions(ala, org)) == 1
    await fan.patch("/api/v1/accounts/update_credentials", json={"indexable": False})
    assert await mentions(ala, org) == []


async def test_reblogs_are_not_mentions_twice(client: Any, listening: ListeningRuntime) -> None:
    ala = await client.make_user("ala")
    org = await make_org(ala)
    await track(ala, org, "Skarpetkowo")
    fan = await client.make_user("fan")
    booster = await client.make_user("booster")
    post = await fan.post_status("Skarpetkowo ma promocję")
    assert (await booster.post(f"/api/v1/statuses/{post['id']}/reblog")).status_code == 200
    await settle(client)
    assert [m["status"]["id"] for m in await mentions(ala, org)] == [post["id"]]


async def test_one_post_many_organisations(client: Any, listening: ListeningRuntime) -> None:
    ala = await client.make_user("ala")
    ola = await client.make_user("ola")
    sklep = await make_org(ala, "sklep")
    bank = await make_org(ola, "bank")
    q1 = await track(ala, sklep, "Skarpetkowo")
    q2 = await track(ala, sklep, "skarpeta")
    q3 = await track(ola, bank, "Skarpetkowo OR kredyt")
    fan = await client.make_user("fan")
    post = await fan.post_status("Wziąłem kredyt na skarpetki ze Skarpetkowa")
    await settle(client)
    assert sorted(m["query"]["id"] for m in await mentions(ala, sklep)) == sorted([q1, q2])
    bank_mentions = await mentions(ola, bank)
    assert [m["query"]["id"] for m in bank_mentions] == [q3]
    assert sorted(bank_mentions[0]["forms"]) == ["kredyt", "skarpetkowa"]
    # Each organisation sees only its own mentions.
    foreign = (await mentions(ala, sklep))[0]["id"]
    assert (await ola.get(f"{P}/mentions/{foreign}")).status_code == 404
    assert (await ola.get(f"{P}/organisations/{sklep}/mentions")).status_code == 403
    assert all(m["status"]["id"] == post["id"] for m in bank_mentions)


async def test_edits_are_rematched(client: Any, listening: ListeningRuntime, events: list[Event]) -> None:
    ala = await client.make_user("ala")
    org = await make_org(ala)
    brand = await track(ala, org, "Skarpetkowo")
    product = await track(ala, org, '"skarpetki antyzapachowe"')
    fan = await client.make_user("fan")
    post = await fan.post_status("Skarpetkowo, świetna obsługa")
    await settle(client)
    [m] = await mentions(ala, org)
    assert (m["query"]["id"], m["sentiment"]) == (brand, "positive")

    r = await fan.put(f"/api/v1/statuses/{post['id']}", json={"status": "Skarpetkowo: skarpetki antyzapachowe to dramat"})
    assert r.status_code == 200
    await settle(client)
    found = {x["query"]["id"]: x for x in await mentions(ala, org)}
    assert set(found) == {brand, product}
    assert found[brand]["id"] == m["id"]  # the same mention, re-matched
    assert found[brand]["sentiment"] == "negative"

    r = await fan.put(f"/api/v1/statuses/{post['id']}", json={"status": "Już nic nie piszę o sklepie"})
    await settle(client)
    assert await mentions(ala, org) == []
    assert {type(e) for e in events} >= {MentionCreated, MentionDeleted}


async def test_deleted_posts_leave_the_lists(client: Any, listening: ListeningRuntime, events: list[Event]) -> None:
    ala = await client.make_user("ala")
    org = await make_org(ala)
    await track(ala, org, "Skarpetkowo")
    await track(ala, org, "skarpeta")
    fan = await client.make_user("fan")
    post = await fan.post_status("Skarpetkowo i skarpety")
    await settle(client)
    assert len(await mentions(ala, org)) == 2
    assert (await fan.delete(f"/api/v1/statuses/{post['id']}")).status_code == 200
    assert await mentions(ala, org) == []  # at once, before the job runs
    await settle(client)
    async with client.app.state.ctx.read() as s:
        assert await s.scalar(select(func.count()).select_from(Mention)) == 0
    deleted = [e for e in events if isinstance(e, MentionDeleted)]
    assert sorted(str(e.status_id) for e in deleted) == [post["id"], post["id"]]


async def test_the_matcher_follows_query_changes_in_every_process(client: Any, listening: ListeningRuntime) -> None:
    ala = await client.make_user("ala")
    org = await make_org(ala)
    fan = await client.make_user("fan")
    # Another process on the same database: its own runtime and matcher.
    other = ListeningRuntime(client.app.state.ctx)
    other.classifier = Classifier(KeywordSentiment())
    await fan.post_status("Orlen podniósł ceny")
    await settle(client)
    qid = await track(ala, org, "Orlen")
    p1 = await fan.post_status("Na Orlenie drogo")
    await settle(client)
    assert [m["status"]["id"] for m in await mentions(ala, org)] == [p1["id"]]  # no backfill of older posts
    p2 = await fan.post_status("Orlenu nie lubię")
    out = await other.pipeline.process(int(p2["id"]))
    assert len(out.created) == 1
    assert other.matchers.version == listening.matchers.version

    await ala.patch(f"{P}/organisations/{org}/queries/{qid}", json={"query": "Lotos"})
    p3 = await fan.post_status("Orlen znowu")
    p4 = await fan.post_status("Lotos znowu")
    assert (await other.pipeline.process(int(p3["id"]))).created == []
    assert len((await other.pipeline.process(int(p4["id"]))).created) == 1
    await ala.delete(f"{P}/organisations/{org}/queries/{qid}")
    p5 = await fan.post_status("Lotos raz jeszcze")
    assert (await other.pipeline.process(int(p5["id"]))).created == []
    await other.stop()


async def test_handling_a_job_twice_makes_one_mention(client: Any, listening: ListeningRuntime) -> None:
    ala = await client.make_user("ala")
    org = await make_org(ala)
    await track(ala, org, "Skarpetkowo")
    fan = await client.make_user("fan")
    post = await fan.post_status("Skarpetkowo")
    await settle(client)
    again = await listening.pipeline.process(int(post["id"]))
    assert again.created == [] and len(again.updated) == 1
    assert len(await mentions(ala, org)) == 1


async def test_a_crash_loses_no_mention_of_an_acknowledged_post(settings: Any, client: Any) -> None:
    """Posts answered with 200, then the process dies before the worker ran: a new
    process finds the jobs and makes the mentions."""
    ala = await client.make_user("ala")
    org = await make_org(ala)
    await track(ala, org, "Skarpetkowo")
    fan = await client.make_user("fan")
    acknowledged = [(await fan.post_status(f"Skarpetkowo numer {i}"))["id"] for i in range(3)]
    # A worker that claimed one job and died: the lease is taken.
    claimed = await client.app.state.worker.claim()
    assert claimed
    async with client.app.state.ctx.tx() as tx:  # ... and runs out (as after LEASE)
        await tx.session.execute(update(Job).values(locked_until=datetime.now(timezone.utc) - timedelta(seconds=1)))

    restarted = create_app(settings, migrate=False)
    async with restarted.router.lifespan_context(restarted):
        rt = runtime_for(restarted.state.ctx)
        rt.classifier = Classifier(KeywordSentiment())
        while await restarted.state.worker.run_once():
            pass
        while await rt.labeller.run_once():
            pass
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=restarted), base_url="http://testserver") as c:
            r = await c.get(f"{P}/organisations/{org}/mentions", headers=ala.headers)
    assert sorted(m["status"]["id"] for m in r.json()) == sorted(acknowledged)
    assert all(m["sentiment"] == "neutral" for m in r.json())


async def test_mentions_waiting_for_a_label_are_labelled_after_a_crash(settings: Any, client: Any) -> None:
    """Stored, then the process died before the sentiment stage ran: the sweep finds them."""
    ala = await client.make_user("ala")
    org = await make_org(ala)
    await track(ala, org, "Skarpetkowo")
    fan = await client.make_user("fan")
    await fan.post_status("Skarpetkowo to dramat")
    await client.run_jobs()  # stored, not labelled
    restarted = create_app(settings, migrate=False)
    async with restarted.router.lifespan_context(restarted):
        rt = runtime_for(restarted.state.ctx)
        rt.classifier = Classifier(KeywordSentiment())
        assert await rt.labeller.run_once() == 0  # nothing queued in this process
        assert await rt.labeller.sweep(older_than=timedelta(0)) == 1
        assert await rt.labeller.run_once() == 1
    [m] = await mentions(ala, org)
    assert (m["sentiment"], m["sentiment_pending"]) == ("negative", False)


async def test_without_a_sentiment_model_mentions_are_still_stored(client: Any, listening: ListeningRuntime) -> None:
    class Broken:
        def predict(self, texts: Any) -> Any:
            raise RuntimeError("model file missing")

    listening.classifier = Classifier(Broken())
    ala = await client.make_user("ala")
    org = await make_org(ala)
    await track(ala, org, "Skarpetkowo")
    fan = await client.make_user("fan")
    await fan.post_status("Skarpetkowo")
    await settle(client)
    [m] = await mentions(ala, org)
    assert (m["sentiment"], m["confidence"]) == (None, None)
    assert [x["id"] for x in await mentions(ala, org, sentiment="unknown")] == [m["id"]]


async def test_mention_events_round_trip_for_the_redis_bus() -> None:
    event = MentionCreated(mention_id=1, organisation_id=2, query_id=3, status_id=4, sentiment="neutral")
    assert Event.from_dict(event.to_dict()) == event
    assert {"mention.created", "mention.updated", "mention.deleted", "listening.alert"} <= set(EVENT_TYPES)


# --- lists and statistics -------------------------------------------------------------------


async def _backdate(client: Any, status_id: str, moment: datetime) -> None:
    async with client.app.state.ctx.tx() as tx:
        await tx.session.execute(update(Status).where(Status.id == int(status_id)).values(created_at=moment))


async def test_mention_filters_and_pagination(client: Any, listening: ListeningRuntime) -> None:
    ala = await client.make_user("ala")
    org = await make_org(ala)
    brand = await track(ala, org, "Skarpetkowo")
    rival = await track(ala, org, "Skarpex", category="competitor")
    fan = await client.make_user("fan")
    texts = [
        "Skarpetkowo super", "Skarpetkowo dramat", "Skarpex dramat", "Skarpetkowo zwykły dzień",
        "Skarpex polecam", "Skarpetkowo awaria strony",
    ]
    ids = [(await fan.post_status(t, language="pl"))["id"] for t in texts]
    await fan.post_status("Skarpex in English", language="en")
    await settle(client)

    everything = await mentions(ala, org)
    assert len(everything) == 7
    assert [m["status"]["id"] for m in everything][1:] == list(reversed(ids))  # newest first
    assert {m["status"]["id"] for m in await mentions(ala, org, query_id=rival)} == {ids[2], ids[4], everything[0]["status"]["id"]}
    negative = await mentions(ala, org, sentiment="negative", query_id=brand)
    assert [m["status"]["id"] for m in negative] == [ids[5], ids[1]]
    assert len(await mentions(ala, org, language="en")) == 1
    assert (await ala.get(f"{P}/organisations/{org}/mentions", params={"sentiment": "angry"})).status_code == 422
    assert (await ala.get(f"{P}/organisations/{org}/mentions", params={"query_id": "x"})).status_code == 422
    assert (await ala.get(f"{P}/organisations/{org}/mentions", params={"since": "yesterday"})).status_code == 422

    # Pagination: Link header, then max_id.
    r = await ala.get(f"{P}/organisations/{org}/mentions", params={"limit": 3})
    assert len(r.json()) == 3 and 'rel="next"' in r.headers["link"]
    older = await mentions(ala, org, limit=3, max_id=r.json()[-1]["id"])
    assert [m["id"] for m in older] == [m["id"] for m in everything[3:6]]
    newer = await mentions(ala, org, min_id=everything[2]["id"])
    assert [m["id"] for m in newer] == [m["id"] for m in everything[:2]]


async def test_since_until_and_stats(client: Any, listening: ListeningRuntime) -> None:
    ala = await client.make_user("ala")
    org = await make_org(ala)
    qid = await track(ala, org, "Skarpetkowo")
    fan = await client.make_user("fan")
    base = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    plan = [(0, "super"), (5, "dramat"), (65, "dramat"), (66, "zwykły"), (125, "awaria")]
    for minutes, word in plan:
        post = await fan.post_status(f"Skarpetkowo {word}")
        await _backdate(client, post["id"], base + timedelta(minutes=minutes))
    await settle(client)

    window = await mentions(ala, org, since="2024-05-01T13:00:00Z", until="2024-05-01T14:00:00Z")
    assert len(window) == 2
    r = await ala.get(
        f"{P}/organisations/{org}/mentions/stats",
        params={"since": "2024-05-01T12:00:00Z", "until": "2024-05-01T15:00:00Z", "query_id": qid},
    )
    assert r.status_code == 200, r.text
    stats = r.json()
    assert stats["bucket"] == "hour"
    assert [(b["start"], b["total"], b["negative"], b["positive"], b["neutral"]) for b in stats["buckets"]] == [
        ("2024-05-01T12:00:00.000Z", 2, 1, 1, 0),
        ("2024-05-01T13:00:00.000Z", 2, 1, 0, 1),
        ("2024-05-01T14:00:00.000Z", 1, 1, 0, 0),
    ]
    assert stats["totals"]["total"] == 5 and stats["totals"]["negative"] == 3
    r = await ala.get(
        f"{P}/organisations/{org}/mentions/stats",
        params={"bucket": "minute", "since": "2024-05-01T12:00:00Z", "until": "2024-05-01T12:10:00Z"},
    )
    assert [b["total"] for b in r.json()["buckets"]] == [1, 0, 0, 0, 0, 1, 0, 0, 0, 0]
    r = await ala.get(f"{P}/organisations/{org}/mentions/stats", params={"bucket": "minute", "since": "2024-01-01T00:00:00Z"})
    assert r.status_code == 422 and "buckets" in r.json()["error"]
    assert (await ala.get(f"{P}/organisations/{org}/mentions/stats", params={"bucket": "week"})).status_code == 422
    r = await ala.get(f"{P}/organisations/{org}/mentions/stats", params={"since": "2024-05-02T00:00:00Z", "until": "2024-05-01T00:00:00Z"})
    assert r.status_code == 422


# --- sentiment corrections ------------------------------------------------------------------


async def test_members_correct_sentiment_and_corrections_export(
    client: Any, listening: ListeningRuntime, monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ala = await client.make_user("ala")
    bartek = await client.make_user("bartek")
    celina = await client.make_user("celina")
    obcy = await client.make_user("obcy")
    org = await make_org(ala)
    await add_member(ala, org, bartek, "agent")
    await add_member(ala, org, celina, "analyst")
    await track(ala, org, "Skarpetkowo")
    fan = await client.make_user("fan")
    post = await fan.post_status("Skarpetkowo\tznowu\nto samo, no comment")
    await settle(client)
    [m] = await mentions(ala, org)
    assert m["sentiment"] == "neutral"

    url = f"{P}/mentions/{m['id']}/sentiment"
    assert (await celina.put(url, json={"sentiment": "negative"})).status_code == 403
    assert (await obcy.put(url, json={"sentiment": "negative"})).status_code == 404
    assert (await client.put(url, json={"sentiment": "negative"})).status_code == 401
    assert (await bartek.put(url, json={"sentiment": "angry"})).status_code == 422
    r = await bartek.put(url, json={"sentiment": "negative"})
    assert r.status_code == 200, r.text
    assert (r.json()["sentiment"], r.json()["sentiment_corrected"], r.json()["confidence"]) == ("negative", True, 1.0)
    # An edit re-matches but keeps the member's label.
    await fan.put(f"/api/v1/statuses/{post['id']}", json={"status": "Skarpetkowo super, jednak"})
    await settle(client)
    assert (await mentions(ala, org))[0]["sentiment"] == "negative"
    await ala.put(url, json={"sentiment": "positive"})
    async with client.app.state.ctx.read() as s:
        rows = list(await s.scalars(select(SentimentCorrection).order_by(SentimentCorrection.id)))
    assert [(r.label, r.previous_label, str(r.member_id)) for r in rows] == [
        ("negative", "neutral", bartek.id), ("positive", "negative", ala.id),
    ]

    monkeypatch.setenv("SZPAK_DATABASE_URL", database_url)
    monkeypatch.setenv("SZPAK_DATA_DIR", str(tmp_path))
    out = tmp_path / "corrections.tsv"
    code = await asyncio.to_thread(cli.main, ["listening", "export-corrections", str(out)])
    assert code == 0
    # One line per post (the latest label), tabs and newlines flattened.
    assert out.read_text(encoding="utf-8") == "positive\tSkarpetkowo super, jednak\n"
    assert "wrote 1 corrections" in capsys.readouterr().err


# --- the live stream ------------------------------------------------------------------------


async def test_live_stream_delivers_mentions(client: Any, listening: ListeningRuntime, live_url: str) -> None:
    ala = await client.make_user("ala")
    bartek = await client.make_user("bartek")
    obcy = await client.make_user("obcy")
    org = await make_org(ala)
    await add_member(ala, org, bartek, "analyst")
    qid = await track(ala, org, "Skarpetkowo")
    other_q = await track(ala, org, "Skarpex")
    fan = await client.make_user("fan")
    stream = f"{live_url}{P}/organisations/{org}/listening/stream"
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.get(stream, headers=obcy.headers)
        assert r.status_code == 403
        assert (await http.get(stream)).status_code == 401
        async with http.stream("GET", stream, params={"access_token": bartek.token}) as everything, \
                http.stream("GET", stream, headers=ala.headers, params={"query_id": other_q}) as filtered:
            assert everything.status_code == 200
            assert everything.headers["content-type"].startswith("text/event-stream")
            post = await fan.post_status("Skarpetkowo, dramat z dostawą")
            other = await fan.post_status("Skarpex też")
            await settle(client)
            received = sse_events(everything)
            seen: list[tuple[str, dict[str, Any]]] = []
            while len({d["id"] for k, d in seen if not d["sentiment_pending"]}) < 2:
                seen.append(await asyncio.wait_for(received.__anext__(), 5))
            # Each mention arrives first as "mention" (perhaps still waiting for its
            # label), then as "mention.update" once the sentiment stage labelled it.
            kinds: dict[str, list[str]] = {}
            for kind, data in seen:
                kinds.setdefault(data["status"]["id"], []).append(kind)
            assert set(kinds) == {post["id"], other["id"]}
            for sequence in kinds.values():
                assert sequence[0] == "mention" and all(k == "mention.update" for k in sequence[1:])
            latest = {d["status"]["id"]: d for _, d in seen}
            assert (latest[post["id"]]["query"]["id"], latest[post["id"]]["sentiment"]) == (qid, "negative")
            assert (latest[other["id"]]["query"]["id"], latest[other["id"]]["sentiment"]) == (other_q, "neutral")
            kind, data = await asyncio.wait_for(sse_events(filtered).__anext__(), 5)
            assert (kind, data["query"]["id"]) == ("mention", other_q)
            # Deletions are pushed too.
            await fan.delete(f"/api/v1/statuses/{post['id']}")
            await settle(client)
            kind = ""
            while kind != "mention.delete":  # (label updates already sent may come first)
                kind, data = await asyncio.wait_for(received.__anext__(), 5)
                assert kind in ("mention.update", "mention.delete")
            assert data["status_id"] == post["id"]
            await received.aclose()


async def test_the_shipped_model_runs_in_a_child_process() -> None:
    """In a server the model runs apart from the event loop; an injected one stays here."""
    shipped = Classifier()
    shipped.use_process()
    try:
        out = await shipped.predict_async(["Świetny sklep, polecam każdemu", "Dramat, paczka zginęła, nigdy więcej"])
    finally:
        await shipped.close()
    assert [label for label, _ in out] == ["positive", "negative"]
    assert all(0.5 < (confidence or 0) <= 1 for _, confidence in out)
    injected = Classifier(KeywordSentiment())
    injected.use_process()
    assert await injected.predict_async(["dramat"]) == [("negative", 0.9)]
    await injected.close()
