"""``/api/v1/scheduled_statuses``: the caller's posts waiting for their time
(docs/api/scheduled.md). They are made with ``POST /api/v1/statuses`` and a
``scheduled_at``; ``domain/scheduled.py`` keeps them and publishes them. Someone
else's scheduled status is 404, as one that does not exist.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.api.deps import Viewer, current_ctx, parse_id, require
from szpak.api.pagination import Page, link_header, page_params
from szpak.api.params import Params, body
from szpak.api.responses import JSON
from szpak.api.serializers import Renderer, iso
from szpak.domain import scheduled
from szpak.domain.context import Context
from szpak.storage.models import MediaAttachment
from szpak.storage.models.scheduled import ScheduledStatus

router = APIRouter()


def _media_ids(row: ScheduledStatus) -> list[int]:
    out = []
    for raw in (row.params or {}).get("media_ids") or []:
        try:
            out.append(int(raw))
        except (TypeError, ValueError):
            continue
    return out


def scheduled_entity(
    row: ScheduledStatus, renderer: Renderer | None = None, media: dict[int, MediaAttachment] | None = None
) -> dict[str, Any]:
    """Mastodon's ScheduledStatus; ``media_attachments`` are the uploads it will attach
    that still exist (rendered when ``renderer`` and ``media`` are given)."""
    attached = [renderer.media_attachment(media[i]) for i in _media_ids(row) if i in media] if renderer and media else []
    return {
        "id": str(row.id),
        "scheduled_at": iso(row.scheduled_at),
        "params": dict(row.params or {}),
        "media_attachments": attached,
    }


async def render_scheduled(request: Request, session: AsyncSession, rows: list[ScheduledStatus]) -> list[dict[str, Any]]:
    """ScheduledStatus entities for ``rows``, their media loaded in one query."""
    wanted = {i for row in rows for i in _media_ids(row)}
    media: dict[int, MediaAttachment] = {}
    if wanted:
        media = {
            m.id: m for m in await session.scalars(
                select(MediaAttachment).where(
                    MediaAttachment.id.in_(wanted), MediaAttachment.account_id.in_({r.account_id for r in rows})
                )
            )
        }
    renderer = request.app.state.renderer
    return [scheduled_entity(row, renderer, media) for row in rows]


class Reschedule(Params):
    scheduled_at: Any = None


@router.get("/api/v1/scheduled_statuses")
async def list_scheduled(
    request: Request,
    response: Response,
    page: Page = Depends(page_params(default=20, maximum=40)),
    viewer: Viewer = require("read:statuses"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """The caller's scheduled statuses, newest (by id) first, paged by id."""
    async with ctx.read() as s:
        query = select(ScheduledStatus).where(ScheduledStatus.account_id == viewer.account_id)
        rows = page.finish(list(await s.scalars(page.apply(query, ScheduledStatus.id))))
        rendered = await render_scheduled(request, s, rows)
    link_header(request, response, [row.id for row in rows])
    return rendered


@router.get("/api/v1/scheduled_statuses/{scheduled_id}")
async def get_scheduled(
    request: Request, scheduled_id: str, viewer: Viewer = require("read:statuses"), ctx: Context = Depends(current_ctx)
) -> Any:
    async with ctx.read() as s:
        row = await scheduled.own(s, viewer.account_id or 0, parse_id(scheduled_id))
        return JSON((await render_scheduled(request, s, [row]))[0])


@router.put("/api/v1/scheduled_statuses/{scheduled_id}")
async def reschedule(
    request: Request,
    scheduled_id: str,
    params: Reschedule = body(Reschedule),
    viewer: Viewer = require("write:statuses"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """Move it to a new ``scheduled_at`` (at least five minutes ahead); nothing else changes."""
    sid = parse_id(scheduled_id)
    account_id = viewer.account_id or 0
    async with ctx.tx() as tx:
        if params.scheduled_at in (None, ""):
            row = await scheduled.own(tx, account_id, sid)
        else:
            row = await scheduled.reschedule(tx, account_id, sid, scheduled.parse_time(params.scheduled_at))
    async with ctx.read() as s:
        return JSON((await render_scheduled(request, s, [row]))[0])


@router.delete("/api/v1/scheduled_statuses/{scheduled_id}")
async def cancel(scheduled_id: str, viewer: Viewer = require("write:statuses"), ctx: Context = Depends(current_ctx)) -> Any:
    sid = parse_id(scheduled_id)
    async with ctx.tx() as tx:
        await scheduled.cancel(tx, viewer.account_id or 0, sid)
    return JSON({})
