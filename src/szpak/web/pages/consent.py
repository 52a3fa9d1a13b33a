"""The OAuth consent page, drawn in our templates through the hooks that
``api/routes/oauth.py`` offers (it keeps the protocol, CSRF and the decision).

``render_authorize`` is called synchronously, so the reader's session is loaded
beforehand by ``PreloadVisitor`` for ``/oauth/authorize`` requests.
"""

from __future__ import annotations

import inspect

from fastapi import Request
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from szpak.storage.models import Account, Application, User
from szpak.web.i18n import DEFAULT_TIMEZONE, N_, Formatter
from szpak.web.render import render_for
from szpak.web.session import Visitor, get_ctx, visitor

AUTHORIZE_PATH = "/oauth/authorize"

#: What each top-level scope lets an application do, in words.
SCOPE_TEXTS = {
    "read": N_("Read your posts, timelines, follows and notifications"),
    "write": N_("Post, edit and delete for you, and change your profile"),
    "follow": N_("Follow, unfollow, block and mute accounts for you"),
    "push": N_("Send you push notifications"),
    "profile": N_("See your profile (nothing else)"),
    "admin:read": N_("Read moderation data"),
    "admin:write": N_("Take moderation actions"),
}
# Errors the OAuth module shows in English before it knows the reader's language.
_OAUTH_PAGE_ERRORS = (
    N_("Client authentication failed due to unknown client."),
    N_("The redirect URI included is not valid."),
)


async def session_user(request: Request) -> User | None:
    """The logged-in user of this browser, if any."""
    return (await visitor(request)).user


def scope_lines(scopes: list[str]) -> list[tuple[str, str | None]]:
    """(scope, msgid describing it or None) in the order asked."""
    return [(scope, SCOPE_TEXTS.get(scope)) for scope in scopes]


def render_authorize(
    request: Request, *, app: Application | None, scopes: list[str], params: dict[str, str], error: str | None,
    status: int,
) -> Response:
    v: Visitor | None = getattr(request.state, "web_visitor", None)
    if v is None:  # not preloaded (should not happen): draw it for an anonymous reader
        lang = request.app.state.settings.default_locale
        v = Visitor(None, lang, DEFAULT_TIMEZONE, "", Formatter(lang))
    hidden = dict(params)
    if hidden:
        hidden["lang"] = v.lang  # later errors from the OAuth module come in the reader's language
    force_login = hidden.get("force_login") == "true"
    account: Account | None = getattr(request.state, "authorize_account", None)
    return render_for(
        request, v, "authorize.html", page_name="authorize", client=app, scopes=scope_lines(scopes), hidden=hidden,
        error=error, signed_in_as=None if force_login or account is None else account.acct, status=status,
        # A refused request is not worth coming back to (and its URL may name a hostile site).
        return_path=request.url.path + (f"?{request.url.query}" if app is not None and request.method == "GET" else ""),
    )


class PreloadVisitor:
    """Loads the reader, and the account of whoever ``app.state.session_user`` says is
    logged in, before the OAuth module draws the consent page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") == AUTHORIZE_PATH:
            request = StarletteRequest(scope)
            v = await visitor(request)  # type: ignore[arg-type]
            hook = getattr(request.app.state, "session_user", None)
            user = hook(request) if hook is not None else None
            if inspect.isawaitable(user):
                user = await user
            account = None
            if user is not None:
                account = v.account if v.user is not None and v.user.id == user.id else None
                if account is None:
                    async with get_ctx(request).read() as s:  # type: ignore[arg-type]
                        account = await s.get(Account, user.account_id)
            request.state.authorize_account = account
        await self.app(scope, receive, send)


