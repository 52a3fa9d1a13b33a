"""A real ``szpak serve`` in a subprocess, for end-to-end tests.

SQLite by default; a fresh PostgreSQL database when ``SZPAK_TEST_DATABASE_URL`` is
set. Servers listen on a free loopback port and are waited for on ``/health``; their
output goes to a log file that is shown when start-up fails.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

PG_URL = os.environ.get("SZPAK_TEST_DATABASE_URL", "")
SZPAK = Path(sys.executable).with_name("szpak")
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """One ``szpak serve`` process; ``start`` again after ``kill`` reuses the database."""

    database_url: str
    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    starts: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SZPAK_")}
        env.update(
            SZPAK_DATABASE_URL=self.database_url,
            SZPAK_DATA_DIR=str(self.data_dir),
            SZPAK_DOMAIN=f"127.0.0.1:{self.port}",
            SZPAK_FAST_PASSWORD_HASHING="1",
        )
        return env

    def start(self) -> Server:
        self.starts += 1
        self.log_path = self.data_dir / f"server-{self.starts}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [str(SZPAK), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
                env=self.env(), stdout=log, stderr=subprocess.STDOUT,
            )
        self.wait_ready()
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"szpak serve exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"szpak serve did not answer /health in {START_TIMEOUT}s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing; what was committed must survive."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


async def _pg(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def create_pg_database(name: str) -> str:
    """Create an empty database next to SZPAK_TEST_DATABASE_URL's; returns its URL."""
    await _pg(f'CREATE DATABASE "{name}"')
    return f"{PG_URL.rpartition('/')[0]}/{name}"


async def drop_pg_database(name: str) -> None:
    await _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def seed_users(database_url: str, data_dir: Path, names: list[str], password: str) -> dict[str, str]:
    """Migrate the database and create users, each with a token (name -> token), through
    the same domain actions ``szpak users create`` and ``szpak tokens create`` use."""
    from szpak.config import Settings
    from szpak.domain import oauth
    from szpak.domain.accounts import create_user
    from szpak.domain.context import Context
    from szpak.realtime.bus import InProcessBus
    from szpak.storage.db import Database
    from szpak.storage.migrate import upgrade_async

    await upgrade_async(database_url)
    settings = Settings(database_url=database_url, data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
    ctx = Context(settings, Database(database_url, pool_size=2), InProcessBus())
    tokens: dict[str, str] = {}
    try:
        async with ctx.tx() as tx:
            for name in names:
                await create_user(tx, username=name, email=f"{name}@example.com", password=password)
                tokens[name] = await oauth.issue_cli_token(tx, name, ["read", "write"])
    finally:
        await ctx.db.dispose()
    return tokens
