"""Domain blocks (docs/api/social.md): ``GET/POST/DELETE /api/v1/domain_blocks``.
``domain/domain_blocks.py`` writes and says where a block applies."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from szpak.api.deps import Viewer, current_ctx, own_id, require
from szpak.api.pagination import Page, link_header, page_params
from szpak.api.params import Params, body
from szpak.domain import domain_blocks as actions
from szpak.domain.context import Context
from szpak.storage.models import DomainBlock

router = APIRouter()


class DomainParams(Params):
    domain: Any = None


@router.get("/api/v1/domain_blocks")
async def index(
    request: Request,
    response: Response,
    page: Page = Depends(page_params(100, 200)),
    viewer: Viewer = require("read:blocks", "follow"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """The blocked domains (strings), most recent first, paged by the block's id."""
    query = select(DomainBlock.id, DomainBlock.domain).where(DomainBlock.account_id == own_id(viewer))
    async with ctx.read() as s:
        rows = page.finish(list((await s.execute(page.apply(query, DomainBlock.id))).all()))
    link_header(request, response, [row[0] for row in rows])
    return [row[1] for row in rows]


@router.post("/api/v1/domain_blocks")
async def create(
    params: DomainParams = body(DomainParams), viewer: Viewer = require("write:blocks", "follow"), ctx: Context = Depends(current_ctx)
) -> Any:
    async with ctx.tx() as tx:
        await actions.block(tx, await viewer.account(tx.session), params.domain)
    return {}


@router.delete("/api/v1/domain_blocks")
async def destroy(
    params: DomainParams = body(DomainParams), viewer: Viewer = require("write:blocks", "follow"), ctx: Context = Depends(current_ctx)
) -> Any:
    async with ctx.tx() as tx:
        await actions.unblock(tx, await viewer.account(tx.session), params.domain)
    return {}
