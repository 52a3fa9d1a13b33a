"""Streaming latency and memory: followers on WebSockets, an author posting at a steady rate.

    .venv/bin/python bench/stream_latency.py            # embedded: SQLite, in-process bus, 1 process
    .venv/bin/python bench/stream_latency.py --redis    # PostgreSQL + Redis, szpak serve --workers 2

Prints:
- p50/p99 latency from the POST's response reaching the author to the event
  reaching a follower (and from the POST being sent), over every delivery;
- POST latency with the connected followers; then, after 100,000 more followers are
  added to the database (``--celebrity``; 0 skips it), POST latency of that author
  and of an author nobody follows, interleaved;
- memory per idle connection: the server processes' RSS growth / connections.

The client is one asyncio process (uvloop, a minimal WebSocket protocol) sharing
the machine's cores with the server, as it would on a 2-core box; it parses
frames by hand and finds the status id with a string search, so it stays light. The database is fresh and
deleted afterwards. ``--redis`` uses ``SZPAK_BENCH_PG_URL`` (default: the local
szpak/szpak PostgreSQL) and ``SZPAK_BENCH_REDIS_URL`` (default: the local Redis).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("SZPAK_FAST_PASSWORD_HASHING", "1")  # seeding 1,000 users, not a login benchmark

import httpx  # noqa: E402

PG_URL = os.environ.get("SZPAK_BENCH_PG_URL", "postgresql+asyncpg://szpak:szpak@127.0.0.1:5432/szpak")
REDIS_URL = os.environ.get("SZPAK_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
ID_MARK = '\\"id\\":\\"'  # how a status id starts inside the JSON-encoded payload string


# -- the database ------------------------------------------------------------------------
class BenchDatabase:
    """A fresh, migrated database: an SQLite file, or a new PostgreSQL database."""

    def __init__(self, tmp: Path, postgres: bool) -> None:
        self.admin = PG_URL.replace("postgresql+asyncpg://", "postgresql://") if postgres else ""
        if postgres:
            self.name = f"szpak_bench_{uuid.uuid4().hex[:8]}"
            asyncio.run(self._admin(f'CREATE DATABASE "{self.name}"'))
            self.url = f"{PG_URL.rpartition('/')[0]}/{self.name}"
        else:
            self.url = f"sqlite+aiosqlite:///{tmp / 'bench.sqlite3'}"
        from szpak.storage.migrate import upgrade

        upgrade(self.url)

    async def _admin(self, sql: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def drop(self) -> None:
        if self.admin:
            asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


async def seed(url: str, followers: int) -> tuple[int, str, list[str], str]:
    """An author and ``followers`` accounts following it, each with a token (domain actions),
    and a second author nobody follows (the control for the POST comparison)."""
    from szpak.config import Settings
    from szpak.domain import oauth, relationships
    from szpak.domain.accounts import create_user
    from szpak.domain.context import Context
    from szpak.realtime.bus import InProcessBus
    from szpak.storage.db import Database

    ctx = Context(Settings(database_url=url, _env_file=None), Database(url, pool_size=2), InProcessBus())  # type: ignore[call-arg]
    try:
        async with ctx.tx() as tx:
            author = await create_user(tx, username="autor", email="autor@example.com", password="sekretne-haslo")
            author_token, _ = await oauth.issue_token(tx, application_id=None, user_id=author.id, scopes=["read", "write"])
            loner = await create_user(tx, username="kontrola", email="kontrola@example.com", password="sekretne-haslo")
            loner_token, _ = await oauth.issue_token(tx, application_id=None, user_id=loner.id, scopes=["read", "write"])
        tokens = []
        for start in range(0, followers, 250):
            async with ctx.tx() as tx:
                target = await tx.session.get(_account_model(), author.account_id)
                for n in range(start, min(followers, start + 250)):
                    user = await create_user(
                        tx, username=f"fan{n}", email=f"fan{n}@example.com", password="sekretne-haslo"
                    )
                    token, _ = await oauth.issue_token(tx, application_id=None, user_id=user.id, scopes=["read"])
                    fan = await tx.session.get(_account_model(), user.account_id)
                    await relationships.follow(tx, fan, target.id)
                    tokens.append(token)
        return author.account_id, author_token, tokens, loner_token
    finally:
        await ctx.db.dispose()


def _account_model() -> Any:
    from szpak.storage.models import Account

    return Account


async def add_silent_followers(url: str, author_id: int, count: int) -> float:
    """``count`` more followers of the author, bulk-inserted (a brand's audience); returns seconds."""
    from sqlalchemy import insert, update
    from sqlalchemy.ext.asyncio import create_async_engine

    from szpak.storage.ids import new_id
    from szpak.storage.models import Account, Follow

    started = time.perf_counter()
    engine = create_async_engine(url)
    try:
        for start in range(0, count, 5000):
            accounts = [
                {"id": new_id(), "username": f"cichy{n}", "username_lower": f"cichy{n}", "domain_key": ""}
                for n in range(start, min(count, start + 5000))
            ]
            async with engine.begin() as conn:
                await conn.execute(insert(Account), accounts)
                await conn.execute(
                    insert(Follow), [{"id": new_id(), "account_id": a["id"], "target_account_id": author_id} for a in accounts]
                )
        async with engine.begin() as conn:
            await conn.execute(
                update(Account).where(Account.id == author_id).values(followers_count=Account.followers_count + count)
            )
    finally:
        await engine.dispose()
    return time.perf_counter() - started


# -- the server --------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, env: dict[str, str], workers: int, log: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = {**env, "SZPAK_DOMAIN": f"127.0.0.1:{self.port}"}
        command = [sys.executable, "-m", "szpak.cli", "serve", "--port", str(self.port), "--workers", str(workers),
                   "--log-level", "warning"]
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.workers = workers

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"szpak serve exited:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.base_url}/api/v1/streaming/health", timeout=1).text == "OK":
                    if self.workers == 1 or len(self.pids()) >= self.workers:
                        return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"szpak serve did not start:\n{self.log.read_text()}")

    def pids(self) -> list[int]:
        """The processes serving requests: the server itself, or its worker children."""
        if self.workers == 1:
            return [self.proc.pid]
        children = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                    children.append(int(entry.name))
        return children

    def rss_kb(self) -> int:
        total = 0
        for pid in self.pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return total

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# -- the clients -------------------------------------------------------------------------
@dataclass
class Deliveries:
    """Arrival times per status id, and the POST timings of each status."""

    arrivals: dict[str, list[float]] = field(default_factory=dict)
    sent: dict[str, float] = field(default_factory=dict)
    answered: dict[str, float] = field(default_factory=dict)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    #: Deliveries to wait for (posts × followers), set before posting.
    target: int = 0
    count: int = 0

    def record(self, message: str) -> None:
        now = time.perf_counter()
        at = message.find(ID_MARK)
        if at < 0 or '"event":"update"' not in message[:60]:
            return
        start = at + len(ID_MARK)
        status_id = message[start : message.find("\\", start)]
        self.arrivals.setdefault(status_id, []).append(now)
        self.count += 1
        if self.target and self.count >= self.target:
            self.done.set()


class LeanFollower(asyncio.Protocol):
    """A minimal WebSocket client: one HTTP upgrade, then unmasked server frames parsed by hand.

    The benchmark's client shares the cores with the server; a full client library costs
    tens of microseconds per message, which at 1,000 followers would be measured as latency.
    This one answers pings, ignores everything but text frames, and records arrivals.
    """

    def __init__(self, deliveries: Deliveries, path: str, token: str, port: int) -> None:
        self.deliveries = deliveries
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        ).encode()
        self.buffer = bytearray()
        self.upgraded = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded.done():
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self.buffer[:12])
            del self.buffer[: end + 4]
            if b" 101" not in status:
                self.upgraded.set_exception(RuntimeError(f"upgrade refused: {status!r}"))
                return
            self.upgraded.set_result(None)
        self._frames()

    def _frames(self) -> None:
        buf = self.buffer
        while len(buf) >= 2:
            opcode, length, at = buf[0] & 0x0F, buf[1] & 0x7F, 2
            if length == 126:
                if len(buf) < 4:
                    return
                length, at = int.from_bytes(buf[2:4], "big"), 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length, at = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < at + length:
                return
            payload = bytes(buf[at : at + length])
            del buf[: at + length]
            if opcode == 0x1:
                self.deliveries.record(payload.decode())
            elif opcode == 0x9 and self.transport is not None:  # ping: answer with a masked pong
                mask = os.urandom(4)
                body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
                self.transport.write(bytes([0x8A, 0x80 | len(body)]) + mask + body)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def open_followers(server: Server, tokens: list[str], deliveries: Deliveries) -> list[LeanFollower]:
    loop = asyncio.get_running_loop()
    followers: list[LeanFollower] = []

    async def one(token: str) -> LeanFollower:
        _, protocol = await loop.create_connection(
            lambda: LeanFollower(deliveries, "/api/v1/streaming?stream=user", token, server.port), "127.0.0.1", server.port
        )
        await asyncio.wait_for(protocol.upgraded, 60)
        return protocol

    for start in range(0, len(tokens), 50):
        followers += await asyncio.gather(*(one(t) for t in tokens[start : start + 50]))
    return followers


async def steady_rss(server: Server) -> int:
    """The server's RSS once it has stopped growing (warm-up work done)."""
    previous = -1
    for _ in range(30):
        await asyncio.sleep(1.0)
        current = server.rss_kb()
        if abs(current - previous) < 256:
            return current
        previous = current
    return previous


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def ms(values: list[float], p: float) -> str:
    return f"{percentile(values, p) * 1000:7.1f} ms"


async def post_steadily(
    client: httpx.AsyncClient, token: str, count: int, rate: float, deliveries: Deliveries | None, label: str
) -> list[float]:
    """``count`` posts, one every 1/rate seconds; returns POST latencies."""
    latencies = []
    interval = 1 / rate
    next_at = time.perf_counter()
    for n in range(count):
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        next_at += interval
        sent = time.perf_counter()
        r = await client.post("/api/v1/statuses", json={"status": f"{label} {n}: dzień dobry, Kraków!"},
                              headers={"Authorization": f"Bearer {token}"})
        answered = time.perf_counter()
        r.raise_for_status()
        latencies.append(answered - sent)
        if deliveries is not None:
            status_id = r.json()["id"]
            deliveries.sent[status_id] = sent
            deliveries.answered[status_id] = answered
    return latencies


async def run(args: argparse.Namespace, server: Server, url: str, author_id: int, token: str,
              tokens: list[str], loner_token: str) -> dict[str, Any]:
    results: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        # Warm up code paths and allocator pools before measuring memory.
        # (The posts' background jobs load the Polish dictionaries once: let them finish.)
        warm = await open_followers(server, tokens[:50], Deliveries())
        await post_steadily(client, token, 5, 10, None, "rozgrzewka")
        for follower in warm:
            follower.close()
        rss_before = await steady_rss(server)
        deliveries = Deliveries(target=args.posts * len(tokens))
        sockets = await open_followers(server, tokens, deliveries)
        rss_after = await steady_rss(server)  # every connection subscribed and idle
        results["rss_before_mb"] = rss_before / 1024
        results["rss_after_mb"] = rss_after / 1024
        results["kb_per_connection"] = (rss_after - rss_before) / len(sockets)

        post_times = await post_steadily(client, token, args.posts, args.rate, deliveries, "wpis")
        try:
            await asyncio.wait_for(deliveries.done.wait(), 30)
        except TimeoutError:
            pass
        from_response, from_send = [], []
        for status_id, arrivals in deliveries.arrivals.items():
            if status_id in deliveries.answered:
                from_response += [t - deliveries.answered[status_id] for t in arrivals]
                from_send += [t - deliveries.sent[status_id] for t in arrivals]
        results["deliveries"] = len(from_response)
        results["expected"] = args.posts * len(sockets)
        results["from_response"] = from_response
        results["from_send"] = from_send
        results["post"] = post_times

        if args.celebrity:
            # Posts by the celebrity and by an author nobody follows, interleaved, so that both
            # see the same load on the machine.
            results["celebrity_seconds"] = await add_silent_followers(url, author_id, args.celebrity)
            results["post_celebrity"], results["post_control"] = [], []
            for n in range(args.posts):
                results["post_celebrity"] += await post_steadily(client, token, 1, args.rate, None, f"gwiazda {n}")
                results["post_control"] += await post_steadily(client, loner_token, 1, args.rate, None, f"nikt {n}")
        for follower in sockets:
            follower.close()
    return results


def report(args: argparse.Namespace, mode: str, r: dict[str, Any]) -> None:
    print(f"\n== {mode}")
    print(f"followers connected: {args.followers}; posts: {args.posts} at {args.rate}/s")
    lost = r["expected"] - r["deliveries"]
    negative = sum(1 for x in r["from_response"] if x < 0)
    print(f"deliveries: {r['deliveries']} of {r['expected']} (lost {lost}); "
          f"{negative} arrived before the POST's response did")
    if r["from_response"]:
        print(f"event latency from the POST's response: p50 {ms(r['from_response'], 50)}   "
              f"p99 {ms(r['from_response'], 99)}   max {max(r['from_response']) * 1000:7.1f} ms")
        print(f"event latency from the POST being sent: p50 {ms(r['from_send'], 50)}   "
              f"p99 {ms(r['from_send'], 99)}")
    print(f"POST latency ({args.followers} followers):       p50 {ms(r['post'], 50)}   p99 {ms(r['post'], 99)}")
    if "post_celebrity" in r:
        print(f"POST latency, interleaved: {args.followers + args.celebrity:,} followers p50 "
              f"{ms(r['post_celebrity'], 50)} p99 {ms(r['post_celebrity'], 99)}  |  no followers p50 "
              f"{ms(r['post_control'], 50)} p99 {ms(r['post_control'], 99)}")
    print(f"server RSS: {r['rss_before_mb']:.1f} MB idle -> {r['rss_after_mb']:.1f} MB with {args.followers} "
          f"connections: {r['kb_per_connection']:.1f} KB per idle connection")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis", action="store_true", help="PostgreSQL + Redis, 2 worker processes")
    parser.add_argument("--workers", type=int, default=None, help="server processes (default: 1, or 2 with --redis)")
    parser.add_argument("--followers", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=50)
    parser.add_argument("--rate", type=float, default=5.0, help="posts per second")
    parser.add_argument("--celebrity", type=int, default=100_000, help="extra followers for the POST check (0: skip)")
    args = parser.parse_args()
    workers = args.workers or (2 if args.redis else 1)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4 * args.followers + 1024)), hard))

    tmp = Path(tempfile.mkdtemp(prefix="szpak-bench-"))
    database = BenchDatabase(tmp, postgres=args.redis)
    server = None
    try:
        started = time.perf_counter()
        author_id, token, tokens, loner_token = asyncio.run(seed(database.url, args.followers))
        print(f"seeded {args.followers} followers in {time.perf_counter() - started:.1f} s")
        env = {
            **os.environ,
            "SZPAK_DATABASE_URL": database.url,
            "SZPAK_DATA_DIR": str(tmp),
            "SZPAK_RUN_WORKERS": "true",
        }
        if args.redis:
            env["SZPAK_REDIS_URL"] = REDIS_URL
            env["SZPAK_REDIS_CHANNEL"] = f"szpak-bench:{uuid.uuid4().hex}"
        server = Server(env, workers, tmp / "server.log")
        server.wait_ready()
        import uvloop

        results = uvloop.run(run(args, server, database.url, author_id, token, tokens, loner_token))
        mode = (f"PostgreSQL + Redis, {workers} worker processes" if args.redis
                else f"embedded: SQLite, in-process bus, {workers} process")
        report(args, mode, results)
        print(f"load average at the end: {os.getloadavg()[0]:.2f} (2 cores shared by server and client)")
    finally:
        if server is not None:
            server.stop()
        database.drop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
