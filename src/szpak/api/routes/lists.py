"""``/api/v1/lists`` and ``/api/v1/timelines/list/:id`` (docs/api/lists.md).

Routes parse and authorise; ``domain/lists.py`` writes. A list that is not the viewer's is
answered 404, exactly as one that does not exist.

The list timeline is fan-out on read, like home: the statuses of the list's current
members that the owner may see, unless muted, with replies filtered by the list's
``replies_policy``. Its statement is built once per policy and page direction and run with
bind parameters (as ``_home_ids`` in ``timelines.py``); statuses render through the
Presenter.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import cache
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import field_validator
from sqlalchemy import BigInteger, Select, bindparam, or_, select

from szpak.api.deps import Viewer, current_ctx, own_id, parse_id, require
from szpak.api.pagination import Page, link_header, page_params
from szpak.api.params import Params, body
from szpak.api.responses import JSON
from szpak.api.routes.timelines import _page_binds, _paged_ids
from szpak.domain import lists as actions
from szpak.domain.context import Context
from szpak.domain.errors import Invalid
from szpak.domain.visibility import not_muted_clause, visible_clause
from szpak.storage.models import Account, Follow, List, ListAccount, Status
from szpak.storage.models.base import UTCDateTime

router = APIRouter()


def list_entity(row: List) -> dict[str, Any]:
    """Mastodon's ``List``."""
    return {"id": str(row.id), "title": row.title, "replies_policy": row.replies_policy, "exclusive": row.exclusive}


# -- request bodies ----------------------------------------------------------------------

class ListFields(Params):
    title: str | None = None
    replies_policy: str | None = None
    exclusive: bool | None = None

    @field_validator("title", "replies_policy", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, str):
            raise ValueError("must be a string")
        if value is not None and "\x00" in value:
            raise ValueError("must not contain NUL bytes")
        return value


class AccountIds(Params):
    account_ids: list[int] = []

    @field_validator("account_ids", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        """``account_ids[]=1&account_ids[]=2``, a JSON array, or one id; ids are decimal strings."""
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        out = []
        for item in items:
            text = str(item).strip()
            if isinstance(item, bool) or not text.isdigit() or not 0 < int(text) < 2**63:
                raise ValueError("must be account ids")
            out.append(int(text))
        return out


async def _actor(tx: Any, viewer: Viewer) -> Account:
    account = await tx.session.get(Account, own_id(viewer))
    assert account is not None
    return account  # type: ignore[no-any-return]


# -- lists -------------------------------------------------------------------------------

@router.get("/api/v1/lists")
async def index(viewer: Viewer = require("read:lists"), ctx: Context = Depends(current_ctx)) -> Any:
    async with ctx.read() as s:
        return [list_entity(row) for row in await actions.lists_of(s, own_id(viewer))]


@router.post("/api/v1/lists")
async def create(
    params: ListFields = body(ListFields), viewer: Viewer = require("write:lists"), ctx: Context = Depends(current_ctx)
) -> Any:
    async with ctx.tx() as tx:
        row = await actions.create_list(
            tx, await _actor(tx, viewer), title=params.title, replies_policy=params.replies_policy,
            exclusive=params.exclusive,
        )
        return list_entity(row)


@router.get("/api/v1/lists/{list_id}")
async def show(list_id: str, viewer: Viewer = require("read:lists"), ctx: Context = Depends(current_ctx)) -> Any:
    async with ctx.read() as s:
        return list_entity(await actions.owned_list(s, own_id(viewer), parse_id(list_id)))


@router.put("/api/v1/lists/{list_id}")
async def update(
    list_id: str,
    params: ListFields = body(ListFields),
    viewer: Viewer = require("write:lists"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    lid = parse_id(list_id)
    async with ctx.tx() as tx:
        row = await actions.update_list(
            tx, await _actor(tx, viewer), lid, title=params.title, replies_policy=params.replies_policy,
            exclusive=params.exclusive,
        )
        return list_entity(row)


@router.delete("/api/v1/lists/{list_id}")
async def destroy(list_id: str, viewer: Viewer = require("write:lists"), ctx: Context = Depends(current_ctx)) -> Any:
    lid = parse_id(list_id)
    async with ctx.tx() as tx:
        await actions.delete_list(tx, await _actor(tx, viewer), lid)
    return {}


# -- members -----------------------------------------------------------------------------

def _limit_zero(request: Request) -> bool:
    return request.query_params.get("limit", "").strip() == "0"


@router.get("/api/v1/lists/{list_id}/accounts")
async def members(
    request: Request,
    response: Response,
    list_id: str,
    page: Page = Depends(page_params(40, 80)),
    viewer: Viewer = require("read:lists"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """Members, by account id, newest first; ``limit=0``: all of them, without a Link header."""
    lid = parse_id(list_id)
    query = (
        select(Account.id)
        .join(ListAccount, ListAccount.account_id == Account.id)
        .where(ListAccount.list_id == lid, Account.suspended_at.is_(None))
    )
    async with ctx.read() as s:
        await actions.owned_list(s, own_id(viewer), lid)
        if _limit_zero(request):
            ids = list(await s.scalars(query.order_by(Account.id.desc())))
        else:
            ids = page.finish(list(await s.scalars(page.apply(query, Account.id))))
            link_header(request, response, ids)
        rendered = await request.app.state.presenter.accounts(s, set(ids))
    return [rendered[i] for i in ids if i in rendered]


@router.post("/api/v1/lists/{list_id}/accounts")
async def add_members(
    list_id: str,
    params: AccountIds = body(AccountIds),
    viewer: Viewer = require("write:lists"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    lid = parse_id(list_id)
    async with ctx.tx() as tx:
        await actions.add_accounts(tx, await _actor(tx, viewer), lid, params.account_ids)
    return {}


@router.delete("/api/v1/lists/{list_id}/accounts")
async def remove_members(
    list_id: str,
    params: AccountIds = body(AccountIds),
    viewer: Viewer = require("write:lists"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    lid = parse_id(list_id)
    async with ctx.tx() as tx:
        await actions.remove_accounts(tx, await _actor(tx, viewer), lid, params.account_ids)
    return {}


# -- the list timeline -------------------------------------------------------------------

def list_query(list_id: Any, me: Any, policy: str, now: Any = None) -> Select[tuple[Status]]:
    """Statuses of the list's members that its owner ``me`` may see, unless muted; replies
    per ``policy`` (``domain.lists.reply_shown`` is the same rule in Python); no boosts from
    accounts followed with ``reblogs: false`` (as home)."""
    members = select(ListAccount.account_id).where(ListAccount.list_id == list_id)
    followed = select(Follow.target_account_id).where(Follow.account_id == me)
    reblogs_hidden = select(Follow.target_account_id).where(Follow.account_id == me, Follow.show_reblogs.is_(False))
    replies = [
        Status.in_reply_to_account_id.is_(None),
        Status.in_reply_to_account_id == Status.account_id,
        Status.in_reply_to_account_id == me,
    ]
    if policy == "followed":
        replies.append(Status.in_reply_to_account_id.in_(followed))
    elif policy == "list":
        replies.append(Status.in_reply_to_account_id.in_(members))
    elif policy != "none":
        raise Invalid(f"unknown replies policy {policy!r}")
    return select(Status).where(
        Status.account_id.in_(members),
        visible_clause(me),
        not_muted_clause(me, now),
        or_(*replies),
        or_(Status.reblog_of_id.is_(None), Status.account_id.not_in(reblogs_hidden)),
    )


@cache
def _list_ids(policy: str, ascending: bool) -> Select[Any]:
    query = list_query(
        bindparam("list_id", type_=BigInteger), bindparam("viewer", type_=BigInteger), policy,
        bindparam("now", type_=UTCDateTime()),
    )
    return _paged_ids(query, ascending)


@router.get("/api/v1/timelines/list/{list_id}")
async def timeline(
    request: Request,
    response: Response,
    list_id: str,
    page: Page = Depends(page_params()),
    viewer: Viewer = require("read:lists"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    me, lid = own_id(viewer), parse_id(list_id)
    async with ctx.read() as s:
        row = await actions.owned_list(s, me, lid)
        binds = {**_page_binds(page), "list_id": lid, "viewer": me, "now": datetime.now(timezone.utc)}
        ids = list(await s.scalars(_list_ids(row.replies_policy, page.min_id is not None), binds))
        if page.min_id is not None:
            ids.reverse()
        data = await request.app.state.presenter.statuses(s, ids, me, "home")
    link_header(request, response, ids)
    return JSON(data, headers=dict(response.headers))
