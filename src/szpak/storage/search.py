"""Search queries for ``/api/v2/search`` and tag pages: statuses through the lemma index,
hashtags by folded prefix, and the 7-day usage history of tags.

Statuses: ``status_terms`` holds, per public status of an indexable author, its folded
lemmas and forms (``domain/search_index.py``). A query is a list of words, each a set
of alternative terms; a status matches when every word has an alternative among its
terms. Each word is one lookup of its alternatives on the ``(term, status_id)``
primary key, the words' id sets are intersected, and who may see the result is
decided by ``domain/visibility.py`` alone (:func:`search_statuses`).

Hashtags: ``tags.name`` is lower-cased with diacritics kept, so matching "krakow"
against "kraków" needs the name folded in SQL. :func:`folded_name` does it with nested
``replace()`` calls that both SQLite and PostgreSQL understand, for the letters of
Polish and its commonest neighbours (a test checks the table against
``szpak.text.fold``). It scans the tags table; that is fine for the tens of thousands
of tags an instance has, and a stored folded column would be the next step past that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import ColumnElement, CompoundSelect, Select, and_, case, exists, func, intersect, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from szpak.domain.visibility import OPEN_VISIBILITIES, not_muted_clause, searchable_clause, visible_clause
from szpak.storage.ids import id_for_time
from szpak.storage.models import Account, Status, StatusTag, StatusTerm, Tag
from szpak.text.normalize import fold

#: Letter → its folded form, as ``szpak.text.fold`` maps it (checked by a test): the
#: Polish letters, the commonest of the neighbouring languages, and the Polish marks in
#: decomposed form. SQLite's parser allows about 35 nested calls, hence the short list;
#: a name with other marks is still found by its exact spelling.
SQL_FOLDS: dict[str, str] = {
    "ą": "a", "ć": "c", "ę": "e", "ł": "l", "ń": "n", "ó": "o", "ś": "s", "ź": "z", "ż": "z",
    "á": "a", "ä": "a", "č": "c", "é": "e", "è": "e", "ě": "e", "í": "i", "ö": "o", "ř": "r", "š": "s",
    "ú": "u", "ü": "u", "ž": "z",
    "\u0301": "", "\u0307": "", "\u0328": "",
}

DAY = timedelta(days=1)
#: Matching ids read per step of :func:`search_statuses` (four pages' worth, within these).
MIN_BATCH = 200
MAX_BATCH = 5000


def folded_name(column: ColumnElement[str] | InstrumentedAttribute[str]) -> ColumnElement[str]:
    """``column`` (already lower-case) with diacritics removed, in portable SQL."""
    expr: ColumnElement[str] = column.expression if isinstance(column, InstrumentedAttribute) else column
    for letter, base in SQL_FOLDS.items():
        expr = func.replace(expr, letter, base)
    return expr


# -- statuses ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusPage:
    """Which slice of the matches to return (``api.pagination.Page`` plus ``offset``)."""

    limit: int
    offset: int = 0
    max_id: int | None = None
    since_id: int | None = None
    min_id: int | None = None


def _shown(viewer_id: int) -> list[ColumnElement[bool]]:
    """Conditions on ``Status`` a search result must meet besides matching the words."""
    author_indexable = exists().where(and_(Account.id == Status.account_id, Account.indexable.is_(True)))
    return [
        searchable_clause(),
        Status.reblog_of_id.is_(None),
        author_indexable,
        visible_clause(viewer_id),
        not_muted_clause(viewer_id),
    ]


def statuses_query(
    words: Sequence[frozenset[str]], viewer_id: int, *, account_id: int | None = None
) -> Select[Status]:
    """Searchable statuses the viewer may see that match every word, as one unordered
    select. Prefer :func:`search_statuses` for pages: ordered and limited, this single
    query can make PostgreSQL walk every status when a word is rare (measured in
    docs/api/notifications-search.md)."""
    query = select(Status).where(*_shown(viewer_id))
    for alternatives in words:
        query = query.where(
            Status.id.in_(select(StatusTerm.status_id).where(StatusTerm.term.in_(sorted(alternatives))))
        )
    if account_id is not None:
        query = query.where(Status.account_id == account_id)
    return query


def _candidates(
    words: Sequence[frozenset[str]], upper: int | None, lower: int | None, ascending: bool, batch: int,
    account_id: int | None,
) -> CompoundSelect[int] | Select[int]:
    """Ids of statuses whose terms satisfy every word, strictly between ``lower`` and
    ``upper``, nearest the starting bound first: index-only reads of the
    ``(term, status_id)`` key, intersected across words."""

    def bounded(query: Select[int], column: ColumnElement[int] | InstrumentedAttribute[int]) -> Select[int]:
        if upper is not None:
            query = query.where(column < upper)
        if lower is not None:
            query = query.where(column > lower)
        return query

    parts = [
        bounded(select(StatusTerm.status_id).where(StatusTerm.term.in_(sorted(alternatives))), StatusTerm.status_id)
        for alternatives in words
    ]
    if account_id is not None:
        parts.append(bounded(select(Status.id).where(Status.account_id == account_id), Status.id))
    if len(parts) == 1:
        column: ColumnElement[int] | InstrumentedAttribute[int] = StatusTerm.status_id
        return parts[0].distinct().order_by(column.asc() if ascending else column.desc()).limit(batch)
    combined = intersect(*parts)
    column = combined.selected_columns[0]
    return combined.order_by(column.asc() if ascending else column.desc()).limit(batch)


async def search_statuses(
    session: AsyncSession,
    words: Sequence[frozenset[str]],
    viewer_id: int,
    page: StatusPage,
    *,
    account_id: int | None = None,
) -> list[Status]:
    """Statuses matching every word that the viewer may see, newest first.

    Two steps, repeated until the page is full or the matches run out: read a batch
    of matching ids from the term index alone, then load those statuses that pass
    the visibility rules. Letting the database plan it as one query invites it to
    walk all statuses newest first looking for matches, which for a rare word
    means reading every status; this way the cost follows the number of matches.
    """
    if not words:
        return []
    wanted = page.offset + page.limit
    ascending = page.min_id is not None
    upper = page.max_id
    lower = max((b for b in (page.min_id, page.since_id) if b is not None), default=None)
    batch = min(max(4 * wanted, MIN_BATCH), MAX_BATCH)
    found: list[Status] = []
    while len(found) < wanted:
        ids = list(await session.scalars(_candidates(words, upper, lower, ascending, batch, account_id)))
        if not ids:
            break
        order = Status.id.asc() if ascending else Status.id.desc()
        found += list(await session.scalars(select(Status).where(Status.id.in_(ids), *_shown(viewer_id)).order_by(order)))
        if len(ids) < batch:
            break
        if ascending:
            lower = ids[-1]
        else:
            upper = ids[-1]
    chosen = found[page.offset:wanted]
    return list(reversed(chosen)) if ascending else chosen


# -- hashtags ----------------------------------------------------------------------------


def tags_query(prefix: str) -> Select[Tag]:
    """Tags whose name starts with ``prefix`` ignoring case and diacritics, best first:
    the exact name, then shorter names, then alphabetically.

    Only tags that have been used in a public or unlisted post are found: a tag that
    only ever appeared in private or direct posts stays out of sight.
    """
    wanted = fold(prefix)
    raw = prefix.lower()
    folded = folded_name(Tag.name)
    exact = or_(Tag.name == raw, folded == wanted)
    return (
        select(Tag)
        .where(
            Tag.last_status_at.is_not(None),
            or_(folded.startswith(wanted, autoescape=True), Tag.name.startswith(raw, autoescape=True)),
        )
        .order_by(case((exact, 0), else_=1), func.length(Tag.name), Tag.name)
    )


def midnight(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


async def tag_histories(
    session: AsyncSession, tag_ids: Sequence[int], *, days: int = 7, now: datetime | None = None
) -> dict[int, list[dict[str, str]]]:
    """Per tag, ``days`` entries newest first: ``{"day": unix midnight, "uses", "accounts"}``
    (as strings, like Mastodon), counting public and unlisted posts, one query in all.

    Days are UTC. Status ids are time-ordered, so each day is an id range on the
    ``status_tags`` index, with no date arithmetic in SQL.
    """
    starts = [midnight(now or datetime.now(timezone.utc)) - i * DAY for i in range(days)]
    out = {
        tid: [{"day": str(int(start.timestamp())), "uses": "0", "accounts": "0"} for start in starts]
        for tid in tag_ids
    }
    if not tag_ids:
        return out
    bucket = case(*[(StatusTag.status_id >= id_for_time(start), i) for i, start in enumerate(starts)])
    rows = (
        select(StatusTag.tag_id.label("tag_id"), bucket.label("bucket"), Status.account_id.label("account_id"))
        .join(Status, Status.id == StatusTag.status_id)
        .where(
            StatusTag.tag_id.in_(list(tag_ids)),
            StatusTag.status_id >= id_for_time(starts[-1]),
            Status.visibility.in_(OPEN_VISIBILITIES),
            Status.reblog_of_id.is_(None),
        )
        .subquery()
    )
    counted = select(
        rows.c.tag_id, rows.c.bucket, func.count(), func.count(func.distinct(rows.c.account_id))
    ).group_by(rows.c.tag_id, rows.c.bucket)
    for tag_id, index, uses, accounts in (await session.execute(counted)).all():
        if index is not None:
            out[tag_id][index].update(uses=str(uses), accounts=str(accounts))
    return out
