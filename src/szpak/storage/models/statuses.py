"""Statuses (posts and reblogs), their mentions, tags, edits and per-account marks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, utcnow

VISIBILITIES = ("public", "unlisted", "private", "direct")


class Status(IdMixin, Base):
    __tablename__ = "statuses"
    __table_args__ = (
        Index("ix_statuses_account_id_id", "account_id", "id"),
        Index("ix_statuses_in_reply_to_id", "in_reply_to_id"),
        Index("ix_statuses_reblog_of_id", "reblog_of_id"),
        Index("ix_statuses_visibility_id", "visibility", "id"),
        Index("ix_statuses_conversation_id", "conversation_id"),
    )

    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"))
    #: The source text as written (Mastodon's ``text``); ``content`` is the rendered, sanitised HTML.
    text: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[str] = mapped_column(Text, default="")
    spoiler_text: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[str] = mapped_column(String(10), default="public")
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    in_reply_to_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    in_reply_to_account_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    reblog_of_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("statuses.id", ondelete="CASCADE"), default=None
    )
    conversation_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    application_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    #: Extra rendering data: links found, etc.
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(default=None)
    replies_count: Mapped[int] = mapped_column(Integer, default=0)
    reblogs_count: Mapped[int] = mapped_column(Integer, default=0)
    favourites_count: Mapped[int] = mapped_column(Integer, default=0)
    local: Mapped[bool] = mapped_column(Boolean, default=True)
    has_media: Mapped[bool] = mapped_column(Boolean, default=False)


class StatusMention(Base):
    __tablename__ = "status_mentions"
    __table_args__ = (Index("ix_status_mentions_account_id", "account_id", "status_id"),)

    status_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)


class Tag(IdMixin, Base):
    __tablename__ = "tags"

    #: Lower-cased, diacritics kept (``#Kraków`` and ``#kraków`` are one tag).
    name: Mapped[str] = mapped_column(String(255), unique=True)
    display_name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_status_at: Mapped[datetime | None] = mapped_column(default=None)


class StatusTag(Base):
    __tablename__ = "status_tags"
    __table_args__ = (Index("ix_status_tags_tag_id_status_id", "tag_id", "status_id"),)

    status_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)


class StatusTerm(Base):
    """Search index: one row per (folded lemma, status). Only searchable statuses are indexed."""

    __tablename__ = "status_terms"
    __table_args__ = (Index("ix_status_terms_status_id", "status_id"),)

    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    status_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True)


class StatusEdit(IdMixin, Base):
    __tablename__ = "status_edits"
    __table_args__ = (Index("ix_status_edits_status_id", "status_id", "id"),)

    status_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("statuses.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    spoiler_text: Mapped[str] = mapped_column(Text, default="")
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The media at this revision, in order: ``{"id", "description", "focus": [x, y]}`` each
    #: (descriptions and focal points change with edits; the files are the attachments').
    media: Mapped[list[Any]] = mapped_column(default=list)
    #: The poll's option titles at this revision; empty: no poll.
    poll_options: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class _AccountStatusMark(IdMixin):
    """A per-account mark on a status: favourite, bookmark, pin."""

    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"))
    status_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("statuses.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Favourite(_AccountStatusMark, Base):
    __tablename__ = "favourites"
    __table_args__ = (
        UniqueConstraint("account_id", "status_id"),
        Index("ix_favourites_status_id", "status_id"),
    )


class Bookmark(_AccountStatusMark, Base):
    __tablename__ = "bookmarks"
    __table_args__ = (UniqueConstraint("account_id", "status_id"),)


class StatusPin(_AccountStatusMark, Base):
    __tablename__ = "status_pins"
    __table_args__ = (UniqueConstraint("account_id", "status_id"),)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    account_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    status_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
