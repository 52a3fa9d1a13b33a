"""The web home page against the API home timeline: same server, same data, same viewers.

    .venv/bin/python bench/web_home.py [--no-wrk] [--rounds 300] [--duration 10] [--pg URL] [--skip-sqlite]

For each backend (SQLite; PostgreSQL when --pg or SZPAK_BENCH_PG_URL is given), seeds
an author followed by 100 accounts (each home timeline full: 20 posts with a link
and a hashtag), gives every follower both an API token and a logged-in browser
session, starts ``szpak serve`` and measures with wrk (16 connections, random
viewers):

- ``GET /api/v1/timelines/home`` (bearer token): query, batch load, JSON;
- ``GET /home`` (session cookie): session look-up, the same query and batch load,
  entities rendered by the same serializer, then Jinja2 in the reader's language.

Because wrk measures the two one after the other, a busy machine can favour either;
so the same requests are first timed in-process (httpx's ASGI transport, no network),
interleaved API/web/API/web, as server time: wall and CPU time from the ASGI call to
its end (the client's work excluded). The CPU-time ratio is the one to read on a
shared machine: other processes barely move it. ``--no-wrk`` stops there (a minute).

It also prints the page weight: the HTML of one home page and the one script and
one stylesheet every page loads. The wrk helpers come from ``bench/api.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import CONNECTIONS, free_port, fresh_pg_database, run_wrk, start_server, stop  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FOLLOWERS = 100
AUTHOR_POSTS = 40
SECRET = secrets.token_hex(32)

LUA_RANDOM_HEADER = """
values = {%s}
request = function()
  local v = values[math.random(#values)]
  return wrk.format("GET", "%s", {["%s"] = v})
end
"""


async def seed(database_url: str) -> tuple[list[str], list[str]]:
    """(API tokens, session cookies), one of each per follower."""
    os.environ["SZPAK_FAST_PASSWORD_HASHING"] = "1"
    from szpak.config import Settings
    from szpak.domain import oauth, web_sessions
    from szpak.domain.accounts import create_user
    from szpak.domain.context import Context
    from szpak.domain.relationships import follow
    from szpak.domain.statuses import StatusDraft, create_status
    from szpak.realtime.bus import InProcessBus
    from szpak.storage.db import Database
    from szpak.storage.migrate import upgrade_async
    from szpak.storage.models import Account
    from szpak.web.keys import Keys, sha256_hex

    await upgrade_async(database_url)
    settings = Settings(database_url=database_url, run_workers=False, secret_key=SECRET)
    ctx = Context(settings, Database(database_url, pool_size=2), InProcessBus())
    keys = Keys(SECRET.encode())
    tokens: list[str] = []
    cookies: list[str] = []
    async with ctx.tx() as tx:
        web_app = await web_sessions.web_application(
            tx, client_id=keys.derive("web-client-id")[:43], website=settings.base_url
        )
        author_user = await create_user(tx, username="marka", email="marka@example.com", password="benchmark-pass", kind="brand")
        author = await tx.session.get(Account, author_user.account_id)
        for i in range(FOLLOWERS):
            user = await create_user(tx, username=f"fan{i}", email=f"fan{i}@example.com", password="benchmark-pass")
            token, _ = await oauth.issue_token(tx, application_id=None, user_id=user.id, scopes=["read", "write", "follow"])
            tokens.append(token)
            key = secrets.token_urlsafe(32)
            await web_sessions.open_session(
                tx, user_id=user.id, application_id=web_app.id, key_hash=sha256_hex(key),
                token_hash=oauth.hash_token(keys.derive("token", key)),
            )
            cookies.append(f"szpak_session={key}")
            fan = await tx.session.get(Account, user.account_id)
            await follow(tx, fan, author.id)  # type: ignore[arg-type]
    for i in range(AUTHOR_POSTS):
        async with ctx.tx() as tx:
            author = await tx.session.get(Account, author_user.account_id)
            await create_status(
                tx, author, StatusDraft(text=f"Nowe skarpetki w sklepie, seria {i} #skarpetki https://example.com/{i}")  # type: ignore[arg-type]
            )
    await ctx.db.dispose()
    return tokens, cookies


class ServerClock:
    """Times the server side of each request: from the ASGI call to its return, as wall
    time and as CPU time of the whole process (``time.process_time``: every thread, the
    SQLite driver's included). CPU time is what other work on a busy machine disturbs
    least, so the ratio is read from it; the HTTP client's own work is outside both."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last: tuple[float, float] = (0.0, 0.0)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wall, cpu = time.perf_counter(), time.process_time()
        await self.app(scope, receive, send)
        self.last = ((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000)


async def interleaved(database_url: str, data_dir: Path, tokens: list[str], cookies: list[str], rounds: int) -> dict[str, list[float]]:
    """Per-request server milliseconds (wall and CPU) for API and web home, alternating, in one process."""
    from szpak.app import create_app
    from szpak.config import Settings

    settings = Settings(database_url=database_url, data_dir=data_dir, domain="bench", run_workers=False, secret_key=SECRET)
    app = create_app(settings, migrate=False)
    clock = ServerClock(app)
    out: dict[str, list[float]] = {"api": [], "web": [], "api_cpu": [], "web_cpu": []}
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=clock), base_url="http://bench") as client:
            for i in range(rounds + 20):
                for name, url, headers in (
                    ("api", "/api/v1/timelines/home", {"Authorization": f"Bearer {tokens[i % len(tokens)]}"}),
                    ("web", "/home", {"Cookie": cookies[i % len(cookies)]}),
                ):
                    r = await client.get(url, headers=headers)
                    assert r.status_code == 200, (url, r.status_code)
                    if i >= 20:  # the first rounds warm caches up
                        out[name].append(clock.last[0])
                        out[f"{name}_cpu"].append(clock.last[1])
    return out


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def percentiles(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {"p50": values[len(values) // 2], "p90": values[int(len(values) * 0.9)]}


def bench_backend(database_url: str, data_dir: Path, duration: int, rounds: int, wrk: bool) -> dict[str, dict[str, float]]:
    tokens, cookies = asyncio.run(seed(database_url))
    results: dict[str, dict[str, float]] = {"_load": {"before": load_average()}}  # type: ignore[dict-item]
    timings = asyncio.run(interleaved(database_url, data_dir, tokens, cookies, rounds=rounds))
    for name, values in timings.items():
        results[f"_inproc_{name}"] = percentiles(values)
    results["_load"]["after"] = load_average()  # type: ignore[index]
    if not wrk:
        return results
    port = free_port()
    env = {**os.environ, "SZPAK_DATABASE_URL": database_url, "SZPAK_DATA_DIR": str(data_dir),
           "SZPAK_DOMAIN": f"127.0.0.1:{port}", "SZPAK_SECRET_KEY": SECRET}
    proc = start_server(env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        api = httpx.get(f"{base}/api/v1/timelines/home", headers={"Authorization": f"Bearer {tokens[0]}"})
        assert api.status_code == 200 and len(api.json()) == 20, api.text[:200]
        page = httpx.get(f"{base}/home", headers={"Cookie": cookies[0]})
        assert page.status_code == 200 and page.text.count('<article class="status') == 20, page.status_code
        results["api home (JSON)"] = run_wrk(
            f"{base}/api/v1/timelines/home", duration,
            script=LUA_RANDOM_HEADER % (",".join(f'"Bearer {t}"' for t in tokens), "/api/v1/timelines/home", "Authorization"),
        )
        results["web /home (HTML)"] = run_wrk(
            f"{base}/home", duration, script=LUA_RANDOM_HEADER % (",".join(f'"{c}"' for c in cookies), "/home", "Cookie"),
        )
        results["_weight"] = {
            "api_json": len(api.content), "html": len(page.content),
            "html_gzip": len(gzip.compress(page.content)),
            "js": len(httpx.get(f"{base}/static/szpak.js").content),
            "css": len(httpx.get(f"{base}/static/szpak.css").content),
        }
    finally:
        stop(proc)
    return results


def report(name: str, results: dict[str, dict[str, float]]) -> None:
    load = results.pop("_load")
    print(f"  {name:<10} load average (1, 5, 15 min) before: {load['before']}, after: {load['after']}")
    for kind in ("", "_cpu"):
        api_in, web_in = results.pop(f"_inproc_api{kind}"), results.pop(f"_inproc_web{kind}")
        label = "server CPU time" if kind else "server wall time"
        print(f"  {name:<10} {label:<16} API home p50 {api_in['p50']:.2f} ms (p90 {api_in['p90']:.2f}), "
              f"web /home p50 {web_in['p50']:.2f} ms (p90 {web_in['p90']:.2f}); web/API {web_in['p50'] / api_in['p50']:.2f}")
    weight = results.pop("_weight", None)
    if weight is None:
        return
    for key, r in results.items():
        print(f"  {name:<10} {key:<18} {r['rps']:>8.0f} rps   p50 {r['p50']:>7.2f} ms   p99 {r['p99']:>7.2f} ms"
              + (f"   non-2xx {int(r['errors'])}" if r["errors"] else ""))
    api, web = results["api home (JSON)"], results["web /home (HTML)"]
    print(f"  {name:<10} wrk web/API p50 ratio {web['p50'] / api['p50']:.2f}, rps ratio {web['rps'] / api['rps']:.2f}")
    print(f"  {name:<10} one home page: HTML {weight['html'] / 1024:.1f} KiB ({weight['html_gzip'] / 1024:.1f} KiB gzipped), "
          f"API JSON {weight['api_json'] / 1024:.1f} KiB; every page loads JS {weight['js'] / 1024:.1f} KiB + "
          f"CSS {weight['css'] / 1024:.1f} KiB = {(weight['js'] + weight['css']) / 1024:.1f} KiB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--pg", default=os.environ.get("SZPAK_BENCH_PG_URL", ""))
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--rounds", type=int, default=300, help="in-process requests of each kind")
    parser.add_argument("--no-wrk", action="store_true", help="only the in-process server times (quick)")
    args = parser.parse_args()
    wrk = not args.no_wrk
    if wrk and not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk); measuring in-process only", file=sys.stderr)
        wrk = False
    print(f"Szpak web home vs API home: {os.cpu_count()} cores, {FOLLOWERS} viewers, 20 posts each; "
          f"{args.rounds} in-process requests of each kind, interleaved"
          + (f"; wrk {CONNECTIONS} connections, {args.duration}s each" if wrk else ""))
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_sqlite:
            report("sqlite", bench_backend(f"sqlite+aiosqlite:///{tmp}/bench.sqlite3", Path(tmp), args.duration, args.rounds, wrk))
        if args.pg:
            url = fresh_pg_database(args.pg, "szpak_bench_web")
            report("postgresql", bench_backend(url, Path(tmp), args.duration, args.rounds, wrk))
    return 0


if __name__ == "__main__":
    sys.exit(main())
