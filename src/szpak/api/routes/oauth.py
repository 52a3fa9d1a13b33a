"""OAuth 2 as Mastodon does it: authorize (login + consent page), token, revoke, metadata.

Grants: ``authorization_code`` (with PKCE, S256 or plain), ``client_credentials``, and
``password`` (e-mail or username), which older clients still use. Client
authentication: ``client_id``/``client_secret`` in a form or JSON body, or HTTP Basic.
Errors from these endpoints are RFC 6749 JSON: ``{"error": code, "error_description": text}``.

The authorize page can be restyled by the web UI through two hooks on ``app.state``:

``render_authorize(request, *, app, scopes, params, error, status) -> Response``
    Draw the page. ``params`` holds every field the form must post back to
    ``POST /oauth/authorize`` as hidden inputs (including ``csrf``). Offer
    ``login``/``password`` inputs unless a browser session is present and
    ``params`` has no ``force_login``; the buttons are ``decision=approve`` and
    ``decision=deny``. ``app`` is None on errors that are shown instead of redirected.
``session_user(request) -> User | None``
    The user of a logged-in browser session, if any (ignored under ``force_login``).

Every form post must carry the ``csrf`` value that matches the cookie set with the
page (double-submit), so another site can't make a logged-in browser approve an app.
"""

from __future__ import annotations

import base64
import html
import inspect
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from szpak.api.deps import current_ctx, Viewer, require
from szpak.api.errors import APIError
from szpak.api.params import read_params
from szpak.api.responses import JSON
from szpak.domain import oauth
from szpak.domain.context import Context
from szpak.domain.oauth import Client, OAuthError
from szpak.storage.models import Account, Application, User
from szpak.web.ratelimit import LoginGuard

router = APIRouter()

CSRF_COOKIE = "szpak_oauth_csrf"
#: Responses that carry credentials must not be cached (RFC 6749 5.1) or framed.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
PAGE_HEADERS = {
    **NO_STORE,
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


class Throttled(OAuthError):
    """Too many failed log-ins from this address (for this login)."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(
            "too_many_requests", f"Too many failed log-in attempts. Try again in {self.retry_after} seconds.", 429
        )


def oauth_error(status: int, error: str, description: str, headers: dict[str, str] | None = None) -> JSON:
    headers = {**NO_STORE, **(headers or {})}
    if error == "invalid_client":
        headers["WWW-Authenticate"] = 'Basic realm="Szpak"'
    return JSON({"error": error, "error_description": description}, status_code=status, headers=headers)


def _from(exc: OAuthError) -> JSON:
    extra = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Throttled) else None
    return oauth_error(exc.status_code, exc.error, exc.message, extra)


def _text(params: dict[str, Any], key: str) -> str:
    """A parameter as text; anything that isn't a string (a JSON list, a number) is ''."""
    value = params.get(key)
    return value if isinstance(value, str) else ""


async def _params(request: Request) -> dict[str, Any]:
    try:
        return await read_params(request)
    except APIError as exc:
        raise OAuthError("invalid_request", exc.message) from None


def client_credentials(request: Request, params: dict[str, Any]) -> tuple[Any, Any]:
    """(client_id, client_secret) from HTTP Basic (RFC 6749 2.3.1) or the body."""
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("basic "):
        return params.get("client_id"), params.get("client_secret")
    try:
        decoded = base64.b64decode(auth[6:].strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise oauth.invalid_client() from None
    raw_id, sep, raw_secret = decoded.partition(":")
    if not sep:
        raise oauth.invalid_client()
    client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
    body_id = params.get("client_id")
    if body_id not in (None, "", client_id):
        raise oauth.invalid_client()
    return client_id, secret


async def _client(ctx: Context, request: Request, params: dict[str, Any]) -> Client:
    client_id, secret = client_credentials(request, params)
    async with ctx.read() as s:
        return await oauth.find_client(s, client_id, secret)


def _token_response(token: str, scopes: list[str]) -> JSON:
    return JSON(
        {
            "access_token": token,
            "token_type": "Bearer",
            "scope": " ".join(scopes),
            "created_at": int(datetime.now(timezone.utc).timestamp()),
        },
        headers=NO_STORE,
    )


def login_guard(request: Request) -> LoginGuard:
    """The per-process limiter of failed log-ins, shared with the web UI's log-in form
    when it uses ``app.state.login_guard`` too, so that no door is left unthrottled."""
    guard = getattr(request.app.state, "login_guard", None)
    if guard is None:
        guard = request.app.state.login_guard = LoginGuard()
    return guard


async def check_login(ctx: Context, request: Request, login: str, password: str) -> User:
    """``oauth.authenticate``, throttled per client address and login."""
    guard = login_guard(request)
    address = request.client.host if request.client else ""
    wait = guard.retry_after(address, login)
    if wait > 0:
        raise Throttled(wait)
    try:
        async with ctx.read() as s:
            user = await oauth.authenticate(s, login, password)
    except OAuthError:
        guard.failed(address, login)
        raise
    guard.succeeded(address, login)
    return user


async def _grant(ctx: Context, request: Request, client: Client, params: dict[str, Any]) -> JSON:
    grant = _text(params, "grant_type")
    if grant == "authorization_code":
        code = _text(params, "code")
        if not code:
            raise OAuthError("invalid_request", "The request is missing a required parameter: code.")
        async with ctx.tx() as tx:
            token, scopes = await oauth.exchange_code(
                tx, client, code, _text(params, "redirect_uri"), _text(params, "code_verifier") or None
            )
        return _token_response(token, scopes)
    if grant in ("password", "client_credentials"):
        if not client.authenticated:
            raise oauth.invalid_client()
        scopes = oauth.requested_scopes(params.get("scope") or params.get("scopes"), client.app)
        user_id = None
        if grant == "password":
            user = await check_login(ctx, request, _text(params, "username"), _text(params, "password"))
            user_id = user.id
        async with ctx.tx() as tx:
            token, _ = await oauth.issue_token(tx, application_id=client.app.id, user_id=user_id, scopes=scopes)
        return _token_response(token, scopes)
    if not grant:
        raise OAuthError("invalid_request", "The request is missing a required parameter: grant_type.")
    raise OAuthError(
        "unsupported_grant_type", "The authorization grant type is not supported by the authorization server."
    )


@router.post("/oauth/token")
async def token(request: Request, ctx: Context = Depends(current_ctx)) -> Any:
    try:
        params = await _params(request)
        client = await _client(ctx, request, params)
        return await _grant(ctx, request, client, params)
    except OAuthError as exc:
        return _from(exc)


@router.post("/oauth/revoke")
async def revoke(request: Request, ctx: Context = Depends(current_ctx)) -> Any:
    """RFC 7009: revoke a token issued to this client; unknown tokens are no error."""
    try:
        params = await _params(request)
        client = await _client(ctx, request, params)
        tok = _text(params, "token")
        if not tok:
            raise OAuthError("invalid_request", "The request is missing a required parameter: token.")
        async with ctx.tx() as tx:
            await oauth.revoke_token(tx, tok, application_id=client.app.id)
    except OAuthError as exc:
        return _from(exc)
    return JSON({}, headers=NO_STORE)


@router.get("/oauth/userinfo")
async def userinfo(
    request: Request, viewer: Viewer = require("profile", "read:accounts"), ctx: Context = Depends(current_ctx)
) -> Any:
    """OpenID Connect claims about the token's user (Mastodon 4.4)."""
    async with ctx.read() as s:
        account = await viewer.account(s)
    rendered = request.app.state.renderer.account(account)
    return {
        "iss": f"{ctx.settings.base_url}/",
        "sub": rendered["uri"],
        "name": account.display_name or account.username,
        "preferred_username": account.username,
        "profile": rendered["url"],
        "picture": rendered["avatar"],
    }


@router.get("/.well-known/oauth-authorization-server")
async def metadata(request: Request) -> Any:
    base = request.app.state.settings.base_url
    return {
        "issuer": f"{base}/",
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "userinfo_endpoint": f"{base}/oauth/userinfo",
        "app_registration_endpoint": f"{base}/api/v1/apps",
        "scopes_supported": sorted(oauth.ALL_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": list(oauth.PKCE_METHODS),
        "grant_types_supported": ["authorization_code", "password", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
    }


# --- the authorize page ------------------------------------------------------------------


class PageError(Exception):
    """A problem with the client or redirect URI: shown to the user, never redirected
    (RFC 6749 4.1.2.1), since the redirect target itself can't be trusted."""


@dataclass(frozen=True)
class AuthorizeRequest:
    app: Application
    redirect_uri: str
    state: str
    lang: str
    force_login: bool


@dataclass(frozen=True)
class Grant:
    """What the user is asked to approve: scopes and the PKCE challenge."""

    scopes: list[str]
    challenge: str | None
    method: str | None


def _truthy(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on")


async def _authorize_target(ctx: Context, params: dict[str, Any], default_lang: str) -> AuthorizeRequest:
    """The client and the redirect URI; raises PageError when either is wrong."""
    client_id = _text(params, "client_id")
    app = None
    if client_id and len(client_id) <= 64:
        async with ctx.read() as s:
            app = await s.scalar(select(Application).where(Application.client_id == client_id))
    if app is None:
        raise PageError("Client authentication failed due to unknown client.")
    uris = app.redirect_uris.split("\n")
    redirect_uri = _text(params, "redirect_uri")
    if not redirect_uri and len(uris) == 1:
        redirect_uri = uris[0]  # RFC 6749 3.1.2.3: may be omitted when only one is registered
    if redirect_uri not in uris:
        raise PageError("The redirect URI included is not valid.")
    lang = _text(params, "lang")
    return AuthorizeRequest(
        app=app, redirect_uri=redirect_uri, state=_text(params, "state"),
        lang=lang if lang in ("pl", "en") else default_lang, force_login=_truthy(params.get("force_login")),
    )


def _authorize_grant(target: AuthorizeRequest, params: dict[str, Any]) -> Grant:
    """Response type, scopes and PKCE; raises OAuthError, which goes back to the client."""
    response_type = _text(params, "response_type")
    if not response_type:
        raise OAuthError("invalid_request", "The request is missing a required parameter: response_type.")
    if response_type != "code":
        raise OAuthError(
            "unsupported_response_type", "The authorization server does not support this response type."
        )
    scopes = oauth.requested_scopes(params.get("scope") or params.get("scopes"), target.app)
    challenge, method = oauth.check_pkce_request(
        _text(params, "code_challenge") or None, _text(params, "code_challenge_method") or None
    )
    return Grant(scopes, challenge, method)


def _hidden(target: AuthorizeRequest, grant: Grant, csrf: str) -> dict[str, str]:
    """The fields the consent form posts back, normalised after validation."""
    fields = {
        "response_type": "code",
        "client_id": target.app.client_id,
        "redirect_uri": target.redirect_uri,
        "scope": " ".join(grant.scopes),
        "state": target.state,
        "code_challenge": grant.challenge or "",
        "code_challenge_method": grant.method or "",
        "force_login": "true" if target.force_login else "",
        "lang": target.lang,
        "csrf": csrf,
    }
    return {k: v for k, v in fields.items() if v}


def _with_query(uri: str, values: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(values.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _redirect(target: AuthorizeRequest, values: dict[str, str]) -> RedirectResponse:
    if target.state:
        values = {**values, "state": target.state}
    return RedirectResponse(_with_query(target.redirect_uri, values), status_code=302, headers=PAGE_HEADERS)


TEXTS = {
    "pl": {
        "title": "Autoryzacja aplikacji",
        "wants": "chce uzyskać dostęp do Twojego konta:",
        "login": "E-mail lub nazwa użytkownika",
        "password": "Hasło",
        "approve": "Zezwól",
        "deny": "Odmów",
        "as": "Zalogowano jako",
        "code": "Skopiuj ten kod do aplikacji:",
        "denied": "Odmówiono dostępu.",
        "bad_login": "Nieprawidłowy e-mail, nazwa użytkownika lub hasło.",
        "expired": "Formularz wygasł. Spróbuj ponownie.",
    },
    "en": {
        "title": "Authorize application",
        "wants": "would like to access your account:",
        "login": "E-mail or username",
        "password": "Password",
        "approve": "Authorize",
        "deny": "Deny",
        "as": "Signed in as",
        "code": "Copy this code into the application:",
        "denied": "Access denied.",
        "bad_login": "Invalid e-mail address, username or password.",
        "expired": "This form has expired. Please try again.",
    },
}


def _texts(lang: str) -> dict[str, str]:
    return TEXTS.get(lang, TEXTS["pl"])


def _default_page(
    app: Application | None, scopes: list[str], params: dict[str, str], error: str | None, signed_in_as: str | None
) -> str:
    t = _texts(params.get("lang", "pl"))
    esc = html.escape
    hidden = "".join(f'<input type="hidden" name="{esc(k)}" value="{esc(v, quote=True)}">' for k, v in params.items())
    parts = [
        f'<!doctype html><html lang="{esc(params.get("lang", "pl"))}"><head><meta charset="utf-8">',
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>Szpak: {esc(t["title"])}</title>',
        f"</head><body><main><h1>{esc(t['title'])}</h1>",
    ]
    if error:
        parts.append(f'<p role="alert">{esc(error)}</p>')
    if app is not None:
        items = "".join(f"<li><code>{esc(s)}</code></li>" for s in scopes)
        parts.append(f"<p><strong>{esc(app.name)}</strong> {esc(t['wants'])}</p><ul>{items}</ul>")
        parts.append(f'<form method="post" action="/oauth/authorize">{hidden}')
        if signed_in_as:
            parts.append(f"<p>{esc(t['as'])} <strong>@{esc(signed_in_as)}</strong></p>")
        else:
            parts.append(
                f'<p><label>{esc(t["login"])} <input name="login" autocomplete="username" required></label></p>'
                f'<p><label>{esc(t["password"])} <input type="password" name="password" '
                'autocomplete="current-password" required></label></p>'
            )
        parts.append(
            f'<button type="submit" name="decision" value="approve">{esc(t["approve"])}</button> '
            f'<button type="submit" name="decision" value="deny" formnovalidate>{esc(t["deny"])}</button></form>'
        )
    parts.append("</main></body></html>")
    return "".join(parts)


async def _session_user(request: Request, target: AuthorizeRequest | None) -> Any:
    hook = getattr(request.app.state, "session_user", None)
    if hook is None or (target is not None and target.force_login):
        return None
    user = hook(request)
    return await user if inspect.isawaitable(user) else user


async def _page(
    request: Request,
    ctx: Context,
    target: AuthorizeRequest | None,
    grant: Grant | None,
    error: str | None,
    status: int = 200,
) -> Response:
    """The login + consent page (or an error page when ``target`` is None), with a fresh
    CSRF cookie whose value the form posts back."""
    csrf = request.cookies.get(CSRF_COOKIE) or ""
    if len(csrf) < 32:
        csrf = secrets.token_urlsafe(32)
    params = _hidden(target, grant, csrf) if target and grant else {}
    app = target.app if target else None
    scopes = grant.scopes if grant else []
    renderer = getattr(request.app.state, "render_authorize", None)
    if renderer is not None:
        response: Response = renderer(request, app=app, scopes=scopes, params=params, error=error, status=status)
    else:
        user = await _session_user(request, target) if target else None
        signed_in_as = None
        if user is not None:
            async with ctx.read() as s:
                signed_in_as = await s.scalar(select(Account.username).where(Account.id == user.account_id))
        response = HTMLResponse(_default_page(app, scopes, params, error, signed_in_as), status_code=status)
    response.headers.update(PAGE_HEADERS)
    if target is not None:
        response.set_cookie(
            CSRF_COOKIE, csrf, path="/oauth/authorize", httponly=True, samesite="lax",
            secure=ctx.settings.scheme == "https",
        )
    return response


@router.get("/oauth/authorize")
async def authorize_page(request: Request, ctx: Context = Depends(current_ctx)) -> Any:
    params = dict(request.query_params)
    try:
        target = await _authorize_target(ctx, params, ctx.settings.default_locale)
    except PageError as exc:
        return await _page(request, ctx, None, None, str(exc), status=400)
    try:
        grant = _authorize_grant(target, params)
    except OAuthError as exc:
        return await _refuse(request, ctx, target, exc)
    return await _page(request, ctx, target, grant, None)


async def _refuse(request: Request, ctx: Context, target: AuthorizeRequest, exc: OAuthError) -> Response:
    """Send an error back to the client, or show it when there is nowhere to send it."""
    if target.redirect_uri == oauth.OOB:
        return await _page(request, ctx, None, None, exc.message, status=400)
    return _redirect(target, {"error": exc.error, "error_description": exc.message})


async def _signing_in_user(ctx: Context, request: Request, target: AuthorizeRequest, params: dict[str, Any]) -> User:
    """The user approving: from the posted credentials, else from the browser session."""
    login, password = _text(params, "login"), _text(params, "password")
    if login or password:
        return await check_login(ctx, request, login, password)
    async with ctx.read() as s:
        user = await _session_user(request, target)
        if user is None:
            raise oauth.invalid_grant(_texts(target.lang)["bad_login"])
        return await oauth.user_for_sign_in(s, user.id)


@router.post("/oauth/authorize")
async def authorize_submit(request: Request, ctx: Context = Depends(current_ctx)) -> Any:
    try:
        params = await _params(request)
        target = await _authorize_target(ctx, params, ctx.settings.default_locale)
    except (PageError, OAuthError) as exc:
        return await _page(request, ctx, None, None, str(exc), status=400)
    try:
        grant = _authorize_grant(target, params)
    except OAuthError as exc:
        return await _refuse(request, ctx, target, exc)
    cookie = request.cookies.get(CSRF_COOKIE) or ""
    posted = _text(params, "csrf")
    if not cookie or not posted or not secrets.compare_digest(cookie.encode(), posted.encode()):
        return await _page(request, ctx, target, grant, _texts(target.lang)["expired"], status=403)
    if _text(params, "decision") == "deny":
        if target.redirect_uri == oauth.OOB:
            return await _page(request, ctx, None, None, _texts(target.lang)["denied"], status=403)
        denied = {"error": "access_denied", "error_description": "The resource owner denied the request."}
        return _redirect(target, denied)
    try:
        user = await _signing_in_user(ctx, request, target, params)
    except OAuthError as exc:
        return await _page(request, ctx, target, grant, exc.message, status=429 if exc.status_code == 429 else 401)
    async with ctx.tx() as tx:
        code = await oauth.create_code(
            tx, application_id=target.app.id, user_id=user.id, redirect_uri=target.redirect_uri, scopes=grant.scopes,
            code_challenge=grant.challenge, code_challenge_method=grant.method,
        )
    if target.redirect_uri == oauth.OOB:
        return _code_page(target, code)
    return _redirect(target, {"code": code})


def _code_page(target: AuthorizeRequest, code: str) -> HTMLResponse:
    t = _texts(target.lang)
    body = (
        f'<!doctype html><html lang="{target.lang}"><head><meta charset="utf-8"><title>Szpak</title></head>'
        f'<body><main><p>{html.escape(t["code"])}</p>'
        f'<p><code id="code">{html.escape(code)}</code></p></main></body></html>'
    )
    return HTMLResponse(body, headers=PAGE_HEADERS)
