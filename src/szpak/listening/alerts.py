"""Storm alerts: a spike in a tracked query's volume, or in its share of negative
mentions, against a trailing baseline.

The statistic (docs/listening.md has the reasoning)
----------------------------------------------------
Mentions are counted in buckets of ``bucket_seconds`` (60 s) by the time the post
was written. The *window* is the current bucket and the ``window_buckets - 1``
before it (5 minutes); the *history* is up to ``history_buckets`` (6 h) before the
window, empty buckets included, and never earlier than the query's creation.

* Baseline: an exponentially weighted mean over the history (half-life
  ``half_life_buckets``, 1 h) of mentions per bucket, ``rate``, and of negative
  mentions per bucket; the negative share is their ratio, shrunk towards a prior
  share (``negative_prior``) with the weight of ``prior_weight`` mentions, so a
  thin history does not make a few negative posts look like a storm.
* Volume spike: with ``expected = window_buckets * max(rate, rate_floor)``, fire
  when the window holds at least ``min_volume`` mentions, at least
  ``volume_lift`` times ``expected``, and the Poisson probability of that many or
  more is at most ``volume_p`` (1e-6: checks run on sliding windows, many times
  a day, so each must be very unlikely to fire by chance). The threshold is computed once per window
  position, so checking a new mention costs a comparison.
* Negative spike: fire when the window holds at least ``min_volume`` mentions,
  their negative share is at least ``negative_lift`` above the baseline share
  ``p0``, and the binomial probability of that many negative mentions or more
  among them, were the share ``p0``, is at most ``negative_p``.
* Warm-up: no alert until the history covers ``warmup_buckets`` (30 min).
* Cool-down: after an alert, the same query raises no alert of the same kind for
  ``cooldown_seconds`` (1 h).

Checks run on every stored mention, with the window counted up to it, so an alert
fires on the mention that crosses the threshold, not when a bucket closes.
Everything depends only on the mentions' timestamps: :class:`Replay` runs the same
statistic over a recorded stream, which is how the tests and the benchmark prove
that it fires on storms and stays silent on flat streams.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from szpak.config import Settings
from szpak.domain.context import Context, Tx
from szpak.domain.events import AlertRaised
from szpak.listening.queries import set_cooldown
from szpak.storage.models import Account
from szpak.storage.models.listening import ListeningAlert, Mention, TrackedQuery

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlertParams:
    bucket_seconds: int = 60
    window_buckets: int = 5
    history_buckets: int = 360
    half_life_buckets: float = 60.0
    warmup_buckets: int = 30
    min_volume: int = 10
    volume_lift: float = 3.0
    volume_p: float = 1e-6
    rate_floor: float = 0.2
    negative_lift: float = 0.2
    negative_p: float = 1e-6
    negative_prior: float = 0.25
    prior_weight: float = 20.0
    cooldown_seconds: int = 3600

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertParams:
        return cls(
            bucket_seconds=settings.listening_bucket_seconds,
            window_buckets=settings.listening_window_buckets,
            min_volume=settings.listening_alert_min_volume,
            cooldown_seconds=settings.listening_alert_cooldown_seconds,
        )

    def with_(self, **changes: Any) -> AlertParams:
        return replace(self, **changes)


@dataclass(frozen=True)
class Baseline:
    #: Expected mentions per bucket, and the expected negative share.
    rate: float
    negative_share: float
    #: Buckets of history it rests on.
    history: int
    #: Expected mentions in the window, and the fewest that make a volume spike.
    expected: float
    volume_threshold: int
    ready: bool


@dataclass(frozen=True)
class Signal:
    kind: str  # 'volume' | 'negative'
    observed: int
    negative: int
    expected: float
    score: float


def poisson_tail(x: int, mu: float) -> float:
    """P(X >= x) for X ~ Poisson(mu), summed from x upwards in log space."""
    if x <= 0:
        return 1.0
    if mu <= 0:
        return 0.0
    log_mu = math.log(mu)
    k = x
    term = math.exp(k * log_mu - mu - math.lgamma(k + 1))
    total = 0.0
    while True:
        total += term
        k += 1
        term *= mu / k
        if k > mu and term < total * 1e-12:
            break
        if k - x > 100_000:
            break
    return min(1.0, total)


def binomial_tail(n: int, total: int, p0: float) -> float:
    """P(X >= n) for X ~ Binomial(total, p0), summed from n upwards in log space
    (above the mean the terms shrink geometrically, so few are needed)."""
    if n <= 0:
        return 1.0
    if n > total:
        return 0.0
    ratio = p0 / (1 - p0)
    term = math.exp(
        math.lgamma(total + 1) - math.lgamma(n + 1) - math.lgamma(total - n + 1)
        + n * math.log(p0) + (total - n) * math.log1p(-p0)
    )
    acc = 0.0
    for k in range(n, total + 1):
        acc += term
        term *= (total - k) / (k + 1) * ratio
        if k > total * p0 and term < acc * 1e-15:
            break
    return min(1.0, acc)


def volume_threshold(expected: float, p: AlertParams) -> int:
    x = max(p.min_volume, math.ceil(p.volume_lift * expected))
    while poisson_tail(x, expected) > p.volume_p:
        x += 1
    return x


def make_baseline(history: Sequence[tuple[int, int]], p: AlertParams) -> Baseline:
    """Baseline from per-bucket ``(mentions, negative)`` counts, oldest first."""
    n = len(history)
    return baseline_from(n, ((n - 1 - i, t, neg) for i, (t, neg) in enumerate(history) if t), p)


def baseline_from(length: int, cells: Iterable[tuple[int, int, int]], p: AlertParams) -> Baseline:
    """Baseline over ``length`` buckets of history, given only the non-empty ones as
    ``(age, mentions, negative)`` (age 0: the bucket just before the window)."""
    decay = 0.5 ** (1.0 / p.half_life_buckets)
    sum_w = (1.0 - decay**length) / (1.0 - decay)
    sum_total = sum_neg = 0.0
    for age, total, negative in sorted(cells):
        weight = decay**age
        sum_total += weight * total
        sum_neg += weight * negative
    rate = sum_total / sum_w if length else 0.0
    # The share: weighted negatives over weighted mentions, shrunk towards the prior
    # as if ``prior_weight`` more mentions had been seen at the prior share.
    k = p.prior_weight
    share = (sum_neg + k * p.negative_prior) / (sum_total + k)
    expected = p.window_buckets * max(rate, p.rate_floor)
    return Baseline(
        rate=rate,
        negative_share=share,
        history=length,
        expected=expected,
        volume_threshold=volume_threshold(expected, p),
        ready=length >= p.warmup_buckets,
    )


def check(
    baseline: Baseline, total: int, negative: int, p: AlertParams, kinds: tuple[str, ...] = ("volume", "negative")
) -> list[Signal]:
    """The spikes (of ``kinds``) a window of ``total`` mentions, ``negative`` of them
    negative, shows against ``baseline``."""
    if not baseline.ready or total < p.min_volume:
        return []
    signals = []
    if "volume" in kinds and total >= baseline.volume_threshold:
        signals.append(Signal("volume", total, negative, baseline.expected, poisson_tail(total, baseline.expected)))
    p0 = min(0.95, max(0.01, baseline.negative_share))
    if "negative" in kinds and negative / total >= p0 + p.negative_lift:
        tail = binomial_tail(negative, total, p0)
        if tail <= p.negative_p:
            signals.append(Signal("negative", total, negative, p0, tail))
    return signals


# --- replaying a recorded stream ------------------------------------------------------------


@dataclass(frozen=True)
class Fired:
    at: float  # seconds since the epoch
    signal: Signal


class Replay:
    """The alert statistic over a stream of ``(timestamp, negative)`` observations with
    given timestamps (non-decreasing); deterministic, no database, no clock."""

    def __init__(self, params: AlertParams | None = None, *, start: float | None = None) -> None:
        self.p = params or AlertParams()
        self._start_bucket: int | None = None if start is None else math.ceil(start / self.p.bucket_seconds)
        self._counts: dict[int, list[int]] = {}
        self._baseline_key: int | None = None
        self._baseline: Baseline | None = None
        self._cooldown: dict[str, float] = {}
        self.fired: list[Fired] = []

    def feed(self, ts: float, negative: bool = False) -> list[Fired]:
        p = self.p
        b = int(ts // p.bucket_seconds)
        if self._start_bucket is None:
            self._start_bucket = b
        cell = self._counts.setdefault(b, [0, 0])
        cell[0] += 1
        cell[1] += int(negative)
        ws = b - p.window_buckets + 1
        if self._baseline_key != ws or self._baseline is None:
            first = max(ws - p.history_buckets, self._start_bucket)
            for old in [k for k in self._counts if k < first]:
                del self._counts[old]
            cells = ((ws - 1 - i, c[0], c[1]) for i, c in self._counts.items() if i < ws)
            self._baseline = baseline_from(max(0, ws - first), cells, p)
            self._baseline_key = ws
        total = negatives = 0
        for i in range(ws, b + 1):
            c = self._counts.get(i)
            if c:
                total += c[0]
                negatives += c[1]
        out = []
        kinds = tuple(k for k in ("volume", "negative") if ts >= self._cooldown.get(k, -math.inf))
        for signal in check(self._baseline, total, negatives, p, kinds):
            self._cooldown[signal.kind] = ts + p.cooldown_seconds
            fired = Fired(ts, signal)
            self.fired.append(fired)
            out.append(fired)
        return out


# --- live evaluation ------------------------------------------------------------------------


def minute_of(moment: datetime) -> int:
    return int(moment.timestamp() // 60)


def alert_payload(alert: ListeningAlert, query: TrackedQuery, organisation: Account, base_url: str) -> dict[str, Any]:
    """What an alert says, the same in the API, the stream, webhooks and e-mails."""
    return {
        "id": str(alert.id),
        "kind": alert.kind,
        "organisation": {"id": str(organisation.id), "username": organisation.username},
        "query": {"id": str(query.id), "name": query.name, "query": query.query},
        "window_start": _iso(alert.window_start),
        "window_end": _iso(alert.window_end),
        "observed": alert.observed,
        "negative": alert.negative,
        "expected": round(alert.expected, 4),
        "score": alert.score,
        "created_at": _iso(alert.created_at),
        "url": f"{base_url}/listening/{organisation.id}?query_id={query.id}",
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AlertEvaluator:
    """Runs :func:`check` on the stored mentions after each new one.

    Counts come from the database, so several processes matching posts share one
    view of the window; the baseline is cached per query and window position; the
    cool-down is claimed with a conditional UPDATE so only one process raises an alert.
    """

    def __init__(self, ctx: Context, params: AlertParams | None = None) -> None:
        self.ctx = ctx
        self.p = params or AlertParams.from_settings(ctx.settings)
        self._baselines: dict[int, tuple[int, Baseline]] = {}

    async def observe(self, query_id: int, at: datetime) -> list[ListeningAlert]:
        return await self.observe_many([query_id], at)

    async def observe_many(self, query_ids: Sequence[int], at: datetime) -> list[ListeningAlert]:
        """Check the windows ending at ``at`` of these queries (that just got a mention)."""
        async with self.ctx.read() as s:
            hot = await self.windows(await s.connection(), query_ids, at)
        return await self.evaluate(hot, at) if hot else []

    def bucket_of(self, at: datetime) -> int:
        return minute_of(at) // (self.p.bucket_seconds // 60)

    def _window(self, at: datetime) -> tuple[int, int, int]:
        """(minutes per bucket, the bucket of ``at``, the window's first bucket)."""
        per = self.p.bucket_seconds // 60
        b = minute_of(at) // per
        return per, b, b - self.p.window_buckets + 1

    async def windows(self, conn: AsyncConnection, query_ids: Sequence[int], at: datetime) -> dict[int, tuple[int, int]]:
        """``query id → (mentions, negative)`` in the window ending at ``at``, for those
        with enough mentions for any alert — most of the time none, in one statement (the
        pipeline runs it inside the transaction that stores the mentions)."""
        per, b, ws = self._window(at)
        negative = func.sum(case((Mention.sentiment == "negative", 1), else_=0))
        rows = await conn.execute(
            select(Mention.query_id, func.count(), negative)
            .where(Mention.query_id.in_(set(query_ids)), Mention.minute >= ws * per, Mention.minute < (b + 1) * per)
            .group_by(Mention.query_id)
        )
        return {int(q): (int(t or 0), int(n or 0)) for q, t, n in rows if t >= self.p.min_volume}

    async def evaluate(
        self, windows: dict[int, tuple[int, int]], at: datetime, kinds: tuple[str, ...] = ("volume", "negative")
    ) -> list[ListeningAlert]:
        """Compare full windows with their baselines and raise the alerts (of ``kinds``)
        they call for."""
        wanted = kinds
        p = self.p
        per, _b, ws = self._window(at)
        checks = []
        async with self.ctx.read() as s:
            queries = (await s.execute(
                select(TrackedQuery.id, TrackedQuery.created_at, TrackedQuery.volume_alert_until,
                       TrackedQuery.negative_alert_until).where(TrackedQuery.id.in_(windows))
            )).all()
            for query in queries:
                kinds = tuple(
                    kind for kind, until in (("volume", query.volume_alert_until), ("negative", query.negative_alert_until))
                    if kind in wanted and (until is None or until <= at)
                )
                if not kinds:
                    continue
                total, neg = windows[query.id]
                cached = self._baselines.get(query.id)
                if cached is not None and cached[0] == ws:
                    baseline = cached[1]
                else:
                    first = max(ws - p.history_buckets, math.ceil(query.created_at.timestamp() / p.bucket_seconds))
                    counts = await self._counts(s, query.id, first * per, ws * per)
                    cells = ((ws - 1 - i, t, n) for i, (t, n) in counts.items() if t)
                    baseline = baseline_from(max(0, ws - first), cells, p)
                    self._baselines[query.id] = (ws, baseline)
                checks.append((query.id, check(baseline, total, neg, p, kinds)))
        raised = []
        window_start = datetime.fromtimestamp(ws * p.bucket_seconds, tz=timezone.utc)
        for query_id, signals in checks:
            for signal in signals:
                async with self.ctx.tx() as tx:
                    alert = await raise_alert(tx, query_id, signal, window_start, at, p)
                if alert is not None:
                    raised.append(alert)
        return raised

    async def _counts(self, s: Any, query_id: int, from_minute: int, to_minute: int) -> dict[int, tuple[int, int]]:
        """Mentions and negative mentions per bucket in ``[from_minute, to_minute)``."""
        negative = func.sum(case((Mention.sentiment == "negative", 1), else_=0))
        rows = await s.execute(
            select(Mention.minute, func.count(), negative)
            .where(Mention.query_id == query_id, Mention.minute >= from_minute, Mention.minute < to_minute)
            .group_by(Mention.minute)
        )
        per = self.p.bucket_seconds // 60
        out: dict[int, tuple[int, int]] = {}
        for minute, count, neg in rows:
            key = int(minute) // per
            old = out.get(key, (0, 0))
            out[key] = (old[0] + int(count), old[1] + int(neg or 0))
        return out


async def raise_alert(
    tx: Tx, query_id: int, signal: Signal, window_start: datetime, at: datetime, p: AlertParams
) -> ListeningAlert | None:
    """Store an alert, announce it and queue its deliveries, unless the query is cooling down."""
    from szpak.listening import deliveries

    if not await set_cooldown(tx, query_id, signal.kind, at + timedelta(seconds=p.cooldown_seconds), at):
        return None
    query = await tx.session.get(TrackedQuery, query_id)
    if query is None:
        return None
    alert = ListeningAlert(
        organisation_id=query.organisation_id, query_id=query_id, kind=signal.kind, window_start=window_start,
        window_end=at, observed=signal.observed, negative=signal.negative, expected=signal.expected,
        score=signal.score,
    )
    tx.session.add(alert)
    await tx.session.flush()
    organisation = await tx.session.get(Account, query.organisation_id)
    assert organisation is not None
    payload = alert_payload(alert, query, organisation, tx.settings.base_url)
    await deliveries.enqueue(tx, query.organisation_id, "alert", payload)
    tx.emit(AlertRaised(alert_id=alert.id, organisation_id=query.organisation_id, query_id=query_id, kind=signal.kind))
    log.info("listening alert %s on query %s: %s", signal.kind, query_id, signal)
    return alert
