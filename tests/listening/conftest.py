"""Helpers for the brand-listening tests: organisations, queries, a deterministic
sentiment model, and access to the listening runtime."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import socket
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import update

from szpak.listening.alerts import minute_of
from szpak.listening.classify import Classifier
from szpak.listening.runtime import ListeningRuntime, runtime_for
from szpak.storage.models.listening import Mention, TrackedQuery

P = "/api/szpak/v1"

NEGATIVE = re.compile(r"fataln|dramat|awari|beznadziej|oszust|nie polecam|skandal|hate|awful|terrible|broken", re.I)
POSITIVE = re.compile(r"super|świetn|swietn|polecam|kocham|love|great", re.I)


class KeywordSentiment:
    """A stand-in for the trained model: negative and positive cue words."""

    def __init__(self) -> None:
        self.calls = 0

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        self.calls += 1
        out = []
        for text in texts:
            if NEGATIVE.search(text):
                out.append(("negative", 0.9))
            elif POSITIVE.search(text):
                out.append(("positive", 0.8))
            else:
                out.append(("neutral", 0.6))
        return out


@pytest.fixture
def listening(app: Any) -> ListeningRuntime:
    """The app's listening runtime, with the keyword sentiment model."""
    rt = runtime_for(app.state.ctx)
    rt.classifier = Classifier(KeywordSentiment())
    return rt


async def settle(client: Any) -> None:
    """Run the durable jobs and the sentiment stage until both are idle (what the
    server's worker and labeller loops do on their own)."""
    rt = runtime_for(client.app.state.ctx)
    while True:
        ran = await client.run_jobs()
        labelled = 0
        while n := await rt.labeller.run_once():
            labelled += n
        if not ran and not labelled:
            return


async def make_org(owner: Any, username: str = "skarpetkowo", kind: str = "brand") -> str:
    r = await owner.post(f"{P}/organisations", json={"username": username, "kind": kind, "display_name": username.title()})
    assert r.status_code == 200, r.text
    return r.json()["id"]  # type: ignore[no-any-return]


async def add_member(owner: Any, org: str, member: Any, role: str) -> None:
    r = await owner.post(f"{P}/organisations/{org}/members", json={"account_id": member.id, "role": role})
    assert r.status_code == 200, r.text


async def track(member: Any, org: str, query: str, **extra: Any) -> str:
    r = await member.post(f"{P}/organisations/{org}/queries", json={"query": query, **extra})
    assert r.status_code == 200, r.text
    return r.json()["id"]  # type: ignore[no-any-return]


async def mentions(member: Any, org: str, **params: Any) -> list[dict[str, Any]]:
    r = await member.get(f"{P}/organisations/{org}/mentions", params=params)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


# --- a real server for the live stream (httpx's ASGI transport buffers whole responses) ---


@pytest.fixture
async def live_url(app: Any) -> AsyncIterator[str]:
    """uvicorn serving the test's app in the test's own event loop (so the test can
    drive the job worker with ``client.run_jobs()`` and share the bus)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, lifespan="off", log_level="warning", loop="asyncio", access_log=False, timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[str, Any]]:
    """``(event, data)`` pairs from a server-sent events response."""
    event: str | None = None
    data: list[str] = []
    async for line in response.aiter_lines():
        if line.startswith(":"):
            continue
        if line.startswith("event: "):
            event = line[len("event: "):]
        elif line.startswith("data: "):
            data.append(line[len("data: "):])
        elif line == "" and event is not None:
            yield event, json.loads("".join(data))
            event, data = None, []


# --- live alerts: a query with a history ------------------------------------------------------


FAKE_STATUS_IDS = itertools.count(10**12)


async def quiet_query(client: Any, hours_ago: float = 3) -> tuple[Any, str, str, datetime]:
    ala = await client.make_user("ala")
    org = await make_org(ala)
    qid = await track(ala, org, "Skarpetkowo")
    created = datetime.now(timezone.utc) - timedelta(hours=hours_ago)
    async with client.app.state.ctx.tx() as tx:
        await tx.session.execute(update(TrackedQuery).where(TrackedQuery.id == int(qid)).values(created_at=created))
    return ala, org, qid, created


async def store_mentions(client: Any, org: str, qid: str, moments: list[tuple[datetime, str | None]]) -> list[int]:
    """Mentions as the pipeline would have stored them, at given moments."""
    ids = []
    async with client.app.state.ctx.tx() as tx:
        for i, (moment, sentiment) in enumerate(moments):
            m = Mention(
                organisation_id=int(org), query_id=int(qid), status_id=next(FAKE_STATUS_IDS), author_id=1,
                sentiment=sentiment, posted_at=moment, minute=minute_of(moment),
            )
            tx.session.add(m)
            await tx.session.flush()
            ids.append(m.id)
    return ids
