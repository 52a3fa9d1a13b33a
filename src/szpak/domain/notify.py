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

from sqlalchemy import ColumnElement, CursorResult, Result, Select, and_, delete, exists, not_, or_, select

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
