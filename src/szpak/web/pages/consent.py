"""The OAuth consent page, drawn in our templates through the hooks that
``api/routes/oauth.py`` offers (it keeps the protocol, CSRF and the decision).

``render_authorize`` is called synchronously, so the reader's session is loaded
beforehand by ``PreloadVisitor`` for ``/oauth/authorize`` requests.
"""

from __future__ import annotations


from fastapi import Request
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from szpak.storage.models import Application, User
from szpak.web.i18n import N_, Formatter
from szpak.web.render import render_for
from szpak.web.session import Visitor, visitor

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
        v = Visitor(None, lang, "Europe/Warsaw", "", Formatter(lang))
    hidden = dict(params)
    if hidden:
        hidden["lang"] = v.lang  # later errors from the OAuth module come in the reader's language
    force_login = hidden.get("force_login") == "true"
    return render_for(
        request, v, "authorize.html", page_name="authorize", client=app, scopes=scope_lines(scopes), hidden=hidden,
        error=error, show_login=v.signed_in is None or force_login, status=status,
        # A refused request is not worth coming back to (and its URL may name a hostile site).
        return_path=request.url.path + (f"?{request.url.query}" if app is not None and request.method == "GET" else ""),
    )


class PreloadVisitor:
    """Loads the reader's session before the OAuth module draws the consent page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") == AUTHORIZE_PATH:
            await visitor(StarletteRequest(scope))  # type: ignore[arg-type]
        await self.app(scope, receive, send)


