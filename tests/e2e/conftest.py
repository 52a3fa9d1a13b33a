"""Fixtures for end-to-end tests: a fresh database and one real server per module.

SQLite by default; a fresh PostgreSQL database when ``SZPAK_TEST_DATABASE_URL`` is set.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .server import PG_URL, Server, create_pg_database, drop_pg_database


@pytest.fixture(scope="module")
def fresh_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(database URL, data dir): a new SQLite file, or a new PostgreSQL database."""
    data_dir = tmp_path_factory.mktemp("e2e")
    if not PG_URL:
        yield f"sqlite+aiosqlite:///{data_dir / 'szpak.sqlite3'}", data_dir
        return
    name = f"szpak_e2e_{uuid.uuid4().hex[:10]}"
    url = asyncio.run(create_pg_database(name))
    try:
        yield url, data_dir
    finally:
        asyncio.run(drop_pg_database(name))


@pytest.fixture(scope="module")
def server(fresh_database: tuple[str, Path]) -> Iterator[Server]:
    """One running server for the whole module (start-up takes a couple of seconds)."""
    url, data_dir = fresh_database
    srv = Server(url, data_dir).start()
    try:
        yield srv
    finally:
        srv.stop()
