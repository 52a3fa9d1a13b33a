"""Followed and featured hashtags, direct-message conversations, endorsements, domain
blocks and dismissed follow suggestions (docs/api/social.md).

- ``TagFollow``: an account follows a hashtag (public posts with it join its home feed).
- ``FeaturedTag``: a hashtag shown on the account's profile; its counts are computed on read.
- ``AccountConversation``: one account's view of a direct-message conversation — the
  ``conversation_id`` thread with one set of other participants — with its last status
  and whether it is unread; ``ConversationStatus`` links it to each of its statuses, so
  deleting a status can move ``last_status_id`` back (``domain/conversations.py``).
- ``Endorsement``: an account features (``pin``) another account it follows on its profile.
- ``DomainBlock``: an account hides everything from one remote domain.
- ``SuggestionDismissal``: an account asked not to be suggested another one again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, utcnow


def _account_fk() -> Mapped[int]:
    return mapped_column(BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"))


class TagFollow(IdMixin, Base):
    __tablename__ = "tag_follows"
    __table_args__ = (
        UniqueConstraint("account_id", "tag_id"),
        Index("ix_tag_follows_tag_id", "tag_id", "account_id"),
    )

    account_id: Mapped[int] = _account_fk()
    tag_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("tags.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FeaturedTag(IdMixin, Base):
    __tablename__ = "featured_tags"
    __table_args__ = (UniqueConstraint("account_id", "tag_id"),)

    account_id: Mapped[int] = _account_fk()
    tag_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("tags.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccountConversation(IdMixin, Base):
    __tablename__ = "account_conversations"
    __table_args__ = (
        UniqueConstraint("account_id", "conversation_id", "participants_key"),
        Index("ix_account_conversations_account_id_last", "account_id", "last_status_id"),
    )

    account_id: Mapped[int] = _account_fk()
    #: ``Status.conversation_id`` of the thread.
    conversation_id: Mapped[int] = mapped_column(BigInteger)
    #: The other participants' account ids, sorted (JSON), and the same as a string key.
    participant_ids: Mapped[list[Any]] = mapped_column(default=list)
    participants_key: Mapped[str] = mapped_column(String(2048))
    last_status_id: Mapped[int] = mapped_column(BigInteger)
    unread: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationStatus(Base):
    __tablename__ = "conversation_statuses"
    __table_args__ = (Index("ix_conversation_statuses_status_id", "status_id"),)

    account_conversation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("account_conversations.id", ondelete="CASCADE"), primary_key=True
    )
    status_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True
    )


class Endorsement(IdMixin, Base):
    __tablename__ = "endorsements"
    __table_args__ = (
        UniqueConstraint("account_id", "target_account_id"),
        Index("ix_endorsements_target_account_id", "target_account_id"),
    )

    account_id: Mapped[int] = _account_fk()
    target_account_id: Mapped[int] = _account_fk()
    #: The follow it was made under: it counts only while that very follow lasts.
    follow_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DomainBlock(IdMixin, Base):
    __tablename__ = "domain_blocks"
    __table_args__ = (UniqueConstraint("account_id", "domain"),)

    account_id: Mapped[int] = _account_fk()
    #: Lower-cased host name (IDNA ``xn--`` form for internationalised names).
    domain: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SuggestionDismissal(IdMixin, Base):
    __tablename__ = "suggestion_dismissals"
    __table_args__ = (UniqueConstraint("account_id", "target_account_id"),)

    account_id: Mapped[int] = _account_fk()
    target_account_id: Mapped[int] = _account_fk()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
