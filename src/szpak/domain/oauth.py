"""OAuth 2 as Mastodon does it: applications, authorization codes, access tokens, scopes.

Scopes follow Mastodon: the top-level ``read``, ``write``, ``follow``, ``push``,
``profile`` and ``admin:read``/``admin:write``, and granular ones such as
``read:statuses``. A granted top-level scope covers all its granular ones;
``follow`` covers the block, follow and mute scopes.

Secrets (access tokens, authorization codes) are stored only as their sha256, so
a copy of the database hands out no working credential. Client secrets are
stored as issued, because Mastodon shows them again to the app's owner.

Errors specific to the OAuth endpoints are :class:`OAuthError`, which carries
the RFC 6749 error code (``invalid_grant``, ``invalid_client``, …) so that the
route can answer ``{"error": ..., "error_description": ...}`` as clients expect.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.domain.context import Tx
from szpak.domain.errors import DomainError, Invalid
from szpak.domain.events import TokenRevoked
from szpak.domain.passwords import hash_password, verify_password
from szpak.storage.models import AccessToken, Account, Application, AuthorizationCode, User

READ_SCOPES = (
    "accounts", "blocks", "bookmarks", "favourites", "filters", "follows", "lists", "mutes",
    "notifications", "search", "statuses",
)
WRITE_SCOPES = (
    "accounts", "blocks", "bookmarks", "conversations", "favourites", "filters", "follows", "lists",
    "media", "mutes", "notifications", "reports", "statuses",
)
ADMIN_SCOPES = (
    "accounts", "reports", "domain_allows", "domain_blocks", "ip_blocks", "email_domain_blocks",
    "canonical_email_blocks",
)
TOP_SCOPES = ("read", "write", "follow", "push", "profile", "admin:read", "admin:write")
FOLLOW_COVERS = {"read:blocks", "write:blocks", "read:follows", "write:follows", "read:mutes", "write:mutes"}

ALL_SCOPES: frozenset[str] = frozenset(
    TOP_SCOPES
    + tuple(f"read:{s}" for s in READ_SCOPES)
    + tuple(f"write:{s}" for s in WRITE_SCOPES)
    + tuple(f"admin:read:{s}" for s in ADMIN_SCOPES)
    + tuple(f"admin:write:{s}" for s in ADMIN_SCOPES)
)
#: The "out of band" redirect URI: show the code to the user instead of redirecting.
OOB = "urn:ietf:wg:oauth:2.0:oob"
#: Doorkeeper's (and so Mastodon's) lifetime of an authorization code.
CODE_TTL = timedelta(minutes=10)
#: What a token request gets when it names no scope, as in Mastodon.
DEFAULT_SCOPES = ("read",)
PKCE_METHODS = ("S256", "plain")
#: RFC 7636: verifiers and challenges are 43-128 unreserved characters.
_PKCE_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
#: The application that owns tokens made with ``szpak tokens create``. Apps registered
#: through the API get random client ids, so this one can't be impersonated.
CLI_CLIENT_ID = "szpak-cli"
CLI_APP_NAME = "Szpak CLI"


class OAuthError(DomainError):
    """An RFC 6749 error: ``error`` is the machine code, ``message`` the description."""

    def __init__(self, error: str, description: str, status_code: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.status_code = status_code


INVALID_GRANT = (
    "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI "
    "used in the authorization request, or was issued to another client."
)


def invalid_grant(description: str = INVALID_GRANT) -> OAuthError:
    return OAuthError("invalid_grant", description)


def invalid_client() -> OAuthError:
    return OAuthError(
        "invalid_client",
        "Client authentication failed due to unknown client, no client authentication included, "
        "or unsupported authentication method.",
        401,
    )


def invalid_scope() -> OAuthError:
    return OAuthError("invalid_scope", "The requested scope is invalid, unknown, or malformed.")


# --- scopes ----------------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_scopes(raw: str | list[str] | None, default: str = "read") -> list[str]:
    """Split and validate a scope string (or list); raises Invalid on an unknown scope."""
    if raw is None or raw == "" or raw == []:
        raw = default
    parts = raw if isinstance(raw, list) else [raw]
    scopes: list[str] = []
    for part in parts:
        if not isinstance(part, str):
            raise Invalid("Validation failed: Scopes must be a string")
        for p in part.replace(",", " ").split():
            if p not in ALL_SCOPES:
                raise Invalid(f"Validation failed: Scopes {p} is not a valid scope")
            if p not in scopes:
                scopes.append(p)
    return scopes


def scope_allows(granted: frozenset[str] | set[str], needed: str) -> bool:
    """Whether ``granted`` covers ``needed`` (e.g. ``read`` covers ``read:statuses``)."""
    if needed in granted:
        return True
    if needed in FOLLOW_COVERS and "follow" in granted:
        return True
    for top in ("admin:read", "admin:write", "read", "write"):
        if needed.startswith(top + ":"):
            return top in granted
    return False


def scopes_subset(requested: list[str], allowed: list[str]) -> bool:
    allowed_set = frozenset(allowed)
    return all(scope_allows(allowed_set, s) for s in requested)


def requested_scopes(raw: str | list[str] | None, app: Application) -> list[str]:
    """Scopes asked for in a token or authorize request, checked against the app's.

    Omitted means ``read`` (as in Mastodon), or the app's own scopes when it may not
    read. Raises ``invalid_scope`` for an unknown scope or one the app didn't register.
    """
    app_scopes = app.scopes.split()
    if raw is None or raw == "" or raw == []:
        default = list(DEFAULT_SCOPES)
        return default if scopes_subset(default, app_scopes) else app_scopes
    try:
        scopes = parse_scopes(raw)
    except Invalid:
        raise invalid_scope() from None
    if not scopes_subset(scopes, app_scopes):
        raise invalid_scope()
    return scopes


# --- applications ----------------------------------------------------------------------


def valid_redirect_uri(uri: str) -> bool:
    """An absolute URI without a fragment: http(s) with a host, or an app's own scheme
    (``myapp://callback``, ``com.example.app:/cb``), or the out-of-band URN."""
    if uri == OOB:
        return True
    if not uri or len(uri) > 2000 or any(c.isspace() or ord(c) < 0x20 for c in uri):
        return False
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    if not scheme or not re.fullmatch(r"[a-z][a-z0-9+.\-]*", scheme) or "#" in uri:
        return False
    if scheme in ("javascript", "data", "vbscript", "file", "about", "blob"):
        return False
    if scheme in ("http", "https"):
        return bool(parts.hostname)
    return True


async def create_application(
    tx: Tx, *, name: str, redirect_uris: list[str], scopes: list[str], website: str | None,
    client_id: str | None = None,
) -> Application:
    """Register a client application (``POST /api/v1/apps``)."""
    name = (name or "").strip()
    if not name:
        raise Invalid("Validation failed: Application name can't be blank")
    if len(name) > 60:
        raise Invalid("Validation failed: Application name is too long (maximum is 60 characters)")
    if not redirect_uris:
        raise Invalid("Validation failed: Redirect URI can't be blank")
    if len(redirect_uris) > 20:
        raise Invalid("Validation failed: Redirect URI too many (maximum is 20)")
    for uri in redirect_uris:
        if not valid_redirect_uri(uri):
            raise Invalid("Validation failed: Redirect URI must be an absolute URI.")
    if website and len(website) > 2000:
        raise Invalid("Validation failed: Website is too long (maximum is 2000 characters)")
    app = Application(
        name=name,
        website=website or None,
        redirect_uris="\n".join(dict.fromkeys(redirect_uris)),
        scopes=" ".join(scopes),
        client_id=client_id or secrets.token_urlsafe(32),
        client_secret=secrets.token_urlsafe(32),
    )
    tx.session.add(app)
    await tx.session.flush()
    return app


@dataclass(frozen=True)
class Client:
    """The application behind a request, and whether it proved it knows its secret."""

    app: Application
    authenticated: bool


async def find_client(session: AsyncSession, client_id: object, client_secret: object) -> Client:
    """Identify the calling app. A wrong secret is an error; a missing one leaves the
    client unauthenticated, which only a PKCE code exchange and revocation accept."""
    if not isinstance(client_id, str) or not client_id or len(client_id) > 64:
        raise invalid_client()
    app = await session.scalar(select(Application).where(Application.client_id == client_id))
    if app is None:
        raise invalid_client()
    if client_secret is None or client_secret == "":
        return Client(app, authenticated=False)
    if not isinstance(client_secret, str) or not secrets.compare_digest(
        client_secret.encode(), app.client_secret.encode()
    ):
        raise invalid_client()
    return Client(app, authenticated=True)


# --- who may sign in -------------------------------------------------------------------


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    """A hash to verify against when the login is unknown, so that a wrong login costs
    the same time as a wrong password and doesn't reveal which accounts exist."""
    return hash_password(secrets.token_urlsafe(16))


def sign_in_problem(user: User, account: Account) -> str | None:
    """Why this user may not get tokens, or None when they may."""
    if account.suspended_at is not None:
        return "Your account has been suspended."
    if user.disabled:
        return "Your login is currently disabled."
    if not user.approved:
        return "Your login is currently pending approval."
    return None


async def authenticate(session: AsyncSession, login: str, password: str) -> User:
    """Check an e-mail or username and password; raise ``invalid_grant`` when they don't
    fit or the user may not sign in. Argon2 runs in a thread to keep the loop free."""
    login = (login or "").strip()
    row = None
    if login and password and len(login) <= 255:
        row = (
            await session.execute(
                select(User, Account)
                .join(Account, Account.id == User.account_id)
                .where(
                    Account.domain_key == "",
                    or_(func.lower(User.email) == login.lower(), Account.username_lower == login.lstrip("@").lower()),
                )
            )
        ).first()
    stored = row[0].password_hash if row is not None else _decoy_hash()
    ok = await asyncio.to_thread(verify_password, stored, password or "")
    if row is None or not ok:
        raise invalid_grant("Invalid e-mail address, username or password.")
    user, account = row
    problem = sign_in_problem(user, account)
    if problem:
        raise invalid_grant(problem)
    return user


async def user_for_sign_in(session: AsyncSession, user_id: int) -> User:
    """Reload a user (e.g. from a browser session) and check that they may sign in."""
    row = (
        await session.execute(
            select(User, Account).join(Account, Account.id == User.account_id).where(User.id == user_id)
        )
    ).first()
    if row is None:
        raise invalid_grant("Unknown user.")
    problem = sign_in_problem(row[0], row[1])
    if problem:
        raise invalid_grant(problem)
    return row[0]


# --- tokens ----------------------------------------------------------------------------


async def issue_token(
    tx: Tx, *, application_id: int | None, user_id: int | None, scopes: list[str]
) -> tuple[str, AccessToken]:
    """Create an access token; returns (the bearer string, its row). The string is not stored."""
    token = secrets.token_urlsafe(32)
    row = AccessToken(
        token_hash=hash_token(token), application_id=application_id, user_id=user_id, scopes=" ".join(scopes)
    )
    tx.session.add(row)
    await tx.session.flush()
    return token, row


async def revoke_token(tx: Tx, token: str, *, application_id: int | None = None) -> bool:
    """Revoke a token (only one issued to ``application_id`` when given).

    Returns whether a live token was revoked. Raises ``unauthorized_client`` (403) when
    the token exists but belongs to another app, as Mastodon does; an unknown or already
    revoked token is no error (RFC 7009).
    """
    h = hash_token(token)
    row = await tx.session.scalar(select(AccessToken).where(AccessToken.token_hash == h))
    if row is None or row.revoked_at is not None:
        return False
    if application_id is not None and row.application_id != application_id:
        raise OAuthError("unauthorized_client", "You are not authorized to revoke this token", 403)
    row.revoked_at = datetime.now(timezone.utc)
    await tx.session.flush()
    tx.emit(TokenRevoked(token_hash=h, user_id=row.user_id))
    return True


async def issue_cli_token(tx: Tx, username: str, scopes: list[str]) -> str:
    """A token for a local user, made by an operator on the command line.

    The tokens belong to one built-in application so that they show up (and can be
    revoked) like any other app's tokens.
    """
    row = (
        await tx.session.execute(
            select(User, Account)
            .join(Account, Account.id == User.account_id)
            .where(Account.username_lower == username.lstrip("@").lower(), Account.domain_key == "")
        )
    ).first()
    if row is None:
        raise Invalid(f"no local user @{username.lstrip('@')}")
    problem = sign_in_problem(row[0], row[1])
    if problem:
        raise Invalid(f"@{row[1].username} may not get tokens: {problem}")
    app = await tx.session.scalar(select(Application).where(Application.client_id == CLI_CLIENT_ID))
    if app is None:
        app = await create_application(
            tx, name=CLI_APP_NAME, redirect_uris=[OOB], scopes=sorted(ALL_SCOPES), website=None, client_id=CLI_CLIENT_ID
        )
    token, _ = await issue_token(tx, application_id=app.id, user_id=row[0].id, scopes=scopes)
    return token


# --- authorization codes and PKCE ------------------------------------------------------


def check_pkce_request(challenge: str | None, method: str | None) -> tuple[str | None, str | None]:
    """Validate PKCE parameters of an authorize request; returns (challenge, method).

    No challenge means no PKCE. A challenge without a method is ``plain`` (RFC 7636 4.3).
    """
    if not challenge:
        return None, None
    method = method or "plain"
    if method not in PKCE_METHODS:
        raise OAuthError("invalid_request", "Transform algorithm not supported (use S256 or plain).")
    if not _PKCE_RE.match(challenge):
        raise OAuthError("invalid_request", "The code challenge must be 43 to 128 unreserved characters.")
    return challenge, method


def pkce_challenge(verifier: str, method: str = "S256") -> str:
    """The challenge a client sends for ``verifier`` (what ``pkce_matches`` checks)."""
    if method == "plain":
        return verifier
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def pkce_matches(verifier: str, challenge: str, method: str | None) -> bool:
    if not _PKCE_RE.match(verifier):
        return False
    computed = pkce_challenge(verifier, method or "plain")
    return secrets.compare_digest(computed.encode(), challenge.encode())


async def create_code(
    tx: Tx, *, application_id: int, user_id: int, redirect_uri: str, scopes: list[str],
    code_challenge: str | None, code_challenge_method: str | None,
) -> str:
    """Issue a single-use authorization code (its sha256 is stored, never the code)."""
    code = secrets.token_urlsafe(32)
    tx.session.add(
        AuthorizationCode(
            code_hash=hash_token(code), application_id=application_id, user_id=user_id, redirect_uri=redirect_uri,
            scopes=" ".join(scopes), code_challenge=code_challenge, code_challenge_method=code_challenge_method,
            expires_at=datetime.now(timezone.utc) + CODE_TTL,
        )
    )
    await tx.session.flush()
    return code


async def redeem_code(
    tx: Tx, client: Client, code: str, redirect_uri: str, verifier: str | None
) -> AuthorizationCode:
    """Check an authorization code and use it up; raises ``invalid_grant`` when it doesn't fit.

    The code must belong to this client, be unused and unexpired, and come with the very
    redirect URI it was issued for. A client that didn't authenticate with its secret
    must prove possession with PKCE. Marking the code used is a conditional UPDATE so
    that two concurrent exchanges can't both succeed, on PostgreSQL too.
    """
    s = tx.session
    row = await s.scalar(select(AuthorizationCode).where(AuthorizationCode.code_hash == hash_token(code)))
    now = datetime.now(timezone.utc)
    if row is None or row.application_id != client.app.id or row.used_at is not None or row.expires_at <= now:
        raise invalid_grant()
    if not redirect_uri or redirect_uri != row.redirect_uri:
        raise invalid_grant()
    if row.code_challenge:
        if not verifier or not pkce_matches(verifier, row.code_challenge, row.code_challenge_method):
            raise invalid_grant()
    elif not client.authenticated:
        raise invalid_client()
    used: CursorResult[Any] = await s.execute(  # type: ignore[assignment]
        update(AuthorizationCode)
        .where(AuthorizationCode.id == row.id, AuthorizationCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:
        raise invalid_grant()
    return row


async def exchange_code(
    tx: Tx, client: Client, code: str, redirect_uri: str, verifier: str | None
) -> tuple[str, list[str]]:
    """The ``authorization_code`` grant: redeem the code, check the user still may sign
    in, and issue a token with the scopes the user approved."""
    row = await redeem_code(tx, client, code, redirect_uri, verifier)
    await user_for_sign_in(tx.session, row.user_id)
    scopes = row.scopes.split()
    token, _ = await issue_token(tx, application_id=client.app.id, user_id=row.user_id, scopes=scopes)
    return token, scopes
