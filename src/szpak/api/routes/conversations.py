"""Direct-message conversations (docs/api/social.md): ``GET /api/v1/conversations``,
``DELETE /api/v1/conversations/:id``, ``POST /api/v1/conversations/:id/read``.
``domain/conversations.py`` keeps the rows; a conversation that is not the viewer's is 404.

Pages are ordered and paged by the conversation's last status id (as Mastodon does), so
a new message moves its conversation to the top.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.api.deps import Viewer, current_ctx, own_id, parse_id, require
from szpak.api.pagination import Page, link_header, page_params
from szpak.domain import conversations as actions
from szpak.domain.context import Context
from szpak.domain.visibility import visible_clause
from szpak.storage.models import Account, AccountConversation, Status

router = APIRouter()


async def render_conversations(
    request: Request, session: AsyncSession, rows: Sequence[AccountConversation], me: int
) -> list[dict[str, Any]]:
    """Conversation entities: the other participants (the viewer alone in a note to itself)
    and the last status, rendered as ``GET /api/v1/statuses/:id`` shows it to the viewer
    (``null`` if the viewer may no longer see it, e.g. after a block)."""
    presenter = request.app.state.presenter
    last_ids = [r.last_status_id for r in rows]
    visible = set(
        await session.scalars(select(Status.id).where(Status.id.in_(last_ids), visible_clause(me)))
    ) if last_ids else set()
    statuses = {int(d["id"]): d for d in await presenter.statuses(session, [i for i in last_ids if i in visible], me)}
    wanted: set[int] = {me}
    for r in rows:
        wanted.update(int(i) for i in r.participant_ids or [])
    live = set(await session.scalars(select(Account.id).where(Account.id.in_(wanted), Account.suspended_at.is_(None))))
    accounts = await presenter.accounts(session, live)
    out = []
    for r in rows:
        others = [accounts[int(i)] for i in r.participant_ids or [] if int(i) in accounts]
        if not r.participant_ids and me in accounts:
            others = [accounts[me]]
        out.append({
            "id": str(r.id),
            "unread": bool(r.unread),
            "accounts": others,
            "last_status": statuses.get(r.last_status_id),
        })
    return out


@router.get("/api/v1/conversations")
async def index(
    request: Request,
    response: Response,
    page: Page = Depends(page_params(20, 40)),
    viewer: Viewer = require("read:statuses"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    me = own_id(viewer)
    async with ctx.read() as s:
        rows = page.finish(list(await s.scalars(page.apply(actions.list_query(me), AccountConversation.last_status_id))))
        data = await render_conversations(request, s, rows, me)
    link_header(request, response, [r.last_status_id for r in rows])
    return data


@router.delete("/api/v1/conversations/{conversation_id}")
async def destroy(conversation_id: str, viewer: Viewer = require("write:conversations"), ctx: Context = Depends(current_ctx)) -> Any:
    cid = parse_id(conversation_id)
    async with ctx.tx() as tx:
        await actions.remove(tx, own_id(viewer), cid)
    return {}


@router.post("/api/v1/conversations/{conversation_id}/read")
async def read(
    request: Request, conversation_id: str, viewer: Viewer = require("write:conversations"), ctx: Context = Depends(current_ctx)
) -> Any:
    cid = parse_id(conversation_id)
    me = own_id(viewer)
    async with ctx.tx() as tx:
        await actions.mark_read(tx, me, cid)
    async with ctx.read() as s:
        row = await actions.owned(s, me, cid)
        return (await render_conversations(request, s, [row], me))[0]
