"""The web UI: server-rendered pages in Polish and English, a client of the domain layer.

``router`` gathers the page modules (``web/pages/*``); ``setup(app)`` mounts
``/static``, adds the security-header middleware, wraps the error handlers so that
browsers get HTML error pages, and offers the consent page and session hooks to
the OAuth module. See docs/web.md.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from szpak.web.keys import Keys, load_secret
from szpak.web.pages import accounts, auth, consent, errors, notifications, search, settings, statuses, timelines
from szpak.web.render import STATIC
from szpak.web.security import SecurityHeaders
from szpak.web.session import WebState

#: In matching order: profiles (``/@name/followers``) before posts (``/@name/<id>``).
PAGE_MODULES = (timelines, auth, accounts, statuses, notifications, search, settings)



def _paths(r: Any) -> list[str]:
    """Every route path under router ``r`` (included routers walked)."""
    out: list[str] = []
    for route in r.routes:
        inner = getattr(route, "original_router", None)
        out.extend(_paths(inner) if inner is not None else [getattr(route, "path", "")])
    return out


class WebRouter(APIRouter):
    """The pages' router, answering only paths that begin with one of its own first
    segments (``home``, ``tags``, ``@name``...). ``setup`` puts it first in the app, so a
    page is found after a dozen checks instead of after every API route (FastAPI's
    matching costs a few microseconds a route, and the API has two hundred: 0.6-0.9 ms
    a page), while an API request passes it with one set look-up."""

    _firsts: frozenset[str] | None = None

    def firsts(self) -> frozenset[str]:
        """First path segments of the pages (``@`` for ``/@{username}...``; ``*`` if some
        page's first segment is a parameter of another shape: then every path is tried)."""
        if self._firsts is None:
            firsts = set()
            for path in _paths(self):
                first = path[1:].split("/", 1)[0]
                firsts.add("@" if first.startswith("@{") else "*" if "{" in first else first)
            self._firsts = frozenset(firsts)
        return self._firsts

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        first = get_route_path(scope)[1:].split("/", 1)[0]
        firsts = self.firsts()
        if first in firsts or (first[:1] == "@" and "@" in firsts) or "*" in firsts:
            return super().matches(scope)
        return Match.NONE, {}


router = WebRouter(include_in_schema=False)
for module in PAGE_MODULES:
    router.include_router(module.router)


def _mounted(app: FastAPI, path: str) -> bool:
    return any(getattr(route, "path", None) == path for route in app.router.routes)


def _first(app: FastAPI) -> None:
    """Move the pages' router to the front of the app's routes (see ``WebRouter``). No page
    path is an API path (tests/web/test_pages.py checks), so the order changes no answer."""
    routes = app.router.routes
    for i, route in enumerate(routes):
        if getattr(route, "original_router", None) is router:
            routes.insert(0, routes.pop(i))
            return


def setup(app: FastAPI) -> None:
    settings = app.state.settings
    _first(app)
    state = app.state.web = WebState(keys=Keys(load_secret(settings)))

    async def listen(app: FastAPI) -> None:
        """Sessions cached in this process hear about revoked tokens and changed accounts."""
        app.state.ctx.bus.subscribe(state.sessions.on_event)

    app.state.startup_hooks.append(listen)
    if not _mounted(app, "/static"):
        app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(consent.PreloadVisitor)
    app.add_middleware(SecurityHeaders, settings=settings)
    errors.install(app)
    app.state.session_user = consent.session_user
    app.state.render_authorize = consent.render_authorize
