"""Shared fixtures.

Database: SQLite by default (a fresh file per test, copied from a migrated
template); PostgreSQL when ``SZPAK_TEST_DATABASE_URL`` is set (one database per
xdist worker, migrated once, truncated between tests). ``.ci/run`` runs the
suite both ways.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

os.environ.setdefault("SZPAK_FAST_PASSWORD_HASHING", "1")

from szpak.app import create_app  # noqa: E402
from szpak.config import Settings  # noqa: E402
from szpak.storage.migrate import upgrade_async  # noqa: E402

PG_URL = os.environ.get("SZPAK_TEST_DATABASE_URL", "")
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    asyncio.run(upgrade_async(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_database() -> Any:
    if not PG_URL:
        yield None
        return
    import asyncpg

    name = f"szpak_test_{_worker()}_{uuid.uuid4().hex[:6]}"
    admin = PG_URL.replace("postgresql+asyncpg://", "postgresql://")

    async def create() -> None:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    asyncio.run(create())
    base, _, _ = PG_URL.rpartition("/")
    url = f"{base}/{name}"
    asyncio.run(upgrade_async(url))
    yield url

    async def drop() -> None:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    asyncio.run(drop())


async def _truncate(url: str) -> None:
    import asyncpg

    from szpak.storage.models import Base

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        await conn.execute(f"TRUNCATE {tables} CASCADE")
    finally:
        await conn.close()


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path, pg_database: str | None) -> str:
    if pg_database:
        asyncio.run(_truncate(pg_database))
        return pg_database
    path = tmp_path / "szpak.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        domain="testserver",
        run_workers=False,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Any]:
    application = create_app(settings, migrate=False)
    async with application.router.lifespan_context(application):
        yield application


class Client(httpx.AsyncClient):
    """An httpx client bound to the app, with helpers for users and tokens."""

    app: Any

    async def make_user(
        self, username: str, *, scopes: str = "read write follow push", locked: bool = False, kind: str = "person",
        role: str = "user", password: str = "sekretne-haslo",
    ) -> User_:
        from szpak.domain import oauth
        from szpak.domain.accounts import create_user

        ctx = self.app.state.ctx
        async with ctx.tx() as tx:
            user = await create_user(
                tx, username=username, email=f"{username}@example.com", password=password, locked=locked,
                kind=kind, role=role,
            )
            token, _ = await oauth.issue_token(tx, application_id=None, user_id=user.id, scopes=scopes.split())
        return User_(self, username, str(user.account_id), token)

    async def run_jobs(self) -> int:
        total = 0
        while ran := await self.app.state.worker.run_once():
            total += ran
        return total


class User_:
    """A test user: its account id, a token, and request helpers that send it."""

    def __init__(self, client: Client, username: str, account_id: str, token: str) -> None:
        self.client = client
        self.username = username
        self.id = account_id
        self.token = token
        self.headers = {"Authorization": f"Bearer {token}"}

    async def get(self, url: str, **kw: Any) -> httpx.Response:
        return await self.client.get(url, headers=self.headers, **kw)

    async def post(self, url: str, **kw: Any) -> httpx.Response:
        return await self.client.post(url, headers=self.headers, **kw)

    async def put(self, url: str, **kw: Any) -> httpx.Response:
        return await self.client.put(url, headers=self.headers, **kw)

    async def patch(self, url: str, **kw: Any) -> httpx.Response:
        return await self.client.patch(url, headers=self.headers, **kw)

    async def delete(self, url: str, **kw: Any) -> httpx.Response:
        return await self.client.delete(url, headers=self.headers, **kw)

    async def post_status(self, text: str, **fields: Any) -> dict[str, Any]:
        r = await self.post("/api/v1/statuses", json={"status": text, **fields})
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def follow(self, other: User_) -> None:
        r = await self.post(f"/api/v1/accounts/{other.id}/follow")
        assert r.status_code == 200, r.text


@pytest.fixture
async def client(app: Any) -> AsyncIterator[Client]:
    async with Client(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        c.app = app
        yield c


def shared_path(*parts: str) -> Path:
    """A path under ../shared; tests that need it skip where it is absent (users' machines)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not present (../shared exists only in CI and on developers' machines)")
    return path
