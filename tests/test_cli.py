"""The ``szpak`` command: users, tokens, db upgrade and demo, against the test database.

Commands run in-process (``cli.main``) in a worker thread, because they start their own
event loop; their settings come from the environment, pointed at the test's database.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from szpak import cli, demo
from szpak.storage.models import Account, Favourite, Follow, Status, User


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> str:
    monkeypatch.setenv("SZPAK_DATABASE_URL", database_url)
    monkeypatch.setenv("SZPAK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SZPAK_DOMAIN", "testserver")
    return database_url


async def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(cli.main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def account_and_user(client: Any, username: str) -> tuple[Account, User] | None:
    async with client.app.state.ctx.read() as s:
        row = (
            await s.execute(select(Account, User).join(User, User.account_id == Account.id).where(Account.username == username))
        ).first()
    return (row[0], row[1]) if row else None


async def test_users_create(client: Any, env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = await run(capsys, "users", "create", "ola", "--email", "ola@example.com", "--password", "dlugie-haslo")
    assert (code, err) == (0, "")
    assert "created @ola" in out
    found = await account_and_user(client, "ola")
    assert found is not None
    account, user = found
    assert (account.kind, account.locked, user.role, user.email) == ("person", False, "user", "ola@example.com")


async def test_users_create_kind_locked_admin(client: Any, env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = await run(
        capsys, "users", "create", "skarpetkowo", "--email", "sklep@example.com", "--password", "dlugie-haslo",
        "--kind", "brand", "--locked", "--admin",
    )
    assert code == 0 and "brand" in out and "admin" in out and "locked" in out
    found = await account_and_user(client, "skarpetkowo")
    assert found is not None
    account, user = found
    assert (account.kind, account.locked, user.role) == ("brand", True, "admin")
    # The password works: the new user can get a token with it.
    r = await client.post("/api/v1/apps", data={"client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"})
    app = r.json()
    r = await client.post("/oauth/token", data={
        "grant_type": "password", "username": "sklep@example.com", "password": "dlugie-haslo",
        "client_id": app["client_id"], "client_secret": app["client_secret"],
    })
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ola", "--email", "other@example.com", "--password", "dlugie-haslo"], "taken"),
        (["ewa", "--email", "ola@example.com", "--password", "dlugie-haslo"], "taken"),
        (["ewa", "--email", "not-an-email", "--password", "dlugie-haslo"], "mail"),
        (["ewa", "--email", "ewa@example.com", "--password", "short"], "short"),
        (["bad name!", "--email", "ewa@example.com", "--password", "dlugie-haslo"], "sername"),
        (["ewa", "--email", "ewa@example.com", "--password", "dlugie-haslo", "--kind", "robot"], "Kind must be one of"),
    ],
)
async def test_users_create_errors(
    client: Any, env: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    await client.make_user("ola")
    code, out, err = await run(capsys, "users", "create", *args)
    assert code == 1 and out == ""
    assert err.startswith("error: ") and message in err, err
    assert await account_and_user(client, "ewa") is None


async def test_tokens_create_prints_a_working_token(client: Any, env: str, capsys: pytest.CaptureFixture[str]) -> None:
    await client.make_user("ola")
    code, out, err = await run(capsys, "tokens", "create", "ola")
    assert (code, err) == (0, "")
    token = out.strip()
    assert out == token + "\n" and len(token) >= 32
    headers = {"Authorization": f"Bearer {token}"}
    r = await client.get("/api/v1/accounts/verify_credentials", headers=headers)
    assert r.status_code == 200 and r.json()["username"] == "ola"
    r = await client.post("/api/v1/statuses", json={"status": "z linii poleceń"}, headers=headers)
    assert r.status_code == 200, r.text
    r = await client.get("/api/v1/apps/verify_credentials", headers=headers)
    assert r.json()["name"] == "Szpak CLI"

    code, out, _ = await run(capsys, "tokens", "create", "@OLA", "--scopes", "read:accounts")
    assert code == 0
    headers = {"Authorization": f"Bearer {out.strip()}"}
    assert (await client.get("/api/v1/accounts/verify_credentials", headers=headers)).status_code == 200
    assert (await client.post("/api/v1/statuses", json={"status": "x"}, headers=headers)).status_code == 403


async def test_tokens_create_errors(client: Any, env: str, capsys: pytest.CaptureFixture[str]) -> None:
    await client.make_user("ola")
    code, out, err = await run(capsys, "tokens", "create", "nobody")
    assert code == 1 and out == "" and "no local user @nobody" in err
    code, out, err = await run(capsys, "tokens", "create", "ola", "--scopes", "read everything")
    assert code == 1 and out == "" and "everything is not a valid scope" in err
    async with client.app.state.ctx.tx() as tx:
        await tx.session.execute(Account.__table__.update().where(Account.username == "ola").values(suspended_at=func.now()))
    code, out, err = await run(capsys, "tokens", "create", "ola")
    assert code == 1 and out == "" and "suspended" in err


async def migration_state(url: str) -> tuple[set[str], set[str]]:
    """(the revisions the database is at, its tables)."""
    from sqlalchemy import inspect
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            def read(sync_conn: Any) -> tuple[set[str], set[str]]:
                from alembic.runtime.migration import MigrationContext

                heads = set(MigrationContext.configure(sync_conn).get_current_heads())
                return heads, set(inspect(sync_conn).get_table_names())

            return await conn.run_sync(read)
    finally:
        await engine.dispose()


def script_heads() -> set[str]:
    from alembic.script import ScriptDirectory

    from szpak.storage.migrate import alembic_config

    return set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


async def test_db_upgrade_is_idempotent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'db.sqlite3'}"
    monkeypatch.setenv("SZPAK_DATABASE_URL", url)
    code, out, _ = await run(capsys, "db", "upgrade")
    assert code == 0 and "up to date" in out
    heads, tables = await migration_state(url)
    assert heads == script_heads() and {"accounts", "statuses", "oauth_tokens"} <= tables
    code, out, _ = await run(capsys, "db", "upgrade")
    assert code == 0 and "up to date" in out
    assert await migration_state(url) == (heads, tables)


async def test_db_upgrade_on_the_test_database(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    before = await migration_state(env)
    code, _, _ = await run(capsys, "db", "upgrade")
    assert code == 0
    assert await migration_state(env) == before and before[0] == script_heads()


async def counts(client: Any) -> dict[str, int]:
    async with client.app.state.ctx.read() as s:
        return {
            "accounts": await s.scalar(select(func.count()).select_from(Account)),
            "posts": await s.scalar(select(func.count()).select_from(Status).where(Status.reblog_of_id.is_(None))),
            "reblogs": await s.scalar(select(func.count()).select_from(Status).where(Status.reblog_of_id.is_not(None))),
            "follows": await s.scalar(select(func.count()).select_from(Follow)),
            "favourites": await s.scalar(select(func.count()).select_from(Favourite)),
        }


async def test_demo_twice(client: Any, env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = await run(capsys, "demo")
    assert code == 0, err
    assert f"{len(demo.PEOPLE)} accounts and {len(demo.POSTS)} posts added" in out
    assert demo.DEMO_PASSWORD in out and "skarpetkowo" in out and "krakow@" in out
    first = await counts(client)
    assert first["accounts"] == len(demo.PEOPLE) and 40 <= first["posts"] <= 80
    assert first["reblogs"] == sum(len(keys) for _, keys in demo.REBLOGS)
    assert first["follows"] >= 30 and first["favourites"] == sum(len(keys) for _, keys in demo.FAVOURITES)

    code, out, err = await run(capsys, "demo")
    assert code == 0, err
    assert "0 accounts and 0 posts added" in out
    assert await counts(client) == first

    kinds = {a.username: a.kind for a, _ in [x for x in [await account_and_user(client, n) for n in
                                              ("skarpetkowo", "bankwislany", "zasieg_mobile", "dziennik_krakowski", "krakow")] if x]}
    assert kinds == {"skarpetkowo": "brand", "bankwislany": "brand", "zasieg_mobile": "brand",
                     "dziennik_krakowski": "media", "krakow": "institution"}
    # A complaint is answered by the brand, in the same thread.
    r = await client.get("/api/v1/accounts/lookup", params={"acct": "ania_nowak"})
    assert r.status_code == 200, r.text
    r = await client.get(f"/api/v1/accounts/{r.json()['id']}/statuses")
    complaint = next(s for s in r.json() if "nic nie przyszło" in s["content"])
    r = await client.get(f"/api/v1/statuses/{complaint['id']}/context")
    assert any(s["account"]["username"] == "skarpetkowo" for s in r.json()["descendants"])


async def test_media_sweep(client: Any, env: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``szpak media sweep`` deletes uploads left unattached too long, and then their files."""
    import io
    from datetime import datetime, timedelta, timezone

    from PIL import Image
    from sqlalchemy import update

    from szpak.storage.models import MediaAttachment

    alice = await client.make_user("alice")

    async def upload(width: int) -> dict[str, Any]:
        out = io.BytesIO()
        Image.new("RGB", (width, 20), (10, 200, 30)).save(out, format="PNG")
        r = await alice.post("/api/v2/media", files={"file": ("a.png", out.getvalue(), "image/png")})
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    old, fresh, used = await upload(30), await upload(31), await upload(32)
    await alice.post_status("z obrazkiem", media_ids=[used["id"]])
    async with client.app.state.ctx.tx() as tx:
        # Uploaded two days ago; the one a post uses is old too, but stays.
        await tx.session.execute(
            update(MediaAttachment).where(MediaAttachment.id.in_([int(old["id"]), int(used["id"])]))
            .values(created_at=datetime.now(timezone.utc) - timedelta(days=2))
        )
    media_dir = client.app.state.settings.effective_media_dir

    def files(m: dict[str, Any]) -> list[Path]:
        return [media_dir / m[k].split("/media_attachments/", 1)[1] for k in ("url", "preview_url")]

    async def left() -> set[str]:
        async with client.app.state.ctx.read() as s:
            return {str(i) for i in await s.scalars(select(MediaAttachment.id))}

    assert all(f.is_file() for m in (old, fresh, used) for f in files(m))
    code, out, err = await run(capsys, "media", "sweep")
    assert (code, err) == (0, "") and "deleted 1 unattached upload" in out
    assert await left() == {fresh["id"], used["id"]}
    await client.run_jobs()  # the durable file deletions, as the server's worker runs them
    assert [f.exists() for m in (old, fresh, used) for f in files(m)] == [False, False, True, True, True, True]

    code, out, _ = await run(capsys, "media", "sweep", "--older-than", "0")
    assert code == 0 and "deleted 1 unattached upload" in out
    assert await left() == {used["id"]}
    with pytest.raises(SystemExit):
        await run(capsys, "media", "sweep", "--older-than", "wczoraj")


def test_console_script_exit_code(tmp_path: Path) -> None:
    """The installed ``szpak`` entry point turns a failure into exit status 1."""
    exe = Path(sys.executable).with_name("szpak")
    environment = {
        **os.environ, "SZPAK_DATA_DIR": str(tmp_path), "SZPAK_DATABASE_URL": "", "SZPAK_FAST_PASSWORD_HASHING": "1",
    }
    result = subprocess.run(
        [str(exe), "users", "create", "ola", "--email", "ola@example.com", "--password", "x"],
        env=environment, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert "error:" in result.stderr and "short" in result.stderr
