"""The Database handle: async engines and sessions for reads and writes.

SQLite (the embedded default) allows one writer at a time. Instead of letting
concurrent transactions collide, writes go through one sqlite3 connection (the
"writer"), taken in turn under an asyncio lock, every transaction started with
``BEGIN IMMEDIATE``; reads use a separate pool and, thanks to WAL, never wait for
the writer. On PostgreSQL both roles share one pooled engine.

Two ways to write (both on the writer, both under the lock, on SQLite):
``write()`` hands out an ORM session; ``transaction()`` begins the transaction on
the sqlite3 connection itself and builds a session only if the block asks for one
(``WriteTx.session``) — SQLAlchemy's session and connection machinery cost ~10x
what SQLite spends beginning and committing (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from szpak.storage import queries
from szpak.storage.sqlite_inline import InlineConnection, creator_for, retry_busy


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Disable the driver's own transaction handling: we emit BEGIN ourselves.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode: a committed transaction survives a process crash (SIGKILL);
    # only an OS crash or power loss could lose the last moments.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    # busy_timeout stays 0: a busy answer is retried asynchronously (sqlite_inline.py)
    # instead of blocking the event loop.
    cur.execute("PRAGMA cache_size=-65536")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


def sqlite_path(url: str) -> str:
    path = url.split(":///", 1)[1] if ":///" in url else ":memory:"
    return path.split("?", 1)[0]


def _make_sqlite_engine(
    url: str, *, immediate: bool, pool_size: int, creator: Callable[[], Any] | None = None
) -> AsyncEngine:
    """``creator``: connections configured already (the writer); none of SQLAlchemy's
    connect-time pragmas then run on them (``isolation_level = None`` would COMMIT a
    transaction begun on the writer by ``Database.transaction``)."""
    engine = create_async_engine(
        url,
        async_creator=creator or creator_for(sqlite_path(url)),
        poolclass=AsyncAdaptedQueuePool,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=60,
    )
    if creator is None:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        raw = getattr(conn.connection.driver_connection, "_conn", None)
        if raw is not None and raw.in_transaction:
            # A session opened inside ``Database.transaction()``: the transaction is already
            # begun on this very connection; the session joins it.
            return
        if not immediate and raw is not None:
            # A deferred BEGIN takes no lock, so it cannot be busy: run it on the sqlite3
            # connection itself, skipping SQLAlchemy's statement machinery (every read pays it).
            raw.execute("BEGIN")
            return
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


log = logging.getLogger(__name__)

#: Write commits between two WAL checkpoints (``Database._committed``): a post writes ~10
#: pages, so about SQLite's own default of one checkpoint per 1,000 WAL pages.
CHECKPOINT_EVERY = 100


def _checkpoint(path: str) -> None:
    """A passive WAL checkpoint on a connection of its own (runs on a worker thread)."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    finally:
        conn.close()


#: Idle sqlite3 connections kept for hot reads (``Database.take_raw_reader``).
RAW_READERS_IDLE = 16


class Database:
    """Owns the engines. ``read()`` and ``write()`` hand out sessions."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        #: SQLite: the one connection every write runs on, and the lock that takes it in turn.
        self._writer: sqlite3.Connection | None = None
        self._write_lock = asyncio.Lock()
        #: The task holding the writer: a write it opens inside its own would wait for
        #: itself forever, so it is refused instead.
        self._write_owner: asyncio.Task[Any] | None = None
        #: Whether the write pool has made its first connection (see ``transaction``).
        self._pool_warm = False
        #: WAL checkpoints run off the event loop (``_committed``).
        self._commits = 0
        self._checkpointing: asyncio.Future[None] | None = None
        if self.is_sqlite:
            self.read_engine = _make_sqlite_engine(url, immediate=False, pool_size=pool_size)
            self.write_engine = _make_sqlite_engine(url, immediate=True, pool_size=1, creator=self._writer_for_pool)
        else:
            engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False)
            self.read_engine = self.write_engine = engine
        self._read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False, autoflush=False)
        self._write_sessions = async_sessionmaker(self.write_engine, expire_on_commit=False, autoflush=True)
        self._raw_idle: list[sqlite3.Connection] = []
        self._raw_path = sqlite_path(url) if self.is_sqlite else ":memory:"
        self._offload_checkpoints = self._raw_path != ":memory:" and not self._raw_path.startswith("file:")

    def writer(self) -> sqlite3.Connection:
        """SQLite: the writer connection (opened on first use, again after a close)."""
        conn = self._writer
        if conn is not None:
            try:
                conn.total_changes  # noqa: B018 - raises once the connection is closed
                return conn
            except sqlite3.ProgrammingError:
                pass
        conn = sqlite3.connect(self._raw_path, isolation_level=None, check_same_thread=False)
        _sqlite_pragmas(conn, None)
        conn.execute("PRAGMA busy_timeout=0")
        if self._offload_checkpoints:
            # SQLite would checkpoint inside the commit that fills the WAL: copying pages and
            # fsyncing the file on the event loop, a stall every request in flight waits for.
            conn.execute("PRAGMA wal_autocheckpoint=0")
        self._writer = conn
        return conn

    def _committed(self) -> None:
        """After a write commit (SQLite on a file): every ``CHECKPOINT_EVERY`` commits, a
        passive WAL checkpoint on a worker thread, with a connection of its own (it never
        waits for readers or writers; what it cannot copy yet, the next one does)."""
        if not self._offload_checkpoints:
            return
        self._commits += 1
        if self._commits < CHECKPOINT_EVERY or self._checkpointing is not None:
            return
        self._commits = 0
        job = asyncio.get_running_loop().run_in_executor(None, _checkpoint, self._raw_path)
        self._checkpointing = job
        job.add_done_callback(self._checkpointed)

    def _checkpointed(self, job: asyncio.Future[None]) -> None:
        self._checkpointing = None
        if not job.cancelled() and job.exception() is not None:
            log.warning("WAL checkpoint failed: %r", job.exception())

    async def _writer_for_pool(self) -> InlineConnection:
        # The write engine's pool (size 1) holds the same connection: sessions of
        # ``write()`` and of ``transaction()`` write on it, one at a time (the lock).
        return InlineConnection(self.writer())

    def take_raw_reader(self) -> sqlite3.Connection | None:
        """SQLite on a file only: a plain sqlite3 connection in a read transaction, for the hot
        reads of one ``read()`` block (``storage/queries.py``), given back when the block ends.
        Checking a connection out of SQLAlchemy's pool through a session costs ~4x as much."""
        if self._raw_path == ":memory:" or self._raw_path.startswith("file:"):
            return None
        if self._raw_idle:
            conn = self._raw_idle.pop()
        else:
            conn = sqlite3.connect(self._raw_path, isolation_level=None, check_same_thread=False)
            _sqlite_pragmas(conn, None)
            conn.execute("PRAGMA busy_timeout=0")
        conn.execute("BEGIN")  # deferred: takes no lock, never busy
        return conn

    def _give_back_raw(self, conn: sqlite3.Connection) -> None:
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error:
            conn.close()
            return
        if len(self._raw_idle) < RAW_READERS_IDLE:
            self._raw_idle.append(conn)
        else:
            conn.close()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for queries only. Closing it ends its transaction without a commit,
        and (unlike a rollback) leaves loaded objects readable."""
        async with self._read_sessions() as session:
            if self.is_sqlite:
                session.info["db"] = self
            try:
                yield session
            finally:
                raw = session.info.pop("raw_reader", None)
                if raw is not None:
                    self._give_back_raw(raw)

    async def _take_writer(self) -> None:
        task = asyncio.current_task()
        if task is not None and self._write_owner is task:
            # Only the holder's own task is refused: another task (a concurrent request, or
            # one started inside the block) may wait for the writer as usual.
            raise RuntimeError("a write transaction is already open in this task; a nested one would wait for it forever")
        await self._write_lock.acquire()
        self._write_owner = task

    def _give_writer(self) -> None:
        self._write_owner = None
        self._write_lock.release()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits when the block ends without error."""
        if self.is_sqlite:
            await self._take_writer()
        try:
            async with self._write_sessions() as session:
                try:
                    yield session
                    await session.commit()
                    if self.is_sqlite:
                        self._committed()
                except BaseException:
                    await session.rollback()
                    raise
        finally:
            if self.is_sqlite:
                self._give_writer()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[WriteTx]:
        """A write transaction that commits when the block ends without error. On SQLite it
        is begun on the writer connection directly; ``WriteTx.session`` builds an ORM
        session joined to it only when asked (a block using only ``WriteTx.conn``
        statements never pays for one). Elsewhere it is simply a session's transaction."""
        if not self.is_sqlite:
            async with self.write() as session:
                yield WriteTx(self, None, session)
            return
        await self._take_writer()
        try:
            if not self._pool_warm:
                # The write pool's first connection runs SQLAlchemy's first-connect set-up,
                # which ends in a ROLLBACK: let that happen now, not on the writer inside the
                # transaction below when a lazy session first checks it out.
                async with self.write_engine.connect():
                    pass
                self._pool_warm = True
            conn = self.writer()
            await retry_busy(conn.execute, "BEGIN IMMEDIATE")
            wtx = WriteTx(self, conn, None)
            try:
                yield wtx
                if wtx._session is not None:
                    await wtx._session.commit()  # commits the shared sqlite3 transaction if it used it
                if conn.in_transaction:
                    await retry_busy(conn.commit)
                self._committed()
            except BaseException:
                if wtx._session is not None:
                    await wtx._session.rollback()
                if conn.in_transaction:
                    conn.rollback()
                raise
            finally:
                if wtx._session is not None:
                    await wtx._session.close()
        finally:
            self._give_writer()

    async def dispose(self) -> None:
        if self._checkpointing is not None:
            try:
                await self._checkpointing
            except Exception:  # logged by _checkpointed
                pass
        while self._raw_idle:
            self._raw_idle.pop().close()
        await self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            await self.write_engine.dispose()
        if self._writer is not None:
            self._writer.close()  # closed by the pool already when a session had checked it out
            self._writer = None


class WriteTx:
    """One write transaction of ``Database.transaction()``: on SQLite its sqlite3 connection
    (``conn``) and, built on first use, an ORM session joined to the same transaction."""

    __slots__ = ("db", "conn", "_session")

    def __init__(self, db: Database, conn: sqlite3.Connection | None, session: AsyncSession | None) -> None:
        self.db = db
        #: SQLite: the writer, inside this transaction; None elsewhere.
        self.conn = conn
        self._session = session

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            self._session = self.db._write_sessions()
        return self._session

    @property
    def has_session(self) -> bool:
        return self._session is not None

    # -- statements on the transaction's own connection ---------------------------------
    # On SQLite (and nobody watching statements: tracing, tests counting them) these run
    # on ``conn`` from SQL compiled once (storage/queries.py); elsewhere through the
    # session. ``statement`` must be long-lived (cached): its compiled form is kept by
    # identity. Values come back as the driver gives them (no result processing).

    def _raw(self) -> sqlite3.Connection | None:
        if self.conn is None or self.db.write_engine.sync_engine.dispatch.before_cursor_execute:
            return None
        return self.conn

    async def _flush_pending(self) -> None:
        # Raw statements bypass the session's autoflush: write what it holds first.
        s = self._session
        if s is None:
            return
        if s.new or s.dirty or s.deleted:
            await s.flush()
        if s.in_nested_transaction():
            await s.connection()  # a SAVEPOINT is emitted lazily: before the raw statements

    async def fetch(self, statement: Any, binds: dict[str, Any], *, typed: bool = False) -> list[Any]:
        """The rows of a SELECT; ``typed``: each value through its column type's result
        processor (datetimes, JSON...), else as the driver gives it."""
        conn = self._raw()
        if conn is None:
            return list((await self.session.execute(statement, binds)).all())
        await self._flush_pending()
        dialect = self.db.write_engine.dialect
        raw = queries.compiled(statement, dialect, binds)
        rows = _driver(conn.execute, raw.sql, raw.params(binds)).fetchall()
        return queries.processed(statement, dialect, rows) if typed else rows

    async def execute(self, statement: Any, binds: dict[str, Any] | list[dict[str, Any]]) -> int:
        """Run an UPDATE/DELETE/INSERT (a list of binds: executemany); the rows it touched."""
        conn = self._raw()
        if conn is None:
            result = await self.session.execute(statement, binds)
            return int(result.rowcount)  # type: ignore[attr-defined]
        if isinstance(binds, list) and not binds:
            return 0
        await self._flush_pending()
        if isinstance(binds, list):
            raw = queries.compiled(statement, self.db.write_engine.dialect, binds[0])
            return _driver(conn.executemany, raw.sql, [raw.params(b) for b in binds]).rowcount
        raw = queries.compiled(statement, self.db.write_engine.dialect, binds)
        return _driver(conn.execute, raw.sql, raw.params(binds)).rowcount

    async def get(self, model: Any, ident: int) -> Any:
        """The ``model`` row with primary key ``ident`` as an ORM object (None when absent):
        on SQLite read raw and built detached, as a session would have loaded it (its
        attributes readable, ``session.add`` attaches it without an INSERT); elsewhere
        ``session.get``."""
        if self._raw() is None:
            return await self.session.get(model, ident)
        statement, build = queries.detached_loader(model, self.db.write_engine.dialect)
        rows = await self.fetch(statement, {"ident": ident})
        return build(rows[0]) if rows else None

    async def insert(self, table: Any, rows: list[dict[str, Any]]) -> None:
        """INSERT ``rows`` (dicts with the same keys) into ``table``; columns left out get
        their Python-side defaults, as an ORM flush would give them."""
        if not rows:
            return
        conn = self._raw()
        if conn is None:
            await self.session.execute(table.insert(), rows)
            return
        await self._flush_pending()
        sql, columns, processors = queries.compiled_insert(table, tuple(rows[0]), self.db.write_engine.dialect)
        _driver(conn.executemany, sql, [queries.insert_params(row, columns, processors) for row in rows])


def _driver(fn: Callable[..., sqlite3.Cursor], sql: str, params: Any) -> sqlite3.Cursor:
    """Run a raw statement, its errors raised as SQLAlchemy's (as the session path raises
    them): ``except IntegrityError`` around a transaction must catch either."""
    try:
        return fn(sql, params)
    except sqlite3.IntegrityError as exc:
        raise sa_exc.IntegrityError(sql, params, exc) from exc
    except sqlite3.OperationalError as exc:
        raise sa_exc.OperationalError(sql, params, exc) from exc
    except sqlite3.DataError as exc:
        raise sa_exc.DataError(sql, params, exc) from exc
    except sqlite3.DatabaseError as exc:
        raise sa_exc.DatabaseError(sql, params, exc) from exc
