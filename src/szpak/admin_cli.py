"""``szpak admin``: moderation from the command line (docs/api/moderation.md).

    szpak admin accounts list [--status active|pending|disabled|silenced|suspended] [--staff]
    szpak admin accounts approve|reject|suspend|silence|unsuspend|unsilence|delete NAME [--reason TEXT]
    szpak admin reports list [--resolved | --all]
    szpak admin reports resolve ID
    szpak admin statuses remove ID --reason TEXT
    szpak admin log [--limit N]

The same domain actions as the admin API (``domain/moderation.py``, ``domain/reports.py``),
logged with the actor ``cli`` (or ``cli:NAME`` with ``--actor NAME``). Registered through
``register(subparsers)`` (szpak.cli's EXTENSIONS).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

ACCOUNT_ACTIONS = ("approve", "reject", "suspend", "silence", "unsuspend", "unsilence", "delete")
STATUSES = ("active", "pending", "disabled", "silenced", "suspended")


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


async def _open_context() -> Any:
    """``szpak.cli.open_context``, but on the server's bus when it has one (Redis): then a
    suspension from the command line reaches the running servers' token caches and streams
    at once. Without Redis they notice within their caches' lifetime (30 s for tokens)."""
    from szpak.app import make_bus
    from szpak.cli import _settings, open_context

    ctx = await open_context()
    if _settings().redis_url:
        ctx.bus = make_bus(_settings())
        await ctx.bus.start()
    return ctx


def _run(fn: Callable[[Any, argparse.Namespace], Awaitable[int]]) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        async def main() -> int:
            from szpak.domain.errors import DomainError

            ctx = await _open_context()
            try:
                return await fn(ctx, args)
            except DomainError as exc:
                return _fail(exc.message.removeprefix("Validation failed: "))
            finally:
                await ctx.bus.close()
                await ctx.db.dispose()

        return asyncio.run(main())

    return command


def _actor(args: argparse.Namespace) -> Any:
    from szpak.domain.moderation import Actor

    return Actor.cli(args.actor)


async def _account_id(session: Any, handle: str) -> int:
    from sqlalchemy import select

    from szpak.domain.errors import NotFound
    from szpak.storage.models import Account

    handle = handle.lstrip("@")
    username, _, domain = handle.partition("@")
    found = await session.scalar(
        select(Account.id).where(Account.username_lower == username.lower(), Account.domain_key == domain.lower())
    )
    if found is None:
        raise NotFound(f"no account @{handle}")
    return int(found)


def _id(raw: str, what: str) -> int:
    from szpak.domain.errors import Invalid

    if not raw.isdigit() or not 0 < int(raw) < 2**63:
        raise Invalid(f"{what} must be a number")
    return int(raw)


async def _accounts_list(ctx: Any, args: argparse.Namespace) -> int:
    from szpak.domain.moderation import accounts_query
    from szpak.storage.models import Account, User

    q = accounts_query(status=args.status, staff_only=args.staff).add_columns(User.role, User.approved, User.disabled)
    async with ctx.read() as s:
        rows = (await s.execute(q.order_by(Account.id).limit(args.limit))).all()
    for account, role, approved, disabled in rows:
        flags = [role or "remote"]
        if approved is False:
            flags.append("pending")
        if disabled:
            flags.append("disabled")
        if account.silenced_at is not None:
            flags.append("silenced")
        if account.suspended_at is not None:
            flags.append("suspended")
        print(f"{account.id}\t@{account.acct}\t{', '.join(flags)}")
    return 0


async def _account_action(ctx: Any, args: argparse.Namespace) -> int:
    from szpak.domain import moderation

    actor = _actor(args)
    async with ctx.tx() as tx:
        aid = await _account_id(tx.session, args.name)
        what = args.account_action
        if what == "approve":
            await moderation.approve(tx, actor, aid)
        elif what == "reject":
            await moderation.reject(tx, actor, aid)
        elif what in ("suspend", "silence"):
            await moderation.take_action(tx, actor, aid, what, text=args.reason)
        elif what in ("unsuspend", "unsilence"):
            await moderation.undo(tx, actor, aid, what, text=args.reason)
        else:
            await moderation.delete_account(tx, actor, aid, text=args.reason)
    print(f"{args.account_action}: @{args.name.lstrip('@')}")
    return 0


async def _reports_list(ctx: Any, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from szpak.domain.reports import reports_query
    from szpak.storage.models import Account, Report

    resolved = None if args.all else bool(args.resolved)
    async with ctx.read() as s:
        rows = list(await s.scalars(reports_query(resolved=resolved).order_by(Report.id.desc()).limit(args.limit)))
        ids = {i for r in rows for i in (r.account_id, r.target_account_id)}
        names = {a.id: a.acct for a in await s.scalars(select(Account).where(Account.id.in_(ids)))} if ids else {}
    for r in rows:
        state = "resolved" if r.action_taken_at is not None else "open"
        comment = r.comment.replace("\n", " ")[:80]
        print(f"{r.id}\t{state}\t@{names.get(r.account_id, '?')} -> @{names.get(r.target_account_id, '?')}\t"
              f"{r.category}\t{len(r.status_ids)} statuses\t{comment}")
    return 0


async def _reports_resolve(ctx: Any, args: argparse.Namespace) -> int:
    from szpak.domain import reports

    async with ctx.tx() as tx:
        report = await reports.resolve(tx, _actor(args), _id(args.id, "report id"))
    print(f"resolved report {report.id}")
    return 0


async def _statuses_remove(ctx: Any, args: argparse.Namespace) -> int:
    from szpak.domain import moderation

    async with ctx.tx() as tx:
        status = await moderation.remove_post(tx, _actor(args), _id(args.id, "status id"), reason=args.reason)
    print(f"removed status {status.id}")
    return 0


async def _log(ctx: Any, args: argparse.Namespace) -> int:
    from szpak.domain import moderation

    async with ctx.read() as s:
        rows = await moderation.log_entries(s, limit=args.limit)
    for e in reversed(rows):
        entity = moderation.log_entity(e)
        text = f"\t{e.text}" if e.text else ""
        print(f"{entity['created_at']}\t{e.actor}\t{e.action}\t{e.target_label}{text}")
    return 0


def register(sub: Any) -> None:
    admin = sub.add_parser("admin", help="moderation: accounts, reports, posts, the log")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--actor", default=None, help="who acts (logged as cli:NAME; default: cli)")
    areas = admin.add_subparsers(dest="admin_area", required=True)

    accounts = areas.add_parser("accounts", help="list and act on accounts").add_subparsers(
        dest="account_action", required=True
    )
    listing = accounts.add_parser("list", help="list accounts", parents=[common])
    listing.add_argument("--status", choices=STATUSES, default=None)
    listing.add_argument("--staff", action="store_true")
    listing.add_argument("--limit", type=int, default=200)
    listing.set_defaults(func=_run(_accounts_list))
    for name in ACCOUNT_ACTIONS:
        p = accounts.add_parser(name, help=f"{name} an account", parents=[common])
        p.add_argument("name", help="username (or user@domain)")
        p.add_argument("--reason", default=None)
        p.set_defaults(func=_run(_account_action))

    reports = areas.add_parser("reports", help="list and resolve reports").add_subparsers(
        dest="reports_command", required=True
    )
    rlist = reports.add_parser("list", help="open reports (--resolved, --all)", parents=[common])
    rlist.add_argument("--resolved", action="store_true")
    rlist.add_argument("--all", action="store_true")
    rlist.add_argument("--limit", type=int, default=100)
    rlist.set_defaults(func=_run(_reports_list))
    resolve = reports.add_parser("resolve", help="resolve a report", parents=[common])
    resolve.add_argument("id")
    resolve.set_defaults(func=_run(_reports_resolve))

    statuses = areas.add_parser("statuses", help="remove posts").add_subparsers(dest="statuses_command", required=True)
    remove = statuses.add_parser("remove", help="remove a post (logged)", parents=[common])
    remove.add_argument("id")
    remove.add_argument("--reason", required=True)
    remove.set_defaults(func=_run(_statuses_remove))

    log = areas.add_parser("log", help="the moderation log, oldest first", parents=[common])
    log.add_argument("--limit", type=int, default=100)
    log.set_defaults(func=_run(_log))
