"""``/api/v1/bookmarks`` and ``/api/v1/favourites``: the statuses a user marked.

Pages are ordered and cut by the mark's own id (when it was bookmarked or favourited,
not when the status was posted), and the ``Link`` header carries those ids, as
Mastodon does. A status the user can no longer see drops out of the list.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from szpak.api.deps import current_ctx, Viewer, require
from szpak.api.pagination import Page, link_header, page_params
from szpak.domain.context import Context
from szpak.domain.visibility import visible_clause
from szpak.storage.models import Bookmark, Favourite, Status
from szpak.storage.queries import load_bundle

router = APIRouter()


async def _marked(
    request: Request, response: Response, ctx: Context, mark: type[Bookmark | Favourite], page: Page, me: int
) -> list[dict[str, Any]]:
    q = (
        select(mark.id, Status)
        .join(Status, Status.id == mark.status_id)
        .where(mark.account_id == me, visible_clause(me))
    )
    async with ctx.read() as s:
        rows = page.finish(list((await s.execute(page.apply(q, mark.id))).all()))  # type: ignore[arg-type]
        statuses = [st for _, st in rows]
        bundle = await load_bundle(s, statuses, me)
    link_header(request, response, [mark_id for mark_id, _ in rows])
    return request.app.state.renderer.statuses(statuses, bundle)  # type: ignore[no-any-return]


@router.get("/api/v1/bookmarks")
async def bookmarks(
    request: Request,
    response: Response,
    page: Page = Depends(page_params()),
    viewer: Viewer = require("read:bookmarks"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    assert viewer.account_id is not None
    return await _marked(request, response, ctx, Bookmark, page, viewer.account_id)


@router.get("/api/v1/favourites")
async def favourites(
    request: Request,
    response: Response,
    page: Page = Depends(page_params()),
    viewer: Viewer = require("read:favourites"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    assert viewer.account_id is not None
    return await _marked(request, response, ctx, Favourite, page, viewer.account_id)
