"""Endorsements (docs/api/social.md): ``POST /api/v1/accounts/:id/pin`` and ``/unpin`` (and
their Mastodon 4.4 names ``/endorse`` and ``/unendorse``, the same actions),
``GET /api/v1/endorsements`` and ``GET /api/v1/accounts/:id/endorsements``.
``domain/endorsements.py`` writes; ``Relationship.endorsed`` comes from ``storage/graph.py``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from szpak.api.deps import Viewer, current_ctx, maybe, parse_id, require, viewer_account_id
from szpak.api.pagination import Page, page_params
from szpak.api.routes.accounts import act_on_account, collection_shown, edge_page
from szpak.domain import endorsements as actions
from szpak.domain.context import Context
from szpak.domain.domain_blocks import not_domain_blocked_clause
from szpak.storage.models import Account, Endorsement

router = APIRouter()


@router.post("/api/v1/accounts/{account_id}/endorse")
@router.post("/api/v1/accounts/{account_id}/pin")
async def pin(request: Request, account_id: str, viewer: Viewer = require("write:accounts"), ctx: Context = Depends(current_ctx)) -> Any:
    """Endorse an account the viewer follows; answers with the Relationship."""
    return await act_on_account(request, ctx, viewer, account_id, actions.pin)


@router.post("/api/v1/accounts/{account_id}/unendorse")
@router.post("/api/v1/accounts/{account_id}/unpin")
async def unpin(request: Request, account_id: str, viewer: Viewer = require("write:accounts"), ctx: Context = Depends(current_ctx)) -> Any:
    return await act_on_account(request, ctx, viewer, account_id, actions.unpin)


@router.get("/api/v1/endorsements")
async def mine(
    request: Request,
    response: Response,
    page: Page = Depends(page_params(40, 80)),
    viewer: Viewer = require("read:accounts"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """Accounts the viewer endorses, most recent first, paged by the endorsement's id."""
    return await edge_page(request, response, ctx, actions.endorsed_query(viewer.account_id), Endorsement.id, page)


@router.get("/api/v1/accounts/{account_id}/endorsements")
async def of_account(
    request: Request,
    response: Response,
    account_id: str,
    page: Page = Depends(page_params(40, 80)),
    viewer: Viewer | None = maybe("read:accounts"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """Accounts featured on a profile; hidden, as followers are, when the owner hides its
    collections or blocks the viewer."""
    vid = viewer_account_id(viewer)
    aid = parse_id(account_id)
    if not await collection_shown(ctx, aid, vid):
        return []
    query = actions.endorsed_query(aid)
    if vid is not None:
        query = query.where(not_domain_blocked_clause(vid, Account))
    return await edge_page(request, response, ctx, query, Endorsement.id, page)
