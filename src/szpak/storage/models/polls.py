"""Polls attached to statuses, and the votes cast in them (docs/api/polls.md).

A poll belongs to one status and goes with it (``ON DELETE CASCADE``). Its counts
(``tallies`` per option, ``votes_count``, ``voters_count``) are kept on the row and
changed only under a lock on it (domain/polls.py), so rendering needs no aggregate.
``load_poll_views`` is the batch loader the status bundle uses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, utcnow


class Poll(IdMixin, Base):
    __tablename__ = "polls"

    status_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("statuses.id", ondelete="CASCADE"), unique=True
    )
    #: The author (the status's account).
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"))
    #: Option titles, in order; a vote names an option by its index.
    options: Mapped[list[Any]] = mapped_column(default=list)
    #: Votes per option, parallel to ``options``.
    tallies: Mapped[list[Any]] = mapped_column(default=list)
    multiple: Mapped[bool] = mapped_column(Boolean, default=False)
    hide_totals: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    votes_count: Mapped[int] = mapped_column(Integer, default=0)
    voters_count: Mapped[int] = mapped_column(Integer, default=0)
    #: When the expiry job closed the poll and sent the ``poll`` notifications.
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PollVote(IdMixin, Base):
    __tablename__ = "poll_votes"
    __table_args__ = (
        UniqueConstraint("poll_id", "account_id", "choice"),
        Index("ix_poll_votes_account_id_poll_id", "account_id", "poll_id"),
    )

    poll_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("polls.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"))
    choice: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


@dataclass
class PollView:
    """A poll as one viewer sees it: the row, and the viewer's own choices (None: anonymous)."""

    poll: Poll
    own_votes: list[int] | None = field(default=None)


async def own_votes(session: AsyncSession, viewer_id: int, poll_ids: Iterable[int]) -> dict[int, list[int]]:
    """poll id → the viewer's choices (sorted) among ``poll_ids``: one query."""
    wanted = list(set(poll_ids))
    out: dict[int, list[int]] = {pid: [] for pid in wanted}
    if not wanted:
        return out
    rows = await session.execute(
        select(PollVote.poll_id, PollVote.choice).where(PollVote.account_id == viewer_id, PollVote.poll_id.in_(wanted))
    )
    for pid, choice in rows.all():
        out[pid].append(choice)
    for choices in out.values():
        choices.sort()
    return out


async def load_poll_views(
    session: AsyncSession, status_ids: Iterable[int], viewer_id: int | None
) -> dict[int, PollView]:
    """status id → PollView for those of ``status_ids`` that carry a poll: one query, and
    one more for a signed-in viewer's votes when there is any poll."""
    ids = list(status_ids)
    if not ids:
        return {}
    polls = list(await session.scalars(select(Poll).where(Poll.status_id.in_(ids))))
    if not polls:
        return {}
    votes = await own_votes(session, viewer_id, [p.id for p in polls]) if viewer_id is not None else {}
    return {p.status_id: PollView(p, votes.get(p.id) if viewer_id is not None else None) for p in polls}
