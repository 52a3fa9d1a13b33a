"""OAuth 2 as Mastodon does it: authorize (login + consent page), token, revoke, metadata.

Grants: ``authorization_code`` (with PKCE), ``client_credentials``, and
``password`` (e-mail or username), which older clients still use.
"""

from __future__ import annotations

import base64
import html
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from szpak.api.responses import JSON
from sqlalchemy import func, or_, select

from szpak.api.deps import get_ctx
from szpak.api.params import read_params
from szpak.domain import oauth
from szpak.domain.context import Context
from szpak.domain.errors import Invalid
from szpak.domain.passwords import verify_password
from szpak.storage.models import Account, Application, User

router = APIRouter()


def oauth_error(status: int, error: str, description: str) -> JSON:
    return JSON({"error": error, "error_description": description}, status_code=status)


async def _client(ctx: Context, request: Request, params: dict[str, Any]) -> Application | None:
    client_id = params.get("client_id")
    client_secret = params.get("client_secret")
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(auth[6:]).decode()
            client_id, _, client_secret = decoded.partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
    if not isinstance(client_id, str) or not client_id:
        return None
    async with ctx.read() as s:
        app = await s.scalar(select(Application).where(Application.client_id == client_id))
    if app is None:
        return None
    if client_secret is not None and client_secret != app.client_secret:
        return None
    app._secret_ok = client_secret is not None  # type: ignore[attr-defined]
    return app


async def authenticate_user(ctx: Context, login: str, password: str) -> User | None:
    """Find a user by e-mail or username and check the password."""
    login = (login or "").strip()
    if not login or not password:
        return None
    async with ctx.read() as s:
        user = await s.scalar(
            select(User)
            .join(Account, Account.id == User.account_id)
            .where(or_(func.lower(User.email) == login.lower(), Account.username_lower == login.lstrip("@").lower()))
        )
        if user is None:
            return None
        suspended = await s.scalar(select(Account.suspended_at).where(Account.id == user.account_id))
    if not verify_password(user.password_hash, password):
        return None
    if user.disabled or suspended is not None:
        return None
    return user


def _token_response(token: str, scopes: list[str]) -> JSON:
    return JSON(
        {
            "access_token": token,
            "token_type": "Bearer",
            "scope": " ".join(scopes),
            "created_at": int(datetime.now(timezone.utc).timestamp()),
        }
    )


@router.post("/oauth/token")
async def token(request: Request, ctx: Context = Depends(get_ctx)) -> Any:
    params = await read_params(request, include_query=False)
    grant = params.get("grant_type")
    app = await _client(ctx, request, params)
    if app is None:
        return oauth_error(401, "invalid_client", "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.")
    app_scopes = app.scopes.split()
    try:
        requested = oauth.parse_scopes(params.get("scope") or params.get("scopes"), default=app_scopes[0] if app_scopes else "read")
    except Invalid:
        return oauth_error(400, "invalid_scope", "The requested scope is invalid, unknown, or malformed.")
    if params.get("scope") is None and params.get("scopes") is None:
        requested = app_scopes
    if not oauth.scopes_subset(requested, app_scopes):
        return oauth_error(400, "invalid_scope", "The requested scope is invalid, unknown, or malformed.")

    if grant == "client_credentials":
        if not getattr(app, "_secret_ok", False):
            return oauth_error(401, "invalid_client", "Client authentication failed.")
        async with ctx.tx() as tx:
            tok, _ = await oauth.issue_token(tx, application_id=app.id, user_id=None, scopes=requested)
        return _token_response(tok, requested)

    if grant == "password":
        user = await authenticate_user(ctx, str(params.get("username") or ""), str(params.get("password") or ""))
        if user is None:
            return oauth_error(400, "invalid_grant", "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.")
        if not user.approved:
            return oauth_error(403, "access_denied", "Your account is awaiting approval.")
        async with ctx.tx() as tx:
            tok, _ = await oauth.issue_token(tx, application_id=app.id, user_id=user.id, scopes=requested)
        return _token_response(tok, requested)

    if grant == "authorization_code":
        code = params.get("code")
        if not isinstance(code, str) or not code:
            return oauth_error(400, "invalid_request", "The request is missing a required parameter: code.")
        verifier = params.get("code_verifier")
        if not getattr(app, "_secret_ok", False) and not verifier:
            return oauth_error(401, "invalid_client", "Client authentication failed.")
        try:
            async with ctx.tx() as tx:
                row = await oauth.redeem_code(tx, app, code, str(params.get("redirect_uri") or ""), verifier)
                scopes = row.scopes.split()
                tok, _ = await oauth.issue_token(tx, application_id=app.id, user_id=row.user_id, scopes=scopes)
        except Invalid:
            return oauth_error(400, "invalid_grant", "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.")
        return _token_response(tok, scopes)

    return oauth_error(400, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server.")


@router.post("/oauth/revoke")
async def revoke(request: Request, ctx: Context = Depends(get_ctx)) -> Any:
    params = await read_params(request, include_query=False)
    app = await _client(ctx, request, params)
    if app is None:
        return oauth_error(403, "unauthorized_client", "You are not authorized to revoke this token")
    tok = params.get("token")
    if isinstance(tok, str) and tok:
        async with ctx.tx() as tx:
            await oauth.revoke_token(tx, tok, application_id=app.id)
    return {}


@router.get("/.well-known/oauth-authorization-server")
async def metadata(request: Request) -> Any:
    base = request.app.state.settings.base_url
    return {
        "issuer": f"{base}/",
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "app_registration_endpoint": f"{base}/api/v1/apps",
        "scopes_supported": sorted(oauth.ALL_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "password", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    }


# --- the authorize page ------------------------------------------------------------------

_AUTH_KEYS = ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method")


async def _authorize_request(ctx: Context, params: dict[str, Any]) -> tuple[Application, list[str], str] | str:
    """Validate an authorize request: (app, scopes, redirect_uri) or an error text."""
    if params.get("response_type", "code") != "code":
        return "Unsupported response type"
    client_id = params.get("client_id")
    if not isinstance(client_id, str) or not client_id:
        return "Unknown client"
    async with ctx.read() as s:
        app = await s.scalar(select(Application).where(Application.client_id == client_id))
    if app is None:
        return "Unknown client"
    uris = app.redirect_uris.split("\n")
    redirect_uri = params.get("redirect_uri") or uris[0]
    if redirect_uri not in uris:
        return "The redirect URI included is not valid."
    try:
        scopes = oauth.parse_scopes(params.get("scope"), default=app.scopes.split()[0])
    except Invalid:
        return "The requested scope is invalid, unknown, or malformed."
    if not oauth.scopes_subset(scopes, app.scopes.split()):
        return "The requested scope is invalid, unknown, or malformed."
    method = params.get("code_challenge_method")
    if params.get("code_challenge") and method not in (None, "", "S256", "plain"):
        return "Unsupported code challenge method"
    return app, scopes, str(redirect_uri)


def _page(request: Request, app: Application | None, scopes: list[str], params: dict[str, Any], error: str | None, status: int = 200) -> HTMLResponse:
    renderer = getattr(request.app.state, "render_authorize", None)
    if renderer is not None:
        return renderer(request, app=app, scopes=scopes, params=params, error=error, status=status)  # type: ignore[no-any-return]
    hidden = "".join(
        f'<input type="hidden" name="{k}" value="{html.escape(str(params.get(k) or ""), quote=True)}">' for k in _AUTH_KEYS
    )
    body = f"""<!doctype html><html lang="pl"><head><meta charset="utf-8"><title>Szpak: authorize</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body><main>
<h1>Szpak</h1>
{f'<p role="alert">{html.escape(error)}</p>' if error else ''}
{f'<p><strong>{html.escape(app.name)}</strong> wants access: {html.escape(" ".join(scopes))}</p>' if app else ''}
<form method="post" action="/oauth/authorize">{hidden}
<label>E-mail or username <input name="login" autocomplete="username" required></label>
<label>Password <input type="password" name="password" autocomplete="current-password" required></label>
<button type="submit" name="decision" value="approve">Authorize</button>
<button type="submit" name="decision" value="deny" formnovalidate>Deny</button>
</form></main></body></html>"""
    return HTMLResponse(body, status_code=status)


@router.get("/oauth/authorize")
async def authorize_page(request: Request, ctx: Context = Depends(get_ctx)) -> Any:
    params = dict(request.query_params)
    checked = await _authorize_request(ctx, params)
    if isinstance(checked, str):
        return _page(request, None, [], params, checked, status=400)
    app, scopes, _ = checked
    return _page(request, app, scopes, params, None)


def _redirect_with(redirect_uri: str, values: dict[str, str]) -> RedirectResponse:
    sep = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{sep}{urlencode(values)}", status_code=302)


@router.post("/oauth/authorize")
async def authorize_submit(request: Request, ctx: Context = Depends(get_ctx)) -> Any:
    params = await read_params(request, include_query=False)
    checked = await _authorize_request(ctx, params)
    if isinstance(checked, str):
        return _page(request, None, [], params, checked, status=400)
    app, scopes, redirect_uri = checked
    state = params.get("state")
    if params.get("decision") == "deny":
        if redirect_uri == oauth.OOB:
            return _page(request, app, scopes, params, "Access denied", status=403)
        values = {"error": "access_denied", "error_description": "The resource owner denied the request."}
        if state:
            values["state"] = str(state)
        return _redirect_with(redirect_uri, values)
    session_user = getattr(request.app.state, "session_user", None)
    user = await session_user(request) if session_user is not None else None
    if user is None:
        user = await authenticate_user(ctx, str(params.get("login") or ""), str(params.get("password") or ""))
    if user is None:
        return _page(request, app, scopes, params, "Invalid e-mail, username or password", status=401)
    async with ctx.tx() as tx:
        code = await oauth.create_code(
            tx, application_id=app.id, user_id=user.id, redirect_uri=redirect_uri, scopes=scopes,
            code_challenge=params.get("code_challenge") or None,
            code_challenge_method=params.get("code_challenge_method") or None,
        )
    if redirect_uri == oauth.OOB:
        return HTMLResponse(
            f'<!doctype html><html><head><meta charset="utf-8"><title>Szpak</title></head><body><main>'
            f'<p>Copy this code into the application:</p><p><code id="code">{html.escape(code)}</code></p></main></body></html>'
        )
    values = {"code": code}
    if state:
        values["state"] = str(state)
    return _redirect_with(redirect_uri, values)
