"""An acknowledged write is durable: SIGKILL the server under write load, start it again
on the same database, and every post that was answered 200 must be there.

On SQLite (WAL, ``synchronous=NORMAL``) and, when ``SZPAK_TEST_DATABASE_URL`` is set,
on a fresh PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from .server import PG_URL, Server, create_pg_database, drop_pg_database, seed_users

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e-durability")]

WRITERS = 8
#: Kill once this many posts were acknowledged (or after KILL_AFTER seconds).
KILL_AT = 80
KILL_AFTER = 20.0  # a loaded CI machine may need long to warm up (morfeusz, first queries)


@dataclass
class Load:
    """What the clients saw: acknowledged posts, and requests cut off by the kill."""

    acked: dict[str, str] = field(default_factory=dict)  # status id -> text
    cut_off: int = 0
    other_failures: list[str] = field(default_factory=list)
    killed: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'durable.sqlite3'}"
        return
    if not PG_URL:
        pytest.skip("SZPAK_TEST_DATABASE_URL is not set")
    name = f"szpak_durable_{uuid.uuid4().hex[:10]}"
    url = await create_pg_database(name)
    try:
        yield url
    finally:
        await drop_pg_database(name)


async def writer(base_url: str, token: str, number: int, load: Load) -> None:
    """Post as fast as the server answers, until the server is gone."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30.0) as client:
        i = 0
        while True:
            text = f"trwały wpis {number}-{i}"
            try:
                r = await client.post("/api/v1/statuses", json={"status": text})
            except httpx.TransportError:
                if load.killed.is_set():
                    load.cut_off += 1
                else:
                    load.other_failures.append(f"writer {number}: connection failed before the kill")
                return
            if r.status_code == 200:
                load.acked[r.json()["id"]] = text
            else:
                load.other_failures.append(f"writer {number}: {r.status_code} {r.text[:200]}")
                return
            i += 1


async def kill_under_load(server: Server, load: Load) -> float:
    """SIGKILL the server once enough posts are acknowledged; returns seconds of load."""
    started = time.monotonic()
    while len(load.acked) < KILL_AT and time.monotonic() - started < KILL_AFTER and not load.other_failures:
        await asyncio.sleep(0.01)
    load.killed.set()
    await asyncio.to_thread(server.kill)
    return time.monotonic() - started


async def missing_after_restart(server: Server, token: str, acked: dict[str, str]) -> list[str]:
    """Acknowledged posts that the restarted server doesn't have (or has with other text)."""
    missing: list[str] = []
    semaphore = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}) as client:

        async def check(status_id: str, text: str) -> None:
            async with semaphore:
                r = await client.get(f"/api/v1/statuses/{status_id}")
            if r.status_code != 200 or text not in r.json()["content"]:
                missing.append(f"{status_id} ({text}): {r.status_code}")

        await asyncio.gather(*(check(sid, text) for sid, text in acked.items()))
    return missing


async def test_acknowledged_posts_survive_sigkill(database: str, tmp_path: Path) -> None:
    names = [f"pisarz{i}" for i in range(WRITERS)]
    tokens = await seed_users(database, tmp_path, names, "haslo-do-testow")
    server = await asyncio.to_thread(Server(database, tmp_path).start)
    load = Load()
    try:
        writers = [asyncio.create_task(writer(server.base_url, tokens[n], i, load)) for i, n in enumerate(names)]
        load_seconds = await kill_under_load(server, load)
        await asyncio.wait_for(asyncio.gather(*writers), timeout=60)
    finally:
        server.stop()
    assert not load.other_failures, load.other_failures[:5]
    assert len(load.acked) >= 10, "the load never got going"
    assert load.cut_off >= 1, "the kill must hit requests in flight"

    restarted = await asyncio.to_thread(Server(database, tmp_path).start)
    try:
        missing = await missing_after_restart(restarted, tokens[names[0]], load.acked)
        assert await missing_after_restart(restarted, tokens[names[0]], {"1": "never posted"}), "the check can fail"
        # The restarted server keeps accepting writes.
        async with httpx.AsyncClient(base_url=restarted.base_url) as client:
            r = await client.post(
                "/api/v1/statuses", json={"status": "po restarcie"}, headers={"Authorization": f"Bearer {tokens[names[1]]}"}
            )
    finally:
        restarted.stop()
    print(f"\n{len(load.acked)} posts acknowledged in {load_seconds:.2f}s, {load.cut_off} requests cut off by SIGKILL")
    assert not missing, f"{len(missing)} of {len(load.acked)} acknowledged posts lost: {missing[:10]}"
    assert r.status_code == 200, r.text
