"""Batch reads of the social graph for rendering: relationships and familiar followers.

Everything here answers for a whole list of accounts in a fixed number of queries
(one per kind of edge), however long the list, so ``/api/v1/accounts/relationships``
with forty ids costs the same as with one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import ColumnElement, and_, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.storage.models import Account, Block, DomainBlock, Endorsement, Follow, FollowRequest, Mute


@dataclass
class Edge:
    """The options carried by a follow or a follow request."""

    show_reblogs: bool
    notify: bool


@dataclass
class Relations:
    """What ``viewer_id`` and each of ``ids`` are to each other, keyed by the other account."""

    viewer_id: int
    following: dict[int, Edge] = field(default_factory=dict)
    followed_by: set[int] = field(default_factory=set)
    requested: dict[int, Edge] = field(default_factory=dict)
    requested_by: set[int] = field(default_factory=set)
    blocking: set[int] = field(default_factory=set)
    blocked_by: set[int] = field(default_factory=set)
    #: target id -> (hide_notifications, expires_at); only mutes still in force
    muting: dict[int, tuple[bool, datetime | None]] = field(default_factory=dict)
    #: Accounts the viewer endorses (and still follows) (domain/endorsements.py).
    endorsed: set[int] = field(default_factory=set)
    #: Remote accounts of a domain the viewer blocks (domain/domain_blocks.py).
    domain_blocking: set[int] = field(default_factory=set)


def _live_mute(now: datetime) -> ColumnElement[bool]:
    return or_(Mute.expires_at.is_(None), Mute.expires_at > now)


async def load_relations(session: AsyncSession, viewer_id: int, ids: Iterable[int]) -> Relations:
    """Every edge between ``viewer_id`` and ``ids``, in five queries (plus one for
    endorsements and domain blocks)."""
    rel = Relations(viewer_id=viewer_id)
    wanted = set(ids)
    if not wanted:
        return rel
    follows = await session.execute(
        select(Follow.account_id, Follow.target_account_id, Follow.show_reblogs, Follow.notify).where(
            or_(
                and_(Follow.account_id == viewer_id, Follow.target_account_id.in_(wanted)),
                and_(Follow.target_account_id == viewer_id, Follow.account_id.in_(wanted)),
            )
        )
    )
    for src, dst, reblogs, notify in follows:
        if src == viewer_id:
            rel.following[dst] = Edge(bool(reblogs), bool(notify))
        if dst == viewer_id:
            rel.followed_by.add(src)
    requests = await session.execute(
        select(FollowRequest.account_id, FollowRequest.target_account_id, FollowRequest.show_reblogs, FollowRequest.notify).where(
            or_(
                and_(FollowRequest.account_id == viewer_id, FollowRequest.target_account_id.in_(wanted)),
                and_(FollowRequest.target_account_id == viewer_id, FollowRequest.account_id.in_(wanted)),
            )
        )
    )
    for src, dst, reblogs, notify in requests:
        if src == viewer_id:
            rel.requested[dst] = Edge(bool(reblogs), bool(notify))
        if dst == viewer_id:
            rel.requested_by.add(src)
    blocks = await session.execute(
        select(Block.account_id, Block.target_account_id).where(
            or_(
                and_(Block.account_id == viewer_id, Block.target_account_id.in_(wanted)),
                and_(Block.target_account_id == viewer_id, Block.account_id.in_(wanted)),
            )
        )
    )
    for src, dst in blocks:
        if src == viewer_id:
            rel.blocking.add(dst)
        if dst == viewer_id:
            rel.blocked_by.add(src)
    now = datetime.now(timezone.utc)
    mutes = await session.execute(
        select(Mute.target_account_id, Mute.hide_notifications, Mute.expires_at).where(
            Mute.account_id == viewer_id, Mute.target_account_id.in_(wanted), _live_mute(now)
        )
    )
    for dst, hide, expires in mutes:
        rel.muting[dst] = (bool(hide), expires)
    await _load_endorsed_and_domain_blocking(session, rel, wanted)
    return rel


async def _load_endorsed_and_domain_blocking(session: AsyncSession, rel: Relations, wanted: set[int]) -> None:
    """Endorsements (only of followed accounts count) and domain blocks, in one query."""
    endorsed = (
        select(literal("e"), Endorsement.target_account_id)
        .join(Follow, Follow.id == Endorsement.follow_id)
        .where(Endorsement.account_id == rel.viewer_id, Endorsement.target_account_id.in_(list(rel.following) or [0]))
    )
    domain_blocked = (
        select(literal("d"), Account.id)
        .join(DomainBlock, DomainBlock.domain == Account.domain_key)
        .where(DomainBlock.account_id == rel.viewer_id, Account.id.in_(wanted), Account.domain.is_not(None))
    )
    for kind, target in (await session.execute(union_all(endorsed, domain_blocked))).all():
        (rel.endorsed if kind == "e" else rel.domain_blocking).add(target)


async def familiar_followers(session: AsyncSession, viewer_id: int, ids: Iterable[int]) -> dict[int, list[Account]]:
    """For each of ``ids``: the accounts the viewer follows that also follow it.

    Suspended accounts and accounts hiding their social graph are left out, as are
    the target itself and the viewer. One query, however many ids.
    """
    wanted = set(ids)
    out: dict[int, list[Account]] = defaultdict(list)
    if not wanted:
        return out
    mine = select(Follow.target_account_id).where(Follow.account_id == viewer_id)
    rows = await session.execute(
        select(Follow.target_account_id, Account)
        .join(Account, Account.id == Follow.account_id)
        .where(
            Follow.target_account_id.in_(wanted),
            Follow.account_id.in_(mine),
            Follow.account_id != viewer_id,
            Account.suspended_at.is_(None),
            Account.hide_collections.is_(False),
        )
        .order_by(Follow.target_account_id, Account.followers_count.desc(), Account.id)
    )
    for target_id, account in rows:
        out[target_id].append(account)
    return out
