"""``/api/v1/timelines``: home, public, tag.

Home is computed on read (fan-out on read): the statuses of the accounts the
viewer follows, plus the viewer's own, newest first. Who may see a row is decided by
``domain/visibility.py`` alone; what is left here is which rows belong to which feed,
following Mastodon's feed rules (docs/api/statuses.md). Every list is paged with
``max_id``/``since_id``/``min_id``/``limit`` on the time-ordered ids and answers with
a ``Link`` header.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import cache
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import BigInteger, ColumnElement, Integer, Select, bindparam, or_, select

from szpak.api.deps import current_ctx, Viewer, maybe, require, viewer_account_id
from szpak.api.responses import JSON
from szpak.api.pagination import Page, link_header, page_params
from szpak.domain.context import Context
from szpak.domain.lists import exclusive_members_query
from szpak.domain.visibility import PUBLIC_TIMELINE_VISIBILITIES, not_muted_clause, visible_clause
from szpak.storage.models import Follow, Status, StatusTag, Tag
from szpak.storage.models.base import UTCDateTime
from szpak.storage.queries import load_bundle

router = APIRouter()

#: ``any[]``, ``all[]`` and ``none[]`` of a tag timeline take this many names each (as Mastodon).
TAGS_PER_MODE = 4


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes", "on")


async def _respond(
    request: Request, response: Response, ctx: Context, query: Select[tuple[Status]], page: Page, viewer_id: int | None
) -> Any:
    async with ctx.read() as s:
        rows = page.finish(list(await s.scalars(page.apply(query, Status.id))))
        bundle = await load_bundle(s, rows, viewer_id)
    link_header(request, response, [st.id for st in rows])
    return request.app.state.renderer.statuses(rows, bundle)


# -- hot paths: statements built once, run with bind parameters ------------------------------
# Building these statements costs far more than running them (dozens of correlated
# subqueries), so home and public build theirs once per shape and page through bind
# parameters; rendering goes through the Presenter's caches (api/presenter.py).

MAX_ID = 2**63 - 1


def _paged_ids(query: Select[tuple[Status]], ascending: bool) -> Select[Any]:
    query = query.with_only_columns(Status.id).where(
        Status.id < bindparam("max_id", type_=BigInteger), Status.id > bindparam("since_id", type_=BigInteger)
    )
    order = Status.id.asc() if ascending else Status.id.desc()
    return query.order_by(order).limit(bindparam("limit", type_=Integer))


@cache
def _home_ids(ascending: bool) -> Select[Any]:
    viewer = bindparam("viewer", type_=BigInteger)
    return _paged_ids(home_query(viewer, bindparam("now", type_=UTCDateTime())), ascending)


@cache
def _public_ids(signed_in: bool, local: bool, remote: bool, only_media: bool, ascending: bool) -> Select[Any]:
    viewer = bindparam("viewer", type_=BigInteger) if signed_in else None
    query = public_query(viewer, local=local, remote=remote, only_media=only_media, now=bindparam("now", type_=UTCDateTime()))
    return _paged_ids(query, ascending)


def _page_binds(page: Page) -> dict[str, Any]:
    since = max(page.since_id or 0, page.min_id or 0)
    return {"max_id": page.max_id if page.max_id is not None else MAX_ID, "since_id": since, "limit": page.limit}


async def _respond_fast(
    request: Request, response: Response, ctx: Context, statement: Select[Any], page: Page, viewer_id: int | None
) -> Response:
    binds = _page_binds(page)
    if viewer_id is not None:
        binds["viewer"] = viewer_id
    binds["now"] = datetime.now(timezone.utc)
    async with ctx.read() as s:
        ids = list(await s.scalars(statement, binds))
        if page.min_id is not None:
            ids.reverse()
        data = await request.app.state.presenter.statuses(s, ids, viewer_id)
    link_header(request, response, ids)
    return JSON(data, headers=dict(response.headers))


def home_query(me: Any, now: Any = None) -> Select[tuple[Status]]:
    """The viewer's home feed, as Mastodon's home feed filter has it:

    - the viewer's own posts and boosts, always;
    - posts and boosts of followed accounts that the viewer may see, unless muted;
    - a reply only when it answers the viewer, a followed account or its own author;
    - no boosts from accounts followed with ``reblogs: false``;
    - nothing from members of the viewer's exclusive lists (they are read in the list).
    """
    followed = select(Follow.target_account_id).where(Follow.account_id == me)
    reblogs_hidden = select(Follow.target_account_id).where(Follow.account_id == me, Follow.show_reblogs.is_(False))
    return select(Status).where(
        or_(Status.account_id == me, Status.account_id.in_(followed)),
        visible_clause(me),
        not_muted_clause(me, now),
        or_(
            Status.account_id == me,
            Status.in_reply_to_account_id.is_(None),
            Status.in_reply_to_account_id == me,
            Status.in_reply_to_account_id == Status.account_id,
            Status.in_reply_to_account_id.in_(followed),
        ),
        or_(Status.reblog_of_id.is_(None), Status.account_id.not_in(reblogs_hidden)),
        Status.account_id.not_in(exclusive_members_query(me)),
    )


def _public_base(viewer_id: Any, now: Any = None) -> Select[tuple[Status]]:
    """Public posts (no boosts) the viewer may see, muted authors left out."""
    return select(Status).where(
        Status.visibility.in_(PUBLIC_TIMELINE_VISIBILITIES),
        Status.reblog_of_id.is_(None),
        visible_clause(viewer_id),
        not_muted_clause(viewer_id, now),
    )


def _where_origin(query: Select[tuple[Status]], *, local: bool, remote: bool, only_media: bool) -> Select[tuple[Status]]:
    if local:
        query = query.where(Status.local.is_(True))
    if remote:
        query = query.where(Status.local.is_(False))
    if only_media:
        query = query.where(Status.has_media.is_(True))
    return query


def public_query(
    viewer_id: Any, *, local: bool, remote: bool, only_media: bool, now: Any = None
) -> Select[tuple[Status]]:
    """The public timeline: public posts that start something; replies to others stay out
    (a thread's continuation by its own author stays in), as in Mastodon."""
    query = _public_base(viewer_id, now).where(
        or_(Status.in_reply_to_id.is_(None), Status.in_reply_to_account_id == Status.account_id)
    )
    return _where_origin(query, local=local, remote=remote, only_media=only_media)


def _tagged(names: list[str]) -> ColumnElement[bool]:
    return Status.id.in_(select(StatusTag.status_id).join(Tag, Tag.id == StatusTag.tag_id).where(Tag.name.in_(names)))


def _tag_names(request: Request, mode: str) -> list[str]:
    """``any[]=a&any[]=b`` (or ``any=a``), normalised, at most :data:`TAGS_PER_MODE`."""
    names: list[str] = []
    for key, value in request.query_params.multi_items():
        if key in (mode, f"{mode}[]"):
            name = value.strip().lstrip("#").lower()
            if name and name not in names:
                names.append(name)
    return names[:TAGS_PER_MODE]


def tag_query(
    viewer_id: int | None, hashtag: str, *, any_: list[str], all_: list[str], none: list[str],
    local: bool, remote: bool, only_media: bool,
) -> Select[tuple[Status]]:
    """Public posts with the tag (or any of ``any_``), all of ``all_`` and none of ``none``."""
    first = hashtag.strip().lstrip("#").lower()
    query = _public_base(viewer_id).where(_tagged([first, *any_]))
    for name in all_:
        query = query.where(_tagged([name]))
    if none:
        query = query.where(~_tagged(none))
    return _where_origin(query, local=local, remote=remote, only_media=only_media)


@router.get("/api/v1/timelines/home")
async def home(
    request: Request,
    response: Response,
    page: Page = Depends(page_params()),
    viewer: Viewer = require("read:statuses"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    me = viewer.account_id
    assert me is not None  # require() insists on a user
    return await _respond_fast(request, response, ctx, _home_ids(page.min_id is not None), page, me)


@router.get("/api/v1/timelines/public")
async def public(
    request: Request,
    response: Response,
    local: str | None = None,
    remote: str | None = None,
    only_media: str | None = None,
    page: Page = Depends(page_params()),
    viewer: Viewer | None = maybe("read:statuses"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    vid = viewer_account_id(viewer)
    statement = _public_ids(vid is not None, _flag(local), _flag(remote), _flag(only_media), page.min_id is not None)
    return await _respond_fast(request, response, ctx, statement, page, vid)


@router.get("/api/v1/timelines/tag/{hashtag}")
async def tag(
    request: Request,
    response: Response,
    hashtag: str,
    local: str | None = None,
    remote: str | None = None,
    only_media: str | None = None,
    page: Page = Depends(page_params()),
    viewer: Viewer | None = maybe("read:statuses"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    vid = viewer_account_id(viewer)
    query = tag_query(
        vid, hashtag,
        any_=_tag_names(request, "any"), all_=_tag_names(request, "all"), none=_tag_names(request, "none"),
        local=_flag(local), remote=_flag(remote), only_media=_flag(only_media),
    )
    return await _respond(request, response, ctx, query, page, vid)
