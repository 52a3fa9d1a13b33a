"""``/api/v1/blocks`` and ``/api/v1/mutes``: the accounts the viewer blocks or mutes.

Both are paginated by the block's or mute's own id (newest first), as Mastodon
does. Mutes whose time is up are left out even before the job that lifts them has
run; each muted account carries ``mute_expires_at``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import or_, select

from szpak.api.deps import current_ctx, Viewer, require
from szpak.api.pagination import Page, link_header, page_params
from szpak.api.routes.accounts import edge_page
from szpak.domain.context import Context
from szpak.storage.models import Account, Block, Mute

router = APIRouter()


@router.get("/api/v1/blocks")
async def list_blocks(
    request: Request,
    response: Response,
    page: Page = Depends(page_params(40, 80)),
    viewer: Viewer = require("read:blocks"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    q = (
        select(Block.id, Account)
        .join(Account, Account.id == Block.target_account_id)
        .where(Block.account_id == viewer.account_id)
    )
    return await edge_page(request, response, ctx, q, Block.id, page)


@router.get("/api/v1/mutes")
async def list_mutes(
    request: Request,
    response: Response,
    page: Page = Depends(page_params(40, 80)),
    viewer: Viewer = require("read:mutes"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    now = datetime.now(timezone.utc)
    q = (
        select(Mute.id, Account, Mute.expires_at)
        .join(Account, Account.id == Mute.target_account_id)
        .where(Mute.account_id == viewer.account_id, or_(Mute.expires_at.is_(None), Mute.expires_at > now))
    )
    async with ctx.read() as s:
        rows = page.finish(list((await s.execute(page.apply(q, Mute.id))).all()))
    link_header(request, response, [row[0] for row in rows])
    renderer = request.app.state.renderer
    return [renderer.muted_account(account, expires) for _, account, expires in rows]
