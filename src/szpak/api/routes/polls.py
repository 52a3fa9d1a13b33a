"""``/api/v1/polls``: read a poll and vote in it (docs/api/polls.md).

A poll is seen exactly when its status is (domain/visibility.py): a followers-only
post's poll is 404 to everyone else, for reading and for voting alike. Polls are made
and changed with their status (``POST``/``PUT /api/v1/statuses``); the rules live in
``domain/polls.py``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from szpak.api.deps import Viewer, current_ctx, maybe, parse_id, require, viewer_account_id
from szpak.api.params import Params, body
from szpak.api.responses import JSON
from szpak.api.routes.statuses import run_action
from szpak.domain import polls
from szpak.domain.context import Context, Tx
from szpak.domain.errors import NotFound
from szpak.storage.models.polls import Poll, load_poll_views

router = APIRouter()


class VoteParams(Params):
    #: Option indexes, from 0: ``choices[]=0&choices[]=2`` or ``{"choices": [0, 2]}``.
    choices: Any = None


async def _render(request: Request, ctx: Context, poll_id: int, viewer_id: int | None) -> Any:
    async with ctx.read() as s:
        _, status = await polls.visible_poll(s, poll_id, viewer_id)
        view = (await load_poll_views(s, [status.id], viewer_id)).get(status.id)
    if view is None:
        raise NotFound()
    return JSON(request.app.state.renderer.poll(view, viewer_id))


@router.get("/api/v1/polls/{poll_id}")
async def get_poll(
    request: Request, poll_id: str, viewer: Viewer | None = maybe("read:statuses"), ctx: Context = Depends(current_ctx)
) -> Any:
    return await _render(request, ctx, parse_id(poll_id), viewer_account_id(viewer))


@router.post("/api/v1/polls/{poll_id}/votes")
async def vote(
    request: Request,
    poll_id: str,
    params: VoteParams = body(VoteParams),
    viewer: Viewer = require("write:statuses"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """Vote; answers with the poll as the voter now sees it."""
    pid = parse_id(poll_id)
    voter_id = viewer.account_id
    assert voter_id is not None  # require() asks for a user

    async def action(tx: Tx) -> Poll:
        return await polls.vote(tx, voter_id, pid, params.choices)

    await run_action(ctx, action)
    return await _render(request, ctx, pid, voter_id)
