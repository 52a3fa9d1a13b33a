"""``/api/v2/notifications``: Mastodon 4.3's grouped notifications (docs/api/notifications-search.md).

The same notifications as ``/api/v1/notifications`` (``domain.notify.notifications_query``,
so the same visibility rules, in SQL), grouped by ``domain.notify.group_key``. A page is a
contiguous range of notification ids holding at most ``limit`` groups: notifications are
read newest first (oldest first with ``min_id``) in batches and each joins its group, until
one would open a group beyond ``limit``. Each group then tells what of it lies in the page
(``notifications_count``, ``page_min_id``/``page_max_id``, ``sample_account_ids``); a group
cut by the page's edge continues, under the same key, on the next page. ``Link`` carries
the page's lowest and highest ids.

One group by key (``GET /:group_key``) is a COUNT of the group and a LIMITed read of its
newest notifications (for ``most_recent_notification_id`` and the sample accounts); its
accounts (``GET /:group_key/accounts``) are paged over the group's notification ids, as
Mastodon pages them. Neither reads a whole group: a post with 100,000 favourites costs
what one with ten does, bar the COUNT the database runs.

Statuses are rendered by the Presenter for the viewer with the ``notifications`` filters
(a hide filter drops its group, as v1 drops the notification); accounts come from the
Presenter's account cache.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import field_validator
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.api.deps import Viewer, current_ctx, own_id, require
from szpak.api.pagination import Page, limit_field, link_header, page_params
from szpak.api.params import query
from szpak.api.routes.notifications import NotificationFilter, _as_list, after_marker
from szpak.api.serializers import iso
from szpak.domain import notify
from szpak.domain.context import Context
from szpak.domain.errors import NotFound
from szpak.storage.models import Notification

router = APIRouter()

#: Accounts named in a group's ``sample_account_ids`` (Mastodon shows up to 8).
SAMPLE_ACCOUNTS = 8
#: Notifications one page reads at most: a page ends there even with fewer groups than asked.
MAX_SCAN = 2000
#: Notifications one group's sample is read in batches of, newest first, until it names
#: ``SAMPLE_ACCOUNTS`` actors (one batch, unless an actor recurs in the group) ...
SAMPLE_BATCH = 2 * SAMPLE_ACCOUNTS
#: ... and at most this many in all.
SAMPLE_SCAN = 10 * SAMPLE_BATCH
#: ``limit`` of ``/accounts`` of one group: Mastodon's ``DEFAULT_ACCOUNTS_LIMIT``, at most twice that.
GROUP_ACCOUNTS_LIMIT, MAX_GROUP_ACCOUNTS = 40, 80
#: Fields of an Account kept in ``partial_accounts`` (PartialAccountWithAvatar).
PARTIAL_FIELDS = ("id", "acct", "url", "avatar", "avatar_static", "locked", "bot")


class GroupedFilter(NotificationFilter):
    grouped_types: list[str] | None = None
    expand_accounts: str | None = None
    include_filtered: Any = None

    @field_validator("grouped_types", mode="before")
    @classmethod
    def _grouped(cls, value: Any) -> Any:
        return _as_list(value)

    def groupable(self) -> tuple[str, ...]:
        """Types that may be grouped: those asked for (unknown names ignored), else all."""
        if self.grouped_types is None:
            return notify.GROUPABLE_TYPES
        return tuple(t for t in notify.GROUPABLE_TYPES if t in self.grouped_types)


class GroupedUnreadFilter(GroupedFilter):
    #: Mastodon's default 100, at most 1000, read as every ``limit`` (``api/pagination.py``).
    limit: Annotated[int, limit_field(100, 1000)] = 100


@dataclass
class Group:
    """One group's notifications as read (in either order): count, id range, actors."""

    key: str
    type: str
    status_id: int | None
    count: int = 0
    min_id: int = 0
    max_id: int = 0
    latest_at: datetime | None = None
    #: Actors in the order read, each once.
    accounts: list[int] = field(default_factory=list)
    _seen: set[int] = field(default_factory=set)

    def add(self, nid: int, from_account_id: int, created_at: datetime) -> None:
        if not self.count or nid > self.max_id:
            self.max_id, self.latest_at = nid, created_at
        if not self.count or nid < self.min_id:
            self.min_id = nid
        self.count += 1
        if from_account_id not in self._seen:
            self._seen.add(from_account_id)
            self.accounts.append(from_account_id)

    def entity(self, *, page: bool) -> dict[str, Any]:
        """The NotificationGroup; ``accounts`` must be newest first (``sample_account_ids``)."""
        data: dict[str, Any] = {
            "group_key": self.key,
            "notifications_count": self.count,
            "type": self.type,
            "most_recent_notification_id": str(self.max_id),
        }
        if page:
            data["page_min_id"] = str(self.min_id)
            data["page_max_id"] = str(self.max_id)
            data["latest_page_notification_at"] = iso(self.latest_at)
        data["sample_account_ids"] = [str(a) for a in self.accounts[:SAMPLE_ACCOUNTS]]
        if self.status_id is not None and self.type in notify.STATUS_TYPES:
            data["status_id"] = str(self.status_id)
        return data


def _columns(q: Select[Any]) -> Select[Any]:
    return q.with_only_columns(
        Notification.id, Notification.type, Notification.status_id, Notification.from_account_id,
        Notification.created_at,
    )


def _newest_first(groups: Iterable[Group]) -> list[Group]:
    return sorted(groups, key=lambda g: g.max_id, reverse=True)


async def _page_groups(
    s: AsyncSession, q: Select[Any], page: Page, grouped_types: tuple[str, ...]
) -> tuple[list[Group], list[int]]:
    """The groups of one page, newest first, and the page's (lowest, highest) ids."""
    ascending = page.min_id is not None
    if page.max_id is not None:
        q = q.where(Notification.id < page.max_id)
    if page.since_id is not None:
        q = q.where(Notification.id > page.since_id)
    if ascending:
        q = q.where(Notification.id > page.min_id)
    order = Notification.id.asc() if ascending else Notification.id.desc()
    batch = max(4 * page.limit, 100)
    groups: dict[str, Group] = {}
    consumed: list[int] = []
    cursor: int | None = None
    full = False
    while not full and len(consumed) < MAX_SCAN:
        step = q
        if cursor is not None:
            step = step.where(Notification.id > cursor if ascending else Notification.id < cursor)
        want = min(batch, MAX_SCAN - len(consumed))  # never fetched beyond MAX_SCAN
        rows = (await s.execute(_columns(step).order_by(order).limit(want))).all()
        for nid, type_, status_id, from_account_id, created_at in rows:
            key = notify.group_key(nid, type_, status_id, grouped_types)
            group = groups.get(key)
            if group is None:
                if len(groups) >= page.limit:
                    full = True
                    break
                group = groups[key] = Group(key, type_, status_id)
            group.add(nid, from_account_id, created_at)
            consumed.append(nid)
            if len(consumed) >= MAX_SCAN:
                break
        if len(rows) < want:
            break
        cursor = rows[-1][0]
    for g in groups.values():
        if ascending:  # read oldest first; samples are the newest accounts first
            g.accounts.reverse()
    bounds = [min(consumed), max(consumed)] if consumed else []
    return _newest_first(groups.values()), bounds


async def _results(
    request: Request, s: AsyncSession, me: int, groups: list[Group], *, page: bool, partial: bool
) -> dict[str, Any]:
    """GroupedNotificationsResults: statuses through the Presenter (per-viewer fields and the
    ``notifications`` filters; a group whose status is left out is left out), accounts once each."""
    presenter = request.app.state.presenter
    status_ids = list(dict.fromkeys(g.status_id for g in groups if g.status_id is not None))
    rendered = await presenter.statuses(s, status_ids, me, "notifications")
    statuses = {int(st["id"]): st for st in rendered}
    kept = [g for g in groups if g.status_id is None or g.type not in notify.STATUS_TYPES or g.status_id in statuses]
    sample_ids = [a for g in kept for a in g.accounts[:SAMPLE_ACCOUNTS]]
    accounts = await presenter.accounts(s, set(sample_ids))
    kept = [g for g in kept if g.accounts and g.accounts[0] in accounts]
    sample_ids = [a for g in kept for a in g.accounts[:SAMPLE_ACCOUNTS]]
    full_ids = {g.accounts[0] for g in kept} if partial else set(sample_ids)
    full: list[dict[str, Any]] = []
    partial_accounts: list[dict[str, Any]] = []
    for aid in dict.fromkeys(sample_ids):
        if aid not in accounts:
            continue
        if aid in full_ids:
            full.append(accounts[aid])
        else:
            partial_accounts.append({k: accounts[aid].get(k) for k in PARTIAL_FIELDS})
    out: dict[str, Any] = {
        "accounts": full,
        "statuses": [statuses[sid] for sid in dict.fromkeys(g.status_id for g in kept) if sid in statuses],
        "notification_groups": [],
    }
    for g in kept:
        entity = g.entity(page=page)
        entity["sample_account_ids"] = [a for a in entity["sample_account_ids"] if int(a) in accounts]
        out["notification_groups"].append(entity)
    if partial:
        out["partial_accounts"] = partial_accounts
    return out


@router.get("/api/v2/notifications")
async def list_groups(
    request: Request,
    response: Response,
    params: GroupedFilter = query(GroupedFilter),
    page: Page = Depends(page_params(default=40, maximum=80)),
    viewer: Viewer = require("read:notifications"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    me = own_id(viewer)
    q = params.notifications_query(me)
    async with ctx.read() as s:
        groups, bounds = await _page_groups(s, q, page, params.groupable())
        out = await _results(
            request, s, me, groups, page=True, partial=params.expand_accounts == "partial_avatars"
        )
    link_header(request, response, bounds)
    return out


@router.get("/api/v2/notifications/unread_count")
async def unread_group_count(
    params: GroupedUnreadFilter = query(GroupedUnreadFilter),
    viewer: Viewer = require("read:notifications"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """Groups with a notification after the ``notifications`` marker, capped at ``limit`` (≤ 1000)."""
    me = own_id(viewer)
    cap = params.limit
    q = params.notifications_query(me)
    async with ctx.read() as s:
        q = await after_marker(s, me, q)
        keys = q.with_only_columns(*notify.group_columns(params.groupable())).distinct().limit(cap).subquery()
        count = await s.scalar(select(func.count()).select_from(keys))
    return {"count": int(count or 0)}


def _group_query(me: int, group_key: str) -> Select[Any]:
    """The notifications of group ``group_key`` the viewer is shown; 404 for a key Szpak
    does not make."""
    clause = notify.group_clause(group_key)
    if clause is None:
        raise NotFound()
    return notify.notifications_query(me).where(clause)


async def _group(s: AsyncSession, me: int, group_key: str) -> Group:
    """One whole group (or 404) without loading it: ``count`` is one COUNT; the newest
    notification and the sample actors come from the newest ``SAMPLE_BATCH`` notifications
    (more batches only while an actor recurs, at most ``SAMPLE_SCAN`` rows). ``min_id`` and
    ``latest_at`` are those of the rows read: only ``entity(page=False)`` is meant."""
    q = _group_query(me, group_key)
    count = int(await s.scalar(select(func.count()).select_from(q.with_only_columns(Notification.id).subquery())) or 0)
    if not count:
        raise NotFound()
    group: Group | None = None
    cursor: int | None = None
    scanned = 0
    while True:
        step = q if cursor is None else q.where(Notification.id < cursor)
        rows = (await s.execute(_columns(step).order_by(Notification.id.desc()).limit(SAMPLE_BATCH))).all()
        for nid, type_, status_id, from_account_id, created_at in rows:
            if group is None:
                group = Group(group_key, type_, status_id)
            group.add(nid, from_account_id, created_at)
        scanned += len(rows)
        if group is None:  # gone between the two statements
            raise NotFound()
        if len(rows) < SAMPLE_BATCH or len(group.accounts) >= SAMPLE_ACCOUNTS or scanned >= SAMPLE_SCAN:
            break
        cursor = rows[-1][0]
    group.count = count
    return group


@router.get("/api/v2/notifications/{group_key}")
async def show_group(
    request: Request, group_key: str, viewer: Viewer = require("read:notifications"), ctx: Context = Depends(current_ctx)
) -> Any:
    me = own_id(viewer)
    async with ctx.read() as s:
        out = await _results(request, s, me, [await _group(s, me, group_key)], page=False, partial=False)
    if not out["notification_groups"]:
        raise NotFound()
    return out


@router.post("/api/v2/notifications/{group_key}/dismiss")
async def dismiss_group(
    group_key: str, viewer: Viewer = require("write:notifications"), ctx: Context = Depends(current_ctx)
) -> Any:
    me = own_id(viewer)
    async with ctx.tx() as tx:
        await notify.dismiss_group(tx, me, group_key)
    return {}


@router.get("/api/v2/notifications/{group_key}/accounts")
async def group_accounts(
    request: Request,
    response: Response,
    group_key: str,
    page: Page = Depends(page_params(default=GROUP_ACCOUNTS_LIMIT, maximum=MAX_GROUP_ACCOUNTS)),
    viewer: Viewer = require("read:notifications"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """The accounts behind a group's notifications, most recent first, paged as Mastodon
    pages them: over the group's notification ids (``max_id``/``since_id``/``min_id``,
    ``limit`` 40, at most 80, ``Link``). An actor is named once a page. 404 when the group
    has nothing to show; a page past its end is ``[]``."""
    me = own_id(viewer)
    q = _group_query(me, group_key)
    async with ctx.read() as s:
        rows = page.finish((await s.execute(
            page.apply(q.with_only_columns(Notification.id, Notification.from_account_id), Notification.id)
        )).all())
        if not rows:
            cursor = page.max_id is not None or page.since_id is not None or page.min_id is not None
            if not cursor or await s.scalar(q.with_only_columns(Notification.id).limit(1)) is None:
                raise NotFound()
        wanted = list(dict.fromkeys(from_account_id for _nid, from_account_id in rows))
        accounts = await request.app.state.presenter.accounts(s, set(wanted))
    link_header(request, response, [nid for nid, _ in rows])
    return [accounts[a] for a in wanted if a in accounts]
