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
from szpak.domain.moderation import not_silenced_clause
from szpak.domain.tag_follows import followed_tags_clause
from szpak.domain.visibility import PUBLIC_TIMELINE_VISIBILITIES, not_muted_clause, visible_clause
from szpak.storage.models import Follow, Status, StatusTag, Tag, TagFollow
from szpak.storage.models.base import UTCDateTime
from szpak.storage.queries import fetch_raw, load_bundle

router = APIRouter()

#: ``any[]``, ``all[]`` and ``none[]`` of a tag timeline take this many names each (as Mastodon).
TAGS_PER_MODE = 4


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes", "on")


async def _respond(
    request: Request, response: Response, ctx: Context, query: Select[tuple[Status]], page: Page, viewer_id: int | None,
    context: str | None = None,
) -> Any:
    async with ctx.read() as s:
        rows = page.finish(list(await s.scalars(page.apply(query, Status.id))))
        bundle = await load_bundle(s, rows, viewer_id)
        data = request.app.state.renderer.statuses(rows, bundle)
        data = await request.app.state.presenter.apply_filters(s, viewer_id, context, data)
    link_header(request, response, [st.id for st in rows])
    return data


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
def _home_ids(ascending: bool, with_tags: bool = True) -> Select[Any]:
    viewer = bindparam("viewer", type_=BigInteger)
    query = home_query(viewer, bindparam("now", type_=UTCDateTime()), with_tags=with_tags, paged=True)
    return _paged_ids(query, ascending)


@cache
def _follows_a_tag() -> Select[Any]:
    return select(TagFollow.id).where(TagFollow.account_id == bindparam("viewer", type_=BigInteger)).limit(1)


async def home_statement(session: Any, viewer_id: int, ascending: bool) -> Select[Any]:
    """The home statement for this viewer: on SQLite without the followed-tags branch when
    they follow no hashtag (most viewers). The branch cost most of each window's time even when it could
    match nothing (SQLite walks the window's public posts for it), and with statistics
    (``ANALYZE``) SQLite planned it through an index that scans nearly the whole table."""
    if session.bind.dialect.name != "sqlite":
        # PostgreSQL plans the branch well (docs/performance.md "At scale"), and the lookup
        # would cost a statement through the session (~0.3 ms) on every page.
        return _home_ids(ascending, True)
    with_tags = bool(await fetch_raw(session, _follows_a_tag(), {"viewer": viewer_id}))
    return _home_ids(ascending, with_tags)


@cache
def _public_ids(signed_in: bool, local: bool, remote: bool, only_media: bool, ascending: bool) -> Select[Any]:
    viewer = bindparam("viewer", type_=BigInteger) if signed_in else None
    query = public_query(viewer, local=local, remote=remote, only_media=only_media, now=bindparam("now", type_=UTCDateTime()))
    return _paged_ids(query, ascending)


# -- windows: a feed page costs O(page), not O(everything the viewer follows) ---------------
# The home statement has to test each candidate row against dozens of correlated
# subqueries, and SQLite gathers every candidate (every status of every followed account,
# every followed-tag post) before sorting: ~6 µs a row, 30 ms for 5,000 statuses. A newest-
# first page is therefore evaluated over windows of the id space, newest first: the first
# window holds the ``limit * WINDOW_PER_ROW`` newest statuses of the whole server (a walk
# of the primary key), each further one WINDOW_GROWTH times more, and the last one reaches
# down to ``since_id``. The same statement runs in each window (its ``max_id``/``since_id``
# binds narrowed to it; the account and tag indexes take the range) for the rows still
# missing. Windows are contiguous and visited in id order, so the result is exactly the
# unwindowed query's: a filter added to ``home_query`` needs nothing here.
# tests/api/test_timeline_windows.py checks that over random worlds.

WINDOW_PER_ROW = 2
WINDOW_GROWTH = 4


@cache
def _nth_below() -> Select[Any]:
    """The id of the ``skip+1``-th newest status below ``upper`` (any author)."""
    return (
        select(Status.id)
        .where(Status.id < bindparam("upper", type_=BigInteger))
        .order_by(Status.id.desc())
        .limit(1)
        .offset(bindparam("skip", type_=Integer))
    )


async def windowed_ids(session: Any, statement: Select[Any], binds: dict[str, Any]) -> list[int]:
    """``statement`` (newest first, built by :func:`_paged_ids`) run window by window."""
    limit, since, upper = binds["limit"], binds["since_id"], binds["max_id"]
    size = limit * WINDOW_PER_ROW
    out: list[int] = []
    while True:
        row = await fetch_raw(session, _nth_below(), {"upper": upper, "skip": size - 1})
        floor = row[0][0] if row else None
        last = floor is None or floor - 1 <= since
        window = {**binds, "max_id": upper, "since_id": since if last else floor - 1, "limit": limit - len(out)}
        out.extend(r[0] for r in await fetch_raw(session, statement, window))
        if last or len(out) >= limit:
            return out
        upper, size = floor, size * WINDOW_GROWTH


def _page_binds(page: Page) -> dict[str, Any]:
    since = max(page.since_id or 0, page.min_id or 0)
    return {"max_id": page.max_id if page.max_id is not None else MAX_ID, "since_id": since, "limit": page.limit}


async def _respond_fast(
    request: Request, response: Response | None, ctx: Context, statement: Select[Any] | None, page: Page,
    viewer_id: int | None, context: str | None = None, *, windowed: bool = False,
) -> Response:
    binds = _page_binds(page)
    if viewer_id is not None:
        binds["viewer"] = viewer_id
    binds["now"] = datetime.now(timezone.utc)
    async with ctx.read() as s:
        if statement is None:  # home: the viewer's own shape of the statement
            assert viewer_id is not None
            statement = await home_statement(s, viewer_id, page.min_id is not None)
        if windowed and page.min_id is None:
            ids = await windowed_ids(s, statement, binds)
        else:
            ids = [row[0] for row in await fetch_raw(s, statement, binds)]
        if page.min_id is not None:
            ids.reverse()
        data = await request.app.state.presenter.statuses(s, ids, viewer_id, context)
    out = JSON(data)
    link_header(request, out, ids)
    if response is not None:  # headers a dependency may have set on the route's Response
        for key, value in response.headers.items():
            if key not in out.headers:
                out.headers[key] = value
    return out


def home_query(me: Any, now: Any = None, *, with_tags: bool = True, paged: bool = False) -> Select[tuple[Status]]:
    """The viewer's home feed, as Mastodon's home feed filter has it:

    - the viewer's own posts and boosts, always;
    - posts and boosts of followed accounts that the viewer may see, unless muted;
    - public posts with a hashtag the viewer follows (``followed_tags_clause``), on the same terms;
    - a reply only when it answers the viewer, a followed account or its own author;
    - no boosts from accounts followed with ``reblogs: false``;
    - nothing from members of the viewer's exclusive lists (they are read in the list).

    ``with_tags=False`` leaves out the followed-tags branch: the same rows for a viewer who
    follows no hashtag (``home_statement`` picks it). ``paged``: the statement will be
    bounded by ``max_id``/``since_id`` binds (``_paged_ids``), which the tag branch repeats.
    """
    followed = select(Follow.target_account_id).where(Follow.account_id == me)
    reblogs_hidden = select(Follow.target_account_id).where(Follow.account_id == me, Follow.show_reblogs.is_(False))
    sources = [Status.account_id == me, Status.account_id.in_(followed)]
    if with_tags:
        window = (bindparam("max_id", type_=BigInteger), bindparam("since_id", type_=BigInteger)) if paged else ()
        sources.append(followed_tags_clause(me, *window))
    return select(Status).where(
        or_(*sources),
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
    """Public posts (no boosts) the viewer may see, muted authors left out, and silenced
    ones unless the viewer follows them (domain/moderation.py)."""
    return select(Status).where(
        Status.visibility.in_(PUBLIC_TIMELINE_VISIBILITIES),
        Status.reblog_of_id.is_(None),
        visible_clause(viewer_id),
        not_muted_clause(viewer_id, now),
        not_silenced_clause(viewer_id),
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
    page: Page = Depends(page_params()),
    viewer: Viewer = require("read:statuses"),
) -> Any:
    # No ``Response``/``Depends(current_ctx)`` parameters: each is one more thing for FastAPI
    # to solve per request on the hottest read (docs/performance.md).
    me = viewer.account_id
    assert me is not None  # require() insists on a user
    return await _respond_fast(request, None, request.app.state.ctx, None, page, me, "home", windowed=True)


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
    return await _respond_fast(request, response, ctx, statement, page, vid, "public")


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
    any_, all_, none = _tag_names(request, "any"), _tag_names(request, "all"), _tag_names(request, "none")
    if any("\x00" in name for name in (hashtag, *any_, *all_, *none)):
        return JSON([])  # no tag can hold a NUL byte (PostgreSQL would refuse to compare it)
    query = tag_query(
        vid, hashtag,
        any_=any_, all_=all_, none=none,
        local=_flag(local), remote=_flag(remote), only_media=_flag(only_media),
    )
    return await _respond(request, response, ctx, query, page, vid, "public")
