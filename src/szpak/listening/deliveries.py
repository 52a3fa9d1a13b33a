"""Webhook and e-mail deliveries: an outbox in the database and the loop that empties it.

A delivery row is written in the same transaction as what it announces (an alert,
a mention), so nothing accepted is lost in a crash; the deliverer sends due rows,
several at a time, and retries failures with exponential back-off
(``RETRY_BASE`` doubling, at most ``RETRY_MAX`` apart) up to
``settings.delivery_max_attempts``. A claim is a lease (``locked_until``), so a
process that dies mid-send leaves the row to be retried, possibly twice: receivers
should de-duplicate on the ``X-Szpak-Delivery`` header.

The deliverer is its own loop, apart from the job worker that runs the post
pipeline: a webhook target that hangs or fails costs its own delivery a timeout,
never a delay in matching posts.

Webhook requests are ``POST`` with a JSON body and these headers::

    X-Szpak-Event: alert | mention | ping
    X-Szpak-Delivery: <delivery id>
    X-Szpak-Timestamp: <unix seconds>
    X-Szpak-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" under the secret>

A receiver recomputes the HMAC over the timestamp, a dot and the raw body, compares
in constant time, and rejects timestamps more than a few minutes old.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from sqlalchemy import or_, select, update

from szpak.domain.context import Context, Tx
from szpak.listening import mail, webhooks
from szpak.storage.models.listening import Delivery, Organisation, Webhook

log = logging.getLogger(__name__)

RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=2)
LEASE = timedelta(minutes=2)
USER_AGENT = "Szpak-Webhooks/1"


def retry_delay(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failure: 30 s, 1 min, 2 min, … at most 2 h."""
    return min(RETRY_MAX, RETRY_BASE * (2 ** max(0, attempts - 1)))


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, tolerance: float = 300, now: float | None = None) -> bool:
    """What a receiver does (and what tests use)."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - ts) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)


async def enqueue(tx: Tx, organisation_id: int, event: str, payload: dict[str, Any]) -> int:
    """Queue ``event`` for every active webhook of the organisation that wants it, and
    (for alerts, when SMTP is configured) an e-mail to each alert address."""
    s = tx.session
    count = 0
    hooks = await s.scalars(select(Webhook).where(Webhook.organisation_id == organisation_id, Webhook.active.is_(True)))
    for hook in hooks:
        if event in (hook.events or []):
            s.add(Delivery(
                organisation_id=organisation_id, channel="webhook", webhook_id=hook.id, event=event, payload=payload,
                max_attempts=tx.settings.delivery_max_attempts,
            ))
            count += 1
    if event == "alert" and tx.settings.smtp_host:
        org = await s.get(Organisation, organisation_id)
        for address in (org.alert_emails if org else None) or []:
            s.add(Delivery(
                organisation_id=organisation_id, channel="email", recipient=address, event=event, payload=payload,
                max_attempts=tx.settings.delivery_max_attempts,
            ))
            count += 1
    if count:
        await s.flush()
    return count


def webhook_body(delivery_id: int, event: str, payload: dict[str, Any]) -> bytes:
    return orjson.dumps({"event": event, "delivery_id": str(delivery_id), "data": payload})


class Deliverer:
    def __init__(
        self, ctx: Context, *, transport: httpx.AsyncBaseTransport | None = None, concurrency: int = 8,
        batch: int = 50, poll_seconds: float = 2.0,
    ) -> None:
        self.ctx = ctx
        self.transport = transport
        self.concurrency = concurrency
        self.batch = batch
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._client: httpx.AsyncClient | None = None

    def wake(self) -> None:
        self._wake.set()

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            timeout = self.ctx.settings.webhook_timeout_seconds
            self._client = httpx.AsyncClient(
                transport=self.transport, timeout=httpx.Timeout(timeout), follow_redirects=False,
                headers={"User-Agent": USER_AGENT},
            )
        return self._client

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._loop(), name="szpak-deliveries")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=self.ctx.settings.webhook_timeout_seconds + 2)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._task.cancel()
            self._task = None
        await self.close()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                sent = await self.run_once()
            except Exception:
                log.exception("delivery loop iteration failed")
                sent = 0
            if sent:
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()

    async def claim(self, now: datetime | None = None) -> list[Delivery]:
        now = now or datetime.now(timezone.utc)
        async with self.ctx.db.write() as s:
            due = list(await s.scalars(
                select(Delivery)
                .where(
                    Delivery.delivered_at.is_(None), Delivery.failed_at.is_(None), Delivery.next_attempt_at <= now,
                    or_(Delivery.locked_until.is_(None), Delivery.locked_until < now),
                )
                .order_by(Delivery.next_attempt_at, Delivery.id)
                .limit(self.batch)
            ))
            claimed = []
            for d in due:
                res = await s.execute(
                    update(Delivery)
                    .where(Delivery.id == d.id, or_(Delivery.locked_until.is_(None), Delivery.locked_until < now))
                    .values(locked_until=now + LEASE)
                )
                if res.rowcount:
                    claimed.append(d)
            return claimed

    async def run_once(self, now: datetime | None = None) -> int:
        """Attempt every due delivery once; returns how many were attempted."""
        claimed = await self.claim(now)
        if not claimed:
            return 0
        gate = asyncio.Semaphore(self.concurrency)

        async def one(d: Delivery) -> None:
            async with gate:
                await self._attempt(d)

        await asyncio.gather(*(one(d) for d in claimed))
        return len(claimed)

    async def _attempt(self, d: Delivery) -> None:
        status: int | None = None
        error: str | None = None
        hook: Webhook | None = None
        try:
            if d.channel == "webhook":
                async with self.ctx.read() as s:
                    hook = await s.get(Webhook, d.webhook_id) if d.webhook_id else None
                if hook is None or not hook.active:
                    await self._finish(d, None, "webhook removed or disabled", give_up=True)
                    return
                if not self.ctx.settings.webhook_allow_private_targets:
                    parts = urlsplit(hook.url)
                    if await webhooks.resolves_to_private(parts.hostname or "", parts.port):
                        await self._finish(d, None, "target resolves to a non-public address", hook=hook, give_up=True)
                        return
                # Our own deadline too, whatever the transport does with its timeouts.
                status = await asyncio.wait_for(self._post(d, hook), self.ctx.settings.webhook_timeout_seconds + 1)
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
            elif d.channel == "email":
                msg = mail.compose(self.ctx.settings, d.recipient or "", d.event, d.payload)
                timeout = self.ctx.settings.webhook_timeout_seconds * 2
                await asyncio.wait_for(mail.send(self.ctx.settings, msg, timeout=timeout), timeout + 1)
            else:
                error = f"unknown channel {d.channel}"
        except Exception as exc:  # timeouts, refused connections, SMTP errors: retried
            error = f"{type(exc).__name__}: {exc}"[:2000] or type(exc).__name__
        await self._finish(d, status, error, hook=hook)

    async def _post(self, d: Delivery, hook: Webhook) -> int:
        body = webhook_body(d.id, d.event, d.payload)
        ts = int(time.time())
        response = await self._http().post(
            hook.url, content=body,
            headers={
                "Content-Type": "application/json",
                "X-Szpak-Event": d.event,
                "X-Szpak-Delivery": str(d.id),
                "X-Szpak-Timestamp": str(ts),
                "X-Szpak-Signature": sign(hook.secret, ts, body),
            },
        )
        return response.status_code

    async def _finish(
        self, d: Delivery, status: int | None, error: str | None, *, hook: Webhook | None = None, give_up: bool = False
    ) -> None:
        now = datetime.now(timezone.utc)
        attempts = d.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "locked_until": None, "last_status": status, "last_error": error}
        if error is None:
            values["delivered_at"] = now
        elif give_up or attempts >= d.max_attempts:
            values["failed_at"] = now
        else:
            values["next_attempt_at"] = now + retry_delay(attempts)
        async with self.ctx.db.write() as s:
            await s.execute(update(Delivery).where(Delivery.id == d.id).values(**values))
            if hook is not None:
                await s.execute(
                    update(Webhook)
                    .where(Webhook.id == hook.id)
                    .values(
                        last_attempt_at=now, last_status=status, last_error=error,
                        failures=0 if error is None else Webhook.failures + 1,
                    )
                )
        if error is not None:
            log.info("delivery %s (%s) failed, attempt %d: %s", d.id, d.channel, attempts, error)
