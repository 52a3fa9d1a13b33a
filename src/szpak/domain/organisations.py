"""Organisation accounts and the people who act for them.

An organisation (a brand, a medium, an institution) is an ordinary account of that
kind plus an ``organisations`` row. Nobody knows its password: its user row holds an
unusable hash. People act for it under their own log-in, as members with a role:

    owner    everything: members, webhooks, settings, and all an agent may do
    agent    reads and writes: tracked queries, sentiment corrections, posting
    analyst  reads only

A member gets a *delegated token* through their own token: an ordinary OAuth access
token whose user is the organisation's, so any Mastodon client can post, reply and
read as the brand. Its scopes are capped by the role (and by the member's own
token), and an ``organisation_tokens`` row records which member it was issued to.
Removing a member, or lowering their role, revokes their delegated tokens.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.domain.accounts import create_user
from szpak.domain.context import Tx
from szpak.domain.errors import Conflict, Forbidden, Invalid, NotFound
from szpak.domain.events import AccountUpdated, TokenRevoked
from szpak.domain.oauth import issue_token, scope_allows
from szpak.storage.models import AccessToken, Account, User
from szpak.storage.models.listening import (
    MEMBER_ROLES,
    ORGANISATION_KINDS,
    Organisation,
    OrganisationMember,
    OrganisationToken,
)

#: Scopes a delegated token may carry, by role (a token never exceeds its role).
ROLE_SCOPES: dict[str, tuple[str, ...]] = {
    "owner": ("read", "write", "follow", "push", "profile"),
    "agent": ("read", "write"),
    "analyst": ("read",),
}
ROLE_RANK = {"analyst": 0, "agent": 1, "owner": 2}
#: What each capability needs.
CAN_READ, CAN_WRITE, CAN_MANAGE = "analyst", "agent", "owner"
#: Stored instead of a password hash: no password ever matches it.
NO_PASSWORD = "!organisation: members sign in with their own accounts"
#: Organisations one person may create through the API (admins: no limit).
MAX_CREATED_PER_PERSON = 10
MAX_ALERT_EMAILS = 10


@dataclass(frozen=True)
class Acting:
    """Someone acting for an organisation: the person, their role, and whether
    they came with a delegated token (whose account is the organisation itself)."""

    organisation_id: int
    member_id: int
    role: str
    delegated: bool = False

    def can(self, needed: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[needed]

    def require(self, needed: str) -> None:
        if not self.can(needed):
            raise Forbidden(f"This needs the {needed} role in the organisation (you are {self.role})")


# --- reading who is who -----------------------------------------------------------------


def _session(source: AsyncSession | Tx) -> AsyncSession:
    return source.session if isinstance(source, Tx) else source


async def get_organisation(session: AsyncSession | Tx, organisation_id: int) -> tuple[Organisation, Account]:
    s = _session(session)
    row = (
        await s.execute(
            select(Organisation, Account)
            .join(Account, Account.id == Organisation.account_id)
            .where(Organisation.account_id == organisation_id)
        )
    ).first()
    if row is None:
        raise NotFound()
    return row[0], row[1]


async def acting_for(
    session: AsyncSession | Tx, organisation_id: int, *, account_id: int | None, token_id: int | None = None
) -> Acting:
    """Resolve the caller's standing in an organisation. Raises NotFound when there is
    no such organisation and Forbidden when the caller is not a member."""
    s = _session(session)
    await get_organisation(s, organisation_id)
    if account_id is None:
        raise Forbidden("This method requires an authenticated user")
    if account_id == organisation_id:
        # The organisation's own account: a delegated token tells who is behind it.
        grant = await s.get(OrganisationToken, token_id) if token_id is not None else None
        if grant is None or grant.organisation_id != organisation_id:
            # A legacy login of an account converted into an organisation.
            return Acting(organisation_id, account_id, "owner", delegated=False)
        row = (
            await s.execute(
                select(OrganisationMember.role, Account.suspended_at)
                .join(Account, Account.id == OrganisationMember.member_id)
                .where(
                    OrganisationMember.organisation_id == organisation_id,
                    OrganisationMember.member_id == grant.member_id,
                )
            )
        ).first()
        if row is None or row[1] is not None:
            raise Forbidden("You are not a member of this organisation")
        current = row[0]
        role = min(grant.role, current, key=ROLE_RANK.__getitem__)
        return Acting(organisation_id, grant.member_id, role, delegated=True)
    role = await s.scalar(
        select(OrganisationMember.role).where(
            OrganisationMember.organisation_id == organisation_id, OrganisationMember.member_id == account_id
        )
    )
    if role is None:
        raise Forbidden("You are not a member of this organisation")
    return Acting(organisation_id, account_id, role)


async def memberships(session: AsyncSession | Tx, account_id: int) -> list[tuple[Account, Organisation, str]]:
    """The organisations ``account_id`` belongs to, with its role in each (by name)."""
    s = _session(session)
    rows = await s.execute(
        select(Account, Organisation, OrganisationMember.role)
        .join(Organisation, Organisation.account_id == Account.id)
        .join(OrganisationMember, OrganisationMember.organisation_id == Organisation.account_id)
        .where(OrganisationMember.member_id == account_id)
        .order_by(Account.username_lower)
    )
    return [(a, o, r) for a, o, r in rows]


async def list_members(session: AsyncSession | Tx, organisation_id: int) -> list[tuple[OrganisationMember, Account]]:
    s = _session(session)
    rows = await s.execute(
        select(OrganisationMember, Account)
        .join(Account, Account.id == OrganisationMember.member_id)
        .where(OrganisationMember.organisation_id == organisation_id)
        .order_by(OrganisationMember.id)
    )
    return [(m, a) for m, a in rows]


# --- creating organisations ---------------------------------------------------------------


def _check_kind(kind: str) -> None:
    if kind not in ORGANISATION_KINDS:
        raise Invalid(f"Validation failed: Kind must be one of {', '.join(ORGANISATION_KINDS)}")


async def _person(tx: Tx, account_id: int) -> Account:
    """A local person with a log-in: the only kind of account that may be a member."""
    row = (
        await tx.session.execute(
            select(Account, User).join(User, User.account_id == Account.id).where(Account.id == account_id)
        )
    ).first()
    if row is None:
        raise NotFound()
    account = row[0]
    if account.domain is not None or account.suspended_at is not None:
        raise Invalid("Validation failed: Members must be active local accounts")
    if await tx.session.get(Organisation, account.id) is not None or account.kind != "person":
        raise Invalid("Validation failed: Members must be people, not organisations")
    return account  # type: ignore[no-any-return]


async def create_organisation(
    tx: Tx, creator_id: int | None, *, username: str, kind: str, display_name: str = "", note: str = "",
    creator_is_admin: bool = False,
) -> Account:
    """Create a new organisation account; ``creator_id`` (a person) becomes its owner.

    ``creator_id`` None is the command line (no owner yet). Its user row gets an
    unusable password: members act for it with delegated tokens instead.
    """
    _check_kind(kind)
    s = tx.session
    if creator_id is not None:
        await _person(tx, creator_id)
        if not creator_is_admin:
            if tx.settings.registrations == "closed":
                raise Forbidden("Only administrators may create organisations while registrations are closed")
            owned = await s.scalar(
                select(func.count()).select_from(Organisation).where(Organisation.created_by_id == creator_id)
            )
            if (owned or 0) >= MAX_CREATED_PER_PERSON:
                raise Invalid(f"Validation failed: You may create at most {MAX_CREATED_PER_PERSON} organisations")
    handle = (username or "").lstrip("@")
    user = await create_user(
        tx, username=handle, email=f"{handle.lower()}@organisations.invalid",
        password=secrets.token_urlsafe(24), kind=kind, display_name=display_name, note=note,
    )
    user.password_hash = NO_PASSWORD
    s.add(Organisation(account_id=user.account_id, created_by_id=creator_id))
    await s.flush()
    if creator_id is not None:
        s.add(OrganisationMember(organisation_id=user.account_id, member_id=creator_id, role="owner", added_by_id=creator_id))
        await s.flush()
    account = await s.get(Account, user.account_id)
    assert account is not None
    return account


async def convert_account(tx: Tx, account: Account, *, kind: str) -> Organisation:
    """Make an existing local account an organisation (the command line's ``orgs convert``).

    Its own log-in keeps working (it acts as an owner); members get their own.
    """
    _check_kind(kind)
    s = tx.session
    if account.domain is not None:
        raise Invalid("Validation failed: Only local accounts can become organisations")
    org = await s.get(Organisation, account.id)
    if org is None:
        org = Organisation(account_id=account.id)
        s.add(org)
    if await s.scalar(select(OrganisationMember.id).where(OrganisationMember.member_id == account.id)):
        raise Conflict("This account is a member of an organisation; remove it from there first")
    account = await s.merge(account)
    account.kind = kind
    await s.flush()
    tx.emit(AccountUpdated(account_id=account.id))
    return org


async def update_settings(tx: Tx, acting: Acting, *, alert_emails: list[str] | None = None) -> Organisation:
    acting.require(CAN_MANAGE)
    org = await tx.session.get(Organisation, acting.organisation_id)
    if org is None:
        raise NotFound()
    if alert_emails is not None:
        cleaned: list[str] = []
        for raw in alert_emails:
            address = (raw or "").strip()
            if not address:
                continue
            if len(address) > 255 or address.count("@") != 1 or any(c.isspace() for c in address) or "." not in address.split("@")[1]:
                raise Invalid(f"Validation failed: {address[:50]!r} is not an e-mail address")
            if address not in cleaned:
                cleaned.append(address)
        if len(cleaned) > MAX_ALERT_EMAILS:
            raise Invalid(f"Validation failed: At most {MAX_ALERT_EMAILS} alert e-mail addresses")
        org.alert_emails = cleaned
    await tx.session.flush()
    return org


# --- members ------------------------------------------------------------------------------


def _check_role(role: str) -> None:
    if role not in MEMBER_ROLES:
        raise Invalid(f"Validation failed: Role must be one of {', '.join(MEMBER_ROLES)}")


async def _owners(tx: Tx, organisation_id: int) -> int:
    return int(
        await tx.session.scalar(
            select(func.count())
            .select_from(OrganisationMember)
            .where(OrganisationMember.organisation_id == organisation_id, OrganisationMember.role == "owner")
        )
        or 0
    )


async def add_member(tx: Tx, acting: Acting | None, organisation_id: int, member_id: int, role: str) -> OrganisationMember:
    """Add a person to the organisation (``acting`` None: the command line)."""
    _check_role(role)
    if acting is not None:
        acting.require(CAN_MANAGE)
        if acting.organisation_id != organisation_id:
            raise Forbidden()
    await get_organisation(tx, organisation_id)
    if member_id == organisation_id:
        raise Invalid("Validation failed: An organisation cannot be its own member")
    await _person(tx, member_id)
    existing = await tx.session.scalar(
        select(OrganisationMember).where(
            OrganisationMember.organisation_id == organisation_id, OrganisationMember.member_id == member_id
        )
    )
    if existing is not None:
        raise Conflict("This account is already a member; change its role instead")
    member = OrganisationMember(
        organisation_id=organisation_id, member_id=member_id, role=role,
        added_by_id=acting.member_id if acting else None,
    )
    tx.session.add(member)
    await tx.session.flush()
    return member


async def _membership(tx: Tx, organisation_id: int, member_id: int) -> OrganisationMember:
    member = await tx.session.scalar(
        select(OrganisationMember).where(
            OrganisationMember.organisation_id == organisation_id, OrganisationMember.member_id == member_id
        )
    )
    if member is None:
        raise NotFound()
    return member  # type: ignore[no-any-return]


async def change_role(tx: Tx, acting: Acting | None, organisation_id: int, member_id: int, role: str) -> OrganisationMember:
    _check_role(role)
    if acting is not None:
        acting.require(CAN_MANAGE)
    member = await _membership(tx, organisation_id, member_id)
    if member.role == "owner" and role != "owner" and await _owners(tx, organisation_id) <= 1:
        raise Conflict("The last owner cannot step down; make someone else an owner first")
    member.role = role
    await tx.session.flush()
    await revoke_member_tokens(tx, organisation_id, member_id, above=role)
    return member


async def remove_member(tx: Tx, acting: Acting | None, organisation_id: int, member_id: int) -> None:
    """Remove a member (owners may remove anyone; anyone may leave)."""
    if acting is not None and acting.member_id != member_id:
        acting.require(CAN_MANAGE)
    member = await _membership(tx, organisation_id, member_id)
    if member.role == "owner" and await _owners(tx, organisation_id) <= 1:
        raise Conflict("The last owner cannot leave; make someone else an owner first")
    await revoke_member_tokens(tx, organisation_id, member_id)
    await tx.session.delete(member)
    await tx.session.flush()


# --- delegated tokens ---------------------------------------------------------------------


async def issue_delegated_token(
    tx: Tx, acting: Acting, *, caller_scopes: frozenset[str], requested: list[str] | None,
    application_id: int | None,
) -> tuple[str, AccessToken, list[str]]:
    """A token that acts as the organisation, for ``acting.member_id``.

    Its scopes: ``requested`` (default: all the role allows), each of which the role
    and the member's own token must both cover.
    """
    if acting.delegated:
        raise Forbidden("Delegated tokens are issued through your own token, not another delegated one")
    if acting.member_id == acting.organisation_id:
        raise Forbidden("The organisation's own log-in needs no delegated token")
    cap = frozenset(ROLE_SCOPES[acting.role])
    if requested:
        for scope in requested:
            if not scope_allows(cap, scope):
                raise Forbidden(f"Your role ({acting.role}) does not allow the scope {scope}")
            if not scope_allows(caller_scopes, scope):
                raise Forbidden(f"Your own token does not hold the scope {scope}")
        scopes = list(dict.fromkeys(requested))
    else:
        scopes = [s for s in ROLE_SCOPES[acting.role] if scope_allows(caller_scopes, s)]
        if not scopes:
            raise Forbidden("Your own token holds none of the scopes your role allows")
    org_user = await tx.session.scalar(select(User).where(User.account_id == acting.organisation_id))
    if org_user is None:
        raise Invalid("Validation failed: This organisation has no local log-in")
    token, row = await issue_token(tx, application_id=application_id, user_id=org_user.id, scopes=scopes)
    tx.session.add(
        OrganisationToken(
            token_id=row.id, organisation_id=acting.organisation_id, member_id=acting.member_id, role=acting.role
        )
    )
    await tx.session.flush()
    return token, row, scopes


async def list_tokens(
    session: AsyncSession | Tx, acting: Acting
) -> list[tuple[OrganisationToken, AccessToken, Account]]:
    """Live delegated tokens: all of them for an owner, one's own for anyone else."""
    s = _session(session)
    q = (
        select(OrganisationToken, AccessToken, Account)
        .join(AccessToken, AccessToken.id == OrganisationToken.token_id)
        .join(Account, Account.id == OrganisationToken.member_id)
        .where(OrganisationToken.organisation_id == acting.organisation_id, AccessToken.revoked_at.is_(None))
        .order_by(OrganisationToken.token_id)
    )
    if not acting.can(CAN_MANAGE):
        q = q.where(OrganisationToken.member_id == acting.member_id)
    return [(g, t, a) for g, t, a in await s.execute(q)]


async def _revoke(tx: Tx, rows: list[AccessToken]) -> None:
    now = datetime.now(timezone.utc)
    for row in rows:
        if row.revoked_at is None:
            row.revoked_at = now
            tx.emit(TokenRevoked(token_hash=row.token_hash, user_id=row.user_id))
    await tx.session.flush()


async def revoke_delegated_token(tx: Tx, acting: Acting, token_id: int) -> None:
    grant = await tx.session.get(OrganisationToken, token_id)
    if grant is None or grant.organisation_id != acting.organisation_id:
        raise NotFound()
    if grant.member_id != acting.member_id:
        acting.require(CAN_MANAGE)
    row = await tx.session.get(AccessToken, token_id)
    if row is not None:
        await _revoke(tx, [row])


async def revoke_member_tokens(tx: Tx, organisation_id: int, member_id: int, *, above: str | None = None) -> int:
    """Revoke a member's delegated tokens (only those issued for a role above ``above``)."""
    q = (
        select(OrganisationToken, AccessToken)
        .join(AccessToken, AccessToken.id == OrganisationToken.token_id)
        .where(
            OrganisationToken.organisation_id == organisation_id,
            OrganisationToken.member_id == member_id,
            AccessToken.revoked_at.is_(None),
        )
    )
    rows = [t for g, t in await tx.session.execute(q) if above is None or ROLE_RANK[g.role] > ROLE_RANK[above]]
    await _revoke(tx, rows)
    return len(rows)
