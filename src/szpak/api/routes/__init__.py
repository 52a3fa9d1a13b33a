"""All API routers. Each module holds one area of the Mastodon API and exposes ``router``."""

from __future__ import annotations

import importlib

from fastapi import FastAPI

ROUTE_MODULES = [
    # The hottest routes first: FastAPI matches a request against the routes in order, and
    # that walk cost ~30% of a home page's CPU with these two placed seventh (docs/performance.md).
    # None of their paths overlaps an earlier router's (/api/v1/statuses*, /api/v1/timelines/*),
    # so which route answers a request is unchanged.
    "szpak.api.routes.statuses",
    "szpak.api.routes.timelines",
    "szpak.api.routes.oauth",
    "szpak.api.routes.apps",
    "szpak.api.routes.accounts",
    "szpak.api.routes.follow_requests",
    "szpak.api.routes.blocks_mutes",
    "szpak.api.routes.lists",
    "szpak.api.routes.notifications",
    "szpak.api.routes.notifications_v2",
    "szpak.api.routes.markers",
    "szpak.api.routes.search",
    "szpak.api.routes.bookmarks_favourites",
    "szpak.api.routes.instance",
    "szpak.api.routes.tags",
    "szpak.api.routes.listening",
    # --- area: media ---
    "szpak.api.routes.media",
    # --- area: polls-scheduled ---
    "szpak.api.routes.polls",
    "szpak.api.routes.scheduled_statuses",
    # --- area: tags-conversations-social ---
    "szpak.api.routes.followed_tags",
    "szpak.api.routes.featured_tags",
    "szpak.api.routes.conversations",
    "szpak.api.routes.endorsements",
    "szpak.api.routes.domain_blocks",
    "szpak.api.routes.suggestions",
    # --- area: filters-reports-admin ---
    "szpak.api.routes.filters",
    "szpak.api.routes.reports",
    "szpak.api.routes.admin",
    # --- area: trends-instance-directory ---
    "szpak.api.routes.trends",
    "szpak.api.routes.instance_extra",
    "szpak.realtime.streaming",
    "szpak.web.routes",
    "szpak.web.listening",
]


#: Single hot routes matched before everything else. Each is a literal path that must win
#: anyway over any pattern that could also match it (``/api/v1/accounts/{account_id}``), so
#: moving it to the front changes only what matching costs (verify_credentials is what every
#: client calls on start and on every refresh: bench/api.py).
HOT_ROUTES = [("GET", "/api/v1/accounts/verify_credentials")]


def register_routes(app: FastAPI) -> None:
    for name in ROUTE_MODULES:
        module = importlib.import_module(name)
        app.include_router(module.router)
        setup = getattr(module, "setup", None)
        if setup is not None:
            setup(app)
    routes = app.router.routes
    for method, path in reversed(HOT_ROUTES):
        hot = [r for r in routes if getattr(r, "path", None) == path and method in (getattr(r, "methods", None) or ())]
        for route in hot:
            routes.remove(route)
            routes.insert(0, route)
