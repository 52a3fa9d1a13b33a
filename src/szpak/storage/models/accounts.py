"""Accounts (the public identity) and users (the local login behind an account)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, IdMixin, utcnow

ACCOUNT_KINDS = ("person", "brand", "media", "institution")


class Account(IdMixin, Base):
    __tablename__ = "accounts"
    __table_args__ = (Index("uq_accounts_handle", "username_lower", "domain_key", unique=True),)

    username: Mapped[str] = mapped_column(String(64))
    username_lower: Mapped[str] = mapped_column(String(64))
    #: None for local accounts; kept for federation.
    domain: Mapped[str | None] = mapped_column(String(255), default=None)
    #: '' for local accounts, so that the unique index works on every backend.
    domain_key: Mapped[str] = mapped_column(String(255), default="")
    display_name: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str] = mapped_column(Text, default="")  # sanitised HTML
    note_source: Mapped[str] = mapped_column(Text, default="")
    fields: Mapped[list[Any]] = mapped_column(default=list)  # [{"name","value"(source)}]
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    bot: Mapped[bool] = mapped_column(Boolean, default=False)
    discoverable: Mapped[bool] = mapped_column(Boolean, default=True)
    indexable: Mapped[bool] = mapped_column(Boolean, default=True)
    hide_collections: Mapped[bool] = mapped_column(Boolean, default=False)
    kind: Mapped[str] = mapped_column(String(16), default="person")
    avatar_path: Mapped[str | None] = mapped_column(String(255), default=None)
    header_path: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    followers_count: Mapped[int] = mapped_column(Integer, default=0)
    following_count: Mapped[int] = mapped_column(Integer, default=0)
    statuses_count: Mapped[int] = mapped_column(Integer, default=0)
    last_status_at: Mapped[datetime | None] = mapped_column(default=None)
    suspended_at: Mapped[datetime | None] = mapped_column(default=None)
    silenced_at: Mapped[datetime | None] = mapped_column(default=None)
    #: Marked sensitive by a moderator: its posts with media render ``sensitive: true`` while set.
    sensitized_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User | None] = relationship(back_populates="account", uselist=False, lazy="raise")

    @property
    def acct(self) -> str:
        return self.username if not self.domain else f"{self.username}@{self.domain}"


class User(IdMixin, Base):
    __tablename__ = "users"

    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), unique=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(8), default="pl")
    #: 'user', 'moderator', 'admin' or 'owner'
    role: Mapped[str] = mapped_column(String(16), default="user")
    approved: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    registration_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Posting defaults (GET /api/v1/preferences).
    default_visibility: Mapped[str] = mapped_column(String(16), default="public")
    default_sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    default_language: Mapped[str | None] = mapped_column(String(8), default=None)

    account: Mapped[Account] = relationship(back_populates="user", lazy="raise")

    @property
    def is_admin(self) -> bool:
        return self.role in ("admin", "owner")

    @property
    def is_moderator(self) -> bool:
        return self.role in ("moderator", "admin", "owner")
