"""Notifications: the one place that decides whether someone is told, and what of it
they are shown later.

Creation (:func:`notify`) happens inside the action that caused it, so a rolled-back
action leaves no notification behind. Reading (:func:`shown_clause`) re-applies the
visibility rules at read time: a post can become invisible to its recipient after the
notification was made (it was followers-only and they unfollowed, a block came in, the
author was suspended), and then the notification is dropped rather than shown
without its post.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timezone
from typing import Any, cast

from sqlalchemy import BigInteger, ColumnElement, CursorResult, Result, Select, and_, case, delete, exists, literal, not_, or_, select

from szpak.domain.context import Tx
from szpak.domain.errors import NotFound
from szpak.domain.events import NotificationCreated
from szpak.domain.visibility import blocked_either_way, visible_clause
from szpak.storage.models import NOTIFICATION_TYPES, Account, Block, Mute, Notification, Status

#: Types whose notification carries the status it is about.
STATUS_TYPES = frozenset({"mention", "status", "reblog", "favourite", "poll", "update"})


async def notify(tx: Tx, recipient_id: int, from_account_id: int, type_: str, status_id: int | None = None) -> None:
    """Notify ``recipient_id`` unless it is the actor, or blocks or notification-mutes the actor."""
    if recipient_id == from_account_id:
        return
    s = tx.session
    blocked = await s.scalar(
        select(Block.id).where(
            or_(
                and_(Block.account_id == recipient_id, Block.target_account_id == from_account_id),
                and_(Block.account_id == from_account_id, Block.target_account_id == recipient_id),
            )
        ).limit(1)
    )
    if blocked:
        return
    now = datetime.now(timezone.utc)
    muted = await s.scalar(
        select(Mute.id).where(
            Mute.account_id == recipient_id,
            Mute.target_account_id == from_account_id,
            Mute.hide_notifications.is_(True),
            or_(Mute.expires_at.is_(None), Mute.expires_at > now),
        )
    )
    if muted:
        return
    n = Notification(account_id=recipient_id, from_account_id=from_account_id, type=type_, status_id=status_id)
    s.add(n)
    await s.flush()
    tx.emit(
        NotificationCreated(
            notification_id=n.id, account_id=recipient_id, type=type_, from_account_id=from_account_id,
            status_id=status_id,
        )
    )


async def withdraw(tx: Tx, recipient_id: int, from_account_id: int, type_: str, status_id: int | None = None) -> None:
    """Remove a notification whose cause was undone (unfavourite, unfollow...)."""
    q = delete(Notification).where(
        Notification.account_id == recipient_id,
        Notification.from_account_id == from_account_id,
        Notification.type == type_,
    )
    if status_id is not None:
        q = q.where(Notification.status_id == status_id)
    await tx.session.execute(q)


async def dismiss(tx: Tx, recipient_id: int, notification_id: int) -> None:
    """Delete one of the recipient's notifications; someone else's is simply not found."""
    res = await tx.session.execute(
        delete(Notification).where(Notification.id == notification_id, Notification.account_id == recipient_id)
    )
    if not _rowcount(res):
        raise NotFound()


async def clear(tx: Tx, recipient_id: int) -> int:
    """Delete all of the recipient's notifications; returns how many went."""
    res = await tx.session.execute(delete(Notification).where(Notification.account_id == recipient_id))
    return _rowcount(res)


async def dismiss_group(tx: Tx, recipient_id: int, key: str) -> int:
    """Delete the recipient's notifications of group ``key`` (:func:`group_key`); none
    (a key Szpak does not make, someone else's, already gone) is simply not found."""
    clause = group_clause(key)
    if clause is None:
        raise NotFound()
    res = await tx.session.execute(delete(Notification).where(Notification.account_id == recipient_id, clause))
    count = _rowcount(res)
    if not count:
        raise NotFound()
    return count


def _rowcount(result: Result[Any]) -> int:
    """Rows a DELETE touched (``Result`` of a DML statement is a ``CursorResult``)."""
    return int(cast(CursorResult[Any], result).rowcount or 0)


# -- reading ---------------------------------------------------------------------------


def shown_clause(recipient_id: int) -> ColumnElement[bool]:
    """SQL condition on ``Notification``: the recipient may be shown it now.

    The status (if any) must still be visible to the recipient (``visible_clause``),
    and the actor must be neither suspended nor blocked either way.
    """
    status_visible = or_(
        Notification.status_id.is_(None),
        exists(select(Status.id).where(Status.id == Notification.status_id, visible_clause(recipient_id))),
    )
    actor_suspended = exists().where(
        and_(Account.id == Notification.from_account_id, Account.suspended_at.is_not(None))
    )
    return and_(
        status_visible,
        not_(actor_suspended),
        not_(blocked_either_way(recipient_id, Notification.from_account_id)),  # type: ignore[arg-type]
    )


def wanted_types(types: Collection[str] | None, exclude_types: Collection[str] | None) -> set[str]:
    """The types a list asks for. Unknown names are ignored, as Mastodon does; asking
    only for unknown types therefore yields nothing."""
    chosen = set(NOTIFICATION_TYPES) if not types else set(types) & set(NOTIFICATION_TYPES)
    return chosen - set(exclude_types or ())


def notifications_query(
    recipient_id: int,
    *,
    types: Collection[str] | None = None,
    exclude_types: Collection[str] | None = None,
    from_account_id: int | None = None,
) -> Select[Notification]:
    """A ``select(Notification)`` of what the recipient is shown, unordered and unpaged."""
    query = select(Notification).where(
        Notification.account_id == recipient_id,
        Notification.type.in_(sorted(wanted_types(types, exclude_types))),
        shown_clause(recipient_id),
    )
    if from_account_id is not None:
        query = query.where(Notification.from_account_id == from_account_id)
    return query


# -- grouping (Mastodon 4.3's grouped notifications, /api/v2/notifications) -------------
#
# Szpak stores no group key: it is a function of the notification itself, so every reader
# (v1 entities, streams, the v2 groups, the unread count in SQL) agrees without a migration.
# ``favourite`` and ``reblog`` notifications about one status, and ``follow`` notifications,
# fall into one group per fixed window of ``GROUP_SPAN_HOURS`` hours (UTC, read off the
# time-ordered id); every other notification is a group of its own, ``ungrouped-<id>``.

#: Types Szpak groups, as Mastodon 4.3 does.
GROUPABLE_TYPES = ("favourite", "reblog", "follow")
#: Types grouped by the status they are about (``follow`` is grouped by time alone).
_BY_STATUS = frozenset({"favourite", "reblog"})
GROUP_SPAN_HOURS = 12
_HOUR_MS = 3_600_000
_MAX_ID = 2**63


def group_bucket(notification_id: int) -> int:
    """The first hour (since the epoch) of the window a notification falls in."""
    hour = (notification_id >> 16) // _HOUR_MS
    return hour - hour % GROUP_SPAN_HOURS


def group_key(
    notification_id: int, type_: str, status_id: int | None, grouped_types: Collection[str] = GROUPABLE_TYPES
) -> str:
    """The notification's group key: ``favourite-<status id>-<hour>``, ``reblog-...``,
    ``follow-<hour>``, or ``ungrouped-<id>`` (other types, or types not in ``grouped_types``)."""
    if type_ in grouped_types and type_ in GROUPABLE_TYPES:
        bucket = group_bucket(notification_id)
        if type_ in _BY_STATUS and status_id is not None:
            return f"{type_}-{status_id}-{bucket}"
        if type_ == "follow":
            return f"follow-{bucket}"
    return f"ungrouped-{notification_id}"


def _parse_int(raw: str) -> int | None:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return None
    value = int(raw)
    return value if 0 < value < _MAX_ID else None


def group_clause(key: str) -> ColumnElement[bool] | None:
    """SQL condition on ``Notification`` selecting the notifications of group ``key``;
    None when ``key`` is not a key Szpak makes (so nothing is found)."""
    parts = key.split("-")
    if len(parts) == 2 and parts[0] == "ungrouped":
        nid = _parse_int(parts[1])
        return None if nid is None else Notification.id == nid
    if len(parts) == 3 and parts[0] in _BY_STATUS:
        status_id, bucket = _parse_int(parts[1]), _parse_int(parts[2])
        if status_id is None:
            return None
        window = _window(bucket)
        if window is None:
            return None
        return and_(Notification.type == parts[0], Notification.status_id == status_id, *window)
    if len(parts) == 2 and parts[0] == "follow":
        window = _window(_parse_int(parts[1]))
        return None if window is None else and_(Notification.type == "follow", *window)
    return None


def _window(bucket: int | None) -> tuple[ColumnElement[bool], ColumnElement[bool]] | None:
    """Notification ids minted during the window starting at hour ``bucket``."""
    if bucket is None or bucket % GROUP_SPAN_HOURS:
        return None
    start, end = (bucket * _HOUR_MS) << 16, ((bucket + GROUP_SPAN_HOURS) * _HOUR_MS) << 16
    if end >= _MAX_ID:
        return None
    return Notification.id >= start, Notification.id < end


def group_columns(grouped_types: Collection[str] = GROUPABLE_TYPES) -> tuple[ColumnElement[Any], ...]:
    """Three SQL expressions that together equal :func:`group_key` (for counting groups
    with ``SELECT DISTINCT``): the key's kind, its target and its window."""
    grouped = sorted(set(grouped_types) & set(GROUPABLE_TYPES))
    by_status = sorted(set(grouped) & _BY_STATUS)
    is_grouped = and_(
        Notification.type.in_(grouped),
        or_(Notification.type == "follow", Notification.status_id.is_not(None)),
    )
    kind = case((is_grouped, Notification.type), else_=literal("ungrouped"))
    target = case(
        (and_(is_grouped, Notification.type.in_(by_status)), Notification.status_id),
        (is_grouped, literal(0, BigInteger)),
        else_=Notification.id,
    )
    # ``id >> 16`` is milliseconds; one integer division (PostgreSQL has no bigint >> bigint).
    hours = Notification.id // (_HOUR_MS << 16)
    window = case((is_grouped, hours // GROUP_SPAN_HOURS), else_=literal(0, BigInteger))
    return kind, target, window
