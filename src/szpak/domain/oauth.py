"""OAuth 2 actions: register applications, issue and revoke tokens, authorization codes.

Scopes follow Mastodon: the top-level ``read``, ``write``, ``follow``, ``push``,
``profile`` and ``admin:read``/``admin:write``, and granular ones such as
``read:statuses``. A granted top-level scope covers all its granular ones;
``follow`` covers the block, follow and mute scopes.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update

from szpak.domain.context import Tx
from szpak.domain.errors import Invalid
from szpak.domain.events import TokenRevoked
from szpak.storage.models import AccessToken, Application, AuthorizationCode

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
OOB = "urn:ietf:wg:oauth:2.0:oob"
CODE_TTL = timedelta(minutes=10)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_scopes(raw: str | list[str] | None, default: str = "read") -> list[str]:
    """Split and validate a scope string; raises Invalid on an unknown scope."""
    if raw is None or raw == "" or raw == []:
        raw = default
    parts = raw if isinstance(raw, list) else raw.replace(",", " ").split()
    scopes: list[str] = []
    for part in parts:
        for p in part.split():
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


def valid_redirect_uri(uri: str) -> bool:
    if uri == OOB:
        return True
    if any(c.isspace() for c in uri) or ":" not in uri:
        return False
    scheme = uri.split(":", 1)[0]
    # http(s) or a custom app scheme (``myapp://callback``), as Mastodon allows.
    return bool(scheme) and scheme.replace("+", "").replace("-", "").replace(".", "").isalnum() and scheme.lower() not in (
        "javascript", "data", "vbscript", "file"
    )


async def create_application(
    tx: Tx, *, name: str, redirect_uris: list[str], scopes: list[str], website: str | None
) -> Application:
    name = (name or "").strip()
    if not name:
        raise Invalid("Validation failed: Application name can't be blank")
    if len(name) > 60:
        raise Invalid("Validation failed: Application name is too long (maximum is 60 characters)")
    if not redirect_uris:
        raise Invalid("Validation failed: Redirect URI can't be blank")
    for uri in redirect_uris:
        if not valid_redirect_uri(uri) or len(uri) > 2000:
            raise Invalid("Validation failed: Redirect URI must be an absolute URI.")
    if website and len(website) > 2000:
        raise Invalid("Validation failed: Website is too long")
    app = Application(
        name=name,
        website=website or None,
        redirect_uris="\n".join(redirect_uris),
        scopes=" ".join(scopes),
        client_id=secrets.token_urlsafe(32),
        client_secret=secrets.token_urlsafe(32),
    )
    tx.session.add(app)
    await tx.session.flush()
    return app


async def issue_token(tx: Tx, *, application_id: int | None, user_id: int | None, scopes: list[str]) -> tuple[str, AccessToken]:
    """Create an access token; returns (the bearer string, its row). The string is not stored."""
    token = secrets.token_urlsafe(32)
    row = AccessToken(
        token_hash=hash_token(token), application_id=application_id, user_id=user_id, scopes=" ".join(scopes)
    )
    tx.session.add(row)
    await tx.session.flush()
    return token, row


async def revoke_token(tx: Tx, token: str, *, application_id: int | None = None) -> bool:
    h = hash_token(token)
    q = update(AccessToken).where(AccessToken.token_hash == h, AccessToken.revoked_at.is_(None))
    if application_id is not None:
        q = q.where(AccessToken.application_id == application_id)
    res = await tx.session.execute(q.values(revoked_at=datetime.now(timezone.utc)))
    tx.emit(TokenRevoked(token_hash=h))
    return bool(res.rowcount)


async def create_code(
    tx: Tx, *, application_id: int, user_id: int, redirect_uri: str, scopes: list[str],
    code_challenge: str | None, code_challenge_method: str | None,
) -> str:
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


def pkce_matches(verifier: str, challenge: str, method: str | None) -> bool:
    if (method or "plain").upper() == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        return secrets.compare_digest(computed, challenge)
    return secrets.compare_digest(verifier, challenge)


async def redeem_code(tx: Tx, app: Application, code: str, redirect_uri: str, verifier: str | None) -> AuthorizationCode:
    """Check and use up an authorization code; raises Invalid('invalid_grant') when it doesn't fit."""
    row = await tx.session.scalar(select(AuthorizationCode).where(AuthorizationCode.code_hash == hash_token(code)))
    now = datetime.now(timezone.utc)
    if (
        row is None
        or row.application_id != app.id
        or row.used_at is not None
        or row.expires_at < now
        or (redirect_uri and row.redirect_uri != redirect_uri)
    ):
        raise Invalid("invalid_grant")
    if row.code_challenge:
        if not verifier or not pkce_matches(verifier, row.code_challenge, row.code_challenge_method):
            raise Invalid("invalid_grant")
    row.used_at = now
    return row
