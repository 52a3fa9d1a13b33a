"""``/api/v1/apps``: register a client application, check its credentials."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from szpak.api.deps import current_ctx, Viewer, require
from szpak.api.errors import APIError
from szpak.api.params import Params, body
from szpak.domain import oauth
from szpak.domain.context import Context
from szpak.storage.models import Application

router = APIRouter()


class CreateApp(Params):
    client_name: str = ""
    #: One URI, several separated by newlines (Mastodon.py), or a list (JSON, ``redirect_uris[]``).
    redirect_uris: list[str] | str = ""
    scopes: list[str] | str = "read"
    website: str | None = None


def split_uris(raw: list[str] | str) -> list[str]:
    items = [raw] if isinstance(raw, str) else raw
    return [u.strip() for item in items for u in item.replace("\r", "\n").split("\n") if u.strip()]


@router.post("/api/v1/apps")
async def create_app(request: Request, params: CreateApp = body(CreateApp), ctx: Context = Depends(current_ctx)) -> Any:
    """Open to anyone, as in Mastodon: an app is only a name for its future tokens."""
    scopes = oauth.parse_scopes(params.scopes)
    async with ctx.tx() as tx:
        app = await oauth.create_application(
            tx, name=params.client_name, redirect_uris=split_uris(params.redirect_uris), scopes=scopes,
            website=params.website,
        )
    data = request.app.state.renderer.application(app)
    data.update(client_id=app.client_id, client_secret=app.client_secret, client_secret_expires_at=0)
    return data


@router.get("/api/v1/apps/verify_credentials")
async def verify_app(request: Request, viewer: Viewer = require(user=False), ctx: Context = Depends(current_ctx)) -> Any:
    """Any valid token of an app works, whatever its scopes (Mastodon 4.3)."""
    app = None
    if viewer.application_id is not None:
        async with ctx.read() as s:
            app = await s.get(Application, viewer.application_id)
    if app is None:
        raise APIError(401, "The access token is invalid")
    return request.app.state.renderer.application(app)
