"""Error pages: browsers get HTML in their language, API clients keep Mastodon's JSON.

The API's exception handlers are installed first (``api/errors.py``); ``install``
wraps them, so a request for a page (or any non-API path a browser asks for)
is answered with ``error.html`` and every other request exactly as before.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from szpak.domain.errors import DomainError
from szpak.web.i18n import N_
from szpak.web.render import page
from szpak.web.session import CsrfError

log = logging.getLogger(__name__)

Handler = Callable[[Request, Exception], Awaitable[Response]]
#: Paths that belong to machines, whatever their Accept header says.
API_PREFIXES = ("/api/", "/oauth/token", "/oauth/revoke", "/.well-known/", "/nodeinfo", "/health", "/static/", "/system/")

TITLES = {
    400: N_("That request didn't make sense"),
    401: N_("You need to log in"),
    403: N_("You may not do that"),
    404: N_("Nothing here"),
    405: N_("That doesn't work here"),
    413: N_("That is too large"),
    422: N_("That didn't work"),
    429: N_("Slow down a little"),
    500: N_("Something broke on our side"),
}
EXPLANATIONS = {
    403: N_("The form may have expired, or this isn't yours to change. Go back, reload the page and try again."),
    404: N_("The page or post doesn't exist, was deleted, or isn't visible to you."),
    500: N_("We have been told about it. Please try again in a moment."),
}


def wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(API_PREFIXES):
        return False
    route = request.scope.get("route")
    if route is not None and getattr(route, "endpoint", None) is not None:
        if getattr(route.endpoint, "__module__", "").startswith("szpak.web."):
            return True
    return "text/html" in request.headers.get("accept", "")


async def error_page(request: Request, status: int, message: str | None = None) -> Response:
    return await page(
        request, "error.html", page_name="error", code=status, title=TITLES.get(status, TITLES[400]),
        explanation=message or EXPLANATIONS.get(status), status=status,
    )


def install(app: FastAPI) -> None:
    """Wrap the API's handlers for HTTP, domain and unexpected errors; add one for CSRF."""
    handlers: dict[type[Exception], Handler] = dict(app.exception_handlers)  # type: ignore[arg-type]

    def wrap(kind: type[Exception], status_of: Callable[[Exception], int]) -> None:
        original = handlers.get(kind)

        async def handle(request: Request, exc: Exception) -> Response:
            if wants_html(request):
                try:
                    return await error_page(request, status_of(exc))
                except Exception:  # the error page itself failed (e.g. the database is down)
                    log.exception("error page failed")
            if original is None:
                raise exc
            return await original(request, exc)

        app.add_exception_handler(kind, handle)

    wrap(StarletteHTTPException, lambda e: e.status_code)  # type: ignore[attr-defined]
    wrap(DomainError, lambda e: e.status_code)  # type: ignore[attr-defined]
    wrap(Exception, lambda e: 500)

    async def csrf(request: Request, exc: Exception) -> Response:
        return await error_page(request, 403)

    app.add_exception_handler(CsrfError, csrf)
