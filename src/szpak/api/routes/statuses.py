"""``/api/v1/statuses``: post, read, edit, delete, and the actions on a status.

Each write opens one transaction and calls one domain action, then renders the result
from a fresh read. Writes that insert a row another request may be inserting at the
same moment (a favourite, an idempotent post) retry once on a unique-key collision:
the second attempt sees the winner's row and answers as if it had been first.
See docs/api/statuses.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any, NamedTuple, TypeVar

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field
from sqlalchemy import BigInteger, bindparam, select
from sqlalchemy.exc import IntegrityError

from szpak.api.deps import current_ctx, Viewer, maybe, parse_id, require, viewer_account_id
from szpak.api.errors import APIError
from szpak.api.pagination import Page, link_header, page_params
from szpak.api.responses import JSON
from szpak.api.params import Params, body
from szpak.api.routes.scheduled_statuses import render_scheduled
from szpak.domain import interactions, polls, scheduled
from szpak.domain import media as media_actions
from szpak.domain import statuses as status_actions
from szpak.domain.context import Context, Tx
from szpak.domain.errors import Conflict, Invalid, NotFound
from szpak.domain.visibility import can_see, not_muted_clause, visible_clause
from szpak.storage.models import Account, Favourite, MediaAttachment, Poll, Status, StatusEdit, User
from szpak.api.presenter import Core
from szpak.storage.models import Application
from szpak.storage.models.media import load_media
from szpak.storage.models.polls import load_poll_views
from szpak.storage.queries import (
    StatusBundle,
    ancestor_ids,
    depth_first,
    descendant_tree,
    load_bundle,
    load_edits,
)

router = APIRouter()
T = TypeVar("T")

#: ``GET /api/v1/statuses?id[]=`` answers for at most this many ids (as Mastodon).
MULTI_LIMIT = 20
#: Thread sizes in ``/context``: signed-in readers get whole threads; anonymous ones a
#: bounded slice, as Mastodon limits unauthenticated context requests.
CONTEXT_LIMIT = 4096
ANONYMOUS_ANCESTORS = 40
ANONYMOUS_DESCENDANTS = 60
ANONYMOUS_DEPTH = 20

Id = str | int


class CreateStatus(Params):
    status: str | None = Field(None, max_length=100_000)
    media_ids: list[Id] = Field(default_factory=list, max_length=4)
    in_reply_to_id: Id | None = None
    sensitive: bool | None = None
    spoiler_text: str | None = Field(None, max_length=10_000)
    visibility: str | None = None
    language: str | None = None
    #: ISO 8601; makes the answer a ScheduledStatus (domain/scheduled.py).
    scheduled_at: Any = None
    #: ``poll[options][]``, ``poll[expires_in]``, ``poll[multiple]``, ``poll[hide_totals]`` (domain/polls.py).
    poll: Any = None


class EditStatus(Params):
    status: str | None = Field(None, max_length=100_000)
    spoiler_text: str | None = Field(None, max_length=10_000)
    sensitive: bool | None = None
    language: str | None = None
    media_ids: list[Id] | None = Field(None, max_length=4)
    #: Replaces the poll; given empty (or null) removes it; left out keeps it.
    poll: Any = None
    #: ``media_attributes[][id]``, ``[description]``, ``[focus]``: the post's media, changed in place.
    media_attributes: Any = None


class ReblogParams(Params):
    visibility: str | None = None


def _media_ids(raw: list[Id] | None) -> list[int] | None:
    if raw is None:
        return None
    out: list[int] = []
    for value in raw:
        try:
            out.append(int(value))
        except (TypeError, ValueError):
            raise Invalid("Validation failed: Media attachments not found") from None
    return out


def _new_poll(params: CreateStatus) -> polls.PollDraft | None:
    """The poll asked for with a new post; none together with media (as Mastodon)."""
    poll = polls.parse_poll(params.poll)
    if poll is not None and params.media_ids:
        raise Invalid("Validation failed: A post with a poll cannot have media attachments")
    return poll


def draft_from(params: CreateStatus, user: User | None, application_id: int | None) -> status_actions.StatusDraft:
    """The new post as asked for, the account's posting defaults filling the gaps."""
    poll = _new_poll(params)
    reply_to = parse_id(params.in_reply_to_id) if params.in_reply_to_id not in (None, "") else None
    language = params.language if params.language else (user.default_language if user else None)
    return status_actions.StatusDraft(
        text=params.status or "",
        spoiler_text=params.spoiler_text or "",
        visibility=params.visibility or (user.default_visibility if user else "public"),
        sensitive=params.sensitive if params.sensitive is not None else bool(user and user.default_sensitive),
        language=language,
        in_reply_to_id=reply_to,
        media_ids=_media_ids(params.media_ids) or [],
        application_id=application_id,
        poll=poll,
    )


async def run_action(ctx: Context, action: Callable[[Tx], Awaitable[T]]) -> T:
    """Run ``action`` in a transaction, once more if it lost a race for a unique key."""
    for attempt in (1, 2):
        try:
            async with ctx.tx() as tx:
                return await action(tx)
        except IntegrityError:
            if attempt == 2:
                raise Conflict("The request collided with another one; please retry") from None
    raise AssertionError("unreachable")


async def render_one(request: Request, ctx: Context, status_id: int, viewer_id: int | None) -> dict[str, Any]:
    async with ctx.read() as s:
        st = await s.get(Status, status_id)
        if st is None:
            raise NotFound()
        bundle = await load_bundle(s, [st], viewer_id)
    return request.app.state.renderer.status(st, bundle)  # type: ignore[no-any-return]


async def _visible(s: Any, status_id: int, viewer_id: int | None) -> Status:
    st = await s.get(Status, status_id)
    if st is None or not await can_see(s, st, viewer_id):
        raise NotFound()
    return st  # type: ignore[no-any-return]


# -- posting and reading --------------------------------------------------------------------


@router.post("/api/v1/statuses")
async def create_status(
    request: Request,
    params: CreateStatus = body(CreateStatus),
    viewer: Viewer = require("write:statuses"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    key = request.headers.get("idempotency-key")
    if params.scheduled_at not in (None, ""):
        return await _schedule(request, params, viewer, ctx)

    async def action(tx: Tx) -> tuple[Status, dict[str, Any] | None]:
        author = await viewer.account_in(tx)
        # Only the posting defaults are needed from the user row: three columns, no ORM object.
        rows = await tx.fetch(_posting_defaults(), {"id": viewer.user_id}) if viewer.user_id else []
        user = PostingDefaults(rows[0][0], rows[0][1], bool(rows[0][2])) if rows else None
        draft = draft_from(params, user, viewer.application_id)  # type: ignore[arg-type]
        facts: dict[str, Any] = {}
        status = await status_actions.create_status(tx, author, draft, idempotency_key=key, facts=facts)
        if not facts:  # an idempotent replay: the status is rendered from a fresh read below
            return status, None
        return status, await _render_new(request, tx, facts, viewer.account_id)

    status, rendered = await run_action(ctx, action)
    if rendered is not None:
        return JSON(rendered)
    async with ctx.read() as s:
        again = await request.app.state.presenter.statuses(s, [status.id], viewer.account_id)
    if not again:  # deleted between the commit and this read
        raise NotFound()
    return JSON(again[0])


class PostingDefaults(NamedTuple):
    default_language: str | None
    default_visibility: str
    default_sensitive: bool


@cache
def _posting_defaults() -> Any:
    return select(User.default_language, User.default_visibility, User.default_sensitive).where(
        User.id == bindparam("id", type_=BigInteger)
    )


async def _render_new(request: Request, tx: Tx, facts: dict[str, Any], viewer_id: int | None) -> dict[str, Any]:
    """A status just written, rendered in its transaction exactly as ``Presenter.statuses``
    renders it for ``viewer_id`` after the commit (tests/api/test_statuses.py compares the
    answer with a later GET for every kind of post), but from what ``create_status`` already
    holds instead of reading it all back: the status, its author (counters already raised),
    the mentioned accounts and the tags. Polls, media and the application are read in the
    transaction when present. Nobody can have favourited, boosted, bookmarked, pinned or
    voted on a status that is not committed yet, so the viewer's marks are all false."""
    st: Status = facts["status"]
    author: Account = facts["author"]
    mentioned: dict[int, Account] = {a.id: a for a in facts["mentioned"]}
    tags = facts["tags"]
    if len(mentioned) > 1 or len(tags) > 1:
        # Several mentions or tags come in the order the database returns them
        # (load_bundle); read them back in this transaction to keep that order.
        b = await load_bundle(tx.session, [st], None)
    else:
        b = StatusBundle(viewer_id=None)
        b.statuses[st.id] = st
        b.accounts[author.id] = author
        b.accounts.update(mentioned)
        if mentioned:
            b.mentions[st.id] = list(mentioned)
        if tags:
            b.tags[st.id] = list(tags)
        if facts["poll"]:
            b.polls = await load_poll_views(tx.session, [st.id], None)
        if st.has_media:
            b.media = await load_media(tx.session, [st.id])
        if st.application_id:
            app = await tx.get(Application, st.application_id)
            if app is not None:
                b.applications[app.id] = app
    presenter = request.app.state.presenter
    renderer = presenter.renderer
    # As Presenter._cores and Presenter.statuses compose it (the same keys in the same order).
    data = renderer.status(st, b)
    data.pop("account", None)
    core = Core(st.account_id, None, st.visibility, data)
    accounts = {author.id: renderer.account(b.accounts.get(author.id, author))}
    marks: dict[str, set[int]] = {"f": set(), "b": set(), "r": set(), "p": set()}
    out = presenter._compose(st.id, {st.id: core}, accounts, marks, viewer_id)
    assert out is not None
    if viewer_id is not None and out.get("poll"):
        out["poll"] = renderer.poll_marks(out["poll"], author.id, viewer_id, [])
    return out  # type: ignore[no-any-return]


async def _schedule(request: Request, params: CreateStatus, viewer: Viewer, ctx: Context) -> Any:
    """``scheduled_at`` given: keep the post for later and answer with a ScheduledStatus."""
    at = scheduled.parse_time(params.scheduled_at)
    async with ctx.tx() as tx:
        author = await viewer.account(tx.session)
        user = await tx.session.get(User, viewer.user_id) if viewer.user_id else None
        row = await scheduled.schedule(tx, author, draft_from(params, user, viewer.application_id), at)
    async with ctx.read() as s:
        return JSON((await render_scheduled(request, s, [row]))[0])


@router.get("/api/v1/statuses")
async def get_statuses(
    request: Request, viewer: Viewer | None = maybe("read:statuses"), ctx: Context = Depends(current_ctx)
) -> Any:
    """Several statuses at once, in the order asked; unknown and invisible ids are left out."""
    wanted: list[int] = []
    for key, raw in request.query_params.multi_items():
        if key not in ("id", "id[]"):
            continue
        try:
            sid = parse_id(raw)
        except NotFound:
            continue
        if sid not in wanted:
            wanted.append(sid)
    if len(wanted) > MULTI_LIMIT:
        raise APIError(422, f"Validation failed: at most {MULTI_LIMIT} ids at once")
    vid = viewer_account_id(viewer)
    async with ctx.read() as s:
        found: dict[int, Status] = {}
        if wanted:
            found = {st.id: st for st in await s.scalars(select(Status).where(Status.id.in_(wanted), visible_clause(vid)))}
        rows = [found[i] for i in wanted if i in found]
        bundle = await load_bundle(s, rows, vid)
        # Posts asked for by id: the thread context's filters, a hide match kept and marked (as Mastodon).
        return await request.app.state.presenter.apply_filters(
            s, vid, "thread", request.app.state.renderer.statuses(rows, bundle), drop_hidden=False
        )


@router.get("/api/v1/statuses/{status_id}")
async def get_status(
    request: Request, status_id: str, viewer: Viewer | None = maybe("read:statuses"), ctx: Context = Depends(current_ctx)
) -> Any:
    sid = parse_id(status_id)
    vid = viewer_account_id(viewer)
    async with ctx.read() as s:
        st = await _visible(s, sid, vid)
        # A single post is in the thread context (as in Mastodon); a hide match is kept and marked.
        rendered = await request.app.state.presenter.statuses(s, [st.id], vid, "thread", drop_hidden=False)
    if not rendered:
        raise NotFound()
    return JSON(rendered[0])


@router.put("/api/v1/statuses/{status_id}")
async def edit_status(
    request: Request,
    status_id: str,
    params: EditStatus = body(EditStatus),
    viewer: Viewer = require("write:statuses"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    sid = parse_id(status_id)
    poll = polls.parse_edit(params.poll, "poll" in params.model_fields_set)
    if isinstance(poll, polls.PollDraft) and params.media_ids:
        raise Invalid("Validation failed: A post with a poll cannot have media attachments")
    changes = status_actions.StatusChanges(
        poll=poll,
        text=params.status,
        spoiler_text=params.spoiler_text,
        sensitive=params.sensitive,
        language=params.language,
        media_ids=_media_ids(params.media_ids),
        media_attributes=params.media_attributes,
    )
    async with ctx.tx() as tx:
        actor = await viewer.account(tx.session)
        await status_actions.edit_status(tx, actor, sid, changes)
    return await render_one(request, ctx, sid, viewer.account_id)


@router.delete("/api/v1/statuses/{status_id}")
async def delete_status(
    request: Request, status_id: str, viewer: Viewer = require("write:statuses"), ctx: Context = Depends(current_ctx)
) -> Any:
    """Delete one's own status; the answer carries its source ``text`` for redrafting."""
    sid = parse_id(status_id)
    rendered: dict[str, Any] | None = None
    async with ctx.read() as s:
        st = await s.get(Status, sid)
        if st is not None and st.account_id == viewer.account_id:
            bundle = await load_bundle(s, [st], viewer.account_id)
            rendered = request.app.state.renderer.deleted_status(st, bundle)
    async with ctx.tx() as tx:
        actor = await viewer.account(tx.session)
        await status_actions.delete_status(tx, actor, sid)
    if rendered is None:
        raise NotFound()
    return rendered


@router.get("/api/v1/statuses/{status_id}/history")
async def history(
    request: Request, status_id: str, viewer: Viewer | None = maybe("read:statuses"), ctx: Context = Depends(current_ctx)
) -> Any:
    """Every revision, oldest first; a never-edited post has one, itself."""
    sid = parse_id(status_id)
    async with ctx.read() as s:
        st = await _visible(s, sid, viewer_account_id(viewer))
        edits = await load_edits(s, st.id)
        author = await s.get(Account, st.account_id)
        if author is None:
            raise NotFound()
        if not edits:
            current = await media_actions.attached(s, st.id)
            options = await s.scalar(select(Poll.options).where(Poll.status_id == st.id))
            edits = [
                StatusEdit(
                    status_id=st.id, account_id=st.account_id, text=st.text, content=st.content,
                    spoiler_text=st.spoiler_text, sensitive=st.sensitive, created_at=st.created_at,
                    media=media_actions.revision_media(current), poll_options=list(options or []),
                )
            ]
        wanted = {int(item["id"]) for e in edits for item in e.media or []}
        media = (
            {m.id: m for m in await s.scalars(select(MediaAttachment).where(MediaAttachment.id.in_(wanted)))}
            if wanted else {}
        )
    renderer = request.app.state.renderer
    return [renderer.status_edit(e, author, media) for e in edits]


@router.get("/api/v1/statuses/{status_id}/source")
async def source(
    request: Request,
    status_id: str,
    viewer: Viewer = require("read:statuses", user=False),
    ctx: Context = Depends(current_ctx),
) -> Any:
    sid = parse_id(status_id)
    async with ctx.read() as s:
        st = await _visible(s, sid, viewer.account_id)
    return request.app.state.renderer.status_source(st)


@router.get("/api/v1/statuses/{status_id}/context")
async def context(
    request: Request, status_id: str, viewer: Viewer | None = maybe("read:statuses"), ctx: Context = Depends(current_ctx)
) -> Any:
    """The thread around a post: ancestors root first, descendants depth-first (each reply
    followed by its own replies, siblings oldest first). Only posts the viewer may see
    appear; muted authors are left out, as Mastodon does."""
    sid = parse_id(status_id)
    vid = viewer_account_id(viewer)
    up_limit = CONTEXT_LIMIT if vid is not None else ANONYMOUS_ANCESTORS
    down_limit = CONTEXT_LIMIT if vid is not None else ANONYMOUS_DESCENDANTS
    depth = CONTEXT_LIMIT if vid is not None else ANONYMOUS_DEPTH
    async with ctx.read() as s:
        st = await _visible(s, sid, vid)
        if st.reblog_of_id is not None:
            st = await _visible(s, st.reblog_of_id, vid)
        up = await ancestor_ids(s, st, limit=up_limit)
        tree = await descendant_tree(s, st.id, limit=CONTEXT_LIMIT, max_depth=depth)
        candidates = set(up) | {i for i, _ in tree}
        shown: dict[int, Status] = {}
        if candidates:
            rows = await s.scalars(
                select(Status).where(Status.id.in_(candidates), visible_clause(vid), not_muted_clause(vid))
            )
            shown = {row.id: row for row in rows}
        ancestors = [shown[i] for i in reversed(up) if i in shown]
        descendants = [shown[i] for i in depth_first(st.id, tree) if i in shown][:down_limit]
        bundle = await load_bundle(s, ancestors + descendants, vid)
        renderer, filters = request.app.state.renderer, request.app.state.presenter.apply_filters
        return {
            "ancestors": await filters(s, vid, "thread", renderer.statuses(ancestors, bundle)),
            "descendants": await filters(s, vid, "thread", renderer.statuses(descendants, bundle)),
        }


# -- actions on a status ----------------------------------------------------------------------


async def _act(
    request: Request,
    ctx: Context,
    viewer: Viewer,
    status_id: str,
    action: Callable[[Tx, Account, int], Awaitable[Status]],
) -> Any:
    """Run a one-status action for the viewer and render the status it returns."""
    sid = parse_id(status_id)

    async def run(tx: Tx) -> Status:
        actor = await viewer.account(tx.session)
        return await action(tx, actor, sid)

    status = await run_action(ctx, run)
    return await render_one(request, ctx, status.id, viewer.account_id)


@router.post("/api/v1/statuses/{status_id}/reblog")
async def reblog(
    request: Request,
    status_id: str,
    params: ReblogParams = body(ReblogParams),
    viewer: Viewer = require("write:statuses"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """Boost; answers with the reblog (its ``reblog`` holds the post)."""

    async def action(tx: Tx, actor: Account, sid: int) -> Status:
        visibility = params.visibility
        if not visibility:
            user = await tx.session.get(User, viewer.user_id) if viewer.user_id else None
            default = user.default_visibility if user else "public"
            visibility = default if default in status_actions.REBLOG_VISIBILITIES else "private"
        return await status_actions.reblog(tx, actor, sid, visibility)

    return await _act(request, ctx, viewer, status_id, action)


@router.post("/api/v1/statuses/{status_id}/unreblog")
async def unreblog(
    request: Request, status_id: str, viewer: Viewer = require("write:statuses"), ctx: Context = Depends(current_ctx)
) -> Any:
    return await _act(request, ctx, viewer, status_id, status_actions.unreblog)


@router.post("/api/v1/statuses/{status_id}/favourite")
async def favourite(
    request: Request, status_id: str, viewer: Viewer = require("write:favourites"), ctx: Context = Depends(current_ctx)
) -> Any:
    return await _act(request, ctx, viewer, status_id, interactions.favourite)


@router.post("/api/v1/statuses/{status_id}/unfavourite")
async def unfavourite(
    request: Request, status_id: str, viewer: Viewer = require("write:favourites"), ctx: Context = Depends(current_ctx)
) -> Any:
    return await _act(request, ctx, viewer, status_id, interactions.unfavourite)


@router.post("/api/v1/statuses/{status_id}/bookmark")
async def bookmark(
    request: Request, status_id: str, viewer: Viewer = require("write:bookmarks"), ctx: Context = Depends(current_ctx)
) -> Any:
    return await _act(request, ctx, viewer, status_id, interactions.bookmark)


@router.post("/api/v1/statuses/{status_id}/unbookmark")
async def unbookmark(
    request: Request, status_id: str, viewer: Viewer = require("write:bookmarks"), ctx: Context = Depends(current_ctx)
) -> Any:
    return await _act(request, ctx, viewer, status_id, interactions.unbookmark)


@router.post("/api/v1/statuses/{status_id}/pin")
async def pin(
    request: Request, status_id: str, viewer: Viewer = require("write:accounts"), ctx: Context = Depends(current_ctx)
) -> Any:
    return await _act(request, ctx, viewer, status_id, status_actions.pin)


@router.post("/api/v1/statuses/{status_id}/unpin")
async def unpin(
    request: Request, status_id: str, viewer: Viewer = require("write:accounts"), ctx: Context = Depends(current_ctx)
) -> Any:
    return await _act(request, ctx, viewer, status_id, status_actions.unpin)


# -- who interacted -----------------------------------------------------------------------------


@router.get("/api/v1/statuses/{status_id}/favourited_by")
async def favourited_by(
    request: Request,
    response: Response,
    status_id: str,
    page: Page = Depends(page_params(default=40, maximum=80)),
    viewer: Viewer | None = maybe("read:statuses"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """Accounts that favourited the post, newest first; paged by the favourite's id."""
    sid = parse_id(status_id)
    vid = viewer_account_id(viewer)
    async with ctx.read() as s:
        st = await _visible(s, sid, vid)
        query = (
            select(Favourite.id, Account)
            .join(Account, Account.id == Favourite.account_id)
            .where(Favourite.status_id == st.id, Account.suspended_at.is_(None))
        )
        rows = page.finish(list((await s.execute(page.apply(query, Favourite.id))).all()))
    link_header(request, response, [row[0] for row in rows])
    renderer = request.app.state.renderer
    return [renderer.account(row[1]) for row in rows]


@router.get("/api/v1/statuses/{status_id}/reblogged_by")
async def reblogged_by(
    request: Request,
    response: Response,
    status_id: str,
    page: Page = Depends(page_params(default=40, maximum=80)),
    viewer: Viewer | None = maybe("read:statuses"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """Accounts whose boost of the post the viewer may see (a followers-only boost shows
    only to the booster's followers); paged by the reblog's id."""
    sid = parse_id(status_id)
    vid = viewer_account_id(viewer)
    async with ctx.read() as s:
        st = await _visible(s, sid, vid)
        query = (
            select(Status.id, Account)
            .join(Account, Account.id == Status.account_id)
            .where(Status.reblog_of_id == st.id, visible_clause(vid))
        )
        rows = page.finish(list((await s.execute(page.apply(query, Status.id))).all()))
    link_header(request, response, [row[0] for row in rows])
    renderer = request.app.state.renderer
    return [renderer.account(row[1]) for row in rows]
