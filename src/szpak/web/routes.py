"""The web UI: server-rendered pages in Polish and English, a client of the domain layer.

``router`` gathers the page modules (``web/pages/*``); ``setup(app)`` mounts
``/static``, adds the security-header middleware, wraps the error handlers so that
browsers get HTML error pages, and offers the consent page and session hooks to
the OAuth module. See docs/web.md.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.staticfiles import StaticFiles

from szpak.web.keys import Keys, load_secret
from szpak.web.pages import accounts, auth, consent, errors, notifications, search, settings, statuses, timelines
from szpak.web.render import STATIC
from szpak.web.security import SecurityHeaders
from szpak.web.session import WebState

#: In matching order: profiles (``/@name/followers``) before posts (``/@name/<id>``).
PAGE_MODULES = (timelines, auth, accounts, statuses, notifications, search, settings)

router = APIRouter(include_in_schema=False)
for module in PAGE_MODULES:
    router.include_router(module.router)


def _mounted(app: FastAPI, path: str) -> bool:
    return any(getattr(route, "path", None) == path for route in app.router.routes)


def setup(app: FastAPI) -> None:
    settings = app.state.settings
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
