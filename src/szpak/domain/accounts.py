"""Account and user actions: register, update the profile."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from szpak.domain.context import Tx
from szpak.domain.errors import Invalid, NotFound
from szpak.domain.events import AccountUpdated
from szpak.domain.formatting import render_plain
from szpak.domain.passwords import hash_password
from szpak.storage.models import ACCOUNT_KINDS, Account, User

USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{1,30}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$|^[^@\s]+@localhost$")
ROLES = ("user", "moderator", "admin", "owner")
MAX_FIELDS = 4


async def create_user(
    tx: Tx,
    *,
    username: str,
    email: str,
    password: str,
    locale: str = "pl",
    role: str = "user",
    locked: bool = False,
    kind: str = "person",
    display_name: str = "",
    note: str = "",
    approved: bool = True,
    reason: str = "",
) -> User:
    """Create a local account and its user. Raises Invalid with a field-specific message."""
    if not USERNAME_RE.match(username or ""):
        raise Invalid("Validation failed: Username must contain only letters, numbers and underscores (max 30)")
    email = (email or "").strip()
    if not EMAIL_RE.match(email):
        raise Invalid("Validation failed: Email is invalid")
    if len(password or "") < 8:
        raise Invalid("Validation failed: Password is too short (minimum is 8 characters)")
    if len(password) > 72 * 4:
        raise Invalid("Validation failed: Password is too long")
    if kind not in ACCOUNT_KINDS:
        raise Invalid(f"Validation failed: Kind must be one of {', '.join(ACCOUNT_KINDS)}")
    if role not in ROLES:
        raise Invalid(f"Validation failed: Role must be one of {', '.join(ROLES)}")
    s = tx.session
    if await s.scalar(select(Account.id).where(Account.username_lower == username.lower(), Account.domain_key == "")):
        raise Invalid("Validation failed: Username has already been taken")
    if await s.scalar(select(User.id).where(func.lower(User.email) == email.lower())):
        raise Invalid("Validation failed: Email has already been taken")
    account = Account(
        username=username,
        username_lower=username.lower(),
        display_name=display_name[:100],
        note_source=note,
        note=render_plain(note) if note else "",
        locked=locked,
        kind=kind,
    )
    s.add(account)
    await s.flush()
    user = User(
        account_id=account.id,
        email=email,
        password_hash=hash_password(password),
        locale=locale if locale in ("pl", "en") else "pl",
        role=role,
        approved=approved,
        registration_reason=reason,
    )
    s.add(user)
    await s.flush()
    return user


async def get_local_account(tx_or_session: Any, username: str) -> Account:
    session = getattr(tx_or_session, "session", tx_or_session)
    account = await session.scalar(
        select(Account).where(Account.username_lower == username.lower(), Account.domain_key == "")
    )
    if account is None:
        raise NotFound()
    return account


async def update_profile(tx: Tx, account: Account, changes: dict[str, Any]) -> Account:
    """Apply profile changes (already validated for type) and emit AccountUpdated."""
    account = await tx.session.merge(account)
    if "display_name" in changes and changes["display_name"] is not None:
        if len(changes["display_name"]) > 30 * 4:
            raise Invalid("Validation failed: Display name is too long (maximum is 120 characters)")
        account.display_name = changes["display_name"]
    if "note" in changes and changes["note"] is not None:
        if len(changes["note"]) > 500:
            raise Invalid("Validation failed: Note is too long (maximum is 500 characters)")
        account.note_source = changes["note"]
        account.note = render_plain(changes["note"]) if changes["note"] else ""
    for flag in ("locked", "bot", "discoverable", "indexable", "hide_collections"):
        if changes.get(flag) is not None:
            setattr(account, flag, bool(changes[flag]))
    if changes.get("kind") is not None:
        if changes["kind"] not in ACCOUNT_KINDS:
            raise Invalid(f"Validation failed: Kind must be one of {', '.join(ACCOUNT_KINDS)}")
        account.kind = changes["kind"]
    if changes.get("fields") is not None:
        fields = [f for f in changes["fields"] if (f.get("name") or f.get("value"))]
        if len(fields) > MAX_FIELDS:
            raise Invalid(f"Validation failed: At most {MAX_FIELDS} profile fields")
        for f in fields:
            if len(f.get("name") or "") > 255 or len(f.get("value") or "") > 255:
                raise Invalid("Validation failed: Profile field is too long (maximum is 255 characters)")
        account.fields = [{"name": f.get("name") or "", "value": f.get("value") or ""} for f in fields]
    for key in ("avatar_path", "header_path"):
        if key in changes:
            setattr(account, key, changes[key])
    await tx.session.flush()
    tx.emit(AccountUpdated(account_id=account.id))
    return account
