"""Creating notifications: the one place that decides whether someone is told."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import and_, delete, or_, select

from szpak.domain.context import Tx
from szpak.domain.events import NotificationCreated
from szpak.storage.models import Block, Mute, Notification


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
