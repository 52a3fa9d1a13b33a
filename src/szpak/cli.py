"""The ``szpak`` command line.

    szpak serve [--host 127.0.0.1] [--port 3000] [--workers N]
    szpak db upgrade
    szpak users create NAME --email E --password P [--admin] [--locked] [--kind KIND]
    szpak tokens create NAME [--scopes "read write follow push"]
    szpak demo

Sub-command groups from other packages register themselves through
``register(subparsers)`` (see ``EXTENSIONS``).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from szpak.config import Settings

if TYPE_CHECKING:
    from szpak.domain.context import Context

EXTENSIONS = ["szpak.listening.cli", "szpak.demo", "szpak.listening.orgs_cli", "szpak.admin_cli", "szpak.media_cli"]


def _settings() -> Settings:
    return Settings()


def public_domain(host: str, port: int) -> str:
    """The ``host:port`` links should use when SZPAK_DOMAIN isn't set: a wildcard or
    loopback bind address is reached as ``localhost``."""
    if host in ("127.0.0.1", "0.0.0.0", "::", "::1", "localhost", ""):
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}"


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from szpak.realtime.server import server_options
    from szpak.storage.migrate import upgrade

    # The ASGI app reads its settings from the environment (szpak.asgi), in every worker.
    os.environ.setdefault("SZPAK_DOMAIN", public_domain(args.host, args.port))
    settings = _settings()
    if args.workers > 1 and not settings.redis_url:
        # Cache invalidations travel as events; without Redis they can't reach the other workers.
        os.environ["SZPAK_ENTITY_CACHE"] = "false"
    upgrade(settings.effective_database_url)
    print(f"Starting Szpak at {settings.base_url}/  (database: {settings.effective_database_url})", flush=True)
    uvicorn.run(
        "szpak.asgi:app",
        host=args.host,
        port=args.port,
        workers=args.workers if args.workers > 1 else None,
        loop="uvloop",
        http="httptools",
        log_level=args.log_level,
        access_log=False,
        proxy_headers=True,
        **server_options(settings),  # streaming: no per-message deflate, pings, shutdown grace
    )
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from szpak.storage.migrate import upgrade

    settings = _settings()
    upgrade(settings.effective_database_url)
    print(f"database is up to date: {settings.effective_database_url}")
    return 0


def _fail(message: str) -> int:
    """Report a problem the operator can fix; exit code 1."""
    print(f"error: {message}", file=sys.stderr)
    return 1


async def _create_user(args: argparse.Namespace) -> int:
    from szpak.domain.accounts import create_user
    from szpak.domain.errors import DomainError

    ctx = await open_context()
    try:
        async with ctx.tx() as tx:
            user = await create_user(
                tx, username=args.name.lstrip("@"), email=args.email, password=args.password,
                role="admin" if args.admin else "user", locked=args.locked, kind=args.kind,
            )
        flags = [args.kind] + (["admin"] if args.admin else []) + (["locked"] if args.locked else [])
        print(f"created @{args.name.lstrip('@')} ({', '.join(flags)}; account id {user.account_id})")
        return 0
    except DomainError as exc:
        return _fail(exc.message.removeprefix("Validation failed: "))
    finally:
        await ctx.db.dispose()


async def _create_token(args: argparse.Namespace) -> int:
    """Print a new access token: the only output on stdout, so ``$(szpak tokens create x)`` works."""
    from szpak.domain import oauth
    from szpak.domain.errors import DomainError

    try:
        scopes = oauth.parse_scopes(args.scopes)
    except DomainError as exc:
        return _fail(exc.message.removeprefix("Validation failed: "))
    ctx = await open_context()
    try:
        async with ctx.tx() as tx:
            token = await oauth.issue_cli_token(tx, args.name, scopes)
        print(token)
        return 0
    except DomainError as exc:
        return _fail(exc.message)
    finally:
        await ctx.db.dispose()


async def open_context() -> Context:
    """A Context for one-off commands: migrated database, in-process bus."""
    from szpak.domain.context import Context
    from szpak.realtime.bus import InProcessBus
    from szpak.storage.db import Database
    from szpak.storage.migrate import upgrade_async

    settings = _settings()
    await upgrade_async(settings.effective_database_url)
    return Context(settings, Database(settings.effective_database_url, pool_size=2), InProcessBus())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="szpak", description="Szpak: a real-time microblog (Mastodon API).")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database maintenance").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)

    users = sub.add_parser("users", help="manage users").add_subparsers(dest="users_command", required=True)
    create = users.add_parser("create", help="create a user")
    create.add_argument("name")
    create.add_argument("--email", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--admin", action="store_true")
    create.add_argument("--locked", action="store_true")
    create.add_argument("--kind", default="person", help="person, brand, media or institution (default: person)")
    create.set_defaults(func=lambda a: asyncio.run(_create_user(a)))

    tokens = sub.add_parser("tokens", help="manage access tokens").add_subparsers(dest="tokens_command", required=True)
    tcreate = tokens.add_parser("create", help="print a new access token for a user")
    tcreate.add_argument("name")
    tcreate.add_argument("--scopes", default="read write follow push")
    tcreate.set_defaults(func=lambda a: asyncio.run(_create_token(a)))

    for name in EXTENSIONS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if not exc.name or not (name == exc.name or name.startswith(exc.name + ".")):
                raise  # the extension exists but is broken: say so
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except Exception as exc:
        from szpak.storage.migrate import UnknownRevisionError  # only here: Alembic is slow to import

        if isinstance(exc, UnknownRevisionError):  # from any command that migrates first (serve, db upgrade, ...)
            return _fail(str(exc))
        raise


if __name__ == "__main__":
    sys.exit(main())
