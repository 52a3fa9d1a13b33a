"""``/api/v1/follow_requests``: who asked to follow a locked account, and the answer.

The list is paginated by the request's id (not the requester's account id), as
Mastodon does; ``authorize`` turns a request into a follow, ``reject`` drops it.
Both answer with the Relationship to the requester as it stands afterwards.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from szpak.api.deps import current_ctx, Viewer, parse_id, require
from szpak.api.pagination import Page, page_params
from szpak.api.routes.accounts import edge_page, relationship_of
from szpak.domain import relationships as graph_actions
from szpak.domain.context import Context
from szpak.storage.models import Account, FollowRequest

router = APIRouter()


@router.get("/api/v1/follow_requests")
async def list_follow_requests(
    request: Request,
    response: Response,
    page: Page = Depends(page_params(40, 80)),
    viewer: Viewer = require("read:follows"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    q = (
        select(FollowRequest.id, Account)
        .join(Account, Account.id == FollowRequest.account_id)
        .where(FollowRequest.target_account_id == viewer.account_id, Account.suspended_at.is_(None))
    )
    return await edge_page(request, response, ctx, q, FollowRequest.id, page)


@router.post("/api/v1/follow_requests/{account_id}/authorize")
async def authorize(
    request: Request, account_id: str, viewer: Viewer = require("write:follows"), ctx: Context = Depends(current_ctx)
) -> Any:
    requester = parse_id(account_id)
    async with ctx.tx() as tx:
        actor = await viewer.account(tx.session)
        await graph_actions.authorize_follow_request(tx, actor, requester)
    assert viewer.account_id is not None
    return await relationship_of(request, ctx, viewer.account_id, requester)


@router.post("/api/v1/follow_requests/{account_id}/reject")
async def reject(
    request: Request, account_id: str, viewer: Viewer = require("write:follows"), ctx: Context = Depends(current_ctx)
) -> Any:
    requester = parse_id(account_id)
    async with ctx.tx() as tx:
        actor = await viewer.account(tx.session)
        await graph_actions.reject_follow_request(tx, actor, requester)
    assert viewer.account_id is not None
    return await relationship_of(request, ctx, viewer.account_id, requester)
