"""Follow suggestions and the profile directory (docs/api/social.md):
``GET /api/v2/suggestions``, ``GET /api/v1/suggestions``, ``DELETE /api/v1/suggestions/:account_id``
and ``GET /api/v1/directory``. ``domain/suggestions.py`` says what is suggested and listed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field, field_validator

from szpak.api.deps import Viewer, current_ctx, maybe, own_id, parse_id, require, viewer_account_id
from szpak.api.params import Params, query
from szpak.domain import suggestions as actions
from szpak.domain.context import Context

router = APIRouter()


def _limit(request: Request, default: int = 40, maximum: int = 80) -> int:
    try:
        n = int(request.query_params.get("limit") or default)
    except ValueError:
        n = default
    return max(1, min(n, maximum))


@router.get("/api/v2/suggestions")
async def suggestions_v2(request: Request, viewer: Viewer = require("read"), ctx: Context = Depends(current_ctx)) -> Any:
    """Suggestion entities: ``sources`` (Mastodon 4.3) and the older ``source``."""
    async with ctx.read() as s:
        found = await actions.suggestions(s, own_id(viewer), _limit(request))
        accounts = await request.app.state.presenter.accounts(s, {x.account.id for x in found})
    return [
        {"source": x.source, "sources": x.sources, "account": accounts[x.account.id]}
        for x in found if x.account.id in accounts
    ]


@router.get("/api/v1/suggestions")
async def suggestions_v1(request: Request, viewer: Viewer = require("read"), ctx: Context = Depends(current_ctx)) -> Any:
    """The same suggestions as plain accounts (Mastodon's deprecated v1 shape)."""
    async with ctx.read() as s:
        found = await actions.suggestions(s, own_id(viewer), _limit(request))
        accounts = await request.app.state.presenter.accounts(s, {x.account.id for x in found})
    return [accounts[x.account.id] for x in found if x.account.id in accounts]


@router.delete("/api/v1/suggestions/{account_id}")
async def dismiss(account_id: str, viewer: Viewer = require("read"), ctx: Context = Depends(current_ctx)) -> Any:
    """Never suggest this account again (Mastodon asks only the ``read`` scope here)."""
    target = parse_id(account_id)
    async with ctx.tx() as tx:
        await actions.dismiss(tx, await viewer.account(tx.session), target)
    return {}


class DirectoryParams(Params):
    offset: int = Field(0, ge=0, le=100_000)
    limit: int = 40
    order: str = Field("active", pattern="^(active|new)$")
    local: bool = False

    @field_validator("limit")
    @classmethod
    def _clamp(cls, value: int) -> int:
        return max(1, min(value, 80))


@router.get("/api/v1/directory")
async def directory(
    request: Request,
    params: DirectoryParams = query(DirectoryParams),
    viewer: Viewer | None = maybe(),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """Discoverable accounts, ``order=active`` (latest post first) or ``new``; ``local`` for
    local accounts only; paged with ``offset``/``limit``."""
    q = actions.directory_query(viewer_account_id(viewer), order=params.order, local=params.local)
    async with ctx.read() as s:
        ids = [a.id for a in (await s.execute(q.offset(params.offset).limit(params.limit))).scalars()]
        accounts = await request.app.state.presenter.accounts(s, set(ids))
    return [accounts[i] for i in ids if i in accounts]
