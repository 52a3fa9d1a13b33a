"""Lists: an account's named subsets of the accounts it follows (Mastodon's List entity).

``List.account_id`` owns the list; ``ListAccount`` rows are its members. A member is
always an account the owner follows: ``domain/lists.py`` checks it when adding, and
``domain/relationships.py`` removes the rows when the follow ends (unfollow, block,
removal from followers), as Mastodon does.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, utcnow

#: Which replies a list shows: to any followed account, to list members, to nobody else.
REPLIES_POLICIES = ("followed", "list", "none")


class List(IdMixin, Base):
    __tablename__ = "lists"
    __table_args__ = (Index("ix_lists_account_id", "account_id", "id"),)

    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(256))
    replies_policy: Mapped[str] = mapped_column(String(16), default="list")
    #: Members' posts stay out of the owner's home timeline.
    exclusive: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ListAccount(IdMixin, Base):
    __tablename__ = "list_accounts"
    __table_args__ = (
        UniqueConstraint("list_id", "account_id"),
        Index("ix_list_accounts_account_id", "account_id", "list_id"),
    )

    list_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("lists.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
