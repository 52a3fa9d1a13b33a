"""Tracked queries: what an organisation listens for.

A query is written in the tracked-query language of ``szpak.text`` (terms in any
inflected form, ``"phrases"``, ``AND``/``OR``/``NOT``, ``#tags``, ``@users``,
``lang:pl``); a malformed one is refused with the parser's message and position.
Every change bumps the ``queries`` version counter in the same transaction, which
tells every process to bring its in-memory matcher up to date (pipeline.py).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.domain.context import Tx
from szpak.domain.errors import Invalid, NotFound
from szpak.domain.organisations import CAN_READ, CAN_WRITE, Acting
from szpak.storage.models.listening import QUERY_CATEGORIES, ListeningVersion, TrackedQuery
from szpak.text import Query, QueryError, parse

QUERIES_VERSION = "queries"
WEBHOOKS_VERSION = "webhooks"
MAX_NAME = 100


def check_query(text: str) -> Query:
    """Parse ``text``; a malformed query is an ``Invalid`` (422) that says what and where."""
    try:
        return parse(text)
    except QueryError as exc:
        # The parser's messages usually say where already ("... at position 6 ...", 0-based).
        where = "" if exc.position is None or "position" in exc.message else f" (at position {exc.position})"
        raise Invalid(f"Validation failed: Query {exc.message}{where}") from None


async def bump_version(tx: Tx, key: str = QUERIES_VERSION) -> None:
    """Increment a version counter, creating it on first use (race-free on both backends)."""
    dialect = tx.session.bind.dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(ListeningVersion).values(key=key, value=1)
    stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={"value": ListeningVersion.value + 1})
    await tx.session.execute(stmt)


async def current_version(session: AsyncSession, key: str = QUERIES_VERSION) -> int:
    return int(await session.scalar(select(ListeningVersion.value).where(ListeningVersion.key == key)) or 0)


async def read_versions(session: AsyncSession) -> dict[str, int]:
    """Every version counter, in one statement."""
    return {k: int(v) for k, v in await session.execute(select(ListeningVersion.key, ListeningVersion.value))}


def _clean(name: str | None, category: str | None, text: str | None) -> tuple[str | None, str | None, str | None]:
    if text is not None:
        text = text.strip()
        check_query(text)
    if name is not None:
        name = name.strip()
        if not name:
            raise Invalid("Validation failed: Name can't be blank")
        if len(name) > MAX_NAME:
            raise Invalid(f"Validation failed: Name is too long (maximum is {MAX_NAME} characters)")
    if category is not None and category not in QUERY_CATEGORIES:
        raise Invalid(f"Validation failed: Category must be one of {', '.join(QUERY_CATEGORIES)}")
    return name, category, text


async def create_query(
    tx: Tx, acting: Acting, *, query: str, name: str | None = None, category: str = "other"
) -> TrackedQuery:
    acting.require(CAN_WRITE)
    clean_name, clean_category, clean_text = _clean(name, category, query)
    assert clean_text is not None
    count = await tx.session.scalar(
        select(func.count()).select_from(TrackedQuery).where(TrackedQuery.organisation_id == acting.organisation_id)
    )
    limit = tx.settings.listening_max_queries
    if (count or 0) >= limit:
        raise Invalid(f"Validation failed: An organisation may track at most {limit} queries")
    row = TrackedQuery(
        organisation_id=acting.organisation_id, name=clean_name or clean_text[:MAX_NAME], query=clean_text,
        category=clean_category or "other", created_by_id=acting.member_id,
    )
    tx.session.add(row)
    await tx.session.flush()
    await bump_version(tx)
    return row


async def get_query(session: AsyncSession | Tx, acting: Acting, query_id: int) -> TrackedQuery:
    s = session.session if isinstance(session, Tx) else session
    acting.require(CAN_READ)
    row = await s.get(TrackedQuery, query_id)
    if row is None or row.organisation_id != acting.organisation_id:
        raise NotFound()
    return row


async def list_queries(session: AsyncSession, acting: Acting) -> list[TrackedQuery]:
    acting.require(CAN_READ)
    rows = await session.scalars(
        select(TrackedQuery).where(TrackedQuery.organisation_id == acting.organisation_id).order_by(TrackedQuery.id)
    )
    return list(rows)


async def update_query(
    tx: Tx, acting: Acting, query_id: int, *, query: str | None = None, name: str | None = None,
    category: str | None = None,
) -> TrackedQuery:
    acting.require(CAN_WRITE)
    row = await get_query(tx, acting, query_id)
    clean_name, clean_category, clean_text = _clean(name, category, query)
    if clean_name is not None:
        row.name = clean_name
    if clean_category is not None:
        row.category = clean_category
    if clean_text is not None and clean_text != row.query:
        row.query = clean_text
        await bump_version(tx)
    row.updated_at = datetime.now(timezone.utc)
    await tx.session.flush()
    return row


async def delete_query(tx: Tx, acting: Acting, query_id: int) -> None:
    """Stop tracking; the query's mentions and alerts go with it."""
    acting.require(CAN_WRITE)
    row = await get_query(tx, acting, query_id)
    await tx.session.delete(row)
    await tx.session.flush()
    await bump_version(tx)


async def set_cooldown(tx: Tx, query_id: int, kind: str, until: datetime, now: datetime) -> bool:
    """Claim the right to raise a ``kind`` alert for this query: a conditional UPDATE, so
    that two processes evaluating the same storm raise it once."""
    column = TrackedQuery.volume_alert_until if kind == "volume" else TrackedQuery.negative_alert_until
    result = await tx.session.execute(
        update(TrackedQuery)
        .where(TrackedQuery.id == query_id, (column.is_(None)) | (column <= now))
        .values({column.key: until})
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)
