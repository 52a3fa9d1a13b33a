"""Benchmark brand listening.

    .venv/bin/python bench/listening.py [--orgs 1000] [--per-org 10] [--posts 5000]
        [--rate 50] [--duration 60] [--share 0.3] [--pg URL] [--skip-latency] [--inprocess --clients 8]

Prints, with 10,000 tracked queries across 1,000 organisations (bench/matcher.py's
generator: own brands, shared competitor brands, Polish and English product words,
phrases, boolean queries with ``lang:``):

1. matcher throughput on one core (~30-word posts, 3 % mentioning a tracked term);
2. the whole listening step on one core — load the post, match it, classify the
   matched ones, store the mentions (``Pipeline.process``), posts/s — for the realistic
   3 % hit rate and for posts that all match, and the same driven through the durable
   job worker (with its claim and bookkeeping writes);
3. post → mention latency on a real server: posts sent over REST at ``--rate`` posts/s
   for ``--duration`` s, ``--share`` of them naming one organisation's brand; the time
   from sending the POST until the mention arrives on that organisation's listening
   stream (SSE): p50, p95, p99, max.
   With ``--inprocess`` (3b), instead: ``--clients`` concurrent clients call the domain action
   ``create_status`` in this process at ``--rate`` posts/s while the job worker and the listening
   runtime run beside them as in ``szpak serve``; a mention counts as visible when its
   ``MentionCreated`` event reaches the bus (what the SSE stream forwards).  Use it where the REST
   API itself cannot take the rate on the machine.

Seeding uses cheap password hashing (SZPAK_FAST_PASSWORD_HASHING=1) for its 1,000
organisation accounts; nothing measured hashes a password.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

os.environ.setdefault("SZPAK_FAST_PASSWORD_HASHING", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent / "src"))

from api import free_port, fresh_pg_database, stop, wait_up  # noqa: E402
from matcher import make_posts, make_queries  # noqa: E402

from szpak.text import Matcher, expand_word, parse  # noqa: E402

POSTERS = 20


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def start_server(env: dict[str, str], port: int, *, workers: int = 1) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "szpak.cli", "serve", "--port", str(port), "--log-level", "warning",
           "--workers", str(workers)]
    proc = subprocess.Popen(cmd, env=env, cwd=BENCH.parent, stdout=subprocess.DEVNULL)
    wait_up(f"http://127.0.0.1:{port}/health")
    return proc


# --- seeding ----------------------------------------------------------------------------------


async def seed(database_url: str, data_dir: Path, raw: list[tuple[str, str]], orgs: int) -> dict[str, Any]:
    """Organisations with their queries, an owner of org 0 and posting users, with tokens."""
    from szpak.config import Settings
    from szpak.domain import oauth
    from szpak.domain import organisations as org_actions
    from szpak.domain.accounts import create_user
    from szpak.domain.context import Context
    from szpak.listening.queries import bump_version
    from szpak.realtime.bus import InProcessBus
    from szpak.storage.db import Database
    from szpak.storage.migrate import upgrade_async
    from szpak.storage.models.listening import TrackedQuery

    await upgrade_async(database_url)
    settings = Settings(database_url=database_url, data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
    ctx = Context(settings, Database(database_url), InProcessBus())
    out: dict[str, Any] = {"org_ids": [], "poster_tokens": [], "poster_ids": []}
    try:
        async with ctx.tx() as tx:
            owner = await create_user(tx, username="bench_owner", email="owner@bench.example", password="bench-password")
            out["owner_token"], _ = await oauth.issue_token(tx, application_id=None, user_id=owner.id, scopes=["read", "write"])
            for i in range(POSTERS):
                u = await create_user(tx, username=f"poster{i}", email=f"poster{i}@bench.example", password="bench-password")
                token, _ = await oauth.issue_token(tx, application_id=None, user_id=u.id, scopes=["read", "write"])
                out["poster_tokens"].append(token)
                out["poster_ids"].append(u.account_id)
        for start in range(0, orgs, 100):
            async with ctx.tx() as tx:
                for n in range(start, min(orgs, start + 100)):
                    account = await org_actions.create_organisation(
                        tx, owner.account_id if n == 0 else None, username=f"org{n}", kind="brand",
                    )
                    out["org_ids"].append(account.id)
        by_org: dict[int, list[str]] = {}
        for qid, q in raw:
            by_org.setdefault(int(qid.split(":")[0][3:]), []).append(q)
        async with ctx.tx() as tx:
            for n, queries in by_org.items():
                for i, q in enumerate(queries):
                    tx.session.add(TrackedQuery(organisation_id=out["org_ids"][n], name=f"q{i}", query=q))
            await bump_version(tx)
    finally:
        await ctx.db.dispose()
    return out


# --- 1. the matcher ----------------------------------------------------------------------------


def bench_matcher(raw: list[tuple[str, str]], posts: list[tuple[str, str]]) -> Matcher:
    t0 = time.perf_counter()
    matcher = Matcher.build([(qid, parse(q)) for qid, q in raw])
    build = time.perf_counter() - t0
    for text, lang in posts[:1000]:
        matcher.match(text, lang)
    best = float("inf")
    hits = 0
    for _ in range(3):
        t0 = time.perf_counter()
        hits = sum(1 for text, lang in posts if matcher.match(text, lang))
        best = min(best, time.perf_counter() - t0)
    print(f"1. matcher: {len(raw):,} queries, build {build:.2f} s; {len(posts) / best:,.0f} posts/s on one core "
          f"({best / len(posts) * 1e6:.0f} µs/post; {hits / len(posts):.1%} of posts matched)")
    return matcher


# --- 2. the whole listening step -----------------------------------------------------------------


async def bench_step(database_url: str, data_dir: Path, seeded: dict[str, Any], posts: list[tuple[str, str]],
                     all_hits: list[tuple[str, str]]) -> None:
    from sqlalchemy import select

    from szpak.config import Settings
    from szpak.domain.context import Context
    from szpak.domain.statuses import StatusDraft, create_status
    from szpak.jobs.runner import Worker
    from szpak.listening.queries import read_versions
    from szpak.listening.runtime import runtime_for
    from szpak.realtime.bus import InProcessBus
    from szpak.storage.db import Database
    from szpak.storage.models import Account

    settings = Settings(database_url=database_url, data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
    ctx = Context(settings, Database(database_url), InProcessBus())
    rt = runtime_for(ctx)
    try:
        async with ctx.read() as s:
            authors = list(await s.scalars(select(Account).where(Account.id.in_(seeded["poster_ids"]))))
            versions = await read_versions(s)
        t0 = time.perf_counter()
        await rt.matchers.current(versions)
        print(f"2. listening step (SQLite inline driver, one process, one core); matcher ready in {time.perf_counter() - t0:.1f} s; "
              f"sentiment model: {_model_name(rt)}")

        async def make(batch: list[tuple[str, str]]) -> list[int]:
            ids = []
            for start in range(0, len(batch), 200):
                async with ctx.tx() as tx:
                    for i, (text, lang) in enumerate(batch[start:start + 200]):
                        st = await create_status(tx, authors[(start + i) % len(authors)], StatusDraft(text=text, language=lang))
                        ids.append(st.id)
            return ids

        from szpak.listening.classify import Classifier

        model = rt.classifier
        for label, batch, classifier in (
            ("3 % of posts match", posts, model),
            ("every post matches", all_hits, model),
            ("all match, no model", all_hits, Classifier(None, load=False)),
        ):
            rt.classifier = classifier
            ids = await make(batch)
            for sid in ids[:50]:  # warm-up
                await rt.pipeline.process(sid)
            while await rt.labeller.run_once():
                pass
            t0, c0 = time.perf_counter(), time.process_time()
            created = 0
            labelled = 0
            for i, sid in enumerate(ids[50:], 1):
                created += len((await rt.pipeline.process(sid)).created)
                if i % 200 == 0 or rt.labeller.waiting >= 64:  # as the labeller loop would, in batches
                    while n := await rt.labeller.run_once():
                        labelled += n
            while n := await rt.labeller.run_once():
                labelled += n
            elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
            n = len(ids) - 50
            print(f"   {label:<20} {n / elapsed:>7,.0f} posts/s wall, {n / cpu:>7,.0f} posts/s per CPU-second "
                  f"({cpu / n * 1e3:.2f} ms CPU/post; {created / n:.2f} mentions/post, {labelled} posts labelled)")
        rt.classifier = model
        # The same posts once more, through the job worker (claims, handler, done marks).
        from sqlalchemy import update

        from szpak.storage.models import Job

        async with ctx.tx() as tx:  # the jobs of the posts above: already processed; drop them
            await tx.session.execute(update(Job).values(done_at=Job.created_at))
        ids = await make(posts)
        worker = Worker(ctx, batch=100)
        t0, c0 = time.perf_counter(), time.process_time()
        ran = 0
        while n := await worker.run_once():
            ran += n
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"   through the job worker {ran / elapsed:>5,.0f} posts/s wall, {ran / cpu:>7,.0f} posts/s per CPU-second "
              f"(3 % match; {ran} jobs, with the worker's claim and done writes)")
    finally:
        await rt.stop()
        await ctx.db.dispose()


def _model_name(rt: Any) -> str:
    rt.classifier.predict(["test"])
    texts = [f"Skarpetki z promocji, numer {i}, chyba dobre ale dostawa trwała tydzień" for i in range(64)]
    t0 = time.process_time()
    for text in texts[:16]:
        rt.classifier.predict([text])
    one = (time.process_time() - t0) / 16
    t0 = time.process_time()
    rt.classifier.predict(texts)
    batch = (time.process_time() - t0) / len(texts)
    return f"{rt.classifier.name} ({one * 1e3:.1f} ms CPU a text alone, {batch * 1e3:.1f} ms in a batch of 64)"


# --- 3. post -> mention latency on a real server -------------------------------------------------


async def bench_latency(base: str, seeded: dict[str, Any], posts: list[tuple[str, str]], brand: str, rate: float,
                        duration: float, share: float) -> None:
    org = seeded["org_ids"][0]
    owner = {"Authorization": f"Bearer {seeded['owner_token']}"}
    forms = sorted(expand_word(brand))
    rng = random.Random(7)
    sent: dict[str, tuple[float, float]] = {}  # status id -> (POST sent, answered)
    arrived: dict[str, float] = {}
    labelled: dict[str, float] = {}
    errors = 0
    listening = asyncio.Event()

    async def listen(http: httpx.AsyncClient) -> None:
        try:
            async with http.stream("GET", f"{base}/api/szpak/v1/organisations/{org}/listening/stream", headers=owner,
                                   timeout=httpx.Timeout(None)) as r:
                assert r.status_code == 200, r.status_code
                listening.set()
                event = None
                async for line in r.aiter_lines():
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: ") and event in ("mention", "mention.update"):
                        now = time.perf_counter()
                        data = orjson.loads(line[6:])
                        arrived.setdefault(data["status"]["id"], now)
                        if not data["sentiment_pending"]:
                            labelled.setdefault(data["status"]["id"], now)
        except httpx.HTTPError:
            pass

    async def post(http: httpx.AsyncClient, i: int, text: str, lang: str, track: bool) -> None:
        nonlocal errors
        token = seeded["poster_tokens"][i % len(seeded["poster_tokens"])]
        started = time.perf_counter()
        try:
            r = await http.post(f"{base}/api/v1/statuses", headers={"Authorization": f"Bearer {token}"},
                                json={"status": text, "language": lang})
        except httpx.HTTPError as exc:
            errors += 1
            print(f"   POST failed: {exc!r}", file=sys.stderr)
            return
        if r.status_code != 200:
            errors += 1
            return
        if track:
            sent[r.json()["id"]] = (started, time.perf_counter())

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=100), timeout=30) as http:
        listener = asyncio.create_task(listen(http))
        await asyncio.wait_for(listening.wait(), 30)
        # Warm-up: the server builds its matcher and loads the sentiment model.
        await post(http, 0, f"Rozgrzewka {rng.choice(forms).capitalize()}", "pl", True)
        deadline = time.perf_counter() + 60
        while not labelled and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)
        sent.clear()
        arrived.clear()
        labelled.clear()
        total = int(rate * duration)
        t0 = time.perf_counter()
        tasks = []
        for i in range(total):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            text, lang = posts[i % len(posts)]
            track = rng.random() < share
            if track:
                words = text.split()
                words[rng.randrange(len(words))] = rng.choice(forms).capitalize()
                text, lang = " ".join(words), "pl"
            tasks.append(asyncio.create_task(post(http, i, text, lang, track)))
        await asyncio.gather(*tasks)
        achieved = total / (time.perf_counter() - t0)
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline and not set(sent) <= set(labelled):
            await asyncio.sleep(0.1)
        listener.cancel()
        try:
            await listener
        except asyncio.CancelledError:
            pass
    from_send = [(arrived[sid] - t[0]) * 1000 for sid, t in sent.items() if sid in arrived]
    from_answer = [(arrived[sid] - t[1]) * 1000 for sid, t in sent.items() if sid in arrived]
    post_time = [(t[1] - t[0]) * 1000 for t in sent.values()]
    with_label = [(labelled[sid] - t[0]) * 1000 for sid, t in sent.items() if sid in labelled]
    missing = len(sent) - len(from_send)
    print(f"3. post -> mention on the listening stream: {total} posts sent at {achieved:.1f} posts/s over REST, "
          f"{len(sent)} naming the brand; {errors} errors; {missing} mentions not seen within 30 s")

    def line(name: str, values: list[float]) -> str:
        return (f"   {name:<34} p50 {pct(values, 50):7.1f}  p95 {pct(values, 95):7.1f}  p99 {pct(values, 99):7.1f}  "
                f"max {max(values) if values else float('nan'):7.1f} ms")

    print(line("POST sent -> mention on the stream", from_send))
    print(line("POST answered -> mention", from_answer))
    print(line("(the POST itself)", post_time))
    print(line("POST sent -> labelled (sentiment)", with_label))


# --- 3b. post -> mention latency in-process (no HTTP) ---------------------------------------------


async def bench_latency_inprocess(database_url: str, data_dir: Path, seeded: dict[str, Any],
                                  posts: list[tuple[str, str]], brand: str, rate: float, duration: float,
                                  share: float, drivers: int) -> None:
    """What a server process does, minus HTTP: ``drivers`` concurrent clients call the domain
    action ``create_status`` (the same one POST /api/v1/statuses calls: status row, durable
    ``status.created`` job, commit) at ``rate`` posts/s in total, while this process runs the
    job worker, the listening runtime (matcher, labeller with the model in a child process,
    deliverer) exactly as ``szpak serve`` starts them.  A mention is *visible* when its
    ``MentionCreated`` event reaches the bus: the listening stream (SSE) writes it from there."""
    from sqlalchemy import select

    import szpak.listening.pipeline  # noqa: F401  - @handler("status.*")
    from szpak.config import Settings
    from szpak.domain.context import Context
    from szpak.domain.events import Event, MentionCreated, MentionUpdated
    from szpak.domain.statuses import StatusDraft, create_status
    from szpak.jobs.runner import Worker
    from szpak.listening.runtime import runtime_for
    from szpak.realtime.bus import InProcessBus
    from szpak.storage.db import Database
    from szpak.storage.models import Account

    settings = Settings(database_url=database_url, data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
    ctx = Context(settings, Database(database_url), InProcessBus())
    org = seeded["org_ids"][0]
    arrived: dict[int, float] = {}
    labelled: dict[int, float] = {}

    def on_event(event: Event) -> None:
        now = time.perf_counter()
        if isinstance(event, MentionCreated) and event.organisation_id == org:
            arrived.setdefault(int(event.status_id), now)
        elif isinstance(event, MentionUpdated) and event.organisation_id == org:
            labelled.setdefault(int(event.status_id), now)

    ctx.bus.subscribe(on_event)
    worker = Worker(ctx)
    rt = runtime_for(ctx)
    await rt.start()
    await worker.start()
    forms = sorted(expand_word(brand))
    rng = random.Random(7)
    sent: dict[int, tuple[float, float]] = {}  # status id -> (action started, committed)
    errors = 0
    try:
        async with ctx.read() as s:
            authors = list(await s.scalars(select(Account).where(Account.id.in_(seeded["poster_ids"]))))

        async def post(i: int, text: str, lang: str, track: bool) -> None:
            nonlocal errors
            started = time.perf_counter()
            try:
                async with ctx.tx() as tx:
                    st = await create_status(tx, authors[i % len(authors)], StatusDraft(text=text, language=lang))
            except Exception as exc:  # noqa: BLE001 - counted and reported
                errors += 1
                print(f"   create_status failed: {exc!r}", file=sys.stderr)
                return
            if track:
                sent[int(st.id)] = (started, time.perf_counter())

        # Warm-up: the matcher is built and the model loaded (in its child process).
        await post(0, f"Rozgrzewka {rng.choice(forms).capitalize()}", "pl", True)
        deadline = time.perf_counter() + 120
        while not labelled and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)
        sent.clear()
        arrived.clear()
        labelled.clear()
        total = int(rate * duration)
        plan = []
        for i in range(total):
            text, lang = posts[i % len(posts)]
            track = rng.random() < share
            if track:
                words = text.split()
                words[rng.randrange(len(words))] = rng.choice(forms).capitalize()
                text, lang = " ".join(words), "pl"
            plan.append((i, text, lang, track))
        load_before = os.getloadavg()
        t0, c0 = time.perf_counter(), time.process_time()

        async def driver(d: int) -> None:  # each client sends every drivers-th post, on schedule
            pending = []
            for i, text, lang, track in plan[d::drivers]:
                delay = t0 + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                pending.append(asyncio.create_task(post(i, text, lang, track)))
            await asyncio.gather(*pending)

        await asyncio.gather(*(driver(d) for d in range(drivers)))
        sending = time.perf_counter() - t0
        achieved = total / sending
        cpu_share = (time.process_time() - c0) / sending
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline and not set(sent) <= set(labelled):
            await asyncio.sleep(0.1)
        load_after = os.getloadavg()
    finally:
        await worker.stop()
        await rt.stop()
        await ctx.db.dispose()
    from_start = [(arrived[sid] - t[0]) * 1000 for sid, t in sent.items() if sid in arrived]
    from_commit = [(arrived[sid] - t[1]) * 1000 for sid, t in sent.items() if sid in arrived]
    action = [(t[1] - t[0]) * 1000 for t in sent.values()]
    with_label = [(labelled[sid] - t[0]) * 1000 for sid, t in sent.items() if sid in labelled]
    missing = len(sent) - len(from_start)
    print(f"3b. post -> mention, in-process (domain action create_status, no HTTP; {drivers} concurrent clients): "
          f"{total} posts at {achieved:.1f} posts/s, {len(sent)} naming the brand; {errors} errors; "
          f"{missing} mentions not seen within 30 s; load average 1/5/15 min before "
          f"{'/'.join(f'{x:.2f}' for x in load_before)}, after {'/'.join(f'{x:.2f}' for x in load_after)}; "
          f"this process used {cpu_share:.2f} CPU-seconds a second while posting (the model's child not counted)")

    def line(name: str, values: list[float]) -> str:
        return (f"   {name:<34} p50 {pct(values, 50):7.1f}  p95 {pct(values, 95):7.1f}  p99 {pct(values, 99):7.1f}  "
                f"max {max(values) if values else float('nan'):7.1f} ms")

    print(line("post started -> mention visible", from_start))
    print(line("post committed -> mention visible", from_commit))
    print(line("(create_status + commit itself)", action))
    print(line("post started -> labelled", with_label))


# --- main ----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orgs", type=int, default=1000)
    parser.add_argument("--per-org", type=int, default=10)
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--hit-rate", type=float, default=0.03)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--share", type=float, default=0.3, help="share of latency posts naming the measured brand")
    parser.add_argument("--pg", default=os.environ.get("SZPAK_BENCH_PG_URL", ""))
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-step", action="store_true")
    parser.add_argument("--workers", type=int, default=1, help="server processes (more than one needs --redis)")
    parser.add_argument("--redis", default=os.environ.get("SZPAK_BENCH_REDIS_URL", ""))
    parser.add_argument("--inprocess", action="store_true",
                        help="measure post -> mention without HTTP: create_status called in-process "
                             "(with the job worker and listening runtime running) instead of a server")
    parser.add_argument("--clients", type=int, default=8, help="concurrent posting clients for --inprocess")
    args = parser.parse_args()
    rng = random.Random(42)
    raw = make_queries(rng, args.orgs, args.per_org)
    reference = Matcher.build([(qid, parse(q)) for qid, q in raw])
    posts = make_posts(rng, args.posts, raw, args.hit_rate, reference)
    all_hits = make_posts(rng, max(300, args.posts // 10), raw, 1.0, reference)
    print(f"Szpak listening benchmark: {os.cpu_count()} cores; {len(raw):,} queries across {args.orgs:,} organisations")
    bench_matcher(raw, posts)
    brand = raw[0][1]  # organisation 0's own brand
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        url = args.pg or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        if args.pg:
            url = fresh_pg_database(args.pg, "szpak_bench_listening")
        seeded = asyncio.run(seed(url, data_dir, raw, args.orgs))
        if not args.skip_step:
            asyncio.run(bench_step(url, data_dir, seeded, posts, all_hits))
        if args.skip_latency:
            return 0
        if args.inprocess:
            print(f"   load average before: {os.getloadavg()[0]:.2f}")
            asyncio.run(bench_latency_inprocess(url, data_dir, seeded, posts, brand, args.rate, args.duration,
                                                args.share, args.clients))
            return 0
        port = free_port()
        env = {**os.environ, "SZPAK_DATABASE_URL": url, "SZPAK_DATA_DIR": str(data_dir),
               "SZPAK_DOMAIN": f"127.0.0.1:{port}", "SZPAK_HEARTBEAT_SECONDS": "5"}
        if args.redis:
            env["SZPAK_REDIS_URL"] = args.redis
            env["SZPAK_REDIS_CHANNEL"] = f"szpak:bench-listening:{port}"
        elif args.workers > 1:
            print("--workers above 1 needs --redis (the listening stream hears other processes through it)")
            return 2
        proc = start_server(env, port, workers=args.workers)
        print(f"   server: {args.workers} process(es), {'Redis' if args.redis else 'in-process'} bus, "
              f"{'PostgreSQL' if args.pg else 'SQLite'}; load average before: {os.getloadavg()[0]:.1f}")
        try:
            asyncio.run(bench_latency(f"http://127.0.0.1:{port}", seeded, posts, brand, args.rate, args.duration, args.share))
        finally:
            stop(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
