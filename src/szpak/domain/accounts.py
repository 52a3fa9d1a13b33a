"""Account and user actions: register, update the profile, keep the search index.

Registration checks every field before it fails, so a client can show all the
problems at once: ``RegistrationInvalid`` carries Mastodon's per-field ``details``
(``{"username": [{"error": "ERR_TAKEN", "description": "..."}]}``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select

from szpak.domain import avatars
from szpak.domain.context import Context, Tx
from szpak.domain.errors import Invalid, NotFound
from szpak.domain.events import AccountUpdated
from szpak.domain.formatting import render_plain
from szpak.domain.passwords import hash_password
from szpak.domain.relationships import authorize_follow_request
from szpak.jobs.runner import handler
from szpak.storage.account_search import index_rows, terms_for_account
from szpak.storage.models import ACCOUNT_KINDS, VISIBILITIES, Account, AccountTerm, FollowRequest, User

USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{1,30}$")
EMAIL_RE = re.compile(r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f]+$|^[^@\s\x00-\x1f]+@localhost$")
#: Control characters no profile text may hold (NUL would even be refused by PostgreSQL).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
ROLES = ("user", "moderator", "admin", "owner")
MAX_FIELDS = 4
MIN_PASSWORD = 8
MAX_PASSWORD = 72 * 4
MAX_DISPLAY_NAME = 30 * 4
MAX_NOTE = 500
MAX_FIELD_CHARS = 255
LOCALES = ("pl", "en")
#: Default visibilities a user may choose (``direct`` is never a default).
DEFAULT_VISIBILITIES = tuple(v for v in VISIBILITIES if v != "direct")
ACCEPT_PENDING_JOB = "accounts.accept_pending_follows"


def check_text(value: str, label: str) -> str:
    """Refuse control characters in text that is stored and shown (tabs and newlines are fine)."""
    if _CONTROL_RE.search(value):
        raise Invalid(f"Validation failed: {label} contains invalid characters")
    return value


class RegistrationInvalid(Invalid):
    """Registration input breaks one or more rules; ``details`` says which, per field."""

    def __init__(self, details: dict[str, list[dict[str, str]]]) -> None:
        parts = [f"{name.capitalize()} {item['description']}" for name, items in details.items() for item in items]
        super().__init__("Validation failed: " + ", ".join(parts))
        self.details = details


@dataclass
class _Problems:
    details: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def add(self, name: str, code: str, description: str) -> None:
        self.details.setdefault(name, []).append({"error": code, "description": description})

    def raise_if_any(self) -> None:
        if self.details:
            raise RegistrationInvalid(self.details)


async def _check_registration(
    tx: Tx, *, username: str, email: str, password: str, agreement: bool, reason: str | None, require_reason: bool,
) -> None:
    """Collect every problem with a registration, then raise them together."""
    p = _Problems()
    s = tx.session
    if not username:
        p.add("username", "ERR_BLANK", "can't be blank")
    elif len(username) > 30:
        p.add("username", "ERR_TOO_LONG", "is too long (maximum is 30 characters)")
    elif not USERNAME_RE.match(username):
        p.add("username", "ERR_INVALID", "must contain only letters, numbers and underscores")
    elif await s.scalar(select(Account.id).where(Account.username_lower == username.lower(), Account.domain_key == "")):
        p.add("username", "ERR_TAKEN", "has already been taken")
    if not email:
        p.add("email", "ERR_BLANK", "can't be blank")
    elif not EMAIL_RE.match(email) or len(email) > 255:
        p.add("email", "ERR_INVALID", "is invalid")
    elif await s.scalar(select(User.id).where(func.lower(User.email) == email.lower())):
        p.add("email", "ERR_TAKEN", "has already been taken")
    if not password:
        p.add("password", "ERR_BLANK", "can't be blank")
    elif len(password) < MIN_PASSWORD:
        p.add("password", "ERR_TOO_SHORT", f"is too short (minimum is {MIN_PASSWORD} characters)")
    elif len(password) > MAX_PASSWORD:
        p.add("password", "ERR_TOO_LONG", f"is too long (maximum is {MAX_PASSWORD} characters)")
    if not agreement:
        p.add("agreement", "ERR_ACCEPTED", "must be accepted")
    if reason and _CONTROL_RE.search(reason):
        p.add("reason", "ERR_INVALID", "contains invalid characters")
    elif require_reason and not (reason or "").strip():
        p.add("reason", "ERR_BLANK", "can't be blank")
    elif reason and len(reason) > 1000:
        p.add("reason", "ERR_TOO_LONG", "is too long (maximum is 1000 characters)")
    p.raise_if_any()


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
    agreement: bool = True,
    require_reason: bool = False,
) -> User:
    """Create a local account and its user. Raises ``RegistrationInvalid`` (an ``Invalid``)
    naming every field that is wrong."""
    email = (email or "").strip()
    if kind not in ACCOUNT_KINDS:
        raise Invalid(f"Validation failed: Kind must be one of {', '.join(ACCOUNT_KINDS)}")
    if role not in ROLES:
        raise Invalid(f"Validation failed: Role must be one of {', '.join(ROLES)}")
    await _check_registration(
        tx, username=username or "", email=email, password=password or "", agreement=agreement,
        reason=reason, require_reason=require_reason,
    )
    s = tx.session
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
        locale=locale if locale in LOCALES else "pl",
        role=role,
        approved=approved,
        registration_reason=reason or "",
    )
    s.add(user)
    await s.flush()
    await index_account(tx, account)
    return user


async def register(
    tx: Tx,
    *,
    username: str,
    email: str,
    password: str,
    agreement: bool,
    locale: str,
    reason: str | None,
) -> User:
    """Self-service sign-up through the API, under the server's registration mode.

    ``approval`` mode creates the user unapproved: it exists (and has a token), but
    cannot use the API until a moderator approves it. ``closed`` is refused by the
    route before anything is parsed.
    """
    approval = tx.settings.registrations == "approval"
    return await create_user(
        tx, username=username, email=email, password=password, locale=locale, approved=not approval,
        reason=(reason or "").strip(), agreement=agreement,
    )


async def index_account(tx: Tx, account: Account) -> None:
    """Rewrite the account's rows in the search index (``account_terms``)."""
    s = tx.session
    await s.execute(delete(AccountTerm).where(AccountTerm.account_id == account.id))
    s.add_all(index_rows(account.id, terms_for_account(account.username, account.display_name)))
    await s.flush()


async def get_local_account(tx_or_session: Any, username: str) -> Account:
    session = getattr(tx_or_session, "session", tx_or_session)
    account = await session.scalar(
        select(Account).where(Account.username_lower == username.lower(), Account.domain_key == "")
    )
    if account is None:
        raise NotFound()
    return account


def _clean_fields(raw: Any) -> list[dict[str, str]]:
    """Profile fields from ``fields_attributes`` (a list, or Rails' ``{"0": {...}}``)."""
    if isinstance(raw, Mapping):
        items = [raw[k] for k in sorted(raw, key=lambda k: (not str(k).isdigit(), int(k) if str(k).isdigit() else 0, str(k)))]
    elif isinstance(raw, list):
        items = raw
    else:
        raise Invalid("Validation failed: Fields attributes must be a list of name/value pairs")
    fields: list[dict[str, str]] = []
    for item in items:
        if not isinstance(item, Mapping):
            raise Invalid("Validation failed: Fields attributes must be a list of name/value pairs")
        name, value = item.get("name") or "", item.get("value") or ""
        if not isinstance(name, str) or not isinstance(value, str):
            raise Invalid("Validation failed: Profile field names and values must be text")
        name, value = check_text(name.strip(), "Profile field"), check_text(value.strip(), "Profile field")
        if not name and not value:
            continue
        if len(name) > MAX_FIELD_CHARS or len(value) > MAX_FIELD_CHARS:
            raise Invalid(f"Validation failed: Profile field is too long (maximum is {MAX_FIELD_CHARS} characters)")
        fields.append({"name": name, "value": value, "html": render_field_value(value)})
    if len(fields) > MAX_FIELDS:
        raise Invalid(f"Validation failed: Too many profile fields (maximum is {MAX_FIELDS})")
    return fields


def render_field_value(value: str) -> str:
    """A field value as safe HTML with links: ``render_plain`` without its paragraph wrapper."""
    rendered = render_plain(value)
    if rendered.startswith("<p>") and rendered.endswith("</p>") and rendered.count("<p>") == 1:
        return rendered[3:-4]
    return rendered


async def update_profile(tx: Tx, account: Account, changes: dict[str, Any]) -> Account:
    """Apply profile changes (already validated for type) and emit AccountUpdated.

    Keys: display_name, note, locked, bot, discoverable, indexable, hide_collections,
    kind, fields (list of {name, value}), avatar_path, header_path. Unlocking an account
    accepts its pending follow requests (in a durable job), as Mastodon does.
    """
    account = await tx.session.merge(account)
    was_locked = account.locked
    if changes.get("display_name") is not None:
        if len(changes["display_name"]) > MAX_DISPLAY_NAME:
            raise Invalid(f"Validation failed: Display name is too long (maximum is {MAX_DISPLAY_NAME} characters)")
        account.display_name = check_text(changes["display_name"], "Display name")
    if changes.get("note") is not None:
        if len(changes["note"]) > MAX_NOTE:
            raise Invalid(f"Validation failed: Note is too long (maximum is {MAX_NOTE} characters)")
        account.note_source = check_text(changes["note"], "Note")
        account.note = render_plain(changes["note"]) if changes["note"] else ""
    for flag in ("locked", "bot", "discoverable", "indexable", "hide_collections"):
        if changes.get(flag) is not None:
            setattr(account, flag, bool(changes[flag]))
    if changes.get("kind") is not None:
        if changes["kind"] not in ACCOUNT_KINDS:
            raise Invalid(f"Validation failed: Kind must be one of {', '.join(ACCOUNT_KINDS)}")
        account.kind = changes["kind"]
    if changes.get("fields") is not None:
        account.fields = _clean_fields(changes["fields"])
    for key in ("avatar_path", "header_path"):
        if key in changes:
            setattr(account, key, changes[key])
    await tx.session.flush()
    if "display_name" in changes:
        await index_account(tx, account)
    if was_locked and not account.locked:
        tx.enqueue(ACCEPT_PENDING_JOB, {"account_id": account.id})
    tx.emit(AccountUpdated(account_id=account.id))
    return account


@dataclass
class Credentials:
    """What ``PATCH /api/v1/accounts/update_credentials`` may change; None leaves a value as is."""

    profile: dict[str, Any] = field(default_factory=dict)
    privacy: str | None = None
    sensitive: bool | None = None
    language: str | None = None
    avatar: avatars.ProcessedImage | None = None
    header: avatars.ProcessedImage | None = None


def _check_source(creds: Credentials) -> None:
    if creds.privacy is not None and creds.privacy not in DEFAULT_VISIBILITIES:
        raise Invalid(f"Validation failed: Privacy must be one of {', '.join(DEFAULT_VISIBILITIES)}")
    if creds.language is not None and creds.language != "" and not re.fullmatch(r"[a-z]{2,3}", creds.language):
        raise Invalid("Validation failed: Language must be an ISO 639 code")


async def update_credentials(tx: Tx, account_id: int, user_id: int, creds: Credentials) -> tuple[Account, User]:
    """The profile, the posting defaults and the pictures, in one transaction.

    Pictures arrive already processed (``avatars.prepare_image``, outside the
    transaction, so decoding never holds the write lock); they are written here and
    the pictures they replace are deleted by a job after commit.
    """
    _check_source(creds)
    s = tx.session
    account = await s.get(Account, account_id)
    user = await s.get(User, user_id)
    if account is None or user is None:
        raise NotFound()
    changes = dict(creds.profile)
    pictures = [(kind, image) for kind, image in (("avatar", creds.avatar), ("header", creds.header)) if image is not None]
    replaced = []
    for kind, image in pictures:
        old, new = getattr(account, f"{kind}_path"), avatars.relative_path(account.id, image)
        changes[f"{kind}_path"] = new
        if old != new:
            replaced.append(old)
    account = await update_profile(tx, account, changes)
    # Files are written only once every other change has passed validation.
    for _, image in pictures:
        avatars.write_image(tx.settings.data_dir, account.id, image)
    for old in replaced:
        avatars.schedule_delete(tx, old)
    if creds.privacy is not None:
        user.default_visibility = creds.privacy
    if creds.sensitive is not None:
        user.default_sensitive = creds.sensitive
    if creds.language is not None:
        user.default_language = creds.language or None
    await s.flush()
    return account, user


async def remove_picture(tx: Tx, account_id: int, kind: avatars.Kind) -> Account:
    """Go back to the default avatar or header (``DELETE /api/v1/profile/avatar``)."""
    account = await tx.session.get(Account, account_id)
    if account is None:
        raise NotFound()
    old = getattr(account, f"{kind}_path")
    if old is None:
        return account
    account = await update_profile(tx, account, {f"{kind}_path": None})
    avatars.schedule_delete(tx, old)
    return account


async def follow_requests_count(session: Any, account_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(FollowRequest).where(FollowRequest.target_account_id == account_id)
        )
        or 0
    )


@handler(ACCEPT_PENDING_JOB)
async def _accept_pending(ctx: Context, payload: dict[str, Any]) -> None:
    """Accept, in batches, the follow requests of an account that is no longer locked."""
    account_id = int(payload["account_id"])
    while True:
        async with ctx.tx() as tx:
            account = await tx.session.get(Account, account_id)
            if account is None or account.locked:
                return  # deleted, or locked again: the remaining requests wait for a decision
            requesters = list(
                await tx.session.scalars(
                    select(FollowRequest.account_id)
                    .where(FollowRequest.target_account_id == account_id)
                    .order_by(FollowRequest.id)
                    .limit(100)
                )
            )
            for requester in requesters:
                await authorize_follow_request(tx, account, requester)
        if len(requesters) < 100:
            return
