"""The migrations are the schema's history (docs/decisions/0002-frozen-migrations.md).

- An empty database upgraded to head, the way the server does it, has exactly the models'
  schema: changing a model without adding a migration (``scripts/new-migration.sh``) fails here.
- The revisions are one line, 0001 -> 0002 -> ..., each named by its file's number.
- A database stamped at a revision this code doesn't have is refused with a one-line error.

Each test gets a database of its own: an SQLite file, or a new PostgreSQL database when
``SZPAK_TEST_DATABASE_URL`` is set (as in tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from szpak import cli
from szpak.storage.migrate import MIGRATIONS, UnknownRevisionError, alembic_config, upgrade_async
from szpak.storage.models import Base

PG_URL = os.environ.get("SZPAK_TEST_DATABASE_URL", "")
FILE_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.py$")


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """The URL of a database with nothing in it."""
    if not PG_URL:
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    import asyncpg

    name = f"szpak_migrations_{uuid.uuid4().hex[:8]}"
    admin = PG_URL.replace("postgresql+asyncpg://", "postgresql://")

    async def execute(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_URL.rpartition('/')[0]}/{name}"
    finally:
        asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def on_connection(url: str, fn: Any) -> Any:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(fn)
    finally:
        await engine.dispose()


def differences(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
    # Nothing is ignored: on SQLite and on PostgreSQL the comparison of a freshly migrated
    # database with the models comes out empty, types and server defaults included. Should a
    # dialect ever report noise, filter that one kind here and say why it is noise.
    return compare_metadata(context, Base.metadata)


def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


async def test_migrated_schema_matches_the_models(empty_database: str) -> None:
    await upgrade_async(empty_database)  # what `szpak db upgrade` and start-up run
    at = await on_connection(empty_database, lambda c: MigrationContext.configure(c).get_current_heads())
    assert set(at) == set(script_directory().get_heads())
    diff = await on_connection(empty_database, differences)
    assert diff == [], (
        "the models differ from the schema the migrations build; add a migration with "
        "scripts/new-migration.sh \"what changed\":\n" + "\n".join(map(repr, diff))
    )


def test_revisions_are_one_numbered_line() -> None:
    script = script_directory()
    heads = script.get_heads()
    assert len(heads) == 1, f"heads {heads}: two migrations revise the same one; renumber the newer"
    revisions = list(reversed(list(script.walk_revisions())))  # base first
    for number, rev in enumerate(revisions, start=1):
        match = FILE_NAME.match(Path(rev.path).name)
        assert match, f"{rev.path}: name it NNNN_<slug>.py"
        assert rev.revision == match.group(1) == f"{number:04d}", f"{rev.path}: revision {rev.revision!r}"
        assert rev.down_revision == (f"{number - 1:04d}" if number > 1 else None), f"{rev.path} revises {rev.down_revision!r}"
        assert not rev.branch_labels and not rev.dependencies, f"{rev.path}: no branches or dependencies"
    files = sorted(p.name for p in (MIGRATIONS / "versions").glob("*.py") if p.name != "__init__.py")
    assert files == [Path(rev.path).name for rev in revisions], "a file in versions/ is not in the line of revisions"


async def stamp(url: str, revision: str) -> None:
    await on_connection(url, lambda c: c.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision}))


async def test_unknown_revision_is_refused_in_one_line(
    empty_database: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    await upgrade_async(empty_database)
    await stamp(empty_database, "9999")  # as if a newer Szpak had migrated it
    with pytest.raises(UnknownRevisionError, match=r"^the database is at schema revision 9999, .*newest is \d{4}\)"):
        await upgrade_async(empty_database)

    monkeypatch.setenv("SZPAK_DATABASE_URL", empty_database)
    monkeypatch.setenv("SZPAK_DATA_DIR", str(tmp_path))
    capsys.readouterr()
    code = await asyncio.to_thread(cli.main, ["db", "upgrade"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.startswith("error: the database is at schema revision 9999,") and err.count("\n") == 1, err
