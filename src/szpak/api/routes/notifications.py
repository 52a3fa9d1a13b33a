"""``/api/v1/notifications``: list, show, dismiss, clear, unread count.

What a recipient is shown is decided by ``domain.notify.shown_clause`` in SQL, so a
page is never short because a notification had to be dropped after loading (its post
became invisible to the recipient, or its actor was blocked or suspended).

:func:`render_notifications` renders a page of notifications in a fixed number of
queries; :func:`render_notification` renders one for its recipient, re-checking that
it may still be shown (the streaming API can use it on ``NotificationCreated``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field, field_validator
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.api.deps import current_ctx, Viewer, parse_id, require
from szpak.api.errors import APIError
from szpak.api.pagination import Page, limit_field, link_header, page_params
from szpak.api.params import Params, query
from szpak.api.serializers import Renderer
from szpak.domain import notify
from szpak.domain.context import Context
from szpak.domain.filters import filter_notifications
from szpak.domain.errors import NotFound
from szpak.storage.models import Marker, Notification, Status
from szpak.storage.queries import load_accounts, load_bundle

router = APIRouter()


def _as_list(value: Any) -> Any:
    """``types=mention`` (no brackets) means the same as ``types[]=mention``."""
    return [value] if isinstance(value, str) else value


def _account_filter(raw: str | None) -> int | None:
    if raw in (None, ""):
        return None
    try:
        value = int(str(raw))
    except ValueError:
        raise APIError(422, "Validation failed: account_id is not a valid id") from None
    if not 0 < value < 2**63:
        raise APIError(422, "Validation failed: account_id is not a valid id")
    return value


class NotificationFilter(Params):
    types: list[str] = Field(default_factory=list)
    exclude_types: list[str] = Field(default_factory=list)
    account_id: str | None = None

    @field_validator("types", "exclude_types", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _as_list(value)

    def notifications_query(self, me: int) -> Select[Any]:
        """The viewer's notifications narrowed by ``types``, ``exclude_types`` and ``account_id``."""
        return notify.notifications_query(
            me, types=self.types, exclude_types=self.exclude_types, from_account_id=_account_filter(self.account_id)
        )


class UnreadFilter(NotificationFilter):
    #: Mastodon's default 100, at most 1000, read as every ``limit`` (``api/pagination.py``).
    limit: Annotated[int, limit_field(100, 1000)] = 100


async def after_marker(session: AsyncSession, me: int, q: Select[Any]) -> Select[Any]:
    """``q`` narrowed to the notifications after the viewer's ``notifications`` marker."""
    last_read = await session.scalar(
        select(Marker.last_read_id).where(Marker.account_id == me, Marker.timeline == "notifications")
    )
    if last_read is not None:
        q = q.where(Notification.id > last_read)
    return q


async def render_notifications(
    renderer: Renderer, session: AsyncSession, rows: Sequence[Notification], viewer_id: int
) -> list[dict[str, Any]]:
    """Render notifications with their actors and statuses loaded in bulk."""
    status_ids = {n.status_id for n in rows if n.status_id is not None}
    statuses = list(await session.scalars(select(Status).where(Status.id.in_(status_ids)))) if status_ids else []
    bundle = await load_bundle(session, statuses, viewer_id)
    accounts = dict(bundle.accounts)
    accounts.update(await load_accounts(session, {n.from_account_id for n in rows} - set(accounts)))
    out = []
    for n in rows:
        rendered = renderer.notification(n, accounts, bundle)
        if rendered is not None:
            out.append(rendered)
    return out


async def render_notification(
    renderer: Renderer, session: AsyncSession, recipient_id: int, notification_id: int
) -> dict[str, Any] | None:
    """One notification as its recipient may see it now, or None (gone, someone else's,
    or its status or actor no longer visible to them)."""
    row = await session.scalar(notify.notifications_query(recipient_id).where(Notification.id == notification_id))
    if row is None:
        return None
    rendered = await render_notifications(renderer, session, [row], recipient_id)
    return rendered[0] if rendered else None


@router.get("/api/v1/notifications")
async def list_notifications(
    request: Request,
    response: Response,
    params: NotificationFilter = query(NotificationFilter),
    page: Page = Depends(page_params(default=40, maximum=80)),
    viewer: Viewer = require("read:notifications"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    me = viewer.account_id
    assert me is not None
    q = params.notifications_query(me)
    async with ctx.read() as s:
        rows = page.finish(list(await s.scalars(page.apply(q, Notification.id))))
        rendered = await render_notifications(request.app.state.renderer, s, rows, me)
        rendered = await filter_notifications(request.app.state.presenter.filters, s, me, rendered)
    link_header(request, response, [n.id for n in rows])
    return rendered


@router.get("/api/v1/notifications/unread_count")
async def unread_count(
    params: UnreadFilter = query(UnreadFilter),
    viewer: Viewer = require("read:notifications"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """Notifications after the ``notifications`` marker, capped at ``limit`` (≤ 1000)."""
    me = viewer.account_id
    assert me is not None
    cap = params.limit
    q = params.notifications_query(me)
    async with ctx.read() as s:
        q = await after_marker(s, me, q)
        capped = q.with_only_columns(Notification.id).limit(cap).subquery()
        count = await s.scalar(select(func.count()).select_from(capped))
    return {"count": int(count or 0)}


@router.get("/api/v1/notifications/{notification_id}")
async def get_notification(
    request: Request,
    notification_id: str,
    viewer: Viewer = require("read:notifications"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    me = viewer.account_id
    assert me is not None
    nid = parse_id(notification_id)
    async with ctx.read() as s:
        rendered = await render_notification(request.app.state.renderer, s, me, nid)
    if rendered is None:
        raise NotFound()
    return rendered


@router.post("/api/v1/notifications/clear")
async def clear_notifications(viewer: Viewer = require("write:notifications"), ctx: Context = Depends(current_ctx)) -> Any:
    me = viewer.account_id
    assert me is not None
    async with ctx.tx() as tx:
        await notify.clear(tx, me)
    return {}


@router.post("/api/v1/notifications/{notification_id}/dismiss")
async def dismiss_notification(
    notification_id: str, viewer: Viewer = require("write:notifications"), ctx: Context = Depends(current_ctx)
) -> Any:
    me = viewer.account_id
    assert me is not None
    nid = parse_id(notification_id)
    async with ctx.tx() as tx:
        await notify.dismiss(tx, me, nid)
    return {}
