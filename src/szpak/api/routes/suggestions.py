"""Follow suggestions and the profile directory (docs/api/social.md):
``GET /api/v2/suggestions``, ``GET /api/v1/suggestions``, ``DELETE /api/v1/suggestions/:account_id``
and ``GET /api/v1/directory``. ``domain/suggestions.py`` says what is suggested and listed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from szpak.api.deps import Viewer, current_ctx, maybe, own_id, parse_id, require, viewer_account_id
from szpak.api.pagination import OFFSET_FIELD, limit_field, limit_value
from szpak.api.params import Params, query
from szpak.domain import suggestions as actions
from szpak.domain.context import Context

router = APIRouter()


#: The deepest ``offset`` the directory serves; beyond it the answer is empty.
MAX_DIRECTORY_OFFSET = 100_000


def _limit(request: Request) -> int:
    """Suggestions' ``limit``: default 40, at most 80, read as everywhere (``api/pagination.py``)."""
    return limit_value(request.query_params.get("limit"), 40, 80)


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
    offset: Annotated[int, OFFSET_FIELD] = 0
    limit: Annotated[int, limit_field(40, 80)] = 40
    order: str = Field("active", pattern="^(active|new)$")
    local: bool = False


@router.get("/api/v1/directory")
async def directory(
    request: Request,
    params: DirectoryParams = query(DirectoryParams),
    viewer: Viewer | None = maybe(),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """Discoverable accounts, ``order=active`` (latest post first) or ``new``; ``local`` for
    local accounts only; paged with ``offset``/``limit`` (nothing beyond ``MAX_DIRECTORY_OFFSET``)."""
    if params.offset > MAX_DIRECTORY_OFFSET:
        return []
    q = actions.directory_query(viewer_account_id(viewer), order=params.order, local=params.local)
    async with ctx.read() as s:
        ids = [a.id for a in (await s.execute(q.offset(params.offset).limit(params.limit))).scalars()]
        accounts = await request.app.state.presenter.accounts(s, set(ids))
    return [accounts[i] for i in ids if i in accounts]
