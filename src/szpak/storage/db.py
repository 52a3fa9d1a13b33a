"""The Database handle: async engines and sessions for reads and writes.

SQLite (the embedded default) allows one writer at a time. Instead of letting
concurrent transactions collide, writes go through a dedicated engine with a
single connection that starts every transaction with ``BEGIN IMMEDIATE``; reads
use a separate pool and, thanks to WAL, never wait for the writer. On
PostgreSQL both roles share one pooled engine.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from szpak.storage.sqlite_inline import creator_for


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


def _make_sqlite_engine(url: str, *, immediate: bool, pool_size: int) -> AsyncEngine:
    engine = create_async_engine(
        url,
        async_creator=creator_for(sqlite_path(url)),
        poolclass=AsyncAdaptedQueuePool,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=60,
    )
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        raw = getattr(conn.connection.driver_connection, "_conn", None)
        if not immediate and raw is not None:
            # A deferred BEGIN takes no lock, so it cannot be busy: run it on the sqlite3
            # connection itself, skipping SQLAlchemy's statement machinery (every read pays it).
            raw.execute("BEGIN")
            return
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


#: Idle sqlite3 connections kept for hot reads (``Database.take_raw_reader``).
RAW_READERS_IDLE = 16


class Database:
    """Owns the engines. ``read()`` and ``write()`` hand out sessions."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.read_engine = _make_sqlite_engine(url, immediate=False, pool_size=pool_size)
            self.write_engine = _make_sqlite_engine(url, immediate=True, pool_size=1)
        else:
            engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False)
            self.read_engine = self.write_engine = engine
        self._read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False, autoflush=False)
        self._write_sessions = async_sessionmaker(self.write_engine, expire_on_commit=False, autoflush=True)
        self._raw_idle: list[sqlite3.Connection] = []
        self._raw_path = sqlite_path(url) if self.is_sqlite else ":memory:"

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

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits when the block ends without error."""
        async with self._write_sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        while self._raw_idle:
            self._raw_idle.pop().close()
        await self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            await self.write_engine.dispose()
