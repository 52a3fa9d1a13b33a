"""Followed hashtags: ``POST /api/v1/tags/:name/follow``, ``/unfollow`` and
``GET /api/v1/followed_tags`` (docs/api/social.md). ``domain/tag_follows.py`` writes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.api.deps import Viewer, current_ctx, own_id, require
from szpak.api.pagination import Page, link_header, page_params
from szpak.domain import featured_tags as featured_actions
from szpak.domain import tag_follows as actions
from szpak.domain.context import Context
from szpak.storage.models import Tag, TagFollow
from szpak.storage.search import tag_histories

router = APIRouter()


async def render_tags(request: Request, session: AsyncSession, tags: Sequence[Tag], viewer_id: int | None) -> list[dict[str, Any]]:
    """Tag entities with their history and, for a signed-in viewer, ``following``/``featuring``."""
    ids = [t.id for t in tags]
    histories = await tag_histories(session, ids)
    following: set[int] = set()
    featuring: set[int] = set()
    if viewer_id is not None:
        following = await actions.followed_tag_ids(session, viewer_id, ids)
        featuring = await featured_actions.featured_tag_ids(session, viewer_id, ids)
    renderer = request.app.state.renderer
    return [
        renderer.tag(
            t, history=histories.get(t.id, []),
            following=(t.id in following) if viewer_id is not None else None,
            featuring=(t.id in featuring) if viewer_id is not None else None,
        )
        for t in tags
    ]


async def act_on_tag(request: Request, ctx: Context, viewer: Viewer, name: str, action: Any) -> dict[str, Any]:
    """Run ``action(tx, actor, name)``, which answers with the Tag, then render that Tag as the
    viewer sees it afterwards (``following``, ``featuring``)."""
    async with ctx.tx() as tx:
        tag = await action(tx, await viewer.account(tx.session), name)
    async with ctx.read() as s:
        return (await render_tags(request, s, [tag], own_id(viewer)))[0]


@router.post("/api/v1/tags/{name}/follow")
async def follow(
    request: Request, name: str, viewer: Viewer = require("write:follows"), ctx: Context = Depends(current_ctx)
) -> Any:
    return await act_on_tag(request, ctx, viewer, name, actions.follow)


@router.post("/api/v1/tags/{name}/unfollow")
async def unfollow(
    request: Request, name: str, viewer: Viewer = require("write:follows"), ctx: Context = Depends(current_ctx)
) -> Any:
    return await act_on_tag(request, ctx, viewer, name, actions.unfollow)


@router.get("/api/v1/followed_tags")
async def followed_tags(
    request: Request,
    response: Response,
    page: Page = Depends(page_params(100, 200)),
    viewer: Viewer = require("read:follows"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """The tags the viewer follows, most recently followed first, paged by the follow's id."""
    query = select(TagFollow.id, Tag).join(Tag, Tag.id == TagFollow.tag_id).where(TagFollow.account_id == own_id(viewer))
    async with ctx.read() as s:
        rows = page.finish(list((await s.execute(page.apply(query, TagFollow.id))).all()))
        data = await render_tags(request, s, [tag for _, tag in rows], own_id(viewer))
    link_header(request, response, [fid for fid, _ in rows])
    return data


async def viewer_knows_tag(session: AsyncSession, viewer_id: int | None, tag_id: int) -> bool:
    """Whether the viewer follows or features the tag (so it may see it before anyone posts with it)."""
    if viewer_id is None:
        return False
    return bool(
        await actions.followed_tag_ids(session, viewer_id, [tag_id])
        or await featured_actions.featured_tag_ids(session, viewer_id, [tag_id])
    )
