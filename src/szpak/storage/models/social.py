"""The social graph: follows, follow requests, blocks, mutes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, utcnow


class _Edge(IdMixin):
    """``account_id`` does something to ``target_account_id``."""

    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"))
    target_account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Follow(_Edge, Base):
    __tablename__ = "follows"
    __table_args__ = (
        UniqueConstraint("account_id", "target_account_id"),
        Index("ix_follows_target_account_id", "target_account_id", "account_id"),
    )
    show_reblogs: Mapped[bool] = mapped_column(Boolean, default=True)
    notify: Mapped[bool] = mapped_column(Boolean, default=False)


class FollowRequest(_Edge, Base):
    __tablename__ = "follow_requests"
    __table_args__ = (
        UniqueConstraint("account_id", "target_account_id"),
        Index("ix_follow_requests_target_account_id", "target_account_id", "id"),
    )
    show_reblogs: Mapped[bool] = mapped_column(Boolean, default=True)
    notify: Mapped[bool] = mapped_column(Boolean, default=False)


class Block(_Edge, Base):
    __tablename__ = "blocks"
    __table_args__ = (
        UniqueConstraint("account_id", "target_account_id"),
        Index("ix_blocks_target_account_id", "target_account_id"),
    )


class Mute(_Edge, Base):
    __tablename__ = "mutes"
    __table_args__ = (UniqueConstraint("account_id", "target_account_id"),)
    hide_notifications: Mapped[bool] = mapped_column(Boolean, default=True)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
