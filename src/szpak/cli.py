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

from szpak.config import Settings

EXTENSIONS = ["szpak.listening.cli", "szpak.demo"]


def _settings() -> Settings:
    return Settings()


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings()
    if args.port and "SZPAK_DOMAIN" not in os.environ:
        os.environ["SZPAK_DOMAIN"] = f"{'localhost' if args.host in ('127.0.0.1', '0.0.0.0', '::') else args.host}:{args.port}"
    settings = Settings()
    from szpak.storage.migrate import upgrade

    upgrade(settings.effective_database_url)
    print(f"Szpak is running at {settings.base_url}/  (database: {settings.effective_database_url})", flush=True)
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
    )
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from szpak.storage.migrate import upgrade

    settings = _settings()
    upgrade(settings.effective_database_url)
    print(f"database is up to date: {settings.effective_database_url}")
    return 0


async def _create_user(args: argparse.Namespace) -> int:
    from szpak.domain.accounts import create_user
    from szpak.domain.errors import DomainError

    ctx = await open_context()
    try:
        async with ctx.tx() as tx:
            user = await create_user(
                tx, username=args.name, email=args.email, password=args.password,
                role="admin" if args.admin else "user", locked=args.locked, kind=args.kind,
            )
        print(f"created @{args.name} (account id {user.account_id})")
        return 0
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    finally:
        await ctx.db.dispose()


async def _create_token(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from szpak.domain import oauth
    from szpak.domain.errors import DomainError
    from szpak.storage.models import Account, Application, User

    ctx = await open_context()
    try:
        scopes = oauth.parse_scopes(args.scopes)
        async with ctx.tx() as tx:
            user = await tx.session.scalar(
                select(User).join(Account, Account.id == User.account_id).where(Account.username_lower == args.name.lower())
            )
            if user is None:
                print(f"error: no user @{args.name}", file=sys.stderr)
                return 1
            app = await tx.session.scalar(select(Application).where(Application.name == "Szpak CLI"))
            if app is None:
                app = await oauth.create_application(
                    tx, name="Szpak CLI", redirect_uris=[oauth.OOB], scopes=sorted(oauth.ALL_SCOPES), website=None
                )
            token, _ = await oauth.issue_token(tx, application_id=app.id, user_id=user.id, scopes=scopes)
        print(token)
        return 0
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    finally:
        await ctx.db.dispose()


async def open_context():  # noqa: ANN201
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
    create.add_argument("--kind", default="person", choices=["person", "brand", "media", "institution"])
    create.set_defaults(func=lambda a: asyncio.run(_create_user(a)))

    tokens = sub.add_parser("tokens", help="manage access tokens").add_subparsers(dest="tokens_command", required=True)
    tcreate = tokens.add_parser("create", help="print a new access token for a user")
    tcreate.add_argument("name")
    tcreate.add_argument("--scopes", default="read write follow push")
    tcreate.set_defaults(func=lambda a: asyncio.run(_create_token(a)))

    for name in EXTENSIONS:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
