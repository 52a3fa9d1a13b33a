"""Several server processes behind one Redis deliver to clients connected to any of them.

Two servers on two ports share a database and a Redis channel: ``szpak serve
--workers 2`` (as operators run it: two processes on one port) and a plain
``szpak serve``, so the test knows which process a client talks to.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect

from szpak.config import Settings
from szpak.domain import oauth, relationships
from szpak.domain.accounts import create_user
from szpak.domain.context import Context
from szpak.realtime.bus import InProcessBus
from szpak.storage.db import Database
from szpak.storage.models import Account

from .live import REDIS_URL, FreshDatabase

pytestmark = [
    pytest.mark.xdist_group("realtime-scaleout"),
    pytest.mark.skipif(not REDIS_URL, reason="SZPAK_TEST_REDIS_URL is not set: scale-out needs Redis"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``szpak serve`` in a subprocess, stopped with SIGTERM."""

    def __init__(self, env: dict[str, str], tmp: Path, *, workers: int = 1) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"serve-{self.port}.log"
        env = {**env, "SZPAK_DOMAIN": f"127.0.0.1:{self.port}"}
        command = [sys.executable, "-m", "szpak.cli", "serve", "--port", str(self.port), "--workers", str(workers),
                   "--log-level", "warning"]
        with self.log.open("wb") as log:
            # Its own process group: stop() can take the worker processes down with it.
            self.proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"szpak serve exited: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.base_url}/api/v1/streaming/health", timeout=1).text == "OK":
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"szpak serve did not start: {self.log.read_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        try:  # workers left behind by a supervisor that did not stop cleanly
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class Cluster:
    def __init__(self, tmp: Path, sqlite_template: Path) -> None:
        self.database = FreshDatabase(tmp, sqlite_template)
        self.settings = Settings(
            database_url=self.database.url, data_dir=tmp, run_workers=False, _env_file=None,  # type: ignore[call-arg]
        )
        self.env = {
            **os.environ,
            "SZPAK_DATABASE_URL": self.database.url,
            "SZPAK_DATA_DIR": str(tmp),
            "SZPAK_REDIS_URL": REDIS_URL,
            "SZPAK_REDIS_CHANNEL": f"szpak-test:{uuid.uuid4().hex}",
            "SZPAK_FAST_PASSWORD_HASHING": "1",
        }
        self.servers: list[ServerProcess] = []
        self.tmp = tmp

    def start(self) -> None:
        """Both servers, started side by side."""
        self.pair = ServerProcess(self.env, self.tmp, workers=2)
        self.single = ServerProcess(self.env, self.tmp)
        self.servers = [self.pair, self.single]
        for server in self.servers:
            server.wait_ready()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        self.database.drop()

    async def users(self, *names: str) -> list[tuple[int, str]]:
        """Accounts and tokens, written straight to the shared database."""
        ctx = Context(self.settings, Database(self.database.url, pool_size=1), InProcessBus())
        made = []
        try:
            for name in names:
                username = f"{name}{uuid.uuid4().hex[:6]}"
                async with ctx.tx() as tx:
                    user = await create_user(tx, username=username, email=f"{username}@example.com",
                                             password="sekretne-haslo")
                    token, _ = await oauth.issue_token(tx, application_id=None, user_id=user.id, scopes=["read", "write"])
                made.append((user.account_id, token))
            return made
        finally:
            await ctx.db.dispose()

    async def follow(self, follower: int, target: int) -> None:
        ctx = Context(self.settings, Database(self.database.url, pool_size=1), InProcessBus())
        try:
            async with ctx.tx() as tx:
                await relationships.follow(tx, await tx.session.get(Account, follower), target)
        finally:
            await ctx.db.dispose()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path_factory.mktemp("cluster"), sqlite_template)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


async def post(server: ServerProcess, token: str, text: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        r = await client.post("/api/v1/statuses", json={"status": text}, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]


async def next_event(ws: Any, event: str) -> dict[str, Any]:
    frame = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
    assert frame["event"] == event, frame
    return frame  # type: ignore[no-any-return]


async def test_a_post_on_one_process_reaches_a_client_on_another(cluster: Cluster) -> None:
    a, b = cluster.single, cluster.pair
    (author, author_token), (reader, reader_token) = await cluster.users("author", "reader")
    await cluster.follow(reader, author)
    headers = {"Authorization": f"Bearer {reader_token}"}
    async with connect(f"ws://127.0.0.1:{a.port}/api/v1/streaming?stream=user", additional_headers=headers,
                       compression=None) as ws:
        await asyncio.sleep(0.3)  # let process A load the reader's relations
        st = await post(b, author_token, "Napisane w innym procesie")
        frame = await next_event(ws, "update")
        async with httpx.AsyncClient(base_url=a.base_url) as client:
            seen = (await client.get(f"/api/v1/statuses/{st['id']}", headers=headers)).json()
        assert orjson.loads(frame["payload"]) == seen
        async with httpx.AsyncClient(base_url=b.base_url) as client:
            r = await client.delete(f"/api/v1/statuses/{st['id']}", headers={"Authorization": f"Bearer {author_token}"})
            assert r.status_code == 200
        assert (await next_event(ws, "delete"))["payload"] == st["id"]


async def test_serve_with_two_workers_delivers_to_every_client(cluster: Cluster) -> None:
    server = cluster.pair
    (author, author_token), *readers = await cluster.users("author", *[f"r{n}" for n in range(8)])
    for reader, _ in readers:
        await cluster.follow(reader, author)
    sockets = [
        await connect(f"ws://127.0.0.1:{server.port}/api/v1/streaming?stream=user",
                      additional_headers={"Authorization": f"Bearer {token}"}, compression=None)
        for _, token in readers
    ]
    try:
        await asyncio.sleep(0.3)
        # Connections and posts land on either worker: every post must reach every client.
        posted = [(await post(server, author_token, f"Wpis {n}"))["id"] for n in range(6)]
        for ws in sockets:
            got = [orjson.loads((await next_event(ws, "update"))["payload"])["id"] for _ in posted]
            assert sorted(got) == sorted(posted)
    finally:
        for ws in sockets:
            await ws.close()
