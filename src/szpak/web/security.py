"""Security headers for HTML responses, as a plain ASGI middleware.

Only responses whose content type is ``text/html`` get them, so the JSON API,
streaming and static files pass through untouched. Our policy is added even when a
response set one of its own: a browser enforces every policy it is sent, so a
route can only tighten it. The OAuth consent page gets the policy without
``form-action``: its form posts to us but then redirects to the client
application's own URI, and browsers apply ``form-action`` to that redirect too.

The policy allows scripts and styles only from Szpak itself: no inline script,
no inline style, no CDN. ``connect-src`` adds the streaming origin, which may be
configured apart from the page's own.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from szpak.config import Settings


#: Pages whose forms end in a redirect to another site (see the module docstring).
FOREIGN_REDIRECT_PATHS = ("/oauth/authorize",)


def content_security_policy(settings: Settings, *, form_action: Iterable[str] | None = ("'self'",)) -> str:
    connect = ["'self'", settings.streaming_url]
    directives = [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self'",
        "font-src 'self'",
        f"connect-src {' '.join(connect)}",
        "manifest-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
    if form_action is not None:
        directives.append(f"form-action {' '.join(form_action)}")
    return "; ".join(directives)


class SecurityHeaders:
    """Adds CSP and friends to HTML responses."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.csp = content_security_policy(settings).encode()
        self.csp_foreign_redirect = content_security_policy(settings, form_action=None).encode()
        headers = {
            b"x-content-type-options": b"nosniff",
            b"x-frame-options": b"DENY",
            b"referrer-policy": b"same-origin",
            b"permissions-policy": b"camera=(), microphone=(), geolocation=()",
        }
        if settings.scheme == "https":
            headers[b"strict-transport-security"] = b"max-age=31536000"
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                names = {k.lower() for k, _ in raw}
                ctype = next((v for k, v in raw if k.lower() == b"content-type"), b"")
                if ctype.startswith(b"text/html"):
                    raw.extend((k, v) for k, v in self.headers.items() if k not in names)
                    foreign = scope.get("path", "") in FOREIGN_REDIRECT_PATHS
                    raw.append((b"content-security-policy", self.csp_foreign_redirect if foreign else self.csp))
                    message = {**message, "headers": raw}
            await send(message)

        await self.app(scope, receive, send_with_headers)
