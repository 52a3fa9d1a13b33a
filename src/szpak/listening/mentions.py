"""Reading mentions (lists, statistics), correcting their sentiment, and exporting the
corrections as training data.

Lists show only mentions whose post still exists and whose author is neither
suspended nor opted out of indexing, whatever was stored earlier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.domain.context import Tx
from szpak.domain.errors import Invalid, NotFound
from szpak.domain.events import MentionUpdated
from szpak.domain.organisations import CAN_READ, CAN_WRITE, Acting
from szpak.listening.pipeline import listening_text
from szpak.storage.models import Account, Status
from szpak.storage.models.listening import SENTIMENTS, Mention, SentimentCorrection, TrackedQuery

#: Bucket lengths the statistics offer, in minutes.
BUCKETS = {"minute": 1, "hour": 60, "day": 1440}
MAX_BUCKETS = 2000
UNKNOWN = "unknown"


@dataclass
class MentionFilter:
    query_id: int | None = None
    sentiment: str | None = None  # one of SENTIMENTS or "unknown"
    language: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def check(self) -> None:
        if self.sentiment is not None and self.sentiment not in (*SENTIMENTS, UNKNOWN):
            raise Invalid(f"Validation failed: Sentiment must be one of {', '.join((*SENTIMENTS, UNKNOWN))}")
        if self.since and self.until and self.since >= self.until:
            raise Invalid("Validation failed: since must be before until")


def _visible(q: Select) -> Select:  # type: ignore[type-arg]
    return (
        q.join(Status, Status.id == Mention.status_id)
        .join(Account, Account.id == Mention.author_id)
        .where(Account.indexable.is_(True), Account.suspended_at.is_(None))
    )


def _filtered(q: Select, acting: Acting, f: MentionFilter) -> Select:  # type: ignore[type-arg]
    q = _visible(q).where(Mention.organisation_id == acting.organisation_id)
    if f.query_id is not None:
        q = q.where(Mention.query_id == f.query_id)
    if f.sentiment == UNKNOWN:
        q = q.where(Mention.sentiment.is_(None))
    elif f.sentiment is not None:
        q = q.where(Mention.sentiment == f.sentiment)
    if f.language is not None:
        q = q.where(Mention.language == f.language)
    if f.since is not None:
        q = q.where(Mention.posted_at >= f.since)
    if f.until is not None:
        q = q.where(Mention.posted_at < f.until)
    return q


def mentions_query(acting: Acting, f: MentionFilter) -> Select:  # type: ignore[type-arg]
    """Mentions with their post, author and query, for :class:`szpak.api.pagination.Page`
    to order and cut by ``Mention.id``."""
    acting.require(CAN_READ)
    f.check()
    q = select(Mention, Status, Account, TrackedQuery).join(TrackedQuery, TrackedQuery.id == Mention.query_id)
    return _filtered(q, acting, f)


async def get_mention(session: AsyncSession, acting: Acting | None, mention_id: int) -> tuple[Mention, Status, Account, TrackedQuery]:
    q = _visible(
        select(Mention, Status, Account, TrackedQuery).join(TrackedQuery, TrackedQuery.id == Mention.query_id)
    ).where(Mention.id == mention_id)
    row = (await session.execute(q)).first()
    if row is None or (acting is not None and row[0].organisation_id != acting.organisation_id):
        raise NotFound()
    return row[0], row[1], row[2], row[3]


async def get_mentions(
    session: AsyncSession, acting: Acting, mention_ids: Sequence[int]
) -> dict[int, tuple[Mention, Status, Account, TrackedQuery]]:
    """Several mentions of the acting organisation at once (those still shown)."""
    if not mention_ids:
        return {}
    q = _visible(
        select(Mention, Status, Account, TrackedQuery).join(TrackedQuery, TrackedQuery.id == Mention.query_id)
    ).where(Mention.id.in_(set(mention_ids)), Mention.organisation_id == acting.organisation_id)
    return {row[0].id: (row[0], row[1], row[2], row[3]) for row in await session.execute(q)}


@dataclass
class Bucket:
    start: datetime
    counts: dict[str, int] = field(default_factory=lambda: {s: 0 for s in (*SENTIMENTS, UNKNOWN)})

    @property
    def total(self) -> int:
        return sum(self.counts.values())


async def stats(
    session: AsyncSession, acting: Acting, f: MentionFilter, bucket: str = "hour", *, now: datetime | None = None
) -> list[Bucket]:
    """Mentions per time bucket and sentiment over ``[since, until)`` (default: the last
    24 hours by hour), empty buckets included."""
    acting.require(CAN_READ)
    f.check()
    if bucket not in BUCKETS:
        raise Invalid(f"Validation failed: Bucket must be one of {', '.join(BUCKETS)}")
    size = BUCKETS[bucket]
    now = now or datetime.now(timezone.utc)
    until = f.until or now
    since = f.since or until - timedelta(days=1 if size < 1440 else 30)
    first = int(since.timestamp() // 60) // size * size
    last = int((until.timestamp() - 1e-6) // 60) // size * size
    if (last - first) // size + 1 > MAX_BUCKETS:
        raise Invalid(f"Validation failed: That is more than {MAX_BUCKETS} buckets; choose a larger bucket or a shorter range")
    key = Mention.minute - (Mention.minute % size)
    label = case((Mention.sentiment.is_(None), UNKNOWN), else_=Mention.sentiment)
    q = _filtered(select(key, label, func.count()), acting, MentionFilter(f.query_id, f.sentiment, f.language, since, until))
    rows = await session.execute(q.group_by(key, label))
    out = {m: Bucket(datetime.fromtimestamp(m * 60, tz=timezone.utc)) for m in range(first, last + 1, size)}
    for minute, sentiment, count in rows:
        b = out.get(int(minute))
        if b is not None:
            b.counts[sentiment] = b.counts.get(sentiment, 0) + int(count)
    return list(out.values())


async def correct_sentiment(tx: Tx, acting: Acting, mention_id: int, label: str) -> Mention:
    """A member sets a mention's sentiment; the correction is kept as training data."""
    acting.require(CAN_WRITE)
    if label not in SENTIMENTS:
        raise Invalid(f"Validation failed: Sentiment must be one of {', '.join(SENTIMENTS)}")
    mention, status, _author, _query = await get_mention(tx.session, acting, mention_id)
    mention = await tx.session.merge(mention)
    previous = mention.sentiment
    mention.sentiment = label
    mention.confidence = 1.0
    mention.corrected = True
    mention.classified = True
    tx.session.add(SentimentCorrection(
        organisation_id=acting.organisation_id, mention_id=mention.id, status_id=status.id,
        text=listening_text(status), label=label, previous_label=previous, member_id=acting.member_id,
    ))
    await tx.session.flush()
    tx.emit(MentionUpdated(
        mention_id=mention.id, organisation_id=mention.organisation_id, query_id=mention.query_id,
        status_id=mention.status_id, sentiment=label,
    ))
    return mention


async def corrections_for_training(session: AsyncSession) -> list[tuple[str, str]]:
    """``(label, text)`` pairs: the latest correction of each post, oldest first."""
    rows = await session.execute(
        select(SentimentCorrection.status_id, SentimentCorrection.label, SentimentCorrection.text)
        .order_by(SentimentCorrection.id)
    )
    latest: dict[int, tuple[str, str]] = {}
    for status_id, label, text in rows:
        latest.pop(int(status_id), None)
        latest[int(status_id)] = (label, text)
    return list(latest.values())


def one_line(text: str) -> str:
    return " ".join(text.split())


def write_corrections(path: Path, pairs: Sequence[tuple[str, str]]) -> int:
    """``label<TAB>text`` lines (the trainer's ``--extra`` format); returns how many."""
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for label, text in pairs:
            line = one_line(text)
            if line:
                fh.write(f"{label}\t{line}\n")
                n += 1
    return n
