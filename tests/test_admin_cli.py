"""``szpak admin``: the same moderation actions as the admin API, from the command line,
logged with the actor ``cli`` (or ``cli:NAME``)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from szpak import cli
from szpak.storage.models import Account, ModerationLogEntry, Report, Status, User

pytestmark = pytest.mark.xdist_group("admin-cli")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> str:
    monkeypatch.setenv("SZPAK_DATABASE_URL", database_url)
    monkeypatch.setenv("SZPAK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SZPAK_DOMAIN", "testserver")
    monkeypatch.delenv("SZPAK_REDIS_URL", raising=False)
    return database_url


async def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(cli.main, ["admin", *argv])
    out, err = capsys.readouterr()
    return code, out, err


async def account(client: Any, username: str) -> Account | None:
    async with client.app.state.ctx.read() as s:
        return await s.scalar(select(Account).where(Account.username == username))  # type: ignore[no-any-return]


async def log(client: Any) -> list[tuple[str, str, str, str]]:
    async with client.app.state.ctx.read() as s:
        rows = await s.scalars(select(ModerationLogEntry).order_by(ModerationLogEntry.id))
        return [(e.actor, e.action, e.target_label, e.text) for e in rows]


async def test_suspend_and_unsuspend(client: Any, env: str, capsys: pytest.CaptureFixture[str]) -> None:
    bob = await client.make_user("bob")
    code, out, err = await run(capsys, "accounts", "suspend", "@bob", "--reason", "spam")
    assert (code, err) == (0, ""), err
    assert "suspend: @bob" in out
    found = await account(client, "bob")
    assert found is not None and found.suspended_at is not None
    client.app.state.token_cache.drop_account(int(bob.id))  # another process: no shared bus here
    assert (await bob.get("/api/v1/accounts/verify_credentials")).status_code == 401
    code, _, _ = await run(capsys, "accounts", "unsuspend", "bob", "--actor", "ola")
    assert code == 0
    found = await account(client, "bob")
    assert found is not None and found.suspended_at is None
    assert await log(client) == [("cli", "suspend", "@bob", "spam"), ("cli:ola", "unsuspend", "@bob", "")]


async def test_silence_list_and_delete(client: Any, env: str, capsys: pytest.CaptureFixture[str]) -> None:
    await client.make_user("ala")
    await client.make_user("bob", role="admin")
    assert (await run(capsys, "accounts", "silence", "ala"))[0] == 0
    code, out, _ = await run(capsys, "accounts", "list", "--status", "silenced")
    assert code == 0 and "@ala" in out and "@bob" not in out
    code, out, _ = await run(capsys, "accounts", "list", "--staff")
    assert "@bob" in out and "@ala" not in out
    assert (await run(capsys, "accounts", "unsilence", "ala"))[0] == 0
    code, _, err = await run(capsys, "accounts", "delete", "ala")
    assert code == 1 and "suspended" in err  # only a suspended account may be deleted
    await run(capsys, "accounts", "suspend", "ala")
    assert (await run(capsys, "accounts", "delete", "ala"))[0] == 0
    assert await account(client, "ala") is None
    assert [a for _, a, _, _ in await log(client)] == ["silence", "unsilence", "suspend", "delete"]


async def test_approve_and_reject(client: Any, env: str, capsys: pytest.CaptureFixture[str]) -> None:
    ala, bob = await client.make_user("ala"), await client.make_user("bob")
    async with client.app.state.ctx.tx() as tx:
        await tx.session.execute(update(User).where(User.account_id.in_([int(ala.id), int(bob.id)])).values(approved=False))
    code, out, _ = await run(capsys, "accounts", "list", "--status", "pending")
    assert "@ala" in out and "@bob" in out
    assert (await run(capsys, "accounts", "approve", "ala"))[0] == 0
    assert (await run(capsys, "accounts", "reject", "bob"))[0] == 0
    async with client.app.state.ctx.read() as s:
        assert await s.scalar(select(User.approved).where(User.account_id == int(ala.id))) is True
    assert await account(client, "bob") is None
    code, _, err = await run(capsys, "accounts", "approve", "ala")
    assert code == 1 and "not waiting" in err


async def test_unknown_account_and_bad_ids(client: Any, env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = await run(capsys, "accounts", "suspend", "nikt")
    assert code == 1 and "no account @nikt" in err
    code, _, err = await run(capsys, "reports", "resolve", "abc")
    assert code == 1 and "number" in err
    code, _, err = await run(capsys, "statuses", "remove", "12", "--reason", "")
    assert code == 1 and "Reason" in err
    assert await log(client) == []


async def test_reports_and_status_removal(client: Any, env: str, capsys: pytest.CaptureFixture[str]) -> None:
    ala, bob = await client.make_user("ala"), await client.make_user("bob")
    post = await bob.post_status("zły wpis")
    r = await ala.post("/api/v1/reports", json={"account_id": bob.id, "status_ids": [post["id"]], "comment": "zły"})
    report_id = r.json()["id"]
    code, out, _ = await run(capsys, "reports", "list")
    assert code == 0 and report_id in out and "@ala -> @bob" in out and "open" in out
    assert (await run(capsys, "reports", "resolve", report_id))[0] == 0
    code, out, _ = await run(capsys, "reports", "list")
    assert report_id not in out
    code, out, _ = await run(capsys, "reports", "list", "--resolved")
    assert report_id in out and "resolved" in out
    async with client.app.state.ctx.read() as s:
        assert (await s.get(Report, int(report_id))).action_taken_at is not None  # type: ignore[union-attr]

    code, out, _ = await run(capsys, "statuses", "remove", post["id"], "--reason", "mowa nienawiści")
    assert code == 0 and f"removed status {post['id']}" in out
    async with client.app.state.ctx.read() as s:
        assert await s.get(Status, int(post["id"])) is None
    code, out, _ = await run(capsys, "log")
    lines = out.strip().splitlines()
    assert len(lines) == 2
    assert "\tcli\tresolve_report\t" in lines[0]
    assert "\tcli\tremove_status\tstatus " in lines[1] and "@bob" in lines[1] and lines[1].endswith("mowa nienawiści")
