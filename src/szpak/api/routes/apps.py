"""``/api/v1/apps``: register a client application, check its credentials."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import field_validator

from szpak.api.deps import Viewer, get_ctx, require
from szpak.api.errors import APIError
from szpak.api.params import Params, body
from szpak.domain import oauth
from szpak.domain.context import Context
from szpak.storage.models import Application

router = APIRouter()


class CreateApp(Params):
    client_name: str
    redirect_uris: list[str] | str = oauth.OOB
    scopes: str = "read"
    website: str | None = None

    @field_validator("redirect_uris", mode="before")
    @classmethod
    def _uris(cls, v: Any) -> Any:
        return v


def _uris(raw: list[str] | str) -> list[str]:
    if isinstance(raw, str):
        return [u for u in raw.replace("\r", "").replace(" ", "\n").split("\n") if u]
    return [u for u in raw if u]


@router.post("/api/v1/apps")
async def create_app(request: Request, params: CreateApp = body(CreateApp), ctx: Context = Depends(get_ctx)) -> Any:
    scopes = oauth.parse_scopes(params.scopes)
    async with ctx.tx() as tx:
        app = await oauth.create_application(
            tx, name=params.client_name, redirect_uris=_uris(params.redirect_uris), scopes=scopes, website=params.website
        )
    data = request.app.state.renderer.application(app)
    data.update(client_id=app.client_id, client_secret=app.client_secret, client_secret_expires_at=0)
    return data


@router.get("/api/v1/apps/verify_credentials")
async def verify_app(request: Request, viewer: Viewer = require(user=False), ctx: Context = Depends(get_ctx)) -> Any:
    if viewer.application_id is None:
        raise APIError(401, "The access token is invalid")
    async with ctx.read() as s:
        app = await s.get(Application, viewer.application_id)
    if app is None:
        raise APIError(401, "The access token is invalid")
    data = request.app.state.renderer.application(app)
    data["scopes"] = sorted(viewer.scopes)
    return data
