"""Who is looking at a page: the browser session, CSRF, language and time zone.

Cookies (all ``HttpOnly`` and ``SameSite=Lax``, ``Secure`` under https):

- ``szpak_session``: a random key; the database keeps its sha256 (``web_sessions``).
- ``szpak_anon``: a random key for visitors who are not logged in, so that the
  log-in and sign-up forms have a CSRF token too (log-in CSRF is a real attack).
- ``szpak_lang``: the language picked with the switcher.
- ``szpak_tz``: the reader's time zone, set by the page script (dates are shown in it).

The CSRF token of a form is an HMAC of the session (or anonymous) key, so it needs
no storage and changes when the user logs in or out. The page scripts' access
token is an HMAC of the session key as well, so it can be embedded in every page
without being stored anywhere.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from sqlalchemy import Select, String, bindparam, exists, select
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import FormData
from starlette.responses import Response

from szpak.domain import web_sessions
from szpak.domain.context import Context, Tx
from szpak.domain.errors import NotFound
from szpak.domain.events import AccountUpdated, Event, TokenRevoked
from szpak.domain.oauth import hash_token
from szpak.storage.models import AccessToken, Account, User, WebSession
from szpak.storage.models.listening import OrganisationMember
from szpak.storage.models.base import UTCDateTime
from szpak.web.i18n import LANGUAGES, Formatter, formatter, negotiate, valid_timezone
from szpak.web.keys import Keys, sha256_hex
from szpak.web.ratelimit import LoginGuard

SESSION_COOKIE = "szpak_session"
ANON_COOKIE = "szpak_anon"
LANG_COOKIE = "szpak_lang"
TZ_COOKIE = "szpak_tz"
YEAR = 365 * 24 * 3600


class CsrfError(Exception):
    """A form came without a valid token (or from another site)."""


class SessionCache:
    """Recently seen sessions, so that a page does not load its user and account every time.

    The same bargain as the API's token cache: an entry lives at most ``TTL`` seconds and
    is dropped at once, in every process, when the bus says its token was revoked (log
    out, a password change elsewhere) or its account changed (profile, suspension)."""

    TTL = 30.0

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, capacity: int = 50_000) -> None:
        self.clock = clock
        self.capacity = capacity
        self._entries: dict[str, tuple[float, str, User, Account, datetime, bool]] = {}

    def get(self, key_hash: str, now: datetime) -> tuple[User, Account, bool] | None:
        """(user, account, whether the account belongs to an organisation), or None."""
        hit = self._entries.get(key_hash)
        if hit is None or hit[0] < self.clock() or hit[4] <= now:
            return None
        return hit[2], hit[3], hit[5]

    def put(
        self, key_hash: str, token_hash: str, user: User, account: Account, expires_at: datetime, *, member: bool = False
    ) -> None:
        if len(self._entries) >= self.capacity:
            self._entries.clear()
        self._entries[key_hash] = (self.clock() + self.TTL, token_hash, user, account, expires_at, member)

    def drop(self, key_hash: str) -> None:
        self._entries.pop(key_hash, None)

    def on_event(self, event: Event) -> None:
        if isinstance(event, TokenRevoked):
            stale = [k for k, e in self._entries.items() if e[1] == event.token_hash]
        elif isinstance(event, AccountUpdated):
            stale = [k for k, e in self._entries.items() if e[3].id == event.account_id]
        else:
            return
        for key in stale:
            self._entries.pop(key, None)


@dataclass
class WebState:
    """What the web UI keeps per application: keys, the log-in guard, the web app's id."""

    keys: Keys
    guard: LoginGuard = field(default_factory=LoginGuard)
    sessions: SessionCache = field(default_factory=SessionCache)
    web_app_id: int | None = None
    #: Whether the server takes uploads (``POST /api/v2/media``); found on the first page.
    media_uploads: bool | None = None
    #: The reader's rendered Account entity per account id, with the object it was rendered from (render.py).
    me: dict[int, tuple[Any, Any, Any]] = field(default_factory=dict)


@dataclass
class SignedIn:
    key: str
    key_hash: str
    user: User
    account: Account
    token: str
    #: Whether the account belongs to some organisation (the navigation links its listening page).
    member: bool = False


@dataclass
class Visitor:
    """One request's reader. ``set_cookies`` must be applied to the response."""

    signed_in: SignedIn | None
    lang: str
    tz: str
    csrf: str
    fmt: Formatter
    set_cookies: list[tuple[str, str, int | None]] = field(default_factory=list)

    @property
    def user(self) -> User | None:
        return self.signed_in.user if self.signed_in else None

    @property
    def account(self) -> Account | None:
        return self.signed_in.account if self.signed_in else None

    @property
    def account_id(self) -> int | None:
        return self.signed_in.account.id if self.signed_in else None


async def acting_account(tx: Tx, v: Visitor) -> Account:
    """The reader's account loaded in this transaction, for domain actions: the copy on the
    visitor may be a few seconds old (``SessionCache``) and is shared by concurrent requests."""
    account = await tx.session.get(Account, v.account_id) if v.account_id is not None else None
    if account is None:
        raise NotFound()
    return account


def web_state(request: Request) -> WebState:
    return request.app.state.web  # type: ignore[no-any-return]


def get_ctx(request: Request) -> Context:
    return request.app.state.ctx  # type: ignore[no-any-return]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@cache
def _session_statement() -> Select[tuple[User, Account, datetime, bool]]:
    """The user and account of a live session whose token still stands, and whether the
    account belongs to an organisation (built once)."""
    member = exists().where(OrganisationMember.member_id == Account.id)
    return (
        select(User, Account, WebSession.expires_at, member)
        .join(WebSession, WebSession.user_id == User.id)
        .join(Account, Account.id == User.account_id)
        .join(AccessToken, AccessToken.id == WebSession.token_id)
        .where(
            WebSession.key_hash == bindparam("key_hash", type_=String),
            WebSession.expires_at > bindparam("now", type_=UTCDateTime()),
            AccessToken.revoked_at.is_(None),
        )
    )


async def _load_signed_in(request: Request, keys: Keys, key: str) -> SignedIn | None:
    key_hash = sha256_hex(key)
    token = keys.derive("token", key)
    cache = web_state(request).sessions
    now = datetime.now(timezone.utc)
    hit = cache.get(key_hash, now)
    if hit is None:
        async with get_ctx(request).read() as s:
            row = (await s.execute(_session_statement(), {"key_hash": key_hash, "now": now})).first()
        if row is None:
            return None
        user, account, expires_at, member = row
        cache.put(key_hash, hash_token(token), user, account, expires_at, member=bool(member))
    else:
        user, account, member = hit
    if user.disabled or not user.approved or account.suspended_at is not None:
        return None
    return SignedIn(key=key, key_hash=key_hash, user=user, account=account, token=token, member=bool(member))


async def visitor(request: Request) -> Visitor:
    """The reader of this request (cached on the request, so hooks and routes share it)."""
    cached = getattr(request.state, "web_visitor", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    keys = web_state(request).keys
    settings = get_ctx(request).settings
    key = request.cookies.get(SESSION_COOKIE) or ""
    signed_in = await _load_signed_in(request, keys, key) if 20 <= len(key) <= 100 else None
    cookies: list[tuple[str, str, int | None]] = []
    if signed_in is not None:
        seed = "s:" + signed_in.key
    else:
        anon = request.cookies.get(ANON_COOKIE) or ""
        if not 20 <= len(anon) <= 100:
            anon = secrets.token_urlsafe(32)
            cookies.append((ANON_COOKIE, anon, None))
        seed = "a:" + anon
        if key:  # a stale session cookie: forget it
            cookies.append((SESSION_COOKIE, "", 0))
    lang = choose_language(request, signed_in.user if signed_in else None, settings.default_locale)
    tz = valid_timezone(request.cookies.get(TZ_COOKIE))
    v = Visitor(signed_in, lang, tz, keys.derive("csrf", seed), formatter(lang, tz), cookies)
    request.state.web_visitor = v
    return v


def choose_language(request: Request, user: User | None, default: str) -> str:
    """The switcher's choice, then the account's saved language, then ``Accept-Language``."""
    picked = request.cookies.get(LANG_COOKIE)
    if picked in LANGUAGES:
        return picked  # type: ignore[return-value]
    if user is not None and user.locale in LANGUAGES:
        return user.locale
    return negotiate(request.headers.get("accept-language"), default)


def apply_cookies(request: Request, response: Response, v: Visitor) -> None:
    secure = get_ctx(request).settings.scheme == "https"
    for name, value, max_age in v.set_cookies:
        if max_age == 0:
            response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="lax")
        else:
            response.set_cookie(
                name, value, max_age=max_age, path="/", secure=secure, httponly=True, samesite="lax"
            )


def _same_origin(request: Request) -> bool:
    """Browsers send ``Origin`` on POST; when they do it must be this site."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return origin != "null" and urlsplit(origin).netloc.lower() == (request.headers.get("host") or "").lower()


async def check_csrf(request: Request, form: FormData | dict[str, Any]) -> Visitor:
    v = await visitor(request)
    token = form.get("csrf_token")
    if not isinstance(token, str) or not secrets.compare_digest(token, v.csrf) or not _same_origin(request):
        raise CsrfError()
    return v


async def web_app_id(request: Request) -> int:
    """The id of the built-in "Szpak Web" application, created on first use."""
    state = web_state(request)
    if state.web_app_id is not None:
        return state.web_app_id
    ctx = get_ctx(request)
    client_id = state.keys.derive("web-client-id")[:43]
    for attempt in range(2):
        try:
            async with ctx.tx() as tx:
                app = await web_sessions.web_application(tx, client_id=client_id, website=ctx.settings.base_url)
            break
        except IntegrityError:  # another process created it at the same moment: read theirs
            if attempt:
                raise
    state.web_app_id = app.id
    return app.id


async def log_in(request: Request, user: User) -> str:
    """Open a session for ``user``; returns the cookie value (``remember`` sets the cookie)."""
    keys = web_state(request).keys
    app_id = await web_app_id(request)
    key = secrets.token_urlsafe(32)
    async with get_ctx(request).tx() as tx:
        await web_sessions.open_session(
            tx, user_id=user.id, application_id=app_id, key_hash=sha256_hex(key),
            token_hash=hash_token(keys.derive("token", key)),
            user_agent=request.headers.get("user-agent", ""),
        )
    return key


def remember(request: Request, response: Response, key: str) -> None:
    secure = get_ctx(request).settings.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE, key, max_age=int(web_sessions.SESSION_TTL.total_seconds()), path="/",
        secure=secure, httponly=True, samesite="lax",
    )


async def log_out(request: Request, response: Response) -> None:
    key = request.cookies.get(SESSION_COOKIE)
    if key:
        web_state(request).sessions.drop(sha256_hex(key))
        async with get_ctx(request).tx() as tx:
            await web_sessions.close_session(tx, sha256_hex(key))
    secure = get_ctx(request).settings.scheme == "https"
    response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="lax")
