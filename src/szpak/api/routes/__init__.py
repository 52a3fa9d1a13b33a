"""All API routers. Each module holds one area of the Mastodon API and exposes ``router``."""

from __future__ import annotations

import importlib

from fastapi import FastAPI

ROUTE_MODULES = [
    "szpak.api.routes.oauth",
    "szpak.api.routes.apps",
    "szpak.api.routes.accounts",
    "szpak.api.routes.follow_requests",
    "szpak.api.routes.blocks_mutes",
    "szpak.api.routes.statuses",
    "szpak.api.routes.timelines",
    "szpak.api.routes.lists",
    "szpak.api.routes.notifications",
    "szpak.api.routes.markers",
    "szpak.api.routes.search",
    "szpak.api.routes.bookmarks_favourites",
    "szpak.api.routes.instance",
    "szpak.api.routes.tags",
    "szpak.api.routes.listening",
    # --- area: media ---
    # --- area: polls-scheduled ---
    # --- area: tags-conversations-social ---
    # --- area: filters-reports-admin ---
    # --- area: trends-instance-directory ---
    "szpak.realtime.streaming",
    "szpak.web.routes",
    "szpak.web.listening",
]


def register_routes(app: FastAPI) -> None:
    for name in ROUTE_MODULES:
        module = importlib.import_module(name)
        app.include_router(module.router)
        setup = getattr(module, "setup", None)
        if setup is not None:
            setup(app)
