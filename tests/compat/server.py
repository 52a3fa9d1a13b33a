"""A real ``szpak serve`` for the compatibility suites: reached as ``localhost:PORT``
(the name clients like toot use), on a fresh SQLite file or, when
``SZPAK_TEST_DATABASE_URL`` is set, a fresh PostgreSQL database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from e2e.server import PG_URL, Server, create_pg_database, drop_pg_database

REPO = Path(__file__).resolve().parents[2]
#: Downloads kept between runs (git-ignored through the .gitignore written into it).
CACHE = REPO / ".cache"
#: Reports kept after a run (git-ignored).
ARTIFACTS = REPO / "test-artifacts" / "compat"


class LocalhostServer(Server):
    @property
    def base_url(self) -> str:
        return f"http://localhost:{self.port}"

    def env(self) -> dict[str, str]:
        env = super().env()
        env["SZPAK_DOMAIN"] = f"localhost:{self.port}"
        return env


@contextmanager
def running_server(data_dir: Path) -> Iterator[LocalhostServer]:
    name = f"szpak_compat_{uuid.uuid4().hex[:10]}"
    if PG_URL:
        url = asyncio.run(create_pg_database(name))
    else:
        url = f"sqlite+aiosqlite:///{data_dir / 'szpak.sqlite3'}"
    server = LocalhostServer(url, data_dir)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        if PG_URL:
            asyncio.run(drop_pg_database(name))


def cache_dir(*parts: str) -> Path:
    CACHE.mkdir(exist_ok=True)
    ignore = CACHE / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Downloads of the test suite; never committed.\n*\n")
    path = CACHE.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
