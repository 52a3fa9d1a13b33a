"""Write transactions: ``Database.transaction()`` / ``WriteTx`` (storage/db.py).

On SQLite a transaction is begun with ``BEGIN IMMEDIATE`` on the one writer connection;
``WriteTx.fetch/execute/insert/get`` run Core statements straight on it (compiled once,
storage/queries.py) and ``WriteTx.session`` builds an ORM session joined to the same
transaction only when asked. On PostgreSQL it is simply a session's transaction, and the
same methods go through that session. Either way:

- a row written by ``WriteTx.insert`` is the row the ORM would have written (types,
  defaults, time zones, JSON), and ``WriteTx.get`` loads what ``session.get`` loads;
- raw statements, the lazy session, its savepoints and its pending objects share one
  transaction: they commit together and roll back together, in order;
- writes are serialised (one writer per process, busy retry between processes);
- someone listening to statements sees them all (the raw path steps aside).

The tests at the end each failed before the fix of a bug found while reviewing this code
(a cold write pool, reconnection, savepoints, parameterless statements, error classes,
nested writes, dispose).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy.exc
from sqlalchemy import BigInteger, bindparam, delete, event, inspect, select, text, update
from sqlalchemy.exc import IntegrityError, InvalidRequestError

from szpak.config import Settings
from szpak.domain.context import Context
from szpak.realtime.bus import InProcessBus
from szpak.storage.db import Database
from szpak.storage.ids import new_id
from szpak.storage.models import Account, Job, Status, StatusTerm

ON_SQLITE = not os.environ.get("SZPAK_TEST_DATABASE_URL", "")
sqlite_only = pytest.mark.skipif(not ON_SQLITE, reason="SQLite's single writer connection")

CEST = timezone(timedelta(hours=2))
#: A moment with microseconds, in a zone other than UTC: stored as naive UTC, read back aware UTC.
MOMENT = datetime(2026, 3, 14, 15, 9, 26, 535897, tzinfo=CEST)


# -- fixtures and helpers ------------------------------------------------------------------


async def warmed(database: Database) -> Database:
    """The write pool holding its connection already, as in a process that has written
    through a session before (the tests at the end use cold Databases of their own)."""
    async with database.write() as s:
        await s.execute(text("SELECT 1"))
    return database


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings.effective_database_url, pool_size=2)
    yield await warmed(database)
    await database.dispose()


@pytest.fixture
async def other_db(settings: Settings) -> AsyncIterator[Database]:
    """A second Database on the same file/server: another process, as far as locks go."""
    database = Database(settings.effective_database_url, pool_size=2)
    yield await warmed(database)
    await database.dispose()


@pytest.fixture
async def account_id(db: Database) -> int:
    async with db.write() as s:
        account = Account(username="alice", username_lower="alice")
        s.add(account)
    return account.id


def column_keys(model: Any) -> list[str]:
    return [prop.key for prop in inspect(model).column_attrs]


async def orm_values(db: Database, model: Any, ident: Any) -> dict[str, Any]:
    """Every column attribute of the row as a fresh read session loads it."""
    async with db.read() as s:
        obj = await s.get(model, ident)
        assert obj is not None, f"{model.__name__} {ident} was not written"
        return {key: getattr(obj, key) for key in column_keys(model)}


async def stored_values(db: Database, table: str, where: str, binds: dict[str, Any]) -> dict[str, Any]:
    """The row as the database holds it, without any type processing (text SQL)."""
    async with db.read() as s:
        row = (await s.execute(text(f"SELECT * FROM {table} WHERE {where}"), binds)).mappings().one()
        return dict(row)


async def job_ids(db: Database, kind: str) -> set[int]:
    async with db.read() as s:
        return set(await s.scalars(select(Job.id).where(Job.kind == kind)))


def writer_idle(db: Database) -> bool:
    """SQLite: the writer connection is not left inside a transaction (always true elsewhere)."""
    return db._writer is None or not db._writer.in_transaction


async def a_write_still_works(db: Database) -> None:
    marker = f"after-{new_id()}"
    async with db.transaction() as w:
        await w.insert(Job.__table__, [{"kind": marker}])
    assert len(await job_ids(db, marker)) == 1


# -- the raw INSERT writes the row the ORM writes ----------------------------------------------


async def test_a_status_inserted_raw_equals_one_inserted_by_the_orm(db: Database, account_id: int) -> None:
    values: dict[str, Any] = {
        "account_id": account_id,
        "text": "Zażółć gęślą jaźń #test",
        "content": "<p>Zażółć gęślą jaźń</p>",
        "spoiler_text": "",
        "visibility": "unlisted",
        "sensitive": True,
        "language": None,
        "in_reply_to_id": None,
        "application_id": None,
        "meta": {"links": ["https://ąę.example/ż"], "n": 1, "nested": {"a": [1, None, True, 2.5]}},
        "created_at": MOMENT,
        "edited_at": None,
        "replies_count": 3,
        "local": False,
        "has_media": True,
    }
    orm_id, raw_id = new_id(), new_id()
    async with db.transaction() as w:
        w.session.add(Status(id=orm_id, **values))
    async with db.transaction() as w:
        await w.insert(Status.__table__, [{"id": raw_id, **values}])

    orm, raw = await orm_values(db, Status, orm_id), await orm_values(db, Status, raw_id)
    assert raw.pop("id") == raw_id and orm.pop("id") == orm_id
    assert raw == orm
    # Types as written, not merely equal: aware UTC datetimes, real booleans, parsed JSON.
    assert raw["created_at"] == MOMENT and raw["created_at"].tzinfo == timezone.utc
    assert raw["sensitive"] is True and raw["local"] is False and raw["has_media"] is True
    assert raw["meta"] == values["meta"] and raw["reblogs_count"] == 0 and raw["favourites_count"] == 0
    # And byte for byte the same in the database (naive UTC text on SQLite, same JSON text).
    where = "id = :id"
    orm_stored = await stored_values(db, "statuses", where, {"id": orm_id})
    raw_stored = await stored_values(db, "statuses", where, {"id": raw_id})
    orm_stored.pop("id"), raw_stored.pop("id")
    assert raw_stored == orm_stored


async def test_columns_left_out_get_the_defaults_the_orm_gives(db: Database, account_id: int) -> None:
    orm_id, raw_id = new_id(), new_id()
    before = datetime.now(timezone.utc)
    async with db.transaction() as w:
        w.session.add(Status(id=orm_id, account_id=account_id))
    async with db.transaction() as w:
        await w.insert(Status.__table__, [{"id": raw_id, "account_id": account_id}])
    after = datetime.now(timezone.utc)

    orm, raw = await orm_values(db, Status, orm_id), await orm_values(db, Status, raw_id)
    for row in (orm, raw):
        row.pop("id")
        created = row.pop("created_at")
        assert created.tzinfo == timezone.utc and before <= created <= after
    assert raw == orm
    assert raw["meta"] == {} and raw["visibility"] == "public" and raw["local"] is True


async def test_a_job_inserted_raw_equals_one_inserted_by_the_orm(db: Database) -> None:
    values: dict[str, Any] = {
        "kind": "test.equality",
        "payload": {"status_id": 2**62, "ids": [1, 2], "flag": False, "text": "ó"},
        "run_at": MOMENT,
        "attempts": 2,
        "max_attempts": 3,
        "locked_until": MOMENT + timedelta(seconds=60),
        "last_error": None,
        "done_at": None,
        "failed_at": None,
        "created_at": datetime(2026, 1, 1, 0, 0, 0, 1),  # naive: taken as UTC
    }
    orm_id, raw_id = new_id(), new_id()
    async with db.transaction() as w:
        w.session.add(Job(id=orm_id, **values))
    async with db.transaction() as w:
        await w.insert(Job.__table__, [{"id": raw_id, **values}])

    orm, raw = await orm_values(db, Job, orm_id), await orm_values(db, Job, raw_id)
    orm.pop("id"), raw.pop("id")
    assert raw == orm
    assert raw["run_at"] == MOMENT and raw["locked_until"].tzinfo == timezone.utc
    assert raw["created_at"] == datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=timezone.utc)
    assert raw["payload"] == values["payload"]
    orm_stored = await stored_values(db, "jobs", "id = :id", {"id": orm_id})
    raw_stored = await stored_values(db, "jobs", "id = :id", {"id": raw_id})
    orm_stored.pop("id"), raw_stored.pop("id")
    assert raw_stored == orm_stored


async def test_a_json_none_is_stored_as_the_orm_stores_it(db: Database) -> None:
    """``payload=None`` (JSON, ``none_as_null`` off): JSON ``null`` both ways, read back None."""
    orm_id, raw_id = new_id(), new_id()
    async with db.transaction() as w:
        w.session.add(Job(id=orm_id, kind="test.json-none", payload=None))
    async with db.transaction() as w:
        await w.insert(Job.__table__, [{"id": raw_id, "kind": "test.json-none", "payload": None}])
    assert (await orm_values(db, Job, orm_id))["payload"] is None
    assert (await orm_values(db, Job, raw_id))["payload"] is None
    orm_stored = await stored_values(db, "jobs", "id = :id", {"id": orm_id})
    raw_stored = await stored_values(db, "jobs", "id = :id", {"id": raw_id})
    assert raw_stored["payload"] == orm_stored["payload"]


async def test_many_rows_each_get_their_own_callable_defaults(db: Database) -> None:
    """One executemany: ``new_id``/``utcnow``/``dict`` run once per row, not once per statement."""
    async with db.transaction() as w:
        await w.insert(Job.__table__, [{"kind": "test.many"} for _ in range(5)])
    ids = await job_ids(db, "test.many")
    assert len(ids) == 5
    async with db.read() as s:
        jobs = list(await s.scalars(select(Job).where(Job.kind == "test.many")))
    assert all(job.payload == {} and job.attempts == 0 and job.max_attempts == 8 for job in jobs)
    assert all(job.run_at.tzinfo == timezone.utc and job.done_at is None for job in jobs)


async def test_a_status_term_inserted_raw_equals_one_inserted_by_the_orm(db: Database, account_id: int) -> None:
    status_id = new_id()
    async with db.transaction() as w:
        await w.insert(Status.__table__, [{"id": status_id, "account_id": account_id}])
    async with db.transaction() as w:
        w.session.add(StatusTerm(term="źdźbło", status_id=status_id))
    async with db.transaction() as w:
        await w.insert(StatusTerm.__table__, [{"term": t, "status_id": status_id} for t in ("żółw", "a")])
    async with db.read() as s:
        rows = (await s.execute(select(StatusTerm.term, StatusTerm.status_id).order_by(StatusTerm.term))).all()
    assert [tuple(r) for r in rows] == [("a", status_id), ("źdźbło", status_id), ("żółw", status_id)]
    orm_stored = await stored_values(db, "status_terms", "term = :t", {"t": "źdźbło"})
    raw_stored = await stored_values(db, "status_terms", "term = :t", {"t": "żółw"})
    assert raw_stored["status_id"] == orm_stored["status_id"] == status_id


# -- WriteTx.get: what session.get loads ---------------------------------------------------------


async def test_get_loads_what_session_get_loads(db: Database, account_id: int) -> None:
    status_id, job_id = new_id(), new_id()
    async with db.transaction() as w:
        w.session.add(
            Status(
                id=status_id, account_id=account_id, text="x", meta={"links": ["a"]}, created_at=MOMENT, sensitive=True
            )
        )
        w.session.add(Job(id=job_id, kind="test.get", payload={"a": [1]}, locked_until=MOMENT))
    async with db.transaction() as w:
        wanted = ((Account, account_id), (Status, status_id), (Job, job_id))
        got = {model: await w.get(model, ident) for model, ident in wanted}
        assert await w.get(Status, new_id()) is None
    for model, ident in wanted:
        obj = got[model]
        assert type(obj) is model
        assert {key: getattr(obj, key) for key in column_keys(model)} == await orm_values(db, model, ident)
        # Every column loaded (nothing to lazy-load outside a session); relationships are not.
        assert set(inspect(obj).unloaded) == {rel.key for rel in inspect(model).relationships}
    assert got[Status].created_at.tzinfo == timezone.utc and got[Status].sensitive is True
    assert got[Job].payload == {"a": [1]}


async def test_an_object_from_get_attaches_without_an_insert(db: Database, account_id: int) -> None:
    status_id = new_id()
    async with db.transaction() as w:
        await w.insert(Status.__table__, [{"id": status_id, "account_id": account_id, "replies_count": 1}])
    statements: list[str] = []
    async with db.transaction() as w:
        status = await w.get(Status, status_id)
        account = await w.get(Account, account_id)

        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        event.listen(db.write_engine.sync_engine, "before_cursor_execute", record)
        try:
            w.session.add(status)
            w.session.add(account)
            await w.session.flush()
            assert inspect(status).persistent and inspect(account).persistent
            assert await w.session.get(Status, status_id) is status
            assert not [s for s in statements if s.lstrip().upper().startswith("INSERT")]
            status.replies_count = 7  # a change after attaching is an UPDATE
            account.display_name = "Alicja"
            with pytest.raises(InvalidRequestError):  # lazy="raise", as on a loaded Account
                account.user  # noqa: B018
        finally:
            event.remove(db.write_engine.sync_engine, "before_cursor_execute", record)
    assert (await orm_values(db, Status, status_id))["replies_count"] == 7
    assert (await orm_values(db, Account, account_id))["display_name"] == "Alicja"


# -- commit and rollback ------------------------------------------------------------------------


async def test_raw_statements_commit_without_building_a_session(db: Database, other_db: Database) -> None:
    async with db.transaction() as w:
        await w.insert(Job.__table__, [{"kind": "test.raw-only"}])
        (row,) = await w.fetch(select(Job.id).where(Job.kind == bindparam("k")), {"k": "test.raw-only"})
        bump = update(Job.__table__).where(Job.id == bindparam("i", type_=BigInteger)).values(attempts=5)
        assert await w.execute(bump, {"i": row[0]}) == 1
        if ON_SQLITE:
            assert not w.has_session and w.conn is not None and w.conn.in_transaction
    assert writer_idle(db)
    # Committed: seen from another connection, and from another Database (process).
    for database in (db, other_db):
        async with database.read() as s:
            assert await s.scalar(select(Job.attempts).where(Job.kind == "test.raw-only")) == 5


async def test_raw_statements_and_a_lazy_session_commit_together(db: Database) -> None:
    async with db.transaction() as w:
        await w.insert(Job.__table__, [{"kind": "test.mixed", "attempts": 1}])
        w.session.add(Job(kind="test.mixed", attempts=2))
        await w.session.flush()
        await w.insert(Job.__table__, [{"kind": "test.mixed", "attempts": 3}])
        w.session.add(Job(kind="test.mixed", attempts=4))  # flushed by the commit
        assert w.has_session
    assert writer_idle(db)
    async with db.read() as s:
        assert sorted(await s.scalars(select(Job.attempts).where(Job.kind == "test.mixed"))) == [1, 2, 3, 4]
    await a_write_still_works(db)


class Boom(Exception):
    pass


@pytest.mark.parametrize("shape", ["raw", "raw-then-session", "session-then-raw", "session-only", "nothing"])
async def test_an_exception_in_the_block_leaves_nothing_written(db: Database, shape: str) -> None:
    with pytest.raises(Boom):
        async with db.transaction() as w:
            if shape.startswith("raw"):
                await w.insert(Job.__table__, [{"kind": "test.boom"}])
            if "session" in shape:
                w.session.add(Job(kind="test.boom"))
                await w.session.flush()
            if shape == "session-then-raw":
                await w.insert(Job.__table__, [{"kind": "test.boom"}])
            raise Boom()
    assert writer_idle(db)
    assert await job_ids(db, "test.boom") == set()
    await a_write_still_works(db)


async def test_a_failing_commit_leaves_nothing_written(db: Database, account_id: int) -> None:
    """The session's pending object fails at the commit's flush: the raw INSERT before it goes too."""
    status_id = new_id()
    async with db.transaction() as w:
        await w.insert(Status.__table__, [{"id": status_id, "account_id": account_id}])
        await w.insert(StatusTerm.__table__, [{"term": "dup", "status_id": status_id}])
    with pytest.raises(IntegrityError):
        async with db.transaction() as w:
            await w.insert(Job.__table__, [{"kind": "test.failed-commit"}])
            w.session.add(StatusTerm(term="dup", status_id=status_id))  # not flushed until the commit
    assert writer_idle(db)
    assert await job_ids(db, "test.failed-commit") == set()
    await a_write_still_works(db)


async def test_a_context_transaction_rolls_back_and_publishes_nothing(settings: Settings, db: Database) -> None:
    bus = InProcessBus()
    seen: list[Any] = []
    bus.subscribe(seen.append)
    ctx = Context(settings, db, bus)
    woken: list[bool] = []
    ctx.on_jobs = lambda: woken.append(True)
    with pytest.raises(Boom):
        async with ctx.tx() as tx:
            await tx.insert(Job.__table__, [{"kind": "test.ctx"}])
            tx.enqueue("test.ctx", {})
            raise Boom()
    assert await job_ids(db, "test.ctx") == set() and not woken and not seen
    async with ctx.tx() as tx:
        await tx.insert(Job.__table__, [{"kind": "test.ctx"}])
        tx.enqueue("test.ctx", {"n": 1})
    assert len(await job_ids(db, "test.ctx")) == 2 and woken == [True]


# -- savepoints and ordering inside one transaction ----------------------------------------------


async def test_savepoints_in_a_lazy_session_share_the_raw_transaction(db: Database, account_id: int) -> None:
    status_id = new_id()
    async with db.transaction() as w:
        await w.insert(Status.__table__, [{"id": status_id, "account_id": account_id}])
        await w.insert(StatusTerm.__table__, [{"term": "dup", "status_id": status_id}])

    async with db.transaction() as w:
        await w.insert(Job.__table__, [{"kind": "test.sp", "attempts": 1}])  # before any session
        # As relationships._insert_once: a duplicate in a savepoint, the savepoint rolled back.
        with pytest.raises(IntegrityError):
            async with w.session.begin_nested():
                w.session.add(StatusTerm(term="dup", status_id=status_id))
                await w.session.flush()
        await w.insert(Job.__table__, [{"kind": "test.sp", "attempts": 2}])
        async with w.session.begin_nested():
            w.session.add(Job(kind="test.sp", attempts=3))
            await w.insert(Job.__table__, [{"kind": "test.sp", "attempts": 4}])  # flushes attempts=3 first
        # A savepoint that fails takes its raw statements with it, and only those (once the
        # savepoint is open: see the test below for raw statements first).
        with pytest.raises(Boom):
            async with w.session.begin_nested():
                w.session.add(Job(kind="test.sp", attempts=98))
                await w.insert(Job.__table__, [{"kind": "test.sp", "attempts": 99}])
                raise Boom()
        w.session.add(Job(kind="test.sp", attempts=5))
    assert writer_idle(db)
    async with db.read() as s:
        assert sorted(await s.scalars(select(Job.attempts).where(Job.kind == "test.sp"))) == [1, 2, 3, 4, 5]
        assert list(await s.scalars(select(StatusTerm.term).where(StatusTerm.status_id == status_id))) == ["dup"]

    # And the whole of it rolls back together.
    with pytest.raises(Boom):
        async with db.transaction() as w:
            await w.insert(Job.__table__, [{"kind": "test.sp2"}])
            async with w.session.begin_nested():
                w.session.add(Job(kind="test.sp2"))
            await w.insert(Job.__table__, [{"kind": "test.sp2"}])
            raise Boom()
    assert await job_ids(db, "test.sp2") == set()


async def test_raw_statements_and_the_session_see_each_others_writes(db: Database, account_id: int) -> None:
    status_id = new_id()
    async with db.transaction() as w:
        status = Status(id=status_id, account_id=account_id, text="draft")
        w.session.add(status)  # pending, not flushed
        # A foreign key to the pending row: it must be flushed before this INSERT.
        await w.insert(StatusTerm.__table__, [{"term": "t", "status_id": status_id}])
        status.text = "edited"  # dirty, not flushed
        text_of = select(Status.text).where(Status.id == bindparam("i", type_=BigInteger))
        assert [tuple(r) for r in await w.fetch(text_of, {"i": status_id})] == [("edited",)]
        job_id = new_id()
        await w.insert(Job.__table__, [{"id": job_id, "kind": "test.order"}])
        job = await w.session.get(Job, job_id)
        assert job is not None and job.kind == "test.order"
        await w.session.delete(job)  # pending delete: gone for the next raw statement
        assert await w.fetch(select(Job.id).where(Job.id == bindparam("j", type_=BigInteger)), {"j": job_id}) == []
    async with db.read() as s:
        assert await s.scalar(select(Status.text).where(Status.id == status_id)) == "edited"
        assert await s.scalar(select(StatusTerm.term).where(StatusTerm.status_id == status_id)) == "t"
    assert await job_ids(db, "test.order") == set()


# -- serialisation -----------------------------------------------------------------------------


async def test_write_and_transaction_blocks_run_one_at_a_time(db: Database) -> None:
    active = 0
    most = 0

    async def inside() -> None:
        nonlocal active, most
        active += 1
        most = max(most, active)
        await asyncio.sleep(0)  # let every other task try to get in
        await asyncio.sleep(0.001)
        active -= 1

    async def via_write(n: int) -> None:
        async with db.write() as s:
            s.add(Job(kind="test.serial", attempts=n))
            await s.flush()
            await inside()

    async def via_transaction(n: int) -> None:
        async with db.transaction() as w:
            await w.insert(Job.__table__, [{"kind": "test.serial", "attempts": n}])
            if n % 3 == 0:
                w.session.add(Job(kind="test.serial-session", attempts=n))
            await inside()

    await asyncio.gather(*(via_write(n) if n % 2 else via_transaction(n) for n in range(40)))
    async with db.read() as s:
        assert sorted(await s.scalars(select(Job.attempts).where(Job.kind == "test.serial"))) == list(range(40))
        assert len(list(await s.scalars(select(Job.id).where(Job.kind == "test.serial-session")))) == 7
    if ON_SQLITE:
        assert most == 1  # one writer at a time in a process
    assert writer_idle(db)


async def test_two_databases_on_one_file_both_write_busy_is_retried(db: Database, other_db: Database) -> None:
    """Two Databases stand for two processes: the second's BEGIN IMMEDIATE is busy while the
    first holds the write lock, and is retried (asynchronously) until it is free."""
    order: list[str] = []
    holding = asyncio.Event()

    async def first() -> None:
        async with db.transaction() as w:
            await w.insert(Job.__table__, [{"kind": "test.two", "attempts": 1}])
            order.append("first in")
            holding.set()
            await asyncio.sleep(0.2)  # still holding the lock
            order.append("first done")
        order.append("first committed")

    async def second() -> None:
        await holding.wait()
        async with other_db.transaction() as w:
            order.append("second in")
            # Its snapshot begins after the first's commit: it sees that row.
            rows = await w.fetch(select(Job.attempts).where(Job.kind == bindparam("k")), {"k": "test.two"})
            assert [tuple(r) for r in rows] == [(1,)] or not ON_SQLITE
            await w.insert(Job.__table__, [{"kind": "test.two", "attempts": 2}])

    await asyncio.gather(first(), second())
    if ON_SQLITE:
        assert order.index("second in") > order.index("first done")

    # Many at once from both, through transaction() and write().
    async def one(database: Database, n: int) -> None:
        if n % 2:
            async with database.write() as s:
                s.add(Job(kind="test.two-many", attempts=n))
        else:
            async with database.transaction() as w:
                await w.insert(Job.__table__, [{"kind": "test.two-many", "attempts": n}])
                await asyncio.sleep(0.001)

    await asyncio.gather(*(one(db if n % 4 < 2 else other_db, n) for n in range(24)))
    async with db.read() as s:
        assert sorted(await s.scalars(select(Job.attempts).where(Job.kind == "test.two"))) == [1, 2]
        assert sorted(await s.scalars(select(Job.attempts).where(Job.kind == "test.two-many"))) == list(range(24))
    assert writer_idle(db) and writer_idle(other_db)


# -- someone listening to statements -----------------------------------------------------------


async def test_a_statement_listener_sees_every_write_tx_statement(db: Database, account_id: int) -> None:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(" ".join(statement.split()).upper())

    engine = db.write_engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        async with db.transaction() as w:
            await w.insert(Job.__table__, [{"kind": "test.listened"}])
            query = select(Job.id, Job.payload, Job.run_at).where(Job.kind == bindparam("k"))
            rows = await w.fetch(query, {"k": "test.listened"}, typed=True)
            assert rows[0][1] == {} and rows[0][2].tzinfo == timezone.utc
            bump = update(Job.__table__).where(Job.id == bindparam("i", type_=BigInteger)).values(attempts=1)
            await w.execute(bump, {"i": rows[0][0]})
            assert (await w.get(Account, account_id)).username == "alice"
            assert w.has_session  # all through the session
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert any(s.startswith("INSERT INTO JOBS") for s in seen)
    assert any(s.startswith("SELECT JOBS.ID, JOBS.PAYLOAD") for s in seen)
    assert any(s.startswith("UPDATE JOBS SET ATTEMPTS") for s in seen)
    assert any(s.startswith("SELECT") and "FROM ACCOUNTS" in s for s in seen)

    # Nobody listening any more: on SQLite the raw path is back (no session, nothing seen).
    seen.clear()
    async with db.transaction() as w:
        await w.insert(Job.__table__, [{"kind": "test.listened"}])
        await w.fetch(select(Job.id).where(Job.kind == bindparam("k")), {"k": "test.listened"})
        if ON_SQLITE:
            assert not w.has_session
    assert seen == []
    assert len(await job_ids(db, "test.listened")) == 2


async def test_fetch_typed_gives_what_the_session_gives(db: Database) -> None:
    async with db.transaction() as w:
        await w.insert(Job.__table__, [{"kind": "test.typed", "payload": {"x": [1]}, "run_at": MOMENT}])
    statement = select(Job.kind, Job.payload, Job.run_at, Job.done_at).where(Job.kind == bindparam("k"))
    async with db.transaction() as w:
        typed = [tuple(r) for r in await w.fetch(statement, {"k": "test.typed"}, typed=True)]
    async with db.read() as s:
        via_session = [tuple(r) for r in (await s.execute(statement, {"k": "test.typed"})).all()]
    assert typed == via_session == [("test.typed", {"x": [1]}, MOMENT, None)]


# -- the PostgreSQL shape: an eager session ------------------------------------------------------


@pytest.mark.skipif(ON_SQLITE, reason="PostgreSQL: WriteTx wraps a write() session")
async def test_on_postgresql_write_tx_is_a_session_transaction(db: Database) -> None:
    async with db.transaction() as w:
        assert w.conn is None and w.has_session
        await w.insert(Job.__table__, [{"kind": "test.pg"}])
        obj = await w.get(Job, (await w.fetch(select(Job.id).where(Job.kind == "test.pg"), {}))[0][0])
        assert obj in w.session  # attached, unlike SQLite's detached object
    with pytest.raises(Boom):
        async with db.transaction() as w:
            await w.insert(Job.__table__, [{"kind": "test.pg"}])
            raise Boom()
    assert len(await job_ids(db, "test.pg")) == 1


# -- found in review, fixed (each failed before its fix) ---------------------------------------


async def test_a_lazy_session_on_a_cold_write_pool_keeps_the_raw_writes_before_it(settings: Settings) -> None:
    database = Database(settings.effective_database_url, pool_size=2)  # nothing written through it yet
    try:
        async with database.transaction() as w:
            await w.insert(Job.__table__, [{"kind": "test.cold", "attempts": 1}])
            w.session.add(Job(kind="test.cold", attempts=2))
            await w.session.flush()
            await w.insert(Job.__table__, [{"kind": "test.cold", "attempts": 3}])
        async with database.read() as s:
            assert sorted(await s.scalars(select(Job.attempts).where(Job.kind == "test.cold"))) == [1, 2, 3]
    finally:
        await database.dispose()


async def test_a_lazy_session_on_a_reconnected_write_pool_rolls_back_with_the_block(db: Database) -> None:
    await db.write_engine.dispose()  # stands for the pooled writer being closed/invalidated
    with pytest.raises(Boom):
        async with db.transaction() as w:
            await w.insert(Job.__table__, [{"kind": "test.reconnected"}])
            w.session.add(Job(kind="test.reconnected"))
            await w.session.flush()
            raise Boom()
    assert await job_ids(db, "test.reconnected") == set()


async def test_raw_statements_first_in_a_savepoint_roll_back_with_it(db: Database) -> None:
    async with db.transaction() as w:
        w.session.add(Job(kind="test.sp-raw-first", attempts=1))
        await w.session.flush()
        with pytest.raises(Boom):
            async with w.session.begin_nested():
                await w.insert(Job.__table__, [{"kind": "test.sp-raw-first", "attempts": 2}])
                raise Boom()
    async with db.read() as s:
        assert list(await s.scalars(select(Job.attempts).where(Job.kind == "test.sp-raw-first"))) == [1]


async def test_execute_with_no_parameters_runs_the_statement(db: Database) -> None:
    async with db.transaction() as w:
        await w.insert(Job.__table__, [{"kind": "test.noparams"} for _ in range(3)])
    async with db.transaction() as w:
        touched = await w.execute(delete(Job.__table__).where(Job.kind == "test.noparams"), {})
    assert await job_ids(db, "test.noparams") == set()
    assert touched == 3


async def test_a_raw_conflict_raises_sqlalchemys_integrity_error(db: Database) -> None:
    job_id = new_id()
    async with db.transaction() as w:
        await w.insert(Job.__table__, [{"id": job_id, "kind": "test.conflict"}])
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        async with db.transaction() as w:
            await w.insert(Job.__table__, [{"id": job_id, "kind": "test.conflict"}])


@sqlite_only
async def test_a_nested_write_fails_fast_instead_of_hanging(db: Database) -> None:
    async def nested() -> None:
        async with db.write() as s:
            s.add(Job(kind="test.nested"))

    async def body() -> None:  # one task: it holds the writer, then asks for it again
        async with db.transaction() as w:
            await w.insert(Job.__table__, [{"kind": "test.nested-outer"}])
            with pytest.raises(RuntimeError):
                await nested()

    await asyncio.wait_for(body(), timeout=5)  # a hang fails the test instead of the suite
    assert await job_ids(db, "test.nested-outer") and not await job_ids(db, "test.nested")


@sqlite_only
async def test_another_task_waits_for_the_writer_as_usual(db: Database) -> None:
    """A task started inside a write (a concurrent request) is not refused: it waits."""
    async def other() -> None:
        async with db.transaction() as w:
            await w.insert(Job.__table__, [{"kind": "test.after"}])

    async with db.transaction() as w:
        await w.insert(Job.__table__, [{"kind": "test.first"}])
        task = asyncio.create_task(other())
        await asyncio.sleep(0.05)
        assert not task.done()  # waiting for the writer
    await task
    assert await job_ids(db, "test.after") and await job_ids(db, "test.first")


@sqlite_only
async def test_dispose_closes_the_writer(settings: Settings) -> None:
    database = Database(settings.effective_database_url, pool_size=2)
    async with database.transaction() as w:
        await w.insert(Job.__table__, [{"kind": "test.dispose"}])
    writer = database._writer
    assert writer is not None
    await database.dispose()
    try:
        writer.total_changes  # noqa: B018 - raises once the connection is closed
    except Exception:
        return
    writer.close()  # don't leak it from the test itself
    pytest.fail("the writer connection is still open after dispose()")


# -- WAL checkpoints off the event loop ------------------------------------------------------


@sqlite_only
async def test_wal_checkpoints_run_on_a_worker_thread(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's own auto-checkpoint would run inside a commit, on the event loop; the writer
    has it off, and every CHECKPOINT_EVERY commits a passive checkpoint runs on a thread."""
    import threading

    from szpak.storage import db as db_module

    ran_on: list[int] = []
    real = db_module._checkpoint

    def recording(path: str) -> None:
        ran_on.append(threading.get_ident())
        real(path)

    monkeypatch.setattr(db_module, "CHECKPOINT_EVERY", 5)
    monkeypatch.setattr(db_module, "_checkpoint", recording)
    for i in range(12):
        async with db.transaction() as w:
            await w.insert(Job.__table__, [{"kind": "test.checkpoint", "attempts": i}])
        if db._checkpointing is not None:
            await db._checkpointing
    assert db.writer().execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    assert len(ran_on) == 2 and threading.get_ident() not in ran_on
    # The WAL stays checkpointable (nothing holds it back).
    busy, frames, copied = db.writer().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert busy == 0 and frames == copied
    assert len(await job_ids(db, "test.checkpoint")) == 12
