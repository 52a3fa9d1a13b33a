"""Reports, moderation state and the moderation log.

- ``Report``: an account reporting another account (and some of its statuses) to the
  moderators; assigned to a moderator and resolved by one (``domain/reports.py``).
- ``AccountStrike``: a moderation action taken against an account (Mastodon's account
  warning): what was done, why, and in answer to which report.
- ``ModerationLogEntry``: every moderation action, with its actor, target, reason and
  time (``domain/moderation.py``), read at ``/api/szpak/v1/admin/log`` and by ``szpak admin log``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, utcnow

REPORT_CATEGORIES = ("spam", "legal", "violation", "other")


class Report(IdMixin, Base):
    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_target_account_id", "target_account_id", "id"),
        Index("ix_reports_account_id", "account_id", "id"),
    )

    #: The reporter.
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"))
    target_account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"))
    status_ids: Mapped[list[Any]] = mapped_column(default=list)
    rule_ids: Mapped[list[Any]] = mapped_column(default=list)
    comment: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(16), default="other")
    forwarded: Mapped[bool] = mapped_column(Boolean, default=False)
    assigned_account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("accounts.id", ondelete="SET NULL"), default=None
    )
    action_taken_at: Mapped[datetime | None] = mapped_column(default=None)
    action_taken_by_account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("accounts.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccountStrike(IdMixin, Base):
    __tablename__ = "account_strikes"
    __table_args__ = (Index("ix_account_strikes_target_account_id", "target_account_id", "id"),)

    target_account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    report_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("reports.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModerationLogEntry(IdMixin, Base):
    """One moderation action. Targets are kept by id and a readable label, so an entry
    outlives what it is about (a deleted account, a removed post)."""

    __tablename__ = "moderation_log"
    __table_args__ = (Index("ix_moderation_log_target", "target_type", "target_id"),)

    #: The moderator's account, or None for the command line.
    actor_account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("accounts.id", ondelete="SET NULL"), default=None
    )
    #: "@username", "cli" or "cli:NAME".
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    target_label: Mapped[str] = mapped_column(String(512), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
