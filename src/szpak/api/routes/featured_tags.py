"""Featured hashtags (docs/api/social.md): ``GET/POST /api/v1/featured_tags``,
``DELETE /api/v1/featured_tags/:id``, ``GET /api/v1/featured_tags/suggestions`` and
Mastodon 4.4's ``POST /api/v1/tags/:name/feature`` / ``unfeature``.
``GET /api/v1/accounts/:id/featured_tags`` (api/routes/accounts.py) reads the same rows.
``domain/featured_tags.py`` writes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import field_validator

from szpak.api.deps import Viewer, current_ctx, own_id, parse_id, require
from szpak.api.params import Params, body
from szpak.api.routes.followed_tags import act_on_tag, render_tags
from szpak.api.serializers import Renderer
from szpak.domain import featured_tags as actions
from szpak.domain.context import Context

router = APIRouter()


def featured_entity(renderer: Renderer, f: actions.Featured) -> dict[str, Any]:
    """Mastodon's ``FeaturedTag``; ``statuses_count`` is a string and ``last_status_at`` a
    date, as Mastodon serialises them."""
    tag = f.tag
    return {
        "id": str(f.row.id),
        "name": tag.display_name or tag.name,
        "url": f"{renderer.base}/tags/{tag.name}",
        "statuses_count": str(f.statuses_count),
        "last_status_at": f.last_status_at.strftime("%Y-%m-%d") if f.last_status_at else None,
    }


class FeatureParams(Params):
    name: str = ""

    @field_validator("name", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise ValueError("must be a string")
        return value


@router.get("/api/v1/featured_tags")
async def index(request: Request, viewer: Viewer = require("read:accounts"), ctx: Context = Depends(current_ctx)) -> Any:
    async with ctx.read() as s:
        rows = await actions.featured_of(s, own_id(viewer))
    return [featured_entity(request.app.state.renderer, f) for f in rows]


@router.post("/api/v1/featured_tags")
async def create(
    request: Request,
    params: FeatureParams = body(FeatureParams),
    viewer: Viewer = require("write:accounts"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    async with ctx.tx() as tx:
        row = await actions.feature(tx, await viewer.account(tx.session), params.name)
    async with ctx.read() as s:
        return featured_entity(request.app.state.renderer, await actions.one(s, own_id(viewer), row))


@router.get("/api/v1/featured_tags/suggestions")
async def suggestions(request: Request, viewer: Viewer = require("read:accounts"), ctx: Context = Depends(current_ctx)) -> Any:
    """The viewer's most used hashtags not featured yet (Tag entities)."""
    async with ctx.read() as s:
        tags = await actions.suggestions(s, own_id(viewer))
        return await render_tags(request, s, tags, own_id(viewer))


@router.delete("/api/v1/featured_tags/{featured_id}")
async def destroy(featured_id: str, viewer: Viewer = require("write:accounts"), ctx: Context = Depends(current_ctx)) -> Any:
    fid = parse_id(featured_id)
    async with ctx.tx() as tx:
        await actions.unfeature_id(tx, await viewer.account(tx.session), fid)
    return {}


@router.post("/api/v1/tags/{name}/feature")
async def feature_tag(
    request: Request, name: str, viewer: Viewer = require("write:accounts"), ctx: Context = Depends(current_ctx)
) -> Any:
    """Mastodon 4.4: feature a hashtag by name; answers with the Tag (``featuring: true``)."""
    async with ctx.tx() as tx:
        row = await actions.feature(tx, await viewer.account(tx.session), name)
    async with ctx.read() as s:
        tag = (await actions.one(s, own_id(viewer), row)).tag
        return (await render_tags(request, s, [tag], own_id(viewer)))[0]


@router.post("/api/v1/tags/{name}/unfeature")
async def unfeature_tag(
    request: Request, name: str, viewer: Viewer = require("write:accounts"), ctx: Context = Depends(current_ctx)
) -> Any:
    return await act_on_tag(request, ctx, viewer, name, actions.unfeature_name)
