"""Follow suggestions (``/api/v2/suggestions``, ``/api/v1/suggestions``) and the profile
directory (``/api/v1/directory``).

Suggestions are computed on read from two sources, as Mastodon names them:

- ``friends_of_friends``: accounts followed by accounts the viewer follows, the most
  shared first;
- ``most_followed``: local accounts with the most followers among those that posted in
  the last :data:`ACTIVE_DAYS` days, then any other local account by followers.

Never suggested: the viewer, accounts it follows or asked to follow, accounts it blocks,
is blocked by or mutes, accounts it dismissed (``DELETE /api/v1/suggestions/:id``,
stored), accounts that are not discoverable, suspended or silenced, and accounts of a
domain the viewer blocks. The directory lists discoverable, active accounts with the
same exclusions for a signed-in viewer (minus the follow and dismissal ones).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.domain.context import Tx
from szpak.domain.domain_blocks import not_domain_blocked_clause
from szpak.domain.errors import NotFound
from szpak.storage.ids import new_id
from szpak.storage.inserts import insert_or_ignore
from szpak.storage.models import Account, Block, Follow, FollowRequest, Mute, SuggestionDismissal, User

ACTIVE_DAYS = 30
#: ``source`` (deprecated in Mastodon 4.3, still read by clients) for each of ``sources``.
LEGACY_SOURCE = {"friends_of_friends": "past_interactions", "most_followed": "global"}


@dataclass
class Suggestion:
    account: Account
    sources: list[str] = field(default_factory=list)

    @property
    def source(self) -> str:
        return LEGACY_SOURCE[self.sources[0]]


def _listed() -> ColumnElement[bool]:
    """Accounts that may appear in suggestions and the directory at all."""
    approved = select(User.id).where(User.account_id == Account.id, User.approved.is_(True), User.disabled.is_(False))
    return and_(
        Account.discoverable.is_(True),
        Account.suspended_at.is_(None),
        Account.silenced_at.is_(None),
        or_(Account.domain.is_not(None), approved.exists()),
    )


def not_excluded_clause(me: int, now: datetime, *, self_too: bool = True) -> ColumnElement[bool]:
    """Not blocked either way, muted (a mute in force) or of a blocked domain; nor the
    viewer itself, with ``self_too``."""
    blocking = select(Block.target_account_id).where(Block.account_id == me)
    blocked_by = select(Block.account_id).where(Block.target_account_id == me)
    muting = select(Mute.target_account_id).where(
        Mute.account_id == me, or_(Mute.expires_at.is_(None), Mute.expires_at > now)
    )
    return and_(
        Account.id != me if self_too else true(),
        Account.id.not_in(blocking),
        Account.id.not_in(blocked_by),
        Account.id.not_in(muting),
        not_domain_blocked_clause(me),
    )


def _eligible(me: int, now: datetime) -> ColumnElement[bool]:
    following = select(Follow.target_account_id).where(Follow.account_id == me)
    requested = select(FollowRequest.target_account_id).where(FollowRequest.account_id == me)
    dismissed = select(SuggestionDismissal.target_account_id).where(SuggestionDismissal.account_id == me)
    return and_(
        _listed(),
        not_excluded_clause(me, now),
        Account.id.not_in(following),
        Account.id.not_in(requested),
        Account.id.not_in(dismissed),
    )


async def suggestions(session: AsyncSession, me: int, limit: int) -> list[Suggestion]:
    now = datetime.now(timezone.utc)
    eligible = _eligible(me, now)
    mine = select(Follow.target_account_id).where(Follow.account_id == me)
    shared = func.count(Follow.id)
    fof = list(
        (
            await session.execute(
                select(Account)
                .join(Follow, Follow.target_account_id == Account.id)
                .where(Follow.account_id.in_(mine), eligible)
                .group_by(Account.id)
                .order_by(shared.desc(), Account.followers_count.desc(), Account.id.desc())
                .limit(limit)
            )
        ).scalars()
    )
    out = {a.id: Suggestion(a, ["friends_of_friends"]) for a in fof}
    active_since = now - timedelta(days=ACTIVE_DAYS)
    active_first = (
        select(Account)
        .where(eligible, Account.domain.is_(None))
        .order_by(
            case((Account.last_status_at >= active_since, 0), else_=1),
            Account.followers_count.desc(),
            Account.last_status_at.desc().nulls_last(),
            Account.id.desc(),
        )
        .limit(limit)
    )
    for account in (await session.execute(active_first)).scalars():
        if account.id in out:
            out[account.id].sources.append("most_followed")
        elif len(out) < limit:
            out[account.id] = Suggestion(account, ["most_followed"])
    return list(out.values())[:limit]


async def dismiss(tx: Tx, actor: Account, target_id: int) -> None:
    """Never suggest ``target_id`` to the actor again (idempotent)."""
    s = tx.session
    if await s.get(Account, target_id) is None:
        raise NotFound()
    await insert_or_ignore(
        s, SuggestionDismissal, ["account_id", "target_account_id"],
        id=new_id(), account_id=actor.id, target_account_id=target_id
    )


def directory_query(viewer_id: int | None, *, order: str, local: bool) -> Any:
    """Discoverable accounts: ``active`` (latest post first; accounts that never posted
    last) or ``new`` (newest account first); ``local``: local accounts only."""
    query = select(Account).where(_listed())
    if viewer_id is not None:
        query = query.where(not_excluded_clause(viewer_id, datetime.now(timezone.utc), self_too=False))
    if local:
        query = query.where(Account.domain.is_(None))
    if order == "new":
        return query.order_by(Account.created_at.desc(), Account.id.desc())
    return query.order_by(Account.last_status_at.desc().nulls_last(), Account.id.desc())
