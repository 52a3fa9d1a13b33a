"""Statuses scheduled for later (docs/api/scheduled.md).

``params`` holds the post as asked for (Mastodon's ScheduledStatus ``params``); the
publish job (domain/scheduled.py) carries the row's ``version`` and does nothing when
the row has been rescheduled (version bumped) or is gone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, utcnow


class ScheduledStatus(IdMixin, Base):
    __tablename__ = "scheduled_statuses"
    __table_args__ = (
        Index("ix_scheduled_statuses_account_id_id", "account_id", "id"),
        Index("ix_scheduled_statuses_account_id_scheduled_at", "account_id", "scheduled_at"),
    )

    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"))
    scheduled_at: Mapped[datetime] = mapped_column()
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Bumped by each reschedule; a publish job for an older version does nothing.
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
