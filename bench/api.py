"""Core API throughput on one server process, measured with wrk over loopback.

    .venv/bin/python bench/api.py [--duration 10] [--pg URL] [--skip-sqlite]

Prints, for SQLite (the embedded default) and PostgreSQL (when --pg is given or
SZPAK_BENCH_PG_URL is set), beside a bare uvicorn endpoint measured in the same run:
- verify_credentials rps (16 connections),
- home timeline rps and p50/p99 (16 connections; 100 followers, each home page full),
- POST /api/v1/statuses rps for an author with 100 followers.

wrk (Debian package) drives the load from one thread; server and client share the
machine's cores, as they would on a 2-core box.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
CONNECTIONS = 16
FOLLOWERS = 100
AUTHOR_POSTS = 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not come up")


async def seed(database_url: str) -> dict[str, object]:
    """An author with FOLLOWERS followers; every follower's home page is full."""
    os.environ["SZPAK_FAST_PASSWORD_HASHING"] = "1"
    from szpak.config import Settings
    from szpak.domain import oauth
    from szpak.domain.accounts import create_user
    from szpak.domain.context import Context
    from szpak.domain.relationships import follow
    from szpak.domain.statuses import StatusDraft, create_status
    from szpak.realtime.bus import InProcessBus
    from szpak.storage.db import Database
    from szpak.storage.migrate import upgrade_async
    from szpak.storage.models import Account

    await upgrade_async(database_url)
    settings = Settings(database_url=database_url, run_workers=False)
    ctx = Context(settings, Database(database_url, pool_size=2), InProcessBus())
    scopes = ["read", "write", "follow"]
    async with ctx.tx() as tx:
        author_user = await create_user(tx, username="marka", email="marka@example.com", password="benchmark-pass", kind="brand")
        author_token, _ = await oauth.issue_token(tx, application_id=None, user_id=author_user.id, scopes=scopes)
    follower_tokens = []
    async with ctx.tx() as tx:
        author = await tx.session.get(Account, author_user.account_id)
        for i in range(FOLLOWERS):
            u = await create_user(tx, username=f"fan{i}", email=f"fan{i}@example.com", password="benchmark-pass")
            tok, _ = await oauth.issue_token(tx, application_id=None, user_id=u.id, scopes=scopes)
            follower_tokens.append(tok)
            fan = await tx.session.get(Account, u.account_id)
            await follow(tx, fan, author.id)
    for i in range(AUTHOR_POSTS):
        async with ctx.tx() as tx:
            author = await tx.session.get(Account, author_user.account_id)
            await create_status(tx, author, StatusDraft(text=f"Nowe skarpetki w sklepie, seria {i} #skarpetki https://example.com/{i}"))
    await ctx.db.dispose()
    return {"author_token": author_token, "follower_tokens": follower_tokens}


LUA_TOKENS = """
tokens = {%s}
request = function()
  local t = tokens[math.random(#tokens)]
  return wrk.format("GET", "%s", {["Authorization"] = "Bearer " .. t})
end
"""

LUA_POST = """
counter = 0
request = function()
  counter = counter + 1
  local body = '{"status":"Odpowiadamy od razu! Wpis numer ' .. counter .. ' #obsluga"}'
  return wrk.format("POST", "/api/v1/statuses", {["Authorization"] = "Bearer %s", ["Content-Type"] = "application/json"}, body)
end
"""


def run_wrk(url: str, duration: int, *, headers: dict[str, str] | None = None, script: str | None = None) -> dict[str, float]:
    cmd = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{duration}s", "--latency", "--timeout", "5s"]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    tmp = None
    if script:
        tmp = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        tmp.write(script)
        tmp.close()
        cmd += ["-s", tmp.name]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    if tmp:
        os.unlink(tmp.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)

    def pct(p: str) -> float:
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    return {"rps": rps, "p50": pct("50"), "p99": pct("99"), "errors": float(non2xx.group(1)) if non2xx else 0.0}


def start_server(env: dict[str, str], port: int, app: str | None = None) -> subprocess.Popen[bytes]:
    if app:
        cmd = [PY, "-m", "uvicorn", app, "--port", str(port), "--loop", "uvloop", "--http", "httptools",
               "--no-access-log", "--log-level", "warning"]
    else:
        cmd = [PY, "-m", "szpak.cli", "serve", "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT / "bench" if app else ROOT, stdout=subprocess.DEVNULL)
    wait_up(f"http://127.0.0.1:{port}/health" if not app else f"http://127.0.0.1:{port}/")
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def bench_backend(name: str, database_url: str, data_dir: Path, duration: int) -> dict[str, dict[str, float]]:
    seeded = asyncio.run(seed(database_url))
    port = free_port()
    env = {**os.environ, "SZPAK_DATABASE_URL": database_url, "SZPAK_DATA_DIR": str(data_dir),
           "SZPAK_DOMAIN": f"127.0.0.1:{port}"}
    proc = start_server(env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        tokens = seeded["follower_tokens"]
        assert isinstance(tokens, list)
        # Warm up and check that the home page really is full.
        r = httpx.get(f"{base}/api/v1/timelines/home", headers={"Authorization": f"Bearer {tokens[0]}"})
        assert r.status_code == 200 and len(r.json()) == 20, r.text[:200]
        results = {
            "verify_credentials": run_wrk(f"{base}/api/v1/accounts/verify_credentials", duration,
                                          headers={"Authorization": f"Bearer {tokens[0]}"}),
            "home_timeline": run_wrk(f"{base}/api/v1/timelines/home", duration,
                                     script=LUA_TOKENS % (",".join(f'"{t}"' for t in tokens), "/api/v1/timelines/home")),
            "post_status": run_wrk(f"{base}/api/v1/statuses", duration, script=LUA_POST % seeded["author_token"]),
        }
    finally:
        stop(proc)
    return results


def report(name: str, results: dict[str, dict[str, float]]) -> None:
    for key, r in results.items():
        print(f"  {name:<10} {key:<20} {r['rps']:>9.0f} rps   p50 {r['p50']:>7.2f} ms   p99 {r['p99']:>7.2f} ms"
              + (f"   non-2xx {int(r['errors'])}" if r["errors"] else ""))



def fresh_pg_database(url: str, name: str) -> str:
    """``url`` with its database replaced by a new, empty ``name`` (dropped first if there)."""
    import asyncpg

    async def fresh() -> str:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {name}")
        await conn.close()
        return url.rsplit("/", 1)[0] + "/" + name

    return asyncio.run(fresh())

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--pg", default=os.environ.get("SZPAK_BENCH_PG_URL", ""))
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 2
    print(f"Szpak API benchmark: {os.cpu_count()} cores, {CONNECTIONS} connections, {args.duration}s per measurement")
    port = free_port()
    bare = start_server(dict(os.environ), port, app="_bare:app")
    try:
        ceiling = run_wrk(f"http://127.0.0.1:{port}/", args.duration)
    finally:
        stop(bare)
    report("ceiling", {"bare uvicorn": ceiling})
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_sqlite:
            url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
            report("sqlite", bench_backend("sqlite", url, Path(tmp), args.duration))
        if args.pg:
            report("postgresql", bench_backend("postgresql", fresh_pg_database(args.pg, "szpak_bench"), Path(tmp), args.duration))
    return 0


if __name__ == "__main__":
    sys.exit(main())
