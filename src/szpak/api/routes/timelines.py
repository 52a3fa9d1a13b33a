"""``/api/v1/timelines``: home, public, tag.

Home is computed on read (fan-out on read): the statuses of the accounts the
viewer follows, plus the viewer's own, newest first. See docs/realtime.md.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import and_, or_, select

from szpak.api.deps import Viewer, get_ctx, maybe, require, viewer_account_id
from szpak.api.pagination import Page, link_header, page_params
from szpak.domain.context import Context
from szpak.domain.visibility import not_muted_clause, visible_clause
from szpak.storage.models import Follow, Status, StatusTag, Tag
from szpak.storage.queries import load_bundle

router = APIRouter()


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes", "on")


async def _respond(request: Request, response: Response, ctx: Context, query: Any, page: Page, viewer_id: int | None) -> Any:
    async with ctx.read() as s:
        rows = page.finish(list(await s.scalars(page.apply(query, Status.id))))
        bundle = await load_bundle(s, rows, viewer_id)
    link_header(request, response, [st.id for st in rows])
    return request.app.state.renderer.statuses(rows, bundle)


@router.get("/api/v1/timelines/home")
async def home(
    request: Request,
    response: Response,
    page: Page = Depends(page_params()),
    viewer: Viewer = require("read:statuses"),
    ctx: Context = Depends(get_ctx),
) -> Any:
    me = viewer.account_id
    assert me is not None
    followed = select(Follow.target_account_id).where(Follow.account_id == me)
    reblog_hidden = select(Follow.target_account_id).where(Follow.account_id == me, Follow.show_reblogs.is_(False))
    query = select(Status).where(
        or_(Status.account_id == me, Status.account_id.in_(followed)),
        visible_clause(me),
        not_muted_clause(me),
        # Replies show only when they answer the viewer or someone the viewer follows.
        or_(
            Status.in_reply_to_account_id.is_(None),
            Status.in_reply_to_account_id == me,
            Status.in_reply_to_account_id.in_(followed),
        ),
        or_(Status.reblog_of_id.is_(None), Status.account_id.not_in(reblog_hidden)),
    )
    return await _respond(request, response, ctx, query, page, me)


@router.get("/api/v1/timelines/public")
async def public(
    request: Request,
    response: Response,
    local: str | None = None,
    remote: str | None = None,
    only_media: str | None = None,
    page: Page = Depends(page_params()),
    viewer: Viewer | None = maybe("read:statuses"),
    ctx: Context = Depends(get_ctx),
) -> Any:
    vid = viewer_account_id(viewer)
    query = select(Status).where(
        Status.visibility == "public", Status.reblog_of_id.is_(None), visible_clause(vid), not_muted_clause(vid)
    )
    if _flag(local):
        query = query.where(Status.local.is_(True))
    if _flag(remote):
        query = query.where(Status.local.is_(False))
    if _flag(only_media):
        query = query.where(Status.has_media.is_(True))
    return await _respond(request, response, ctx, query, page, vid)


@router.get("/api/v1/timelines/tag/{hashtag}")
async def tag(
    request: Request,
    response: Response,
    hashtag: str,
    local: str | None = None,
    only_media: str | None = None,
    page: Page = Depends(page_params()),
    viewer: Viewer | None = maybe("read:statuses"),
    ctx: Context = Depends(get_ctx),
) -> Any:
    vid = viewer_account_id(viewer)
    names = [hashtag.lower().lstrip("#")]
    names += [n.lower() for k, n in request.query_params.multi_items() if k in ("any[]", "any")]
    query = select(Status).where(
        Status.visibility == "public",
        Status.reblog_of_id.is_(None),
        Status.id.in_(select(StatusTag.status_id).join(Tag, Tag.id == StatusTag.tag_id).where(Tag.name.in_(names))),
        visible_clause(vid),
        not_muted_clause(vid),
    )
    for n in [n.lower() for k, n in request.query_params.multi_items() if k in ("all[]", "all")]:
        query = query.where(Status.id.in_(select(StatusTag.status_id).join(Tag, Tag.id == StatusTag.tag_id).where(Tag.name == n)))
    for n in [n.lower() for k, n in request.query_params.multi_items() if k in ("none[]", "none")]:
        query = query.where(Status.id.not_in(select(StatusTag.status_id).join(Tag, Tag.id == StatusTag.tag_id).where(Tag.name == n)))
    if _flag(local):
        query = query.where(Status.local.is_(True))
    if _flag(only_media):
        query = query.where(Status.has_media.is_(True))
    return await _respond(request, response, ctx, query, page, vid)


_ = and_
