"""Trends: which hashtags, posts and links are taking off, computed from the database.

Nothing here is stubbed or curated by hand. Each kind is one SQL read over a recent
window of *eligible* posts, ranked in Python, and kept per process for
:data:`TTL` seconds (:class:`TrendsCache`), so a busy instance pays for one ranking a
minute, not one per request. The formulas are documented in docs/api/trends.md.

Eligible post: ``public`` (not unlisted, private or direct), an original (not a
reblog), written by an account that is not suspended, not silenced, and both
``discoverable`` and ``indexable``. A private or direct post therefore never makes
a tag, a link or itself trend.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import ColumnElement, Engine, NullPool, Text, case, cast, create_engine, func, or_, select

from szpak.domain.context import Context

from szpak.storage.ids import id_for_time
from szpak.storage.models import Account, Status, StatusTag

#: Seconds a ranking is reused before it is computed again.
TTL = 60.0
DAY = timedelta(days=1)
#: Days of usage read for tags and links: today (the last 24 hours) and a baseline.
HISTORY_DAYS = 7
#: How far back a post may be and still trend as a post.
STATUS_WINDOW = timedelta(hours=48)
#: Hours added to a post's age before decay, so a brand-new post doesn't win on one like.
STATUS_AGE_OFFSET_HOURS = 2.0
#: Exponent of the age decay of post scores.
STATUS_DECAY = 1.5
#: Engagement weights: a reblog spreads a post further than a favourite or a reply.
W_FAVOURITE, W_REBLOG, W_REPLY = 1, 2, 1
#: Candidates read per ranking (most engaged first) and entries kept per kind.
CANDIDATES = 1000
KEEP = 100
#: Most recent posts with links read for link trends (a cap on one ranking's cost).
LINK_ROWS = 20000
#: Fewest distinct accounts in the last 24 hours for a tag or link to trend.
MIN_ACCOUNTS = 1

T = TypeVar("T")


def eligible_author() -> ColumnElement[bool]:
    """SQL: the author of ``Status`` may appear in trends. Written as "not one of the
    (few) ineligible accounts": an uncorrelated subquery the database evaluates once,
    three times cheaper over a week of posts than a per-row EXISTS on ``accounts``."""
    ineligible = select(Account.id).where(
        or_(
            Account.suspended_at.is_not(None),
            Account.silenced_at.is_not(None),
            Account.discoverable.is_not(True),
            Account.indexable.is_not(True),
        )
    )
    return Status.account_id.not_in(ineligible)


def eligible_status() -> list[ColumnElement[bool]]:
    """SQL conditions on ``Status`` for a post that may count towards trends."""
    return [Status.visibility == "public", Status.reblog_of_id.is_(None), eligible_author()]


#: Runs one SELECT and returns its rows (see :func:`fetcher`).
Fetch = Callable[[Any], Awaitable[Sequence[Any]]]


@lru_cache(maxsize=16)
def _sync_engine(url: str) -> Engine:
    # NullPool: a connection per ranking, closed after it; nothing stays open.
    return create_engine(url, poolclass=NullPool)


def _run_sync(engine: Engine, query: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(query).all())


def fetcher(ctx: Context) -> Fetch:
    """How rankings read. SQLite statements run inline on the event loop
    (docs/decisions/0001-sqlite-inline-driver.md), which suits the microsecond lookups of
    requests but not a scan of a week of posts, so on SQLite a ranking reads through
    its own short-lived connection on a worker thread and the loop keeps serving.
    PostgreSQL reads through the ordinary (asynchronous) read session."""
    if ctx.db.is_sqlite:
        engine = _sync_engine(ctx.db.url.replace("sqlite+aiosqlite://", "sqlite://", 1))

        async def fetch_in_thread(query: Any) -> Sequence[Any]:
            return await asyncio.to_thread(_run_sync, engine, query)

        return fetch_in_thread

    async def fetch(query: Any) -> Sequence[Any]:
        async with ctx.read() as s:
            return (await s.execute(query)).all()

    return fetch


def midnight(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def rising_score(recent: int, baseline: float) -> float:
    """Distinct accounts in the last 24 hours against the usual daily number:
    ``recent² / (baseline + 1)``. Five accounts on a quiet tag beat one; a tag used by
    the same five accounts every day scores less than one that jumped to five today."""
    return recent * recent / (baseline + 1.0)


def status_score(favourites: int, reblogs: int, replies: int, age_hours: float) -> float:
    """Engagement with time decay: ``(f + 2r + c) / (age_h + 2) ** 1.5``."""
    engagement = W_FAVOURITE * favourites + W_REBLOG * reblogs + W_REPLY * replies
    return engagement / math.pow(max(age_hours, 0.0) + STATUS_AGE_OFFSET_HOURS, STATUS_DECAY)


# -- tags ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RankedTag:
    tag_id: int
    score: float
    accounts_today: int
    baseline: float


async def rank_tags(fetch: Fetch, now: datetime | None = None) -> list[RankedTag]:
    """Tags by :func:`rising_score` over rolling 24-hour buckets: bucket 0 is the last 24
    hours, buckets 1-6 the days before (their mean is the baseline). One grouped query."""
    now = now or datetime.now(timezone.utc)
    edges = [now - i * DAY for i in range(HISTORY_DAYS + 1)]
    bucket = case(
        *[(StatusTag.status_id >= id_for_time(edges[i + 1]), i) for i in range(HISTORY_DAYS)],
    )
    rows = (
        select(StatusTag.tag_id.label("tag_id"), bucket.label("bucket"), Status.account_id.label("account_id"))
        .join(Status, Status.id == StatusTag.status_id)
        .where(
            StatusTag.status_id >= id_for_time(edges[-1]),
            StatusTag.status_id < id_for_time(now + timedelta(seconds=1)),
            *eligible_status(),
        )
        .subquery()
    )
    counted = select(rows.c.tag_id, rows.c.bucket, func.count(func.distinct(rows.c.account_id))).group_by(
        rows.c.tag_id, rows.c.bucket
    )
    per_tag: dict[int, list[int]] = defaultdict(lambda: [0] * HISTORY_DAYS)
    for tag_id, index, accounts in await fetch(counted):
        if index is not None:
            per_tag[tag_id][int(index)] = int(accounts)
    ranked = []
    for tag_id, counts in per_tag.items():
        recent = counts[0]
        if recent < MIN_ACCOUNTS:
            continue
        baseline = sum(counts[1:]) / (HISTORY_DAYS - 1)
        ranked.append(RankedTag(tag_id, rising_score(recent, baseline), recent, baseline))
    ranked.sort(key=lambda r: (-r.score, -r.accounts_today, -r.tag_id))
    return ranked[:KEEP]


# -- statuses --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RankedStatus:
    status_id: int
    score: float


async def rank_statuses(fetch: Fetch, now: datetime | None = None) -> list[RankedStatus]:
    """Eligible posts of the last :data:`STATUS_WINDOW` with any engagement, by
    :func:`status_score`. Replies are left out: trends show posts, not conversations."""
    now = now or datetime.now(timezone.utc)
    engagement = (
        W_FAVOURITE * Status.favourites_count + W_REBLOG * Status.reblogs_count + W_REPLY * Status.replies_count
    )
    query = (
        select(Status.id, Status.created_at, Status.favourites_count, Status.reblogs_count, Status.replies_count)
        .where(
            Status.id >= id_for_time(now - STATUS_WINDOW),
            Status.in_reply_to_id.is_(None),
            engagement > 0,
            *eligible_status(),
        )
        .order_by(engagement.desc(), Status.id.desc())
        .limit(CANDIDATES)
    )
    ranked = []
    for sid, created_at, fav, reb, rep in await fetch(query):
        age = (now - created_at).total_seconds() / 3600.0
        ranked.append(RankedStatus(int(sid), status_score(int(fav), int(reb), int(rep), age)))
    ranked.sort(key=lambda r: (-r.score, -r.status_id))
    return ranked[:KEEP]


# -- links -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RankedLink:
    url: str
    score: float
    accounts_today: int
    #: Seven entries newest first, as Tag.history: ``{"day", "uses", "accounts"}``.
    history: list[dict[str, str]]


def normalise_url(url: str) -> str | None:
    """The form links are grouped by: http(s) only, scheme and host lower-cased, no
    fragment, no trailing slash on a bare host. None for anything else."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    path = parts.path if parts.path not in ("", "/") else ""
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


async def rank_links(fetch: Fetch, local_domain: str, now: datetime | None = None) -> list[RankedLink]:
    """URLs in eligible posts of the last seven days, grouped by :func:`normalise_url`,
    ranked by :func:`rising_score` on distinct sharers (links to this server itself are
    left out). Posts keep the links found in them in ``meta["links"]``, so this reads
    only posts that have some, newest first, at most :data:`LINK_ROWS` of them."""
    now = now or datetime.now(timezone.utc)
    since = now - HISTORY_DAYS * DAY
    query = (
        select(Status.id, Status.account_id, Status.meta)
        .where(
            Status.id >= id_for_time(since),
            cast(Status.meta, Text).like('%"links"%'),
            *eligible_status(),
        )
        .order_by(Status.id.desc())
        .limit(LINK_ROWS)
    )
    starts = [midnight(now) - i * DAY for i in range(HISTORY_DAYS)]
    start_ids = [id_for_time(s) for s in starts]
    # url -> [accounts in each rolling 24h bucket], calendar-day uses and accounts.
    rolling: dict[str, list[set[int]]] = defaultdict(lambda: [set() for _ in range(HISTORY_DAYS)])
    day_uses: dict[str, list[int]] = defaultdict(lambda: [0] * HISTORY_DAYS)
    day_accounts: dict[str, list[set[int]]] = defaultdict(lambda: [set() for _ in range(HISTORY_DAYS)])
    local = local_domain.lower()
    edges = [id_for_time(now - i * DAY) for i in range(1, HISTORY_DAYS + 1)]
    # The same links recur (that is what trending means), so each raw form is parsed once.
    forms: dict[str, str | None] = {}

    def form(raw: Any) -> str | None:
        if not isinstance(raw, str):
            return None
        if raw not in forms:
            url = normalise_url(raw)
            forms[raw] = url if url is not None and urlsplit(url).netloc != local else None
        return forms[raw]

    for sid, account_id, meta in await fetch(query):
        links = meta.get("links") if isinstance(meta, dict) else None
        if not isinstance(links, list):
            continue
        urls = {u for u in map(form, links) if u is not None}
        if not urls:
            continue
        bucket = next((i for i, edge in enumerate(edges) if sid >= edge), None)
        day = next((i for i, start in enumerate(start_ids) if sid >= start), None)
        for url in urls:
            if bucket is not None:
                rolling[url][bucket].add(account_id)
            if day is not None:
                day_uses[url][day] += 1
                day_accounts[url][day].add(account_id)
    ranked = []
    for url, buckets in rolling.items():
        recent = len(buckets[0])
        if recent < MIN_ACCOUNTS:
            continue
        baseline = sum(len(b) for b in buckets[1:]) / (HISTORY_DAYS - 1)
        history = [
            {"day": str(int(start.timestamp())), "uses": str(day_uses[url][i]), "accounts": str(len(day_accounts[url][i]))}
            for i, start in enumerate(starts)
        ]
        ranked.append(RankedLink(url, rising_score(recent, baseline), recent, history))
    ranked.sort(key=lambda r: (-r.score, -r.accounts_today, r.url))
    return ranked[:KEEP]


# -- the per-process cache -------------------------------------------------------------------


class TrendsCache:
    """Rankings per kind, each reused for :data:`TTL` seconds; one computation at a time
    per kind, so a burst of requests after expiry runs the query once."""

    def __init__(self, ttl: float = TTL) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Any]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def clear(self) -> None:
        self._entries.clear()

    async def get(self, kind: str, compute: Callable[[], Awaitable[T]]) -> T:
        hit = self._entries.get(kind)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]  # type: ignore[no-any-return]
        lock = self._locks.setdefault(kind, asyncio.Lock())
        async with lock:
            hit = self._entries.get(kind)
            if hit is not None and hit[0] > time.monotonic():
                return hit[1]  # type: ignore[no-any-return]
            value = await compute()
            self._entries[kind] = (time.monotonic() + self.ttl, value)
            return value


def page_of(items: Sequence[T], offset: int, limit: int) -> list[T]:
    return list(items[offset:offset + limit])
