"""Security headers for HTML responses, as a plain ASGI middleware.

Only responses whose content type is ``text/html`` get them, so the JSON API,
streaming and static files pass through untouched. A response that already set
its own ``Content-Security-Policy`` (the OAuth consent page, which must allow its
form to redirect to the client application) keeps it.

The policy allows scripts and styles only from Szpak itself: no inline script,
no inline style, no CDN. ``connect-src`` adds the streaming origin, which may be
configured apart from the page's own.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from szpak.config import Settings


def content_security_policy(settings: Settings, *, form_action: Iterable[str] = ("'self'",)) -> str:
    connect = ["'self'", settings.streaming_url]
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "media-src 'self'",
            "font-src 'self'",
            f"connect-src {' '.join(connect)}",
            "manifest-src 'self'",
            f"form-action {' '.join(form_action)}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )


class SecurityHeaders:
    """Adds CSP and friends to HTML responses."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        headers = {
            b"content-security-policy": content_security_policy(settings).encode(),
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
                    message = {**message, "headers": raw}
            await send(message)

        await self.app(scope, receive, send_with_headers)
