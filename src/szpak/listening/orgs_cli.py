"""Command-line tools for organisations and listening data.

    szpak orgs create ORG --kind brand|media|institution [--owner USER] [--display-name NAME]
    szpak orgs convert ACCOUNT --kind brand|media|institution [--owner USER]
    szpak orgs add-member ORG USER --role owner|agent|analyst
    szpak orgs set-role ORG USER --role owner|agent|analyst
    szpak orgs remove-member ORG USER
    szpak orgs list-members ORG
    szpak orgs list
    szpak listening export-corrections FILE

Registered through ``register(subparsers)`` (szpak.cli's EXTENSIONS).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROLES = ("owner", "agent", "analyst")
KINDS = ("brand", "media", "institution")


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def _run(fn: Callable[[Any, argparse.Namespace], Awaitable[int]]) -> Callable[[argparse.Namespace], int]:
    """Open a context, run ``fn``, report domain errors as one line on stderr."""

    def command(args: argparse.Namespace) -> int:
        async def main() -> int:
            from szpak.cli import open_context
            from szpak.domain.errors import DomainError

            ctx = await open_context()
            try:
                return await fn(ctx, args)
            except DomainError as exc:
                return _fail(exc.message.removeprefix("Validation failed: "))
            finally:
                await ctx.db.dispose()

        return asyncio.run(main())

    return command


async def _account(session: Any, handle: str) -> Any:
    from szpak.domain.accounts import get_local_account
    from szpak.domain.errors import NotFound

    try:
        return await get_local_account(session, handle.lstrip("@"))
    except NotFound:
        raise NotFound(f"no local account @{handle.lstrip('@')}") from None


async def _create(ctx: Any, args: argparse.Namespace) -> int:
    from szpak.domain import organisations as orgs

    async with ctx.tx() as tx:
        owner = await _account(tx.session, args.owner) if args.owner else None
        account = await orgs.create_organisation(
            tx, None, username=args.org.lstrip("@"), kind=args.kind, display_name=args.display_name or "",
        )
        if owner is not None:
            await orgs.add_member(tx, None, account.id, owner.id, "owner")
    print(f"created organisation @{account.username} ({args.kind}; account id {account.id})"
          + (f", owner @{owner.username}" if owner else ""))
    return 0


async def _convert(ctx: Any, args: argparse.Namespace) -> int:
    from szpak.domain import organisations as orgs

    async with ctx.tx() as tx:
        account = await _account(tx.session, args.account)
        await orgs.convert_account(tx, account, kind=args.kind)
        if args.owner:
            owner = await _account(tx.session, args.owner)
            await orgs.add_member(tx, None, account.id, owner.id, "owner")
    print(f"@{account.username} is now an organisation ({args.kind})")
    return 0


async def _org_and_person(tx: Any, org: str, user: str) -> tuple[Any, Any]:
    from szpak.domain import organisations as orgs

    account = await _account(tx.session, org)
    await orgs.get_organisation(tx, account.id)
    return account, await _account(tx.session, user)


async def _add_member(ctx: Any, args: argparse.Namespace) -> int:
    from szpak.domain import organisations as orgs

    async with ctx.tx() as tx:
        org, person = await _org_and_person(tx, args.org, args.user)
        await orgs.add_member(tx, None, org.id, person.id, args.role)
    print(f"@{person.username} is now {args.role} of @{org.username}")
    return 0


async def _set_role(ctx: Any, args: argparse.Namespace) -> int:
    from szpak.domain import organisations as orgs

    async with ctx.tx() as tx:
        org, person = await _org_and_person(tx, args.org, args.user)
        await orgs.change_role(tx, None, org.id, person.id, args.role)
    print(f"@{person.username} is now {args.role} of @{org.username}")
    return 0


async def _remove_member(ctx: Any, args: argparse.Namespace) -> int:
    from szpak.domain import organisations as orgs

    async with ctx.tx() as tx:
        org, person = await _org_and_person(tx, args.org, args.user)
        await orgs.remove_member(tx, None, org.id, person.id)
    print(f"@{person.username} is no longer a member of @{org.username}")
    return 0


async def _list_members(ctx: Any, args: argparse.Namespace) -> int:
    from szpak.domain import organisations as orgs

    async with ctx.read() as s:
        org = await _account(s, args.org)
        await orgs.get_organisation(s, org.id)
        rows = await orgs.list_members(s, org.id)
    for member, account in rows:
        print(f"@{account.acct}\t{member.role}")
    return 0


async def _list(ctx: Any, args: argparse.Namespace) -> int:
    from sqlalchemy import func, select

    from szpak.storage.models import Account
    from szpak.storage.models.listening import Organisation, OrganisationMember

    async with ctx.read() as s:
        rows = await s.execute(
            select(Account.username, Account.kind, func.count(OrganisationMember.id))
            .join(Organisation, Organisation.account_id == Account.id)
            .outerjoin(OrganisationMember, OrganisationMember.organisation_id == Organisation.account_id)
            .group_by(Account.id, Account.username, Account.kind)
            .order_by(Account.username)
        )
        for username, kind, members in rows:
            print(f"@{username}\t{kind}\t{members} member{'s' if members != 1 else ''}")
    return 0


async def _export_corrections(ctx: Any, args: argparse.Namespace) -> int:
    from szpak.listening.mentions import corrections_for_training, write_corrections

    async with ctx.read() as s:
        pairs = await corrections_for_training(s)
    path = Path(args.file)
    n = write_corrections(path, pairs)
    print(f"wrote {n} corrections to {path} (label<TAB>text; train with --extra {path})", file=sys.stderr)
    return 0


def _subcommands(sub: Any, name: str, help_text: str) -> Any:
    """The sub-command group ``name``, created here or reused if another module made it
    (``szpak listening`` is shared with the sentiment model's commands)."""
    existing = sub.choices.get(name)
    if existing is None:
        return sub.add_parser(name, help=help_text).add_subparsers(dest=f"{name}_command", required=True)
    for action in existing._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return existing.add_subparsers(dest=f"{name}_command", required=True)


def register(sub: Any) -> None:
    orgs = _subcommands(sub, "orgs", "organisation accounts and their members")

    p = orgs.add_parser("create", help="create an organisation account (nobody gets its password)")
    p.add_argument("org")
    p.add_argument("--kind", choices=KINDS, default="brand")
    p.add_argument("--owner", help="a local user who becomes its owner")
    p.add_argument("--display-name", default="")
    p.set_defaults(func=_run(_create))

    p = orgs.add_parser("convert", help="make an existing local account an organisation")
    p.add_argument("account")
    p.add_argument("--kind", choices=KINDS, default="brand")
    p.add_argument("--owner")
    p.set_defaults(func=_run(_convert))

    p = orgs.add_parser("add-member", help="add a person to an organisation")
    p.add_argument("org")
    p.add_argument("user")
    p.add_argument("--role", choices=ROLES, required=True)
    p.set_defaults(func=_run(_add_member))

    p = orgs.add_parser("set-role", help="change a member's role (revokes delegated tokens above it)")
    p.add_argument("org")
    p.add_argument("user")
    p.add_argument("--role", choices=ROLES, required=True)
    p.set_defaults(func=_run(_set_role))

    p = orgs.add_parser("remove-member", help="remove a member (revokes their delegated tokens)")
    p.add_argument("org")
    p.add_argument("user")
    p.set_defaults(func=_run(_remove_member))

    p = orgs.add_parser("list-members", help="print members as @user<TAB>role")
    p.add_argument("org")
    p.set_defaults(func=_run(_list_members))

    orgs.add_parser("list", help="print organisations").set_defaults(func=_run(_list))

    listening = _subcommands(sub, "listening", "brand listening")
    p = listening.add_parser("export-corrections", help="write members' sentiment corrections as label<TAB>text")
    p.add_argument("file")
    p.set_defaults(func=_run(_export_corrections))
