"""Request dependencies: the Context, and who is calling with which scopes.

Access tokens are looked up by their sha256 and cached per process for a short
time; a revoked token is dropped from every process's cache through the bus
(``TokenRevoked``), so revocation takes effect at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.api.errors import APIError, forbidden_scope, unauthorized
from szpak.domain.context import Context, Tx
from szpak.domain.errors import NotFound
from szpak.domain.events import AccountUpdated, Event, TokenRevoked
from szpak.domain.oauth import hash_token, scope_allows
from szpak.storage.models import AccessToken, Account, User


@dataclass(frozen=True)
class Viewer:
    """The caller: a token, and (unless it is an app-only token) a user and account."""

    token_hash: str
    token_id: int
    application_id: int | None
    user_id: int | None
    account_id: int | None
    scopes: frozenset[str]
    role: str = "user"

    def allows(self, scope: str) -> bool:
        return scope_allows(self.scopes, scope)

    @property
    def is_admin(self) -> bool:
        return self.role in ("admin", "owner")

    @property
    def is_moderator(self) -> bool:
        return self.role in ("moderator", "admin", "owner")

    async def account(self, session: AsyncSession) -> Account:
        return _found(await session.get(Account, self._own_account_id()))

    async def account_in(self, tx: Tx) -> Account:
        """:meth:`account` in a write transaction, without building its session (``Tx.get``)."""
        return _found(await tx.get(Account, self._own_account_id()))

    def _own_account_id(self) -> int:
        if self.account_id is None:
            raise APIError(422, "This method requires an authenticated user")
        return self.account_id


def _found(account: Account | None) -> Account:
    if account is None:
        raise NotFound()
    return account


class TokenCache:
    TTL = 30.0

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Viewer]] = {}

    def get(self, token_hash: str) -> Viewer | None:
        hit = self._entries.get(token_hash)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, viewer: Viewer) -> None:
        if len(self._entries) > 50_000:
            self._entries.clear()
        self._entries[viewer.token_hash] = (time.monotonic() + self.TTL, viewer)

    def drop(self, token_hash: str) -> None:
        self._entries.pop(token_hash, None)

    def drop_account(self, account_id: int) -> None:
        for key, (_, viewer) in list(self._entries.items()):
            if viewer.account_id == account_id:
                self._entries.pop(key, None)

    async def on_event(self, event: Event) -> None:
        if isinstance(event, TokenRevoked):
            self.drop(event.token_hash)
        elif isinstance(event, AccountUpdated):
            self.drop_account(event.account_id)


def get_ctx(request: Request) -> Context:
    return request.app.state.ctx  # type: ignore[no-any-return]


async def current_ctx(request: Request) -> Context:
    """``Depends(current_ctx)``: the same as :func:`get_ctx`, but async, because FastAPI
    runs a plain-function dependency on a thread pool, which costs more than the request."""
    return request.app.state.ctx  # type: ignore[no-any-return]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return None
    return request.query_params.get("access_token") or None


async def lookup_token(ctx: Context, cache: TokenCache, token: str) -> Viewer | None:
    h = hash_token(token)
    cached = cache.get(h)
    if cached is not None:
        return cached
    async with ctx.read() as session:
        row = (
            await session.execute(
                select(AccessToken, User.account_id, User.role, User.disabled, User.approved, Account.suspended_at)
                .outerjoin(User, User.id == AccessToken.user_id)
                .outerjoin(Account, Account.id == User.account_id)
                .where(AccessToken.token_hash == h, AccessToken.revoked_at.is_(None))
            )
        ).first()
    if row is None:
        return None
    tok, account_id, role, disabled, approved, suspended_at = row
    if tok.user_id is not None and (disabled or suspended_at is not None):
        return None
    if tok.user_id is not None and not approved:
        # As Mastodon: the token is real, but the account waits for a moderator.
        raise APIError(403, "Your login is currently pending approval")
    viewer = Viewer(
        token_hash=h, token_id=tok.id, application_id=tok.application_id, user_id=tok.user_id,
        account_id=account_id, scopes=frozenset(tok.scopes.split()), role=role or "user",
    )
    cache.put(viewer)
    return viewer


async def optional_viewer(request: Request) -> Viewer | None:
    token = bearer_token(request)
    if token is None:
        return None
    viewer = await lookup_token(get_ctx(request), request.app.state.token_cache, token)
    if viewer is None:
        raise unauthorized()
    return viewer


def require(*scopes: str, user: bool = True) -> Any:
    """Dependency: a valid token holding any one of ``scopes`` (and a user, unless ``user=False``)."""

    # Takes the request itself rather than ``Depends(optional_viewer)``: one dependency to
    # solve per request instead of two (docs/performance.md); same checks, same order.
    async def dependency(request: Request) -> Viewer:
        viewer = await optional_viewer(request)
        if viewer is None:
            raise unauthorized("The access token is invalid")
        if scopes and not any(viewer.allows(s) for s in scopes):
            raise forbidden_scope()
        if user and viewer.account_id is None:
            raise APIError(422, "This method requires an authenticated user")
        return viewer

    return Depends(dependency)


def maybe(*scopes: str) -> Any:
    """Dependency for public reads: anonymous is fine; a token, if given, must be valid and scoped."""

    async def dependency(request: Request) -> Viewer | None:
        viewer = await optional_viewer(request)
        if viewer is not None and scopes and not any(viewer.allows(s) for s in scopes):
            raise forbidden_scope()
        return viewer

    return Depends(dependency)


def viewer_account_id(viewer: Viewer | None) -> int | None:
    return viewer.account_id if viewer is not None else None


def own_id(viewer: Viewer) -> int:
    """The signed-in viewer's account id, for routes behind ``require()`` (which insists on a user)."""
    assert viewer.account_id is not None
    return viewer.account_id


def parse_id(raw: Any) -> int:
    """Path ids are decimal strings; anything else is simply not found."""
    try:
        value = int(str(raw))
    except (TypeError, ValueError):
        raise NotFound() from None
    if value <= 0 or value >= 2**63:
        raise NotFound()
    return value
