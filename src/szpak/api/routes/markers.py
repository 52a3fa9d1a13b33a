"""``/api/v1/markers``: read positions in the home and notifications timelines, shared
between a user's clients. ``GET /api/v1/notifications/unread_count`` counts from the
``notifications`` marker."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field, field_validator
from sqlalchemy import select

from szpak.api.deps import current_ctx, Viewer, require
from szpak.api.params import Params, body, query
from szpak.domain import markers as marker_actions
from szpak.domain.context import Context
from szpak.storage.models import Marker

router = APIRouter()


class Timelines(Params):
    timeline: list[str] = Field(default_factory=list)

    @field_validator("timeline", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class Position(Params):
    last_read_id: int = Field(gt=0, lt=2**63)

    @field_validator("last_read_id", mode="before")
    @classmethod
    def _digits(cls, value: Any) -> Any:
        """Ids travel as strings; only plain decimal digits are an id (not ``1e3``, ``1.0``)."""
        if isinstance(value, str) and not value.strip().isdigit():
            raise ValueError("must be a status or notification id")
        return value


class SaveMarkers(Params):
    home: Position | None = None
    notifications: Position | None = None


@router.get("/api/v1/markers")
async def get_markers(
    request: Request,
    params: Timelines = query(Timelines),
    viewer: Viewer = require("read:statuses"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """Markers of the timelines asked for; none asked, an empty object (as Mastodon)."""
    wanted = [t for t in params.timeline if t in marker_actions.TIMELINES]
    if not wanted:
        return {}
    async with ctx.read() as s:
        rows = await s.scalars(select(Marker).where(Marker.account_id == viewer.account_id, Marker.timeline.in_(wanted)))
        render = request.app.state.renderer.marker
        return {m.timeline: render(m) for m in rows}


@router.post("/api/v1/markers")
async def save_markers(
    request: Request,
    params: SaveMarkers = body(SaveMarkers),
    viewer: Viewer = require("write:statuses"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    me = viewer.account_id
    assert me is not None
    positions = {name: pos.last_read_id for name in marker_actions.TIMELINES if (pos := getattr(params, name))}
    async with ctx.tx() as tx:
        saved = await marker_actions.save_markers(tx, me, positions)
    render = request.app.state.renderer.marker
    return {m.timeline: render(m) for m in saved}
