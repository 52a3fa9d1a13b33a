"""An aiosqlite-compatible connection that runs SQLite calls inline, on the event loop.

Why: aiosqlite hands every call (execute, fetch, close) to a helper thread and
back; on this workload that hop costs ~100 µs a statement while the statement
itself costs ~1-50 µs, so a page with eight queries spent most of its time
travelling between threads. SQLite on a local file in WAL mode answers indexed
queries in microseconds, so running them inline is both faster and simpler.
See docs/decisions/0001-sqlite-inline-driver.md.

The one thing that may not block the loop is waiting for a lock held by another
process (``szpak serve --workers N`` on one file): connections run with
``busy_timeout=0`` and a busy answer is retried here with an asynchronous,
growing sleep, so other requests keep being served while a writer waits.

SQLAlchemy's ``sqlite+aiosqlite`` dialect drives this object through
``create_async_engine(..., async_creator=...)``; only the small part of the
aiosqlite interface that the dialect uses is provided.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
BUSY_GIVE_UP_SECONDS = 30.0


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "database is busy" in text or "busy" in text


async def retry_busy(fn: Callable[..., T], *args: Any) -> T:
    """Call ``fn``; on SQLITE_BUSY, sleep asynchronously and try again (the statement did not run)."""
    try:
        return fn(*args)
    except sqlite3.OperationalError as exc:
        if not _is_busy(exc):
            raise
    deadline = time.monotonic() + BUSY_GIVE_UP_SECONDS
    delay = 0.0005
    while True:
        await asyncio.sleep(delay)
        try:
            return fn(*args)
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() > deadline:
                raise
        delay = min(delay * 2, 0.05)


class InlineCursor:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._cursor = conn.cursor()

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> InlineCursor:
        await retry_busy(self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, seq: Any) -> InlineCursor:
        await retry_busy(self._cursor.executemany, sql, seq)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def nextset(self) -> None:
        return None

    async def setinputsizes(self, *sizes: Any) -> None:
        return None


class _RunNow:
    """Stands in for aiosqlite's request queue: SQLAlchemy's isolation-level setter
    puts ``(future, function)`` on it; here the function simply runs at once."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:  # handed back to the awaiting caller
            future.set_exception(exc)


class InlineConnection:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._connection: sqlite3.Connection | None = conn
        self._tx = _RunNow()

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn)

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        cursor = InlineCursor(self._conn)
        return await cursor.execute(sql, parameters)

    async def commit(self) -> None:
        await retry_busy(self._conn.commit)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()


def creator_for(path: str) -> Callable[[], Any]:
    """An ``async_creator`` for ``create_async_engine`` opening ``path`` inline."""

    async def create() -> InlineConnection:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=0")
        return InlineConnection(conn)

    return create
