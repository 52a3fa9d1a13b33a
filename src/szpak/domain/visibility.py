"""Who may see what: the one place every reader asks.

Rules (as Mastodon):
- ``public`` and ``unlisted`` posts are visible to everyone; ``unlisted`` ones stay
  out of public timelines, hashtag timelines and search.
- ``private`` posts are visible to the author, the author's followers and the
  accounts mentioned in them.
- ``direct`` posts are visible to the author and the mentioned accounts only.
- A block either way hides an author's posts from the other account entirely.
- Posts of suspended accounts are visible to nobody but their author.

``visible_clause`` expresses these rules in SQL for lists; ``can_see`` checks one
loaded status for single reads and streams. Both must agree (tested together).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import ColumnElement, and_, exists, false, not_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.storage.models import Account, Block, Follow, Mute, Status, StatusMention

PUBLIC_TIMELINE_VISIBILITIES = ("public",)
OPEN_VISIBILITIES = ("public", "unlisted")


def blocked_either_way(viewer_id: int, author_col: ColumnElement[int]) -> ColumnElement[bool]:
    return exists().where(
        or_(
            and_(Block.account_id == viewer_id, Block.target_account_id == author_col),
            and_(Block.account_id == author_col, Block.target_account_id == viewer_id),
        )
    )


def author_not_suspended(viewer_id: int | None) -> ColumnElement[bool]:
    clause = ~exists().where(and_(Account.id == Status.account_id, Account.suspended_at.is_not(None)))
    if viewer_id is not None:
        return or_(Status.account_id == viewer_id, clause)
    return clause


def visible_clause(viewer_id: int | None) -> ColumnElement[bool]:
    """SQL condition on ``Status``: the viewer may see the row."""
    open_ = Status.visibility.in_(OPEN_VISIBILITIES)
    if viewer_id is None:
        return and_(open_, author_not_suspended(None))
    follows_author = exists().where(and_(Follow.account_id == viewer_id, Follow.target_account_id == Status.account_id))
    mentioned = exists().where(and_(StatusMention.status_id == Status.id, StatusMention.account_id == viewer_id))
    return and_(
        or_(
            Status.account_id == viewer_id,
            open_,
            and_(Status.visibility == "private", or_(follows_author, mentioned)),
            and_(Status.visibility == "direct", mentioned),
        ),
        or_(Status.account_id == viewer_id, not_(blocked_either_way(viewer_id, Status.account_id))),
        author_not_suspended(viewer_id),
    )


def not_muted_clause(viewer_id: int | None) -> ColumnElement[bool]:
    """Hide authors the viewer muted (home, public and tag timelines; not profiles)."""
    if viewer_id is None:
        return true()
    now = datetime.now(timezone.utc)
    return ~exists().where(
        and_(
            Mute.account_id == viewer_id,
            Mute.target_account_id == Status.account_id,
            or_(Mute.expires_at.is_(None), Mute.expires_at > now),
        )
    )


def searchable_clause() -> ColumnElement[bool]:
    return Status.visibility == "public"


async def can_see(session: AsyncSession, status: Status, viewer_id: int | None) -> bool:
    """Whether ``viewer_id`` may see this one status (same rules as ``visible_clause``)."""
    if viewer_id is not None and status.account_id == viewer_id:
        return True
    suspended = await session.scalar(select(Account.suspended_at).where(Account.id == status.account_id))
    if suspended is not None:
        return False
    if viewer_id is None:
        return status.visibility in OPEN_VISIBILITIES
    blocked = await session.scalar(select(blocked_either_way(viewer_id, status.account_id)))  # type: ignore[arg-type]
    if blocked:
        return False
    if status.visibility in OPEN_VISIBILITIES:
        return True
    mentioned = await session.scalar(
        select(exists().where(and_(StatusMention.status_id == status.id, StatusMention.account_id == viewer_id)))
    )
    if mentioned:
        return True
    if status.visibility == "private":
        return bool(
            await session.scalar(
                select(
                    exists().where(and_(Follow.account_id == viewer_id, Follow.target_account_id == status.account_id))
                )
            )
        )
    return False


def never() -> ColumnElement[bool]:
    return false()
