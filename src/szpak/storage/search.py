"""Search queries for ``/api/v2/search`` and tag pages: statuses through the lemma index,
hashtags by folded prefix, and the 7-day usage history of tags.

Statuses: ``status_terms`` holds, per public status of an indexable author, its folded
lemmas and forms (``domain/search_index.py``). A query is a list of words, each a set
of alternative terms; a status matches when every word has an alternative among its
terms. Each word becomes one ``status_id IN (... term IN alternatives)`` lookup on the
``(term, status_id)`` primary key; who may see the result is decided by
``domain/visibility.py`` alone.

Hashtags: ``tags.name`` is lower-cased with diacritics kept, so matching "krakow"
against "kraków" needs the name folded in SQL. :func:`folded_name` does it with nested
``replace()`` calls that both SQLite and PostgreSQL understand, for the letters of
Polish and the common Latin-script languages (a test checks the table against
``szpak.text.fold``). It scans the tags table; that is fine for the tens of thousands
of tags an instance has, and a stored folded column would be the next step past that.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.domain.visibility import OPEN_VISIBILITIES, not_muted_clause, searchable_clause, visible_clause
from szpak.storage.ids import id_for_time
from szpak.storage.models import Account, Status, StatusTag, StatusTerm, Tag
from szpak.text.normalize import fold

#: Letter → its folded form, as ``szpak.text.fold`` maps it (checked by a test).
SQL_FOLDS: dict[str, str] = {
    **dict.fromkeys("ąáàâäãåā", "a"), **dict.fromkeys("ćçč", "c"), **dict.fromkeys("ęéèêëěē", "e"),
    "ł": "l", **dict.fromkeys("ńñň", "n"), **dict.fromkeys("óòôöõőō", "o"), **dict.fromkeys("śšş", "s"),
    **dict.fromkeys("źżž", "z"), **dict.fromkeys("íìîïī", "i"), **dict.fromkeys("úùûüůűū", "u"),
    **dict.fromkeys("ýÿ", "y"), "ř": "r", "ď": "d", "ť": "t", "ğ": "g", "ß": "ss", "ø": "o", "æ": "ae",
    # Combining marks, for names stored in decomposed form.
    **dict.fromkeys("\u0300\u0301\u0302\u0303\u0306\u0307\u0308\u030a\u030b\u030c\u0327\u0328", ""),
}

DAY = timedelta(days=1)


def folded_name(column: ColumnElement[str]) -> ColumnElement[str]:
    """``column`` (already lower-case) with diacritics removed, in portable SQL."""
    expr: ColumnElement[str] = column
    for letter, base in SQL_FOLDS.items():
        expr = func.replace(expr, letter, base)
    return expr


# -- statuses ----------------------------------------------------------------------------


def statuses_query(
    words: Sequence[frozenset[str]], viewer_id: int, *, account_id: int | None = None
) -> Select[tuple[Status]]:
    """Searchable statuses the viewer may see that match every word (unordered, unpaged)."""
    author_indexable = exists().where(and_(Account.id == Status.account_id, Account.indexable.is_(True)))
    query = select(Status).where(
        searchable_clause(),
        Status.reblog_of_id.is_(None),
        author_indexable,
        visible_clause(viewer_id),
        not_muted_clause(viewer_id),
    )
    for alternatives in words:
        query = query.where(
            Status.id.in_(select(StatusTerm.status_id).where(StatusTerm.term.in_(sorted(alternatives))))
        )
    if account_id is not None:
        query = query.where(Status.account_id == account_id)
    return query


# -- hashtags ----------------------------------------------------------------------------


def tags_query(prefix: str) -> Select[tuple[Tag]]:
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
