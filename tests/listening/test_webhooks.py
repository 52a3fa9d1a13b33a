"""Webhooks and e-mail: managing targets, signed deliveries, retries with back-off,
surviving a restart, never holding up the post pipeline, and alert e-mails over SMTP."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email.header import decode_header, make_header
from typing import Any

import httpx
import orjson
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from szpak.app import create_app
from szpak.listening.deliveries import Deliverer, retry_delay, sign, verify
from szpak.listening.runtime import ListeningRuntime, runtime_for
from szpak.storage.models.listening import Delivery, Webhook

from .conftest import P, add_member, quiet_query, settle, store_mentions, track


class Target:
    """A webhook receiver behind ``httpx.MockTransport``: answers from a script."""

    def __init__(self, *answers: int | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer, json={"ok": answer < 300})

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def use(listening: ListeningRuntime, transport: httpx.AsyncBaseTransport) -> Deliverer:
    listening.deliverer = Deliverer(listening.ctx, transport=transport)
    return listening.deliverer


async def storm(client: Any, *, hook_events: list[str] | None = None, url: str = "https://hooks.example/szpak") -> tuple[Any, str, str, dict[str, Any]]:
    """An organisation with a webhook, a quiet history, then ten posts: a volume alert."""
    ala, org, qid, created = await quiet_query(client)
    r = await ala.post(f"{P}/organisations/{org}/webhooks", json={"url": url, "events": hook_events or ["alert"]})
    assert r.status_code == 200, r.text
    hook = r.json()
    await store_mentions(client, org, qid, [(created + timedelta(minutes=10 * i), "neutral") for i in range(17)])
    fan = await client.make_user("fan")
    for i in range(10):
        await fan.post_status(f"Skarpetkowo, wpis {i}")
    await settle(client)
    return ala, org, qid, hook


async def deliveries(client: Any) -> list[Delivery]:
    async with client.app.state.ctx.read() as s:
        return list(await s.scalars(select(Delivery).order_by(Delivery.id)))


# --- managing webhooks ------------------------------------------------------------------------


async def test_webhook_crud_is_for_owners(client: Any) -> None:
    ala, org, _qid, _ = await quiet_query(client)
    bartek = await client.make_user("bartek")
    await add_member(ala, org, bartek, "agent")
    url = f"{P}/organisations/{org}/webhooks"
    r = await ala.post(url, json={"url": "https://hooks.example/a", "events": ["alert", "mention"], "description": "PR"})
    assert r.status_code == 200, r.text
    hook = r.json()
    assert len(hook["secret"]) >= 32 and hook["events"] == ["alert", "mention"] and hook["active"] is True
    listed = (await ala.get(url)).json()
    assert [h["id"] for h in listed] == [hook["id"]] and listed[0]["secret"] is None
    assert (await ala.get(f"{url}/{hook['id']}")).json()["secret"] is None
    r = await ala.patch(f"{url}/{hook['id']}", json={"rotate_secret": True, "events": ["alert"], "active": False})
    assert r.status_code == 200
    assert r.json()["secret"] not in (None, hook["secret"]) and (r.json()["events"], r.json()["active"]) == (["alert"], False)
    # Agents, outsiders, no token.
    assert (await bartek.get(url)).status_code == 403
    assert (await bartek.post(url, json={"url": "https://x.example/"})).status_code == 403
    assert (await (await client.make_user("obcy")).get(url)).status_code == 403
    assert (await client.get(url)).status_code == 401
    # Bad input.
    for body in ({"url": "ftp://x.example/"}, {"url": "nie adres"}, {"url": "https:///nohost"},
                 {"url": "https://x.example/", "events": ["everything"]}, {"url": "https://x.example/", "events": []}):
        assert (await ala.post(url, json=body)).status_code == 422, body
    assert (await ala.delete(f"{url}/{hook['id']}")).status_code == 200
    assert (await ala.get(f"{url}/{hook['id']}")).status_code == 404


async def test_webhooks_may_not_target_the_servers_own_network(client: Any) -> None:
    ala, org, _qid, _ = await quiet_query(client)
    url = f"{P}/organisations/{org}/webhooks"
    for target in ("http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]/x", "http://10.1.2.3/x",
                   "http://192.168.0.10/x", "http://169.254.169.254/latest/meta-data", "http://[::ffff:127.0.0.1]/x",
                   "http://intranet.local/x", "http://0.0.0.0/x"):
        r = await ala.post(url, json={"url": target})
        assert r.status_code == 422 and "public address" in r.json()["error"], (target, r.text)
    hook = (await ala.post(url, json={"url": "https://93.184.215.14/hook"})).json()
    assert (await ala.patch(f"{url}/{hook['id']}", json={"url": "http://127.0.0.1/x"})).status_code == 422
    # An operator may allow it (e.g. a receiver on the same machine).
    client.app.state.ctx.settings.webhook_allow_private_targets = True
    assert (await ala.post(url, json={"url": "http://127.0.0.1:8080/x"})).status_code == 200


async def test_a_target_that_turns_private_is_refused_at_delivery(client: Any, listening: ListeningRuntime) -> None:
    target = Target(200)
    use(listening, target.transport)
    ala, org, _qid, hook = await storm(client)
    # The URL was public when registered; now it points inside (as a re-pointed DNS name would).
    async with client.app.state.ctx.db.write() as s:
        w = await s.get(Webhook, int(hook["id"]))
        w.url = "http://127.0.0.1:9/hook"
    await listening.deliverer.run_once()
    [d] = [d for d in await deliveries(client) if d.channel == "webhook"]
    assert target.requests == [] and d.failed_at is not None and d.delivered_at is None
    assert "non-public" in (d.last_error or "")


def test_signatures() -> None:
    body = b'{"event":"alert"}'
    signature = sign("tajne", 1_700_000_000, body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify("tajne", "1700000000", body, signature, now=1_700_000_100)
    assert not verify("inne", "1700000000", body, signature, now=1_700_000_100)
    assert not verify("tajne", "1700000000", body + b" ", signature, now=1_700_000_100)
    assert not verify("tajne", "1700000001", body, signature, now=1_700_000_100)  # the timestamp is signed too
    assert not verify("tajne", "1700000000", body, signature, now=1_700_001_000)  # too old
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay(30) == timedelta(hours=2)


# --- deliveries -------------------------------------------------------------------------------


async def test_an_alert_is_posted_signed(client: Any, listening: ListeningRuntime) -> None:
    target = Target(200)
    deliverer = use(listening, target.transport)
    ala, org, qid, hook = await storm(client)
    assert await deliverer.run_once() == 1
    [request] = target.requests
    assert str(request.url) == "https://hooks.example/szpak"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-szpak-event"] == "alert"
    body = request.content
    assert verify(hook["secret"], request.headers["x-szpak-timestamp"], body, request.headers["x-szpak-signature"])
    payload = orjson.loads(body)
    assert payload["event"] == "alert" and payload["delivery_id"] == request.headers["x-szpak-delivery"]
    alerts = (await ala.get(f"{P}/organisations/{org}/alerts")).json()
    assert payload["data"] == alerts[0]
    assert (payload["data"]["kind"], payload["data"]["query"]["id"]) == ("volume", qid)
    [d] = await deliveries(client)
    assert d.delivered_at is not None and d.attempts == 1 and d.last_status == 200
    assert await deliverer.run_once() == 0  # nothing left
    r = await ala.get(f"{P}/organisations/{org}/webhooks/{hook['id']}")
    assert (r.json()["last_status"], r.json()["failures"]) == (200, 0)


async def test_failing_targets_are_retried_with_back_off(client: Any, listening: ListeningRuntime) -> None:
    target = Target(500, httpx.ConnectError("refused"), 200)
    deliverer = use(listening, target.transport)
    ala, org, _qid, hook = await storm(client)
    started = datetime.now(timezone.utc)
    assert await deliverer.run_once() == 1
    [d] = await deliveries(client)
    assert (d.attempts, d.last_status, d.last_error, d.delivered_at) == (1, 500, "HTTP 500", None)
    assert timedelta(seconds=29) < d.next_attempt_at - started < timedelta(seconds=40)
    assert await deliverer.run_once() == 0  # not due yet
    assert await deliverer.run_once(now=started + timedelta(seconds=45)) == 1
    [d] = await deliveries(client)
    assert d.attempts == 2 and "ConnectError" in (d.last_error or "") and d.delivered_at is None
    assert timedelta(seconds=59) < d.next_attempt_at - started < timedelta(seconds=70)
    r = await ala.get(f"{P}/organisations/{org}/webhooks/{hook['id']}")
    assert r.json()["failures"] == 2
    assert await deliverer.run_once(now=started + timedelta(minutes=5)) == 1
    [d] = await deliveries(client)
    assert d.delivered_at is not None and d.attempts == 3
    assert len(target.requests) == 3
    # The same delivery id each time, so the receiver can de-duplicate.
    assert len({r.headers["x-szpak-delivery"] for r in target.requests}) == 1


async def test_a_dead_target_is_given_up_after_the_last_attempt(client: Any, listening: ListeningRuntime) -> None:
    client.app.state.ctx.settings.delivery_max_attempts = 3
    deliverer = use(listening, Target(httpx.ReadTimeout("slow")).transport)
    await storm(client)
    later = datetime.now(timezone.utc)
    for _ in range(3):
        assert await deliverer.run_once(now=later) == 1
        later += timedelta(hours=3)
    [d] = await deliveries(client)
    assert d.failed_at is not None and d.delivered_at is None and d.attempts == 3
    assert await deliverer.run_once(now=later + timedelta(days=1)) == 0


async def test_failing_targets_never_block_the_post_pipeline(client: Any, listening: ListeningRuntime) -> None:
    """The deliverer runs on its own; a target that hangs costs nothing to matching posts."""
    hanging = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        hanging.set()
        await asyncio.sleep(3600)
        return httpx.Response(200)

    class Hang(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return await hang(request)

    client.app.state.ctx.settings.webhook_timeout_seconds = 1.0
    deliverer = use(listening, Hang())
    await deliverer.start()
    try:
        ala, org, qid, _hook = await storm(client, hook_events=["alert", "mention"])
        await asyncio.wait_for(hanging.wait(), 5)  # deliveries are stuck in flight
        fan = await client.make_user("fan2")
        started = time.perf_counter()
        for i in range(20):
            await fan.post_status(f"Skarpetkowo dalej {i}")
        await settle(client)
        elapsed = time.perf_counter() - started
        r = await ala.get(f"{P}/organisations/{org}/mentions", params={"limit": 80})
        assert len(r.json()) == 30
        # Twenty mention deliveries each hang for the 2 s deadline: waiting on them in
        # turn would take 40 s; matching took about 1.5 s here.
        assert elapsed < 10
        # The hanging attempts end at the deliverer's own deadline and wait for a retry.
        await asyncio.sleep(2.5)
        stuck = [d for d in await deliveries(client) if d.attempts]
        assert stuck and all(d.delivered_at is None and "TimeoutError" in (d.last_error or "") for d in stuck)
    finally:
        await deliverer.stop()


async def test_deliveries_survive_a_restart(settings: Any, client: Any, listening: ListeningRuntime) -> None:
    deliverer = use(listening, Target(httpx.ConnectError("down")).transport)
    await storm(client)
    await deliverer.run_once()  # fails; the row waits for its next attempt
    target = Target(204)
    restarted = create_app(settings, migrate=False)
    async with restarted.router.lifespan_context(restarted):
        rt = runtime_for(restarted.state.ctx)
        rt.deliverer = Deliverer(restarted.state.ctx, transport=target.transport)
        assert await rt.deliverer.run_once(now=datetime.now(timezone.utc) + timedelta(minutes=1)) == 1
    assert len(target.requests) == 1 and target.requests[0].headers["x-szpak-event"] == "alert"
    [d] = await deliveries(client)
    assert d.delivered_at is not None and d.attempts == 2


async def test_mention_webhooks(client: Any, listening: ListeningRuntime) -> None:
    target = Target(200)
    deliverer = use(listening, target.transport)
    ala, org, _qid, _ = await quiet_query(client)
    await ala.post(f"{P}/organisations/{org}/webhooks", json={"url": "https://hooks.example/m", "events": ["mention"]})
    fan = await client.make_user("fan")
    post = await fan.post_status("Skarpetkowo ma nową kolekcję")
    await fan.post_status("Nic ciekawego")
    await settle(client)
    assert await deliverer.run_once() == 1
    payload = orjson.loads(target.requests[0].content)
    assert payload["event"] == "mention"
    assert payload["data"]["status"]["id"] == post["id"]
    assert payload["data"]["status"]["url"] == f"http://testserver/@fan/{post['id']}"
    assert payload["data"]["status"]["text"] == "Skarpetkowo ma nową kolekcję"


async def test_ping_and_delivery_log(client: Any, listening: ListeningRuntime) -> None:
    target = Target(200)
    deliverer = use(listening, target.transport)
    ala, org, _qid, _ = await quiet_query(client)
    hook = (await ala.post(f"{P}/organisations/{org}/webhooks", json={"url": "https://hooks.example/p"})).json()
    r = await ala.post(f"{P}/organisations/{org}/webhooks/{hook['id']}/ping")
    assert r.status_code == 200 and r.json()["event"] == "ping"
    await deliverer.run_once()
    log = (await ala.get(f"{P}/organisations/{org}/webhooks/{hook['id']}/deliveries")).json()
    assert [(d["event"], d["attempts"], d["last_status"]) for d in log] == [("ping", 1, 200)]
    assert log[0]["delivered_at"] is not None


async def test_disabled_or_deleted_webhooks_get_nothing(client: Any, listening: ListeningRuntime) -> None:
    target = Target(200)
    deliverer = use(listening, target.transport)
    ala, org, _qid, hook = await storm(client)
    await ala.patch(f"{P}/organisations/{org}/webhooks/{hook['id']}", json={"active": False})
    assert await deliverer.run_once() == 1
    [d] = await deliveries(client)
    assert d.failed_at is not None and d.last_error == "webhook removed or disabled"
    assert target.requests == []


# --- e-mail -----------------------------------------------------------------------------------


class Sink:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_sink() -> Iterator[tuple[Sink, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


async def test_alerts_are_emailed(client: Any, listening: ListeningRuntime, smtp_sink: tuple[Sink, int]) -> None:
    sink, port = smtp_sink
    settings = client.app.state.ctx.settings
    settings.smtp_host, settings.smtp_port, settings.smtp_from = "127.0.0.1", port, "alarmy@szpak.example"
    deliverer = use(listening, Target(200).transport)
    ala, org, qid, created = await quiet_query(client)
    r = await ala.patch(f"{P}/organisations/{org}", json={"alert_emails": ["pr@skarpetkowo.pl", "szef@skarpetkowo.pl"]})
    assert r.status_code == 200
    await store_mentions(client, org, qid, [(created + timedelta(minutes=10 * i), "neutral") for i in range(17)])
    fan = await client.make_user("fan")
    for i in range(10):
        await fan.post_status(f"Skarpetkowo {i}")
    await settle(client)
    assert await deliverer.run_once() == 2
    assert sorted(rcpt for _, rcpts, _ in sink.messages for rcpt in rcpts) == ["pr@skarpetkowo.pl", "szef@skarpetkowo.pl"]
    mail_from, _, raw = sink.messages[0]
    message = message_from_bytes(raw)
    subject = str(make_header(decode_header(message["Subject"])))
    assert mail_from == "alarmy@szpak.example"
    assert subject.startswith("Szpak: gwałtowny wzrost liczby wzmianek") and "@skarpetkowo" in subject
    text = message.get_payload(decode=True).decode()
    assert "Skarpetkowo" in text and "A spike in mentions" in text and f"/listening/{org}" in text
    assert all(d.delivered_at is not None for d in await deliveries(client))


async def test_email_failures_are_retried(client: Any, listening: ListeningRuntime) -> None:
    settings = client.app.state.ctx.settings
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        settings.smtp_host, settings.smtp_port = "127.0.0.1", s.getsockname()[1]
    deliverer = use(listening, Target(200).transport)
    ala, org, qid, created = await quiet_query(client)
    await ala.patch(f"{P}/organisations/{org}", json={"alert_emails": ["pr@skarpetkowo.pl"]})
    await store_mentions(client, org, qid, [(created + timedelta(minutes=10 * i), "neutral") for i in range(17)])
    fan = await client.make_user("fan")
    for i in range(10):
        await fan.post_status(f"Skarpetkowo {i}")
    await settle(client)
    assert await deliverer.run_once() == 1
    [d] = await deliveries(client)
    assert d.channel == "email" and d.delivered_at is None and d.next_attempt_at > datetime.now(timezone.utc)
    assert "Connection" in (d.last_error or "") or "refused" in (d.last_error or "").lower()


async def test_no_email_rows_without_smtp(client: Any, listening: ListeningRuntime) -> None:
    use(listening, Target(200).transport)
    ala, org, qid, created = await quiet_query(client)
    await ala.patch(f"{P}/organisations/{org}", json={"alert_emails": ["pr@skarpetkowo.pl"]})
    await store_mentions(client, org, qid, [(created + timedelta(minutes=10 * i), "neutral") for i in range(17)])
    fan = await client.make_user("fan")
    for i in range(10):
        await fan.post_status(f"Skarpetkowo {i}")
    await settle(client)
    assert len((await ala.get(f"{P}/organisations/{org}/alerts")).json()) == 1
    assert await deliveries(client) == []
    unused = await track(ala, org, "inne")
    assert unused
    async with client.app.state.ctx.read() as s:
        assert list(await s.scalars(select(Webhook))) == []
