"""Filters (Mastodon's v2 ``Filter``): an account's keywords and statuses to warn about or hide.

A ``Filter`` applies in some contexts (home, notifications, public, thread, account)
until ``expires_at``; it matches a status when one of its ``FilterKeyword`` rows occurs
in the status's text, or when the status is one of its ``FilterStatus`` rows.
``domain/filters.py`` writes them and decides what matches.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, utcnow

FILTER_CONTEXTS = ("home", "notifications", "public", "thread", "account")
FILTER_ACTIONS = ("warn", "hide", "blur")


class Filter(IdMixin, Base):
    __tablename__ = "filters"
    __table_args__ = (Index("ix_filters_account_id", "account_id", "id"),)

    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(256), default="")
    #: A subset of FILTER_CONTEXTS.
    context: Mapped[list[Any]] = mapped_column(default=list)
    action: Mapped[str] = mapped_column(String(8), default="warn")
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FilterKeyword(IdMixin, Base):
    __tablename__ = "filter_keywords"
    __table_args__ = (Index("ix_filter_keywords_filter_id", "filter_id", "id"),)

    filter_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("filters.id", ondelete="CASCADE"))
    keyword: Mapped[str] = mapped_column(String(512))
    whole_word: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FilterStatus(IdMixin, Base):
    __tablename__ = "filter_statuses"
    __table_args__ = (UniqueConstraint("filter_id", "status_id"),)

    filter_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("filters.id", ondelete="CASCADE"))
    status_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("statuses.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
