"""Who may see what: the one place every reader asks.

Rules (as Mastodon):
- ``public`` and ``unlisted`` posts are visible to everyone; ``unlisted`` ones stay
  out of public timelines, hashtag timelines and search.
- ``private`` posts are visible to the author, the author's followers and the
  accounts mentioned in them.
- ``direct`` posts are visible to the author and the mentioned accounts only.
- A block either way hides an author's posts from the other account entirely.
- Posts of suspended accounts are visible to nobody but their author.
- A reblog is visible only when both the reblog row and the reblogged post are: a
  boost never carries a post to someone the post itself is hidden from (a block with
  the original author, a suspension, a followers-only original).

Muting is not visibility: a muted author's posts stay readable (profile, a link), they
are only left out of the feeds (``not_muted_clause``).

``visible_clause`` expresses these rules in SQL for lists; ``can_see`` checks one
loaded status for single reads and streams. They are written independently on purpose
(one in SQL, one in Python over the same facts, :func:`decide`) and a test runs both
over every combination of viewer and visibility, so a slip in either shows up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, not_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from szpak.storage.models import Account, Block, Follow, Mute, Status, StatusMention

PUBLIC_TIMELINE_VISIBILITIES = ("public",)
OPEN_VISIBILITIES = ("public", "unlisted")


# The subqueries below read aliases of their tables, so that they stay correlated to the
# status row even inside a query that itself joins ``accounts``, ``follows``... (e.g.
# reblogged_by selects Account rows next to Status rows).


def blocked_either_way(viewer_id: int, author_col: ColumnElement[int]) -> ColumnElement[bool]:
    block = aliased(Block)
    return exists().where(
        or_(
            and_(block.account_id == viewer_id, block.target_account_id == author_col),
            and_(block.account_id == author_col, block.target_account_id == viewer_id),
        )
    )


def _author_suspended(table: Any) -> ColumnElement[bool]:
    author = aliased(Account)
    return exists().where(and_(author.id == table.account_id, author.suspended_at.is_not(None)))


def author_not_suspended(viewer_id: int | None) -> ColumnElement[bool]:
    clause = ~_author_suspended(Status)
    if viewer_id is not None:
        return or_(Status.account_id == viewer_id, clause)
    return clause


def _row_visible(table: Any, viewer_id: int | None) -> ColumnElement[bool]:
    """The rules for one row of ``table`` (``Status`` or an alias of it), reblogs aside."""
    open_ = table.visibility.in_(OPEN_VISIBILITIES)
    if viewer_id is None:
        return and_(open_, not_(_author_suspended(table)))
    follow, mention = aliased(Follow), aliased(StatusMention)
    follows_author = exists().where(and_(follow.account_id == viewer_id, follow.target_account_id == table.account_id))
    mentioned = exists().where(and_(mention.status_id == table.id, mention.account_id == viewer_id))
    return or_(
        table.account_id == viewer_id,
        and_(
            or_(
                open_,
                and_(table.visibility == "private", or_(follows_author, mentioned)),
                and_(table.visibility == "direct", mentioned),
            ),
            not_(blocked_either_way(viewer_id, table.account_id)),
            not_(_author_suspended(table)),
        ),
    )


def visible_clause(viewer_id: int | None) -> ColumnElement[bool]:
    """SQL condition on ``Status``: the viewer may see the row (and, for a reblog, the
    post it reblogs)."""
    original = aliased(Status)
    return and_(
        _row_visible(Status, viewer_id),
        or_(
            Status.reblog_of_id.is_(None),
            exists().where(and_(original.id == Status.reblog_of_id, _row_visible(original, viewer_id))),
        ),
    )


def not_muted_clause(viewer_id: Any, now: Any = None) -> ColumnElement[bool]:
    """Hide authors the viewer muted (home, public and tag timelines, context; not
    profiles), including reblogs of their posts.

    ``viewer_id`` (and ``now``) may be bind parameters, so that a hot query can be
    built once and run many times (api/routes/timelines.py)."""
    if viewer_id is None:
        return true()
    if now is None:
        now = datetime.now(timezone.utc)
    mute = aliased(Mute)
    muted = select(mute.target_account_id).where(
        mute.account_id == viewer_id, or_(mute.expires_at.is_(None), mute.expires_at > now)
    )
    original = aliased(Status)
    return and_(
        Status.account_id.not_in(muted),
        or_(
            Status.reblog_of_id.is_(None),
            ~exists().where(and_(original.id == Status.reblog_of_id, original.account_id.in_(muted))),
        ),
    )


def searchable_clause() -> ColumnElement[bool]:
    return Status.visibility == "public"


@dataclass(frozen=True)
class Facts:
    """What the rules need to know about one status and one signed-in viewer."""

    author_suspended: bool
    blocked: bool
    mentioned: bool
    follows_author: bool


def decide(visibility: str, *, own: bool, anonymous: bool, facts: Facts) -> bool:
    """The rules of the module docstring for one row, in plain Python."""
    if own:
        return True
    if facts.author_suspended:
        return False
    if anonymous:
        return visibility in OPEN_VISIBILITIES
    if facts.blocked:
        return False
    if visibility in OPEN_VISIBILITIES:
        return True
    if visibility == "private":
        return facts.mentioned or facts.follows_author
    if visibility == "direct":
        return facts.mentioned
    return False


async def _facts(session: AsyncSession, status: Status, viewer_id: int | None) -> Facts:
    """Load every fact about ``status`` in one round trip."""
    suspended = select(Account.suspended_at.is_not(None)).where(Account.id == status.account_id).scalar_subquery()
    if viewer_id is None:
        row = (await session.execute(select(suspended))).one()
        return Facts(author_suspended=bool(row[0]), blocked=False, mentioned=False, follows_author=False)
    blocked = exists().where(
        or_(
            and_(Block.account_id == viewer_id, Block.target_account_id == status.account_id),
            and_(Block.account_id == status.account_id, Block.target_account_id == viewer_id),
        )
    )
    mentioned = exists().where(and_(StatusMention.status_id == status.id, StatusMention.account_id == viewer_id))
    follows = exists().where(and_(Follow.account_id == viewer_id, Follow.target_account_id == status.account_id))
    row = (await session.execute(select(suspended, blocked, mentioned, follows))).one()
    return Facts(
        author_suspended=bool(row[0]), blocked=bool(row[1]), mentioned=bool(row[2]), follows_author=bool(row[3])
    )


async def _row_can_see(session: AsyncSession, status: Status, viewer_id: int | None) -> bool:
    own = viewer_id is not None and status.account_id == viewer_id
    if own:
        return True
    facts = await _facts(session, status, viewer_id)
    return decide(status.visibility, own=False, anonymous=viewer_id is None, facts=facts)


async def can_see(session: AsyncSession, status: Status, viewer_id: int | None) -> bool:
    """Whether ``viewer_id`` may see this one status (same rules as ``visible_clause``)."""
    if not await _row_can_see(session, status, viewer_id):
        return False
    if status.reblog_of_id is None:
        return True
    original = await session.get(Status, status.reblog_of_id)
    return original is not None and await _row_can_see(session, original, viewer_id)


def never() -> ColumnElement[bool]:
    return false()
