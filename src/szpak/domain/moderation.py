"""Moderation: actions on accounts and posts, and the log of every one (docs/api/moderation.md).

Who may act is decided by the caller (the admin API asks for the admin or owner role,
post removal for moderator and up; the command line is the operator). Every action here
writes a ``ModerationLogEntry`` with its actor, target, reason and time, in the same
transaction as the change itself.

Effects, as Mastodon's:

- ``suspend``: the account's tokens stop working at once (``AccountUpdated`` drops them from
  every process's token cache and ends its streams), and so do the tokens other members got
  to act for an organisation through this account (they are revoked); its profile and posts
  are hidden from everyone else (``domain/visibility.py``).
- ``silence``: its posts stay out of public and hashtag timelines (and streams) for those
  who do not follow it (:func:`not_silenced_clause`).
- ``disable``: the login is frozen: tokens stop working; the account stays visible.
- ``sensitive``: the account is marked so (its media should be shown behind a warning).
- ``approve``/``reject``: a registration waiting for approval is let in, or deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from szpak.domain.context import Tx
from szpak.domain.errors import Forbidden, Invalid, NotFound
from szpak.domain.events import AccountUpdated, TokenRevoked
from szpak.domain.statuses import remove_status
from szpak.storage.models import (
    AccessToken,
    Account,
    AccountStrike,
    Follow,
    ModerationLogEntry,
    Report,
    Status,
    User,
)
from szpak.storage.models.listening import OrganisationToken

ACTIONS = ("none", "sensitive", "disable", "silence", "suspend")
STAFF_ROLES = ("moderator", "admin", "owner")
MAX_TEXT = 5000


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Actor:
    """Who takes a moderation action: a moderator's account, or the command line."""

    account_id: int | None
    name: str

    @staticmethod
    def cli(name: str | None = None) -> Actor:
        return Actor(None, f"cli:{name}" if name else "cli")


async def actor_for(session: AsyncSession, account_id: int) -> Actor:
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound()
    return Actor(account.id, f"@{account.acct}")


def not_silenced_clause(viewer_id: Any) -> ColumnElement[bool]:
    """SQL condition on ``Status``: its author is not silenced, or is the viewer or someone
    the viewer follows (for the public and hashtag timelines)."""
    author = aliased(Account)
    silenced = exists().where(author.id == Status.account_id, author.silenced_at.is_not(None))
    if viewer_id is None:
        return ~silenced
    follow = aliased(Follow)
    follows = exists().where(follow.account_id == viewer_id, follow.target_account_id == Status.account_id)
    return or_(~silenced, Status.account_id == viewer_id, follows)


def _text(text: Any, *, required: bool = False, label: str = "Text") -> str:
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise Invalid(f"Validation failed: {label} must be a string")
    text = text.strip()
    if required and not text:
        raise Invalid(f"Validation failed: {label} can't be blank")
    if len(text) > MAX_TEXT:
        raise Invalid(f"Validation failed: {label} is too long (maximum is {MAX_TEXT} characters)")
    return text


async def record(
    tx: Tx, actor: Actor, action: str, target_type: str, target_id: int | None, label: str, text: str = ""
) -> ModerationLogEntry:
    entry = ModerationLogEntry(
        actor_account_id=actor.account_id, actor=actor.name, action=action, target_type=target_type,
        target_id=target_id, target_label=label[:512], text=text,
    )
    tx.session.add(entry)
    await tx.session.flush()
    return entry


async def log_entries(
    session: AsyncSession, *, limit: int = 40, max_id: int | None = None, since_id: int | None = None,
    min_id: int | None = None, action: str | None = None, target_type: str | None = None, target_id: int | None = None,
) -> list[ModerationLogEntry]:
    """The log, newest first (oldest first after ``min_id``, reversed to newest first)."""
    q = select(ModerationLogEntry)
    if action:
        q = q.where(ModerationLogEntry.action == action)
    if target_type:
        q = q.where(ModerationLogEntry.target_type == target_type)
    if target_id is not None:
        q = q.where(ModerationLogEntry.target_id == target_id)
    if max_id is not None:
        q = q.where(ModerationLogEntry.id < max_id)
    if since_id is not None:
        q = q.where(ModerationLogEntry.id > since_id)
    if min_id is not None:
        rows = list(await session.scalars(q.where(ModerationLogEntry.id > min_id).order_by(ModerationLogEntry.id).limit(limit)))
        return rows[::-1]
    return list(await session.scalars(q.order_by(ModerationLogEntry.id.desc()).limit(limit)))


def log_entity(e: ModerationLogEntry) -> dict[str, Any]:
    from szpak.domain.filters import iso

    return {
        "id": str(e.id),
        "created_at": iso(e.created_at),
        "actor": e.actor,
        "actor_account_id": str(e.actor_account_id) if e.actor_account_id is not None else None,
        "action": e.action,
        "target_type": e.target_type,
        "target_id": str(e.target_id) if e.target_id is not None else None,
        "target": e.target_label,
        "text": e.text,
    }


# -- accounts ------------------------------------------------------------------------------

def _like(value: str) -> str:
    return value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def accounts_query(
    *, origin: str | None = None, status: str | None = None, staff_only: bool = False, username: str | None = None,
    display_name: str | None = None, email: str | None = None, ip: str | None = None, by_domain: str | None = None,
) -> Select[Any]:
    q = select(Account).outerjoin(User, User.account_id == Account.id)
    if origin == "local":
        q = q.where(Account.domain_key == "")
    elif origin == "remote":
        q = q.where(Account.domain_key != "")
    elif origin is not None:
        raise Invalid("Validation failed: origin must be local or remote")
    if status == "active":
        q = q.where(Account.suspended_at.is_(None), or_(User.id.is_(None), and_(User.approved.is_(True), User.disabled.is_(False))))
    elif status == "pending":
        q = q.where(User.approved.is_(False))
    elif status == "disabled":
        q = q.where(User.disabled.is_(True))
    elif status == "silenced":
        q = q.where(Account.silenced_at.is_not(None))
    elif status == "suspended":
        q = q.where(Account.suspended_at.is_not(None))
    elif status == "sensitized":
        q = q.where(Account.sensitized_at.is_not(None))
    elif status is not None:
        raise Invalid("Validation failed: status must be active, pending, disabled, silenced or suspended")
    if staff_only:
        q = q.where(User.role.in_(STAFF_ROLES))
    if username:
        q = q.where(Account.username_lower.like(_like(username) + "%", escape="\\"))
    if display_name:
        q = q.where(func.lower(Account.display_name).like("%" + _like(display_name) + "%", escape="\\"))
    if email:
        q = q.where(func.lower(User.email).like("%" + _like(email) + "%", escape="\\"))
    if ip:
        q = q.where(Account.id.is_(None))  # no sign-in addresses are recorded: nothing matches
    if by_domain:
        q = q.where(Account.domain_key == by_domain.lower())
    return q



async def target_account(session: AsyncSession, account_id: int) -> tuple[Account, User | None]:
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound()
    user = await session.scalar(select(User).where(User.account_id == account.id))
    return account, user


def _label(account: Account) -> str:
    return f"@{account.acct}"


def _guard(actor: Actor, account: Account, user: User | None) -> None:
    """Nobody acts on themselves; nobody but the command line acts on an owner."""
    if actor.account_id is not None and actor.account_id == account.id:
        raise Forbidden("You cannot take moderation actions against yourself")
    if user is not None and user.role == "owner" and actor.account_id is not None:
        raise Forbidden("The owner of the server cannot be moderated through the API")


async def _revoke_delegated(tx: Tx, member_id: int) -> None:
    """Revoke the tokens a member got to act for an organisation (they act as the organisation,
    so the member's own suspension would not stop them)."""
    rows = (
        await tx.session.execute(
            select(AccessToken)
            .join(OrganisationToken, OrganisationToken.token_id == AccessToken.id)
            .where(OrganisationToken.member_id == member_id, AccessToken.revoked_at.is_(None))
        )
    ).scalars().all()
    now = utcnow()
    for token in rows:
        token.revoked_at = now
        tx.emit(TokenRevoked(token_hash=token.token_hash, user_id=token.user_id))
    await tx.session.flush()


async def approve(tx: Tx, actor: Actor, account_id: int) -> Account:
    account, user = await target_account(tx.session, account_id)
    if user is None or user.approved:
        raise Forbidden("This account is not waiting for approval")
    user.approved = True
    await tx.session.flush()
    await record(tx, actor, "approve", "account", account.id, _label(account))
    tx.emit(AccountUpdated(account_id=account.id))
    return account


async def reject(tx: Tx, actor: Actor, account_id: int) -> Account:
    """Refuse a registration waiting for approval: the account and its user are deleted."""
    account, user = await target_account(tx.session, account_id)
    if user is None or user.approved:
        raise Forbidden("This account is not waiting for approval")
    await record(tx, actor, "reject", "account", account.id, _label(account))
    await tx.session.delete(user)
    await tx.session.delete(account)
    await tx.session.flush()
    tx.emit(AccountUpdated(account_id=account.id))
    return account


async def take_action(
    tx: Tx, actor: Actor, account_id: int, action: Any, *, text: Any = None, report_id: int | None = None,
) -> AccountStrike:
    """``POST /api/v1/admin/accounts/:id/action``: a strike against the account, with its effect;
    a report named by ``report_id`` (about this account) is resolved by it."""
    if action not in ACTIONS:
        raise Invalid(f"Validation failed: Type must be one of {', '.join(ACTIONS)}")
    reason = _text(text)
    account, user = await target_account(tx.session, account_id)
    _guard(actor, account, user)
    report = None
    if report_id is not None:
        report = await tx.session.get(Report, report_id)
        if report is None or report.target_account_id != account.id:
            raise NotFound()
    now = utcnow()
    if action == "disable":
        if user is None:
            raise Invalid("Validation failed: Only local accounts can be disabled")
        user.disabled = True
        await _revoke_delegated(tx, account.id)
    elif action == "sensitive":
        account.sensitized_at = account.sensitized_at or now
    elif action == "silence":
        account.silenced_at = account.silenced_at or now
    elif action == "suspend":
        account.suspended_at = account.suspended_at or now
        await _revoke_delegated(tx, account.id)
    strike = AccountStrike(target_account_id=account.id, action=action, text=reason, report_id=report_id)
    tx.session.add(strike)
    if report is not None and report.action_taken_at is None:
        report.action_taken_at = now
        report.action_taken_by_account_id = actor.account_id
        report.updated_at = now
    await tx.session.flush()
    await record(tx, actor, action if action != "none" else "warn", "account", account.id, _label(account), reason)
    if report is not None:
        await record(tx, actor, "resolve_report", "report", report.id, f"report {report.id}", reason)
    # The sensitive mark changes how the account's posts render: cached statuses go too.
    tx.emit(AccountUpdated(account_id=account.id, statuses=action == "sensitive"))
    return strike


async def undo(tx: Tx, actor: Actor, account_id: int, what: str, *, text: Any = None) -> Account:
    """``enable``, ``unsilence``, ``unsuspend`` or ``unsensitive``."""
    account, user = await target_account(tx.session, account_id)
    _guard(actor, account, user)
    if what == "enable":
        if user is None:
            raise Invalid("Validation failed: Only local accounts can be enabled")
        user.disabled = False
    elif what == "unsilence":
        account.silenced_at = None
    elif what == "unsuspend":
        account.suspended_at = None
    elif what == "unsensitive":
        account.sensitized_at = None
    else:
        raise Invalid(f"unknown action {what!r}")
    await tx.session.flush()
    await record(tx, actor, what, "account", account.id, _label(account), _text(text))
    tx.emit(AccountUpdated(account_id=account.id, statuses=what == "unsensitive"))
    return account


async def delete_account(tx: Tx, actor: Actor, account_id: int, *, text: Any = None) -> Account:
    """Delete a suspended account's data for good (as Mastodon: only a suspended one)."""
    account, user = await target_account(tx.session, account_id)
    _guard(actor, account, user)
    if account.suspended_at is None:
        raise Forbidden("Only a suspended account can be deleted")
    s = tx.session
    followed = list(await s.scalars(select(Follow.target_account_id).where(Follow.account_id == account.id)))
    followers = list(await s.scalars(select(Follow.account_id).where(Follow.target_account_id == account.id)))
    await record(tx, actor, "delete", "account", account.id, _label(account), _text(text))
    # Its files go after the commit: media through the media storage, pictures through
    # their own job (which keeps a picture another account uses too).
    from szpak.domain import avatars, media as media_actions

    await media_actions.schedule_account_files_delete(tx, account.id)
    avatars.schedule_delete(tx, account.avatar_path)
    avatars.schedule_delete(tx, account.header_path)
    if user is not None:
        await s.delete(user)
    await s.delete(account)
    await s.flush()
    for other in set(followed) | set(followers):
        await s.execute(
            update(Account).where(Account.id == other).values(
                followers_count=select(func.count()).select_from(Follow).where(Follow.target_account_id == other).scalar_subquery(),
                following_count=select(func.count()).select_from(Follow).where(Follow.account_id == other).scalar_subquery(),
            )
        )
        tx.emit(AccountUpdated(account_id=other))
    tx.emit(AccountUpdated(account_id=account.id))
    return account


async def is_sensitized(session: AsyncSession, account_ids: list[int]) -> set[int]:
    if not account_ids:
        return set()
    return set(await session.scalars(select(Account.id).where(Account.id.in_(account_ids), Account.sensitized_at.is_not(None))))


# -- posts ---------------------------------------------------------------------------------

async def remove_post(tx: Tx, actor: Actor, status_id: int, *, reason: Any) -> Status:
    """A moderator removes someone's post (with its boosts), through the author's own removal path."""
    text = _text(reason, required=True, label="Reason")
    status = await tx.session.get(Status, status_id)
    if status is None:
        raise NotFound()
    author = await tx.session.get(Account, status.account_id)
    label = f"status {status.id} by @{author.acct}" if author is not None else f"status {status.id}"
    await remove_status(tx, status)
    await record(tx, actor, "remove_status", "status", status.id, label, text)
    return status
