"""Server CPU per request, measured in-process (no HTTP client, no sockets).

    .venv/bin/python bench/cpu.py [--n 400] [--pg URL] [--profile home_timeline|post_status|home_after_posts]

Same world as bench/api.py (an author with 100 followers, every home page full). The app
runs in this process with its job worker; requests go through the ASGI interface (a minimal
caller, cheaper than httpx.ASGITransport), one at a time. Prints process CPU time per request
for verify_credentials, the home timeline (before and after the POST phase, which adds 3 × n/2
statuses by the followed author) and POST /api/v1/statuses, including what the job worker
spends on the jobs those posts queued, since it shares the process with the API. Wall-clock
figures under load come from bench/api.py (wrk); CPU time is much less sensitive to other
load on the machine, which wrk figures are not.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import fresh_pg_database, seed  # noqa: E402


class Response:
    def __init__(self, status_code: int, body: bytes) -> None:
        self.status_code, self.content = status_code, body
        self.text = body.decode(errors="replace")

    def json(self):  # noqa: ANN201
        return orjson.loads(self.content)


class Client:
    """The least an ASGI server does per request (cheaper than httpx.ASGITransport)."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self.app = app

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Response:
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()] + [(b"host", b"bench")]
        if body:
            raw.append((b"content-length", str(len(body)).encode()))
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
                 "root_path": "", "headers": raw, "client": ("127.0.0.1", 1), "server": ("bench", 80)}
        sent = False
        status = 0
        chunks: list[bytes] = []

        async def receive():  # noqa: ANN202
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message) -> None:  # noqa: ANN001
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return Response(status, b"".join(chunks))

    async def get(self, path: str, headers: dict[str, str]) -> Response:
        return await self.request("GET", path, headers)

    async def post(self, path: str, headers: dict[str, str], json: object) -> Response:
        return await self.request("POST", path, {**headers, "content-type": "application/json"}, orjson.dumps(json))


REPEATS = 3


async def measure(database_url: str, data_dir: str, n: int, profile: str | None) -> None:
    seeded = await seed(database_url)
    from szpak.app import create_app
    from szpak.config import Settings

    settings = Settings(database_url=database_url, data_dir=Path(data_dir), run_workers=True)
    app = create_app(settings)
    tokens = seeded["follower_tokens"]
    assert isinstance(tokens, list)
    author = seeded["author_token"]
    async with app.router.lifespan_context(app):
        worker = app.state.worker
        async with Client(app) as c:

            async def drain() -> None:
                while await worker.run_once():
                    pass

            async def run(name: str, fn, count: int) -> None:  # noqa: ANN001
                for i in range(max(20, 2 * len(tokens)) if name.startswith("home") else 20):  # warm caches
                    await fn(i)
                await drain()
                prof = cProfile.Profile() if profile == name else None
                # Three rounds; the median is printed (other load on the machine inflates
                # CPU time too, through shared caches and clock scaling, but less than wall time).
                rounds: list[float] = []
                w0 = time.perf_counter()
                for r in range(REPEATS):
                    t0 = time.process_time()
                    if prof:
                        prof.enable()
                    for i in range(count):
                        await fn(i + r * count)
                    await drain()  # the job worker's share (it runs in this process) counts too
                    if prof:
                        prof.disable()
                    rounds.append((time.process_time() - t0) / count * 1000)
                wall = time.perf_counter() - w0
                print(f"  {name:<20} {statistics.median(rounds):6.2f} ms CPU/request (median of {REPEATS}; "
                      f"min {min(rounds):.2f})   ({count} requests each, {wall:.1f} s wall)")
                if prof:
                    if os.environ.get("BENCH_PROFILE_DUMP"):
                        prof.dump_stats(os.environ["BENCH_PROFILE_DUMP"])
                    pstats.Stats(prof).sort_stats("cumulative").print_stats(os.environ.get("BENCH_PROFILE_FILTER", ""), int(os.environ.get("BENCH_PROFILE_LINES", "45")))

            async def verify(i: int) -> None:
                r = await c.get("/api/v1/accounts/verify_credentials", headers={"Authorization": f"Bearer {tokens[0]}"})
                assert r.status_code == 200

            async def home(i: int) -> None:
                r = await c.get("/api/v1/timelines/home", headers={"Authorization": f"Bearer {tokens[i % len(tokens)]}"})
                assert r.status_code == 200 and len(r.json()) == 20, r.text[:200]

            async def post(i: int) -> None:
                r = await c.post("/api/v1/statuses", headers={"Authorization": f"Bearer {author}"},
                                 json={"status": f"Odpowiadamy od razu! Wpis numer {i} #obsluga"})
                assert r.status_code == 200, r.text[:200]

            await drain()
            await asyncio.sleep(3)  # let start-up work (model loading, first jobs) settle
            await drain()
            await run("verify_credentials", verify, n)
            await run("home_timeline", home, n)
            await run("post_status", post, n // 2)
            await run("home_after_posts", home, n)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--pg", default="")
    parser.add_argument("--profile", choices=["home_timeline", "post_status", "home_after_posts"], default=None)
    args = parser.parse_args()
    os.environ.setdefault("SZPAK_FAST_PASSWORD_HASHING", "1")
    print(f"Szpak in-process CPU per request ({os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f})")
    with tempfile.TemporaryDirectory() as tmp:
        if args.pg:
            url = fresh_pg_database(args.pg, "szpak_bench_cpu")
        else:
            url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        print(f"  backend: {url.split(':', 1)[0]}")
        asyncio.run(measure(url, tmp, args.n, args.profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
