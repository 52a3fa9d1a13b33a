"""Insert-or-ignore on either backend: PostgreSQL and SQLite both spell it
``INSERT ... ON CONFLICT (...) DO NOTHING``, through their own dialect's ``insert``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_insert(session: AsyncSession) -> Any:
    """The ``insert`` of the session's dialect (the one with ``on_conflict_do_nothing``)."""
    return pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert


async def insert_or_ignore(session: AsyncSession, model: Any, unique: Sequence[str], **values: Any) -> None:
    """Insert one row of ``model``, or nothing when a row with the same ``unique`` columns exists
    (so two writers racing to create it do not collide)."""
    await session.execute(
        dialect_insert(session)(model).values(**values).on_conflict_do_nothing(index_elements=list(unique))
    )
