"""The home timeline at scale: a large server, viewers of several shapes, measured in-process.

    .venv/bin/python bench/home_scale.py [--statuses 100000] [--authors 1000] [--pg URL] [--analyze]

Builds a world straight into the database (Core executemany, not the HTTP API): ``--statuses``
statuses by ``--authors`` authors over ``--days`` days, ids minted for their own past moments
(``storage/ids.py``: milliseconds in the high 48 bits), so id order is time order. Authors
post with Zipf-like activity (the busiest one ~13% of everything at the defaults); QUIET of
them post only QUIET_POSTS statuses each, all within the oldest 5% of the range. 10% of the
posts are replies (half of them threads by their own author), 5% boosts, 15% unlisted, 5%
followers-only, 15% carry one of 30 hashtags. Viewers (real users with tokens):

  (a) follows 50 random authors       (c) follows 500 random authors
  (b) follows the 50 quiet authors    (d) follows the one busiest author
  (e) follows 50 random authors and 3 hashtags

and, for each, GET /api/v1/timelines/home: the first page (default limit 20) and the 10th
page (``max_id`` of the end of page 9, found by walking the pages); for (b) also its last,
partial page, the one that has to reach the bottom of the id space. Requests go through the
ASGI interface one at a time (bench/cpu.py's ``Client``); the app serves without its job
worker (nothing to run: the world is inserted directly), with its heap frozen after
start-up as a serving process does. Prints the process CPU time and the wall time per
request (medians of 3 rounds) and how many id windows (api/routes/timelines.py
``windowed_ids``) the page visited. SQLite is never ANALYZEd by the server, so it is not here
either unless ``--analyze`` asks (as an operator's ``ANALYZE`` or ``PRAGMA optimize`` would);
PostgreSQL is ANALYZEd after the load (autovacuum would do it within minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import fresh_pg_database  # noqa: E402
from cpu import Client  # noqa: E402

REPEATS = 3
QUIET = 50
QUIET_POSTS = 5
FAN = 50
WIDE = 500
DEEP_PAGE = 10
TAGS = 30
ROUND_BUDGET = 1.5  # seconds of wall time a round may take; slow pages get fewer requests
BATCH = 10_000


def with_query(app: Any) -> Any:
    """cpu.py's Client puts the whole path in ``path``; split the query string off it."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and "?" in scope["path"]:
            path, query = scope["path"].split("?", 1)
            scope = {**scope, "path": path, "raw_path": path.encode(), "query_string": query.encode()}
        await app(scope, receive, send)

    return wrapped


def plan_world(n_statuses: int, n_authors: int, days: float, rng: random.Random) -> dict[str, Any]:
    """Authors' activity and every status row, in id order (pure Python, no database)."""
    quiet = min(QUIET, max(1, n_authors // 5))
    active = n_authors - quiet
    end_ms = int(time.time() * 1000) - 60_000
    start_ms = end_ms - int(days * 86_400_000)
    # Who posts what when: the quiet authors' few posts in the oldest 5%, the rest by Zipf weight.
    quiet_posts = min(quiet * QUIET_POSTS, n_statuses // 10)
    stamps = sorted(rng.randrange(start_ms, end_ms) for _ in range(n_statuses - quiet_posts))
    early = start_ms + (end_ms - start_ms) // 20
    placed = [(ms, None) for ms in stamps] + [(rng.randrange(start_ms, early), active + i % quiet) for i in range(quiet_posts)]
    placed.sort()
    weights = [1 / (rank + 1) for rank in range(active)]
    picks = iter(rng.choices(range(active), weights=weights, k=len(stamps)))

    rows: list[dict[str, Any]] = []
    tagged: list[tuple[int, int]] = []
    last_of: dict[int, int] = {}  # author -> index of their latest row (threads)
    last_ms, seq = -1, 0
    for ms, quiet_author in placed:
        seq = seq + 1 if ms == last_ms else 0
        last_ms = ms
        sid = (ms << 16) | seq
        author = quiet_author if quiet_author is not None else next(picks)
        row = {"id": sid, "author": author, "visibility": "public", "in_reply_to_id": None,
               "in_reply_to_account": None, "reblog_of_id": None, "conversation_id": sid, "ms": ms}
        roll = rng.random()
        if quiet_author is None and rows and roll < 0.10:  # a reply: a thread of one's own or to someone recent
            if roll < 0.05 and author in last_of:
                parent = rows[last_of[author]]
            else:
                parent = rows[rng.randrange(max(0, len(rows) - 500), len(rows))]
            if parent["reblog_of_id"] is None:
                row.update(in_reply_to_id=parent["id"], in_reply_to_account=parent["author"],
                           conversation_id=parent["conversation_id"])
        elif quiet_author is None and rows and roll < 0.15:  # a boost of something recent and open
            original = rows[rng.randrange(max(0, len(rows) - 2000), len(rows))]
            if original["reblog_of_id"] is None and original["visibility"] in ("public", "unlisted") \
                    and original["author"] != author:
                row.update(reblog_of_id=original["id"], conversation_id=original["conversation_id"])
        if row["reblog_of_id"] is None and quiet_author is None:
            v = rng.random()
            row["visibility"] = "unlisted" if v < 0.15 else "private" if v < 0.20 else "public"
            if rng.random() < 0.15:
                tagged.append((sid, rng.randrange(TAGS)))
        last_of[author] = len(rows)
        rows.append(row)
    counts = [0] * n_authors
    for row in rows:
        counts[row["author"]] += 1
    return {"rows": rows, "tagged": tagged, "counts": counts, "quiet": list(range(active, n_authors)),
            "busiest": 0, "start_ms": start_ms, "end_ms": end_ms}


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


async def build(
    database_url: str, n_statuses: int, n_authors: int, days: float, seed: int, analyze: bool = False
) -> dict[str, Any]:
    os.environ["SZPAK_FAST_PASSWORD_HASHING"] = "1"
    from sqlalchemy import text, update

    from szpak.config import Settings
    from szpak.domain import oauth
    from szpak.domain.accounts import create_user
    from szpak.domain.context import Context
    from szpak.realtime.bus import InProcessBus
    from szpak.storage.db import Database
    from szpak.storage.ids import new_id
    from szpak.storage.migrate import upgrade_async
    from szpak.storage.models import Account, Follow, Status, StatusTag, Tag, TagFollow

    t0 = time.perf_counter()
    rng = random.Random(seed)
    world = plan_world(n_statuses, n_authors, days, rng)
    rows, counts = world["rows"], world["counts"]
    planned = time.perf_counter() - t0

    await upgrade_async(database_url)
    ctx = Context(Settings(database_url=database_url, run_workers=False), Database(database_url, pool_size=2), InProcessBus())
    shapes = {
        "a": (f"{min(FAN, n_authors)} random authors", rng.sample(range(n_authors), min(FAN, n_authors))),
        "b": (f"{len(world['quiet'])} quiet authors", world["quiet"]),
        "c": (f"{min(WIDE, n_authors)} random authors", rng.sample(range(n_authors), min(WIDE, n_authors))),
        "d": ("1 busiest author", [world["busiest"]]),
        "e": (f"{min(FAN, n_authors)} authors + 3 tags", rng.sample(range(n_authors), min(FAN, n_authors))),
    }
    #: viewer → hashtags it follows (the followed-tags branch of home; docs/performance.md)
    followed_tags = {"e": [0, 1, 2]}
    viewers: dict[str, dict[str, Any]] = {}
    async with ctx.tx() as tx:
        for key, (label, follows) in shapes.items():
            user = await create_user(tx, username=f"czytelnik_{key}", email=f"czytelnik_{key}@example.com", password="benchmark-pass")
            token, _ = await oauth.issue_token(tx, application_id=None, user_id=user.id, scopes=["read", "write", "follow"])
            viewers[key] = {"label": label, "follows": follows, "token": token, "account_id": user.account_id,
                            "feed": sum(counts[a] for a in follows)}

    start = _at(world["start_ms"])
    author_ids = [new_id() for _ in range(n_authors)]
    last_ms: dict[int, int] = {}
    for row in rows:
        last_ms[row["author"]] = row["ms"]
    accounts = [{"id": author_ids[a], "username": f"autor{a}", "username_lower": f"autor{a}", "domain_key": "",
                 "display_name": f"Autor {a}", "created_at": start - timedelta(days=rng.uniform(1, 400)),
                 "statuses_count": counts[a], "last_status_at": _at(last_ms[a]) if a in last_ms else None}
                for a in range(n_authors)]
    tag_ids = [new_id() for _ in range(TAGS)]
    tags = [{"id": tag_ids[i], "name": f"temat{i}", "display_name": f"temat{i}", "created_at": start} for i in range(TAGS)]
    statuses = []
    for i, row in enumerate(rows):
        boost = row["reblog_of_id"] is not None
        body = "" if boost else f"Wpis numer {i}, o wszystkim i o niczym"
        statuses.append({
            "id": row["id"], "account_id": author_ids[row["author"]], "text": body,
            "content": "" if boost else f"<p>{body}</p>", "spoiler_text": "", "visibility": row["visibility"],
            "sensitive": False, "language": "pl", "in_reply_to_id": row["in_reply_to_id"],
            "in_reply_to_account_id": None if row["in_reply_to_account"] is None else author_ids[row["in_reply_to_account"]],
            "reblog_of_id": row["reblog_of_id"], "conversation_id": row["conversation_id"], "application_id": None,
            "meta": {}, "created_at": _at(row["ms"]), "edited_at": None, "replies_count": 0, "reblogs_count": 0,
            "favourites_count": 0, "local": True, "has_media": False,
        })
    status_tags = [{"status_id": sid, "tag_id": tag_ids[t]} for sid, t in world["tagged"]]
    follows = [{"id": new_id(), "account_id": v["account_id"], "target_account_id": author_ids[a],
                "created_at": start, "show_reblogs": True, "notify": False}
               for v in viewers.values() for a in v["follows"]]

    tag_follows = [{"id": new_id(), "account_id": viewers[k]["account_id"], "tag_id": tag_ids[t], "created_at": start}
                   for k, ts in followed_tags.items() if k in viewers for t in ts]

    engine = ctx.db.write_engine
    for table, data in ((Account.__table__, accounts), (Tag.__table__, tags), (Status.__table__, statuses),
                        (StatusTag.__table__, status_tags), (Follow.__table__, follows), (TagFollow.__table__, tag_follows)):
        for i in range(0, len(data), BATCH):
            async with engine.begin() as conn:
                await conn.execute(table.insert(), data[i:i + BATCH])
    async with engine.begin() as conn:
        for v in viewers.values():
            await conn.execute(update(Account.__table__).where(Account.__table__.c.id == v["account_id"])
                               .values(following_count=len(v["follows"])))
        if analyze or not ctx.db.is_sqlite:
            await conn.execute(text("ANALYZE"))
    await ctx.db.dispose()
    print(f"  world: {len(rows):,} statuses by {n_authors:,} authors over {days:g} days "
          f"(busiest author {counts[world['busiest']]:,}, median {sorted(counts)[n_authors // 2]}, "
          f"{len(world['quiet'])} quiet ones with {QUIET_POSTS} each), {len(status_tags):,} tagged; "
          f"planned in {planned:.1f} s, inserted in {time.perf_counter() - t0 - planned:.1f} s")
    return viewers


async def measure(database_url: str, data_dir: str, viewers: dict[str, dict[str, Any]], n: int) -> None:
    from szpak.api.routes import timelines
    from szpak.app import create_app
    from szpak.config import Settings

    app = create_app(Settings(database_url=database_url, data_dir=Path(data_dir), run_workers=False))
    windows = 0
    real_fetch = timelines.fetch_raw

    async def counting_fetch(session: Any, statement: Any, binds: dict[str, Any]) -> list[Any]:
        nonlocal windows
        if statement is timelines._nth_below():
            windows += 1
        return await real_fetch(session, statement, binds)

    async with app.router.lifespan_context(app):
        gc.collect()
        gc.freeze()  # as a serving process does after start-up (app.py, _freeze_heap)
        async with Client(with_query(app)) as c:

            async def page(token: str, max_id: str | None) -> list[dict[str, Any]]:
                path = "/api/v1/timelines/home" + (f"?max_id={max_id}" if max_id else "")
                r = await c.get(path, headers={"Authorization": f"Bearer {token}"})
                assert r.status_code == 200, r.text[:200]
                return r.json()

            async def probe(token: str, max_id: str | None) -> tuple[int, int]:
                """Rows on the page and id windows it visited (one uncounted request)."""
                nonlocal windows
                windows = 0
                timelines.fetch_raw = counting_fetch
                try:
                    got = await page(token, max_id)
                finally:
                    timelines.fetch_raw = real_fetch
                return len(got), windows

            async def timed(token: str, max_id: str | None) -> tuple[float, float, int]:
                for _ in range(3):  # warm the presenter's caches and the statement caches
                    await page(token, max_id)
                w0 = time.perf_counter()
                await page(token, max_id)
                one = time.perf_counter() - w0
                count = max(3, min(n, int(ROUND_BUDGET / max(one, 1e-6))))
                cpu, wall = [], []
                for _ in range(REPEATS):
                    t0, w0 = time.process_time(), time.perf_counter()
                    for _ in range(count):
                        await page(token, max_id)
                    cpu.append((time.process_time() - t0) / count * 1000)
                    wall.append((time.perf_counter() - w0) / count * 1000)
                return statistics.median(cpu), statistics.median(wall), count

            print(f"  {'viewer':<26} {'feed':>7}  {'page':>9}  {'rows':>4}  {'windows':>7}  "
                  f"{'CPU ms':>7}  {'wall ms':>7}  (requests × {REPEATS} rounds)")
            for key, v in viewers.items():
                token = v["token"]
                # Walk to the 10th page (or the last one), keeping each page's max_id.
                cursors: list[str | None] = [None]
                sizes: list[int] = []
                while len(cursors) <= DEEP_PAGE or key == "b":
                    got = await page(token, cursors[-1])
                    sizes.append(len(got))
                    if len(got) < 20:
                        break
                    cursors.append(got[-1]["id"])
                    if key == "b" and len(cursors) > 200:
                        break
                wanted = [(1, "first")]
                deep = min(DEEP_PAGE, len(sizes))
                if deep > 1:
                    wanted.append((deep, f"{deep}th" if deep == DEEP_PAGE else f"{deep} (last)"))
                if key == "b" and len(sizes) > deep:
                    wanted.append((len(sizes), f"{len(sizes)} (last)"))
                for i, (number, name) in enumerate(wanted):
                    max_id = cursors[number - 1]
                    rows, visited = await probe(token, max_id)
                    cpu, wall, count = await timed(token, max_id)
                    label = f"({key}) {v['label']}" if i == 0 else ""
                    feed = f"{v['feed']:,}" if i == 0 else ""
                    print(f"  {label:<26} {feed:>7}  {name:>9}  {rows:>4}  {visited:>7}  "
                          f"{cpu:7.2f}  {wall:7.2f}  ({count})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--statuses", type=int, default=100_000)
    parser.add_argument("--authors", type=int, default=1_000)
    parser.add_argument("--days", type=float, default=365)
    parser.add_argument("--n", type=int, default=30, help="requests per round at most (fewer for slow pages)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg", default="")
    parser.add_argument("--analyze", action="store_true", help="ANALYZE SQLite after the load too")
    args = parser.parse_args()
    os.environ.setdefault("SZPAK_FAST_PASSWORD_HASHING", "1")
    print(f"Szpak home timeline at scale, in-process ({os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f})")
    with tempfile.TemporaryDirectory() as tmp:
        if args.pg:
            url = fresh_pg_database(args.pg, "szpak_bench_home")
        else:
            url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        print(f"  backend: {url.split(':', 1)[0]}{' (ANALYZEd)' if args.analyze or args.pg else ''}")
        t0 = time.perf_counter()
        viewers = asyncio.run(build(url, args.statuses, args.authors, args.days, args.seed, args.analyze))
        asyncio.run(measure(url, tmp, viewers, args.n))
        print(f"  total {time.perf_counter() - t0:.0f} s, load average now {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
