"""Batch loaders for rendering: everything a page of statuses needs, in a fixed
number of queries however long the page is (no N+1), and the thread walks behind
``/context``.

Nothing here decides who may see what: callers filter with ``domain/visibility.py``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlite3
from collections.abc import Callable
from typing import Any

from sqlalchemy import Executable, bindparam, literal, select
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from szpak.storage.models.polls import PollView, load_poll_views
from szpak.storage.models.media import MediaAttachment, load_media

from szpak.storage.models import (
    Account,
    Application,
    Bookmark,
    Favourite,
    Status,
    StatusEdit,
    StatusMention,
    StatusPin,
    StatusTag,
    Tag,
)


@dataclass
class StatusBundle:
    """Statuses plus what rendering them needs, for one viewer."""

    statuses: dict[int, Status] = field(default_factory=dict)
    accounts: dict[int, Account] = field(default_factory=dict)
    mentions: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    tags: dict[int, list[Tag]] = field(default_factory=lambda: defaultdict(list))
    applications: dict[int, Application] = field(default_factory=dict)
    favourited: set[int] = field(default_factory=set)
    reblogged: set[int] = field(default_factory=set)
    bookmarked: set[int] = field(default_factory=set)
    pinned: set[int] = field(default_factory=set)
    viewer_id: int | None = None
    #: status id → its poll as the viewer sees it (storage/models/polls.py).
    polls: dict[int, PollView] = field(default_factory=dict)
    #: status id → its media attachments, in order (storage/models/media.py).
    media: dict[int, list[MediaAttachment]] = field(default_factory=dict)


async def load_accounts(session: AsyncSession, ids: Iterable[int]) -> dict[int, Account]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await session.scalars(select(Account).where(Account.id.in_(wanted)))
    return {a.id: a for a in rows}


async def load_bundle(session: AsyncSession, statuses: Sequence[Status], viewer_id: int | None) -> StatusBundle:
    """Everything needed to render ``statuses`` (and the posts they reblog) for ``viewer_id``:
    at most nine queries, whatever the number of statuses."""
    b = StatusBundle(viewer_id=viewer_id)
    for st in statuses:
        b.statuses[st.id] = st
    originals = {st.reblog_of_id for st in statuses if st.reblog_of_id and st.reblog_of_id not in b.statuses}
    if originals:
        for st in await session.scalars(select(Status).where(Status.id.in_(originals))):
            b.statuses[st.id] = st
    ids = list(b.statuses)
    content_ids = [i for i, st in b.statuses.items() if st.reblog_of_id is None]
    account_ids = {st.account_id for st in b.statuses.values()}
    if content_ids:
        for sid, aid in (
            await session.execute(
                select(StatusMention.status_id, StatusMention.account_id).where(StatusMention.status_id.in_(content_ids))
            )
        ).all():
            b.mentions[sid].append(aid)
            account_ids.add(aid)
        for sid, tag in (
            await session.execute(
                select(StatusTag.status_id, Tag).join(Tag, Tag.id == StatusTag.tag_id).where(StatusTag.status_id.in_(content_ids))
            )
        ).all():
            b.tags[sid].append(tag)
    b.accounts = await load_accounts(session, account_ids)
    b.polls = await load_poll_views(session, content_ids, viewer_id)
    b.media = await load_media(session, [i for i in content_ids if b.statuses[i].has_media])
    app_ids = {st.application_id for st in b.statuses.values() if st.application_id}
    if app_ids:
        b.applications = {a.id: a for a in await session.scalars(select(Application).where(Application.id.in_(app_ids)))}
    if viewer_id is not None and ids:
        b.favourited = set(
            await session.scalars(
                select(Favourite.status_id).where(Favourite.account_id == viewer_id, Favourite.status_id.in_(content_ids))
            )
        )
        b.bookmarked = set(
            await session.scalars(
                select(Bookmark.status_id).where(Bookmark.account_id == viewer_id, Bookmark.status_id.in_(content_ids))
            )
        )
        b.reblogged = set(
            await session.scalars(
                select(Status.reblog_of_id).where(Status.account_id == viewer_id, Status.reblog_of_id.in_(content_ids))
            )
        )
        own = [i for i in content_ids if b.statuses[i].account_id == viewer_id]
        if own:
            b.pinned = set(
                await session.scalars(
                    select(StatusPin.status_id).where(StatusPin.account_id == viewer_id, StatusPin.status_id.in_(own))
                )
            )
    return b


# -- hot reads straight on the driver -------------------------------------------------------
# On the hot paths (home, public timelines, the viewer's marks on a page) SQLAlchemy's
# per-statement work (ORM execute, compiled-cache lookup, result wrapping) costs several
# times what SQLite spends running the statement. These statements are compiled once to
# SQL text and, on SQLite, run on the session's own sqlite3 connection (same transaction,
# same snapshot); on other backends they go through the session as usual.


@dataclass(frozen=True)
class RawStatement:
    sql: str
    names: tuple[str, ...]
    #: values of the statement's own literal parameters (e.g. ``visibility IN ('public', ...)``)
    constants: dict[str, Any]
    processors: dict[str, Callable[[Any], Any]]

    def params(self, binds: dict[str, Any]) -> list[Any]:
        """The positional parameters for ``binds``, each through its type's bind processor."""
        procs, values = self.processors, self.constants | binds if self.constants else binds
        return [procs[n](values[n]) if n in procs else values[n] for n in self.names]


_raw_cache: dict[tuple[int, str], tuple[Executable, RawStatement]] = {}


def compiled(statement: Executable, dialect: Any, binds: dict[str, Any]) -> RawStatement:
    key = (id(statement), dialect.name)
    hit = _raw_cache.get(key)
    if hit is None or hit[0] is not statement:
        c = statement.compile(dialect=dialect)
        # Expand literal IN lists once (their length never changes); the caller's binds
        # are plain values, bound per call.
        expanded = c._process_parameters_for_postcompile(c.construct_params(binds))
        assert not set(binds) & set(expanded.parameter_expansion or {}), "expanding binds are not supported"
        constants = {n: v for n, v in expanded.parameters.items() if n not in binds}
        raw = RawStatement(expanded.statement, tuple(expanded.positiontup or ()), constants, dict(c._bind_processors))
        hit = (statement, raw)
        _raw_cache[key] = hit
    return hit[1]


async def sqlite_connection(session: AsyncSession) -> sqlite3.Connection | None:
    """A sqlite3 connection, in a read transaction, to run ``session``'s hot reads on; None
    elsewhere. A ``Database.read()`` session that has not touched the database yet gets a
    plain connection of its own (``Database.take_raw_reader``, given back when the block
    ends); otherwise the session's own connection, so that the reads share its snapshot."""
    raw_reader = session.info.get("raw_reader")
    if raw_reader is not None:
        return raw_reader  # type: ignore[no-any-return]
    # Remembered per transaction: a later transaction of the same session may run on
    # another pooled connection.
    known = session.info.get("sqlite3")
    if known is not None and known[0] is session.sync_session.get_transaction():
        return known[1]  # type: ignore[no-any-return]
    if session.bind.dialect.name != "sqlite" or session.bind.sync_engine.dispatch.before_cursor_execute:
        # Elsewhere, or someone watches statements (tracing, tests counting them): the session.
        return None
    db = session.info.get("db")
    if db is not None and not session.in_transaction():
        raw_reader = db.take_raw_reader()
        if raw_reader is not None:
            session.info["raw_reader"] = raw_reader
            return raw_reader  # type: ignore[no-any-return]
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    inner = getattr(raw.driver_connection, "_conn", None)
    if not isinstance(inner, sqlite3.Connection):
        return None
    session.info["sqlite3"] = (session.sync_session.get_transaction(), inner)
    return inner


async def fetch_raw(session: AsyncSession, statement: Executable, binds: dict[str, Any]) -> list[Any]:
    """Rows of ``statement`` (built once, with bind parameters and no expanding ones) for ``binds``.

    ``statement`` must be long-lived (cached): its compiled form is kept by identity."""
    conn = await sqlite_connection(session)
    if conn is None:
        return list((await session.execute(statement, binds)).all())  # type: ignore[call-overload]
    raw = compiled(statement, session.bind.dialect, binds)
    params = raw.params(binds)
    try:
        return conn.execute(raw.sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        if not _busy(exc):
            raise
    # A reader is busy only in rare moments (another process recovering the WAL): the
    # session's driver retries asynchronously (storage/sqlite_inline.py).
    return list((await session.execute(statement, binds)).all())  # type: ignore[call-overload]


_RESULT_PROCESSORS: dict[tuple[int, str], tuple[Executable, tuple[Any, ...]]] = {}


async def fetch_typed(session: AsyncSession, statement: Any, binds: dict[str, Any]) -> list[tuple[Any, ...]]:
    """:func:`fetch_raw` with each value through its column type's result processor
    (datetimes, booleans, JSON come back as a session would give them)."""
    rows = await fetch_raw(session, statement, binds)
    if not rows or type(rows[0]) is not tuple:
        return rows  # through the session: already processed
    return processed(statement, session.bind.dialect, rows)


def processed(statement: Any, dialect: Any, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Raw driver rows of ``statement`` (long-lived) with each value through its column
    type's result processor."""
    key = (id(statement), dialect.name)
    hit = _RESULT_PROCESSORS.get(key)
    if hit is None or hit[0] is not statement:
        hit = (statement, tuple(c.type._cached_result_processor(dialect, None) for c in statement.selected_columns))
        _RESULT_PROCESSORS[key] = hit
    procs = hit[1]
    return [tuple(p(v) if p is not None else v for p, v in zip(procs, row)) for row in rows]


_TYPED_INSERTS: dict[tuple[int, tuple[str, ...], str], tuple[str, tuple[Any, ...], tuple[Any, ...]]] = {}


def compiled_insert(table: Any, keys: tuple[str, ...], dialect: Any) -> tuple[str, tuple[Any, ...], tuple[Any, ...]]:
    """``INSERT INTO table (...) VALUES (?, ...)`` for ``keys`` plus every other column with
    a Python-side default; the columns in order and each one's bind processor (or None)."""
    cache_key = (id(table), keys, dialect.name)
    hit = _TYPED_INSERTS.get(cache_key)
    if hit is None:
        columns = tuple(table.c[k] for k in keys) + tuple(
            c for c in table.columns if c.key not in keys and c.default is not None
        )
        processors = tuple(c.type._cached_bind_processor(dialect) for c in columns)
        sql = (f"INSERT INTO {table.name} ({', '.join(dialect.identifier_preparer.quote(c.name) for c in columns)}) "
               f"VALUES ({', '.join('?' * len(columns))})")
        hit = (sql, columns, processors)
        _TYPED_INSERTS[cache_key] = hit
    return hit


_LOADERS: dict[tuple[Any, str], tuple[Any, Callable[[Any], Any]]] = {}


def detached_loader(model: Any, dialect: Any) -> tuple[Any, Callable[[Any], Any]]:
    """A SELECT of every column of ``model`` by primary key (bind ``ident``) and a function
    turning its raw row into a detached ``model`` object, each value through its type's
    result processor, as a session's load would give it (built once per model)."""
    hit = _LOADERS.get((model, dialect.name))
    if hit is None:
        mapper = model.__mapper__
        props = [prop for prop in mapper.column_attrs if len(prop.columns) == 1]
        columns = [prop.columns[0] for prop in props]
        (pk,) = mapper.primary_key
        statement = select(*columns).where(pk == bindparam("ident", type_=pk.type))
        keys = [prop.key for prop in props]
        procs = [c.type._cached_result_processor(dialect, None) for c in columns]
        manager = mapper.class_manager

        def build(row: Any) -> Any:
            obj = manager.new_instance()
            state = instance_state(obj)
            state.dict.update(
                {k: (p(v) if p is not None else v) for k, p, v in zip(keys, procs, row)}
            )
            make_transient_to_detached(obj)
            return obj

        hit = (statement, build)
        _LOADERS[(model, dialect.name)] = hit
    return hit


def insert_params(row: dict[str, Any], columns: tuple[Any, ...], processors: tuple[Any, ...]) -> tuple[Any, ...]:
    """One row's parameters for :func:`compiled_insert`: its values, the columns' defaults
    for the rest, each through its bind processor."""
    out = []
    for column, proc in zip(columns, processors):
        key = column.key
        value = row[key] if key in row else column_default(column)
        out.append(proc(value) if proc is not None else value)
    return tuple(out)


def column_default(column: Any) -> Any:
    """The value ``column``'s Python-side default gives a new row (as an ORM flush would)."""
    default = column.default
    return default.arg if default.is_scalar else default.arg(None)


def _busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


_MARKS_SQL = (
    "SELECT 'f', status_id FROM favourites WHERE account_id = ? AND status_id IN ({q}) "
    "UNION ALL SELECT 'b', status_id FROM bookmarks WHERE account_id = ? AND status_id IN ({q}) "
    "UNION ALL SELECT 'r', reblog_of_id FROM statuses WHERE account_id = ? AND reblog_of_id IN ({q}) "
    "UNION ALL SELECT 'p', status_id FROM status_pins WHERE account_id = ? AND status_id IN ({q})"
)


async def fetch_marks(session: AsyncSession, statement: Executable, viewer_id: int, ids: list[int]) -> list[Any]:
    """(kind, status id) rows of the viewer's favourites/bookmarks/boosts/pins among ``ids``;
    ``statement`` is the same union in SQLAlchemy, used on other backends."""
    conn = await sqlite_connection(session)
    if conn is None:
        return list((await session.execute(statement, {"viewer": viewer_id, "ids": ids})).all())
    q = ",".join("?" * len(ids))
    try:
        return conn.execute(_MARKS_SQL.format(q=q), [viewer_id, *ids] * 4).fetchall()
    except sqlite3.OperationalError as exc:
        if not _busy(exc):
            raise
    return list((await session.execute(statement, {"viewer": viewer_id, "ids": ids})).all())


async def load_edits(session: AsyncSession, status_id: int) -> list[StatusEdit]:
    """A status's revisions, oldest first (the first is the original post)."""
    rows = await session.scalars(
        select(StatusEdit).where(StatusEdit.status_id == status_id).order_by(StatusEdit.created_at, StatusEdit.id)
    )
    return list(rows)


# -- threads ------------------------------------------------------------------------------


async def ancestor_ids(session: AsyncSession, status: Status, *, limit: int) -> list[int]:
    """Ids of the posts ``status`` answers, nearest first, at most ``limit``: one recursive
    query up the ``in_reply_to_id`` chain (a deleted parent ends the walk)."""
    if status.in_reply_to_id is None:
        return []
    up = (
        select(Status.id, Status.in_reply_to_id, literal(1).label("depth"))
        .where(Status.id == status.in_reply_to_id)
        .cte("ancestors", recursive=True)
    )
    parent = aliased(Status)
    up = up.union_all(
        select(parent.id, parent.in_reply_to_id, up.c.depth + 1).where(
            parent.id == up.c.in_reply_to_id, up.c.depth < limit
        )
    )
    rows = await session.execute(select(up.c.id, up.c.depth).order_by(up.c.depth).limit(limit))
    return [row[0] for row in rows]


async def descendant_tree(session: AsyncSession, root_id: int, *, limit: int, max_depth: int) -> list[tuple[int, int]]:
    """(id, parent id) for replies below ``root_id``, at most ``limit`` rows and
    ``max_depth`` levels, in one recursive query; :func:`depth_first` orders them."""
    down = (
        select(Status.id, Status.in_reply_to_id, literal(1).label("depth"))
        .where(Status.in_reply_to_id == root_id, Status.reblog_of_id.is_(None))
        .cte("descendants", recursive=True)
    )
    child = aliased(Status)
    down = down.union_all(
        select(child.id, child.in_reply_to_id, down.c.depth + 1).where(
            child.in_reply_to_id == down.c.id, child.reblog_of_id.is_(None), down.c.depth < max_depth
        )
    )
    rows = await session.execute(select(down.c.id, down.c.in_reply_to_id).order_by(down.c.depth, down.c.id).limit(limit))
    return [(row[0], row[1]) for row in rows]


def depth_first(root_id: int, pairs: Iterable[tuple[int, int]]) -> list[int]:
    """Thread order: each reply followed by its own replies, siblings oldest first."""
    children: dict[int, list[int]] = defaultdict(list)
    for sid, parent in pairs:
        children[parent].append(sid)
    out: list[int] = []
    stack = sorted(children.get(root_id, ()), reverse=True)
    while stack:
        sid = stack.pop()
        out.append(sid)
        stack.extend(sorted(children.get(sid, ()), reverse=True))
    return out
