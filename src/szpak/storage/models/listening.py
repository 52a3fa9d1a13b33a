"""Brand listening: organisations and their teams, tracked queries, mentions,
sentiment corrections, alerts, webhooks and the outbox of alert deliveries.

An organisation is an ordinary account (kind ``brand``, ``media`` or
``institution``) plus an ``organisations`` row; people act for it under their own
log-in as ``organisation_members``, through delegated OAuth tokens whose audit
trail is ``organisation_tokens``. See docs/listening.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, utcnow

ORGANISATION_KINDS = ("brand", "media", "institution")
MEMBER_ROLES = ("owner", "agent", "analyst")
QUERY_CATEGORIES = ("brand", "product", "competitor", "person", "hashtag", "phrase", "other")
SENTIMENTS = ("negative", "neutral", "positive")
ALERT_KINDS = ("volume", "negative")


class Organisation(Base):
    """Marks an account as an organisation and holds its listening settings."""

    __tablename__ = "organisations"

    account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    #: Addresses that get alert e-mails (besides webhooks and the in-app list).
    alert_emails: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrganisationMember(IdMixin, Base):
    __tablename__ = "organisation_members"
    __table_args__ = (
        UniqueConstraint("organisation_id", "member_id"),
        Index("ix_organisation_members_member_id", "member_id"),
    )

    organisation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("organisations.account_id", ondelete="CASCADE")
    )
    member_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    #: Who added them (an account id), or None when added on the command line.
    added_by_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrganisationToken(Base):
    """Audit record of a delegated token: an ordinary OAuth token whose user is the
    organisation's, issued to (and acting for) one member."""

    __tablename__ = "organisation_tokens"
    __table_args__ = (
        Index("ix_organisation_tokens_organisation_id", "organisation_id", "member_id"),
    )

    token_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("oauth_tokens.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("organisations.account_id", ondelete="CASCADE")
    )
    member_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"))
    #: The member's role when the token was issued (it caps the token's scopes).
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrackedQuery(IdMixin, Base):
    __tablename__ = "listening_queries"
    __table_args__ = (Index("ix_listening_queries_organisation_id", "organisation_id", "id"),)

    organisation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("organisations.account_id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(100))
    #: The query in the tracked-query language (szpak.text.parse).
    query: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(16), default="other")
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Cool-downs: no new alert of that kind before these moments.
    volume_alert_until: Mapped[datetime | None] = mapped_column(default=None)
    negative_alert_until: Mapped[datetime | None] = mapped_column(default=None)


class ListeningVersion(Base):
    """Counters that tell every process when to rebuild in-memory state
    (``queries``: the matcher)."""

    __tablename__ = "listening_versions"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Mention(IdMixin, Base):
    """A post that matched one tracked query. ``status_id`` has no foreign key on
    purpose: the ``status.deleted`` job removes the rows and tells the live streams."""

    __tablename__ = "listening_mentions"
    __table_args__ = (
        UniqueConstraint("query_id", "status_id"),
        Index("ix_listening_mentions_organisation_id_id", "organisation_id", "id"),
        Index("ix_listening_mentions_query_id_minute", "query_id", "minute"),
        Index("ix_listening_mentions_status_id", "status_id"),
        Index("ix_listening_mentions_classified_id", "classified", "id"),
    )

    organisation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("organisations.account_id", ondelete="CASCADE")
    )
    query_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("listening_queries.id", ondelete="CASCADE"))
    status_id: Mapped[int] = mapped_column(BigInteger)
    author_id: Mapped[int] = mapped_column(BigInteger)
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    #: negative / neutral / positive, or None when no model was available.
    sentiment: Mapped[str | None] = mapped_column(String(10), default=None)
    confidence: Mapped[float | None] = mapped_column(Float, default=None)
    #: True once a team member set the label by hand.
    corrected: Mapped[bool] = mapped_column(Boolean, default=False)
    #: False while the sentiment model has yet to label it (stored mentions are
    #: labelled in batches right after; see listening/labeller.py).
    classified: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The author's followers when the post was matched.
    reach: Mapped[int] = mapped_column(Integer, default=0)
    #: Display texts of the query terms found and the post words that matched them.
    terms: Mapped[list[Any]] = mapped_column(default=list)
    forms: Mapped[list[Any]] = mapped_column(default=list)
    #: When the post was written, and the same as whole minutes since the epoch (buckets).
    posted_at: Mapped[datetime] = mapped_column()
    minute: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SentimentCorrection(IdMixin, Base):
    """A member's correction of a mention's sentiment: training data for the next model."""

    __tablename__ = "sentiment_corrections"
    __table_args__ = (Index("ix_sentiment_corrections_status_id", "status_id"),)

    organisation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("organisations.account_id", ondelete="CASCADE")
    )
    mention_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("listening_mentions.id", ondelete="SET NULL"), default=None
    )
    status_id: Mapped[int] = mapped_column(BigInteger)
    #: The post's plain text when it was corrected.
    text: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(10))
    previous_label: Mapped[str | None] = mapped_column(String(10), default=None)
    member_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ListeningAlert(IdMixin, Base):
    __tablename__ = "listening_alerts"
    __table_args__ = (Index("ix_listening_alerts_organisation_id_id", "organisation_id", "id"),)

    organisation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("organisations.account_id", ondelete="CASCADE")
    )
    query_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("listening_queries.id", ondelete="CASCADE"))
    #: ``volume`` or ``negative``.
    kind: Mapped[str] = mapped_column(String(16))
    window_start: Mapped[datetime] = mapped_column()
    window_end: Mapped[datetime] = mapped_column()
    #: Mentions (and negative ones) in the window when it fired.
    observed: Mapped[int] = mapped_column(Integer)
    negative: Mapped[int] = mapped_column(Integer, default=0)
    #: What the baseline expected: mentions in the window, or the negative share.
    expected: Mapped[float] = mapped_column(Float)
    #: Poisson upper-tail probability (volume) or binomial z-score (negative share).
    score: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Webhook(IdMixin, Base):
    __tablename__ = "listening_webhooks"
    __table_args__ = (Index("ix_listening_webhooks_organisation_id", "organisation_id"),)

    organisation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("organisations.account_id", ondelete="CASCADE")
    )
    url: Mapped[str] = mapped_column(String(2048))
    #: HMAC-SHA256 key for the signature header (shown once, when created or rotated).
    secret: Mapped[str] = mapped_column(String(128))
    #: What is sent: ``alert`` and/or ``mention``.
    events: Mapped[list[Any]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Consecutive failed attempts, and the last outcome (for the owner to see).
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    last_status: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


class Delivery(IdMixin, Base):
    """One message to send outside (a webhook POST or an e-mail): written in the same
    transaction as what it announces, retried with back-off until it goes through."""

    __tablename__ = "listening_deliveries"
    __table_args__ = (Index("ix_listening_deliveries_due", "delivered_at", "failed_at", "next_attempt_at"),)

    organisation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("organisations.account_id", ondelete="CASCADE")
    )
    #: ``webhook`` or ``email``.
    channel: Mapped[str] = mapped_column(String(16))
    webhook_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("listening_webhooks.id", ondelete="CASCADE"), default=None
    )
    recipient: Mapped[str | None] = mapped_column(String(255), default=None)
    #: ``alert``, ``mention`` or ``ping``.
    event: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=10)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    failed_at: Mapped[datetime | None] = mapped_column(default=None)
    last_status: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
