"""Apply Alembic migrations programmatically (``szpak db upgrade`` and server start-up)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

MIGRATIONS = Path(__file__).with_name("migrations")


class UnknownRevisionError(RuntimeError):
    """The database is stamped at a revision this code doesn't have (a newer Szpak migrated
    it, or it isn't a Szpak database). The message is one line, for the operator."""


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def _ensure_dir(url: str) -> None:
    if url.startswith("sqlite") and ":///" in url:
        path = url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


async def upgrade_async(url: str, revision: str = "head") -> None:
    _ensure_dir(url)
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade_on, url, revision)
    finally:
        await engine.dispose()


def _upgrade_on(connection: Connection, url: str, revision: str) -> None:
    cfg = alembic_config(url)
    _check_known(connection, ScriptDirectory.from_config(cfg))
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


def _check_known(connection: Connection, script: ScriptDirectory) -> None:
    """Alembic's own error for an unknown revision is a CommandError deep in a traceback."""
    known = {rev.revision for rev in script.walk_revisions()}
    unknown = sorted(set(MigrationContext.configure(connection).get_current_heads()) - known)
    if unknown:
        raise UnknownRevisionError(
            f"the database is at schema revision {', '.join(unknown)}, which this version of Szpak does not have "
            f"(its newest is {', '.join(script.get_heads())}): it was migrated by a newer Szpak (run that one) "
            "or it is not a Szpak database"
        )


def upgrade(url: str, revision: str = "head") -> None:
    asyncio.run(upgrade_async(url, revision))


async def schema_drift(url: str) -> list[object]:
    """Differences between the migrated database and the models (empty when in sync)."""
    from szpak.storage.models import Base

    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c, opts={"compare_type": False}), Base.metadata)
            )
    finally:
        await engine.dispose()
