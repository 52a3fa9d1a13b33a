"""Web UI sessions and the account settings the web UI changes.

A browser that logs in gets a session row and an access token of the built-in
"Szpak Web" OAuth application, so that the page scripts talk to the same REST
and streaming API as every other client. The secrets themselves (the cookie
value and the token) are made by the web layer; only their hashes reach here.
Logging out revokes the token, which every process hears about (``TokenRevoked``)
and which closes the page's streaming connection.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.domain import oauth
from szpak.domain.context import Tx
from szpak.domain.errors import Invalid, NotFound
from szpak.domain.events import TokenRevoked
from szpak.domain.passwords import hash_password, verify_password
from szpak.storage.models import AccessToken, Account, Application, User, WebSession

WEB_APP_NAME = "Szpak Web"
WEB_SCOPES = ("read", "write", "follow")
SESSION_TTL = timedelta(days=30)
LOCALES = ("pl", "en")
MIN_PASSWORD = 8
MAX_PASSWORD = 72 * 4



@cache
def _dummy_hash() -> str:
    """Verified against when no such user exists, so that a wrong login costs as long as a
    wrong password and response times do not tell which usernames exist."""
    return hash_password("szpak-no-such-user")


async def web_application(tx: Tx, *, client_id: str, website: str) -> Application:
    """The built-in application that web sessions' tokens belong to, created on first use.

    Its client id is derived from the server secret by the caller: a name anyone could
    register through ``/api/v1/apps``, so the name alone must never identify it."""
    app = await tx.session.scalar(select(Application).where(Application.client_id == client_id))
    if app is not None:
        return app
    app = await oauth.create_application(
        tx, name=WEB_APP_NAME, redirect_uris=[oauth.OOB], scopes=list(WEB_SCOPES), website=website
    )
    app.client_id = client_id
    await tx.session.flush()
    return app


async def authenticate(session: AsyncSession, login: str, password: str) -> User | None:
    """The user whose e-mail or username is ``login`` and whose password matches, else None.

    Disabled users and suspended accounts get None too; an unapproved user is returned
    (the caller tells them they are waiting for approval rather than "wrong password")."""
    login = (login or "").strip().lstrip("@")
    if not login or not password:
        verify_password(_dummy_hash(), password or "x")
        return None
    row = (
        await session.execute(
            select(User, Account.suspended_at)
            .join(Account, Account.id == User.account_id)
            .where(
                or_(func.lower(User.email) == login.lower(), Account.username_lower == login.lower()),
                Account.domain_key == "",
            )
            .limit(1)
        )
    ).first()
    if row is None:
        verify_password(_dummy_hash(), password)
        return None
    user, suspended_at = row
    if not verify_password(user.password_hash, password):
        return None
    if user.disabled or suspended_at is not None:
        return None
    return user


async def open_session(
    tx: Tx, *, user_id: int, application_id: int, key_hash: str, token_hash: str, user_agent: str = ""
) -> WebSession:
    """Record a logged-in browser: its session and the token its page scripts use. The
    user's sessions that have expired meanwhile are cleared away here, so the table keeps
    only live sessions without a sweeper."""
    await _purge(tx, WebSession.user_id == user_id)
    token = AccessToken(
        token_hash=token_hash, application_id=application_id, user_id=user_id, scopes=" ".join(WEB_SCOPES)
    )
    tx.session.add(token)
    await tx.session.flush()
    row = WebSession(
        key_hash=key_hash, user_id=user_id, token_id=token.id, user_agent=user_agent[:255],
        expires_at=datetime.now(timezone.utc) + SESSION_TTL,
    )
    tx.session.add(row)
    await tx.session.flush()
    return row


async def _revoke_tokens(tx: Tx, token_ids: list[int]) -> None:
    if not token_ids:
        return
    rows = (
        await tx.session.execute(
            select(AccessToken.token_hash, AccessToken.user_id).where(
                AccessToken.id.in_(token_ids), AccessToken.revoked_at.is_(None)
            )
        )
    ).all()
    await tx.session.execute(
        update(AccessToken).where(AccessToken.id.in_(token_ids)).values(revoked_at=datetime.now(timezone.utc))
    )
    for token_hash, user_id in rows:
        tx.emit(TokenRevoked(token_hash=token_hash, user_id=user_id))


async def close_session(tx: Tx, key_hash: str) -> None:
    """Log a browser out: its token is revoked and its session forgotten. Idempotent."""
    row = await tx.session.scalar(select(WebSession).where(WebSession.key_hash == key_hash))
    if row is None:
        return
    await _revoke_tokens(tx, [row.token_id])
    await tx.session.execute(delete(WebSession).where(WebSession.id == row.id))


async def close_other_sessions(tx: Tx, user_id: int, *, keep_key_hash: str | None) -> int:
    """End every web session of ``user_id`` but the one given (after a password change)."""
    q = select(WebSession).where(WebSession.user_id == user_id)
    if keep_key_hash is not None:
        q = q.where(WebSession.key_hash != keep_key_hash)
    rows = list(await tx.session.scalars(q))
    await _revoke_tokens(tx, [r.token_id for r in rows])
    if rows:
        await tx.session.execute(delete(WebSession).where(WebSession.id.in_([r.id for r in rows])))
    return len(rows)


async def set_locale(tx: Tx, user_id: int, locale: str) -> None:
    """Remember the user's interface language (``pl`` or ``en``)."""
    if locale not in LOCALES:
        raise Invalid(f"Validation failed: Locale must be one of {', '.join(LOCALES)}")
    await tx.session.execute(update(User).where(User.id == user_id).values(locale=locale))


async def change_password(tx: Tx, user_id: int, *, current: str, new: str, keep_key_hash: str | None) -> None:
    """Change a password after checking the current one; other browsers are logged out."""
    user = await tx.session.get(User, user_id)
    if user is None:
        raise NotFound()
    if not verify_password(user.password_hash, current or ""):
        raise Invalid("Validation failed: Current password is invalid")
    if len(new or "") < MIN_PASSWORD:
        raise Invalid("Validation failed: Password is too short (minimum is 8 characters)")
    if len(new) > MAX_PASSWORD:
        raise Invalid("Validation failed: Password is too long")
    user.password_hash = hash_password(new)
    await tx.session.flush()
    await close_other_sessions(tx, user_id, keep_key_hash=keep_key_hash)


async def _purge(tx: Tx, *where: Any) -> int:
    now = datetime.now(timezone.utc)
    rows = list(await tx.session.scalars(select(WebSession).where(WebSession.expires_at <= now, *where)))
    await _revoke_tokens(tx, [r.token_id for r in rows])
    if rows:
        await tx.session.execute(delete(WebSession).where(WebSession.id.in_([r.id for r in rows])))
    return len(rows)


async def purge_expired(tx: Tx) -> int:
    """Forget every session past its expiry (their tokens are revoked with them)."""
    return await _purge(tx)
