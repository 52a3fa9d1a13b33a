"""Featured hashtags: the tags an account shows on its profile (Mastodon's FeaturedTag).

``statuses_count`` and ``last_status_at`` are computed on read from the account's
public and unlisted posts with the tag (as Mastodon counts them), never from
followers-only or direct ones, so a profile does not reveal what private posts talk
about. An account may feature at most :data:`MAX_FEATURED_TAGS` tags (Mastodon's limit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.domain.context import Tx
from szpak.domain.errors import Invalid, NotFound
from szpak.domain.tag_follows import account_tag_ids, ensure_tag, existing_tag, valid_name
from szpak.domain.visibility import OPEN_VISIBILITIES
from szpak.storage.ids import new_id
from szpak.storage.inserts import insert_or_ignore
from szpak.storage.models import Account, FeaturedTag, Status, StatusTag, Tag

MAX_FEATURED_TAGS = 10
#: How many of the account's most used tags ``/api/v1/featured_tags/suggestions`` offers.
SUGGESTIONS = 10


@dataclass
class Featured:
    row: FeaturedTag
    tag: Tag
    statuses_count: int = 0
    last_status_at: datetime | None = None


async def _stats(session: AsyncSession, account_id: int, tag_ids: list[int]) -> dict[int, tuple[int, datetime | None]]:
    if not tag_ids:
        return {}
    rows = await session.execute(
        select(StatusTag.tag_id, func.count(), func.max(Status.created_at))
        .join(Status, Status.id == StatusTag.status_id)
        .where(
            StatusTag.tag_id.in_(tag_ids),
            Status.account_id == account_id,
            Status.visibility.in_(OPEN_VISIBILITIES),
            Status.reblog_of_id.is_(None),
        )
        .group_by(StatusTag.tag_id)
    )
    return {tid: (int(n), last) for tid, n, last in rows.all()}


async def featured_of(session: AsyncSession, account_id: int) -> list[Featured]:
    """The account's featured tags with their counts, oldest featured first (as Mastodon lists them)."""
    rows = (
        await session.execute(
            select(FeaturedTag, Tag)
            .join(Tag, Tag.id == FeaturedTag.tag_id)
            .where(FeaturedTag.account_id == account_id)
            .order_by(FeaturedTag.id)
        )
    ).all()
    stats = await _stats(session, account_id, [tag.id for _, tag in rows])
    out = []
    for row, tag in rows:
        count, last = stats.get(tag.id, (0, None))
        out.append(Featured(row, tag, count, last))
    return out


async def featured_tag_ids(session: AsyncSession, account_id: int, tag_ids: list[int]) -> set[int]:
    return await account_tag_ids(session, FeaturedTag, account_id, tag_ids)


async def one(session: AsyncSession, account_id: int, row: FeaturedTag) -> Featured:
    tag = await session.get(Tag, row.tag_id)
    assert tag is not None
    count, last = (await _stats(session, account_id, [tag.id])).get(tag.id, (0, None))
    return Featured(row, tag, count, last)


async def suggestions(session: AsyncSession, account_id: int) -> list[Tag]:
    """The account's most used tags (in its public and unlisted posts) that it does not feature yet."""
    featured = select(FeaturedTag.tag_id).where(FeaturedTag.account_id == account_id)
    uses = (
        select(StatusTag.tag_id, func.count().label("n"), func.max(StatusTag.status_id).label("last"))
        .join(Status, Status.id == StatusTag.status_id)
        .where(
            Status.account_id == account_id,
            Status.visibility.in_(OPEN_VISIBILITIES),
            Status.reblog_of_id.is_(None),
            StatusTag.tag_id.not_in(featured),
        )
        .group_by(StatusTag.tag_id)
        .subquery()
    )
    rows = await session.scalars(
        select(Tag).join(uses, uses.c.tag_id == Tag.id).order_by(uses.c.n.desc(), uses.c.last.desc()).limit(SUGGESTIONS)
    )
    return list(rows)


async def feature(tx: Tx, actor: Account, name: str) -> FeaturedTag:
    """Feature the hashtag ``name`` (created when new). Featuring it again answers with the
    existing row, as ``POST /api/v1/tags/:name/feature`` expects to be repeatable."""
    valid_name(name)
    tag = await ensure_tag(tx, name)
    s = tx.session
    existing = await s.scalar(select(FeaturedTag).where(FeaturedTag.account_id == actor.id, FeaturedTag.tag_id == tag.id))
    if existing is not None:
        return existing  # type: ignore[no-any-return]
    count = len(list(await s.scalars(select(FeaturedTag.id).where(FeaturedTag.account_id == actor.id))))
    if count >= MAX_FEATURED_TAGS:
        raise Invalid(f"Validation failed: You can feature at most {MAX_FEATURED_TAGS} hashtags")
    await insert_or_ignore(
        s, FeaturedTag, ["account_id", "tag_id"],
        id=new_id(), account_id=actor.id, tag_id=tag.id, created_at=datetime.now(timezone.utc)
    )
    row = await s.scalar(select(FeaturedTag).where(FeaturedTag.account_id == actor.id, FeaturedTag.tag_id == tag.id))
    assert row is not None
    return row  # type: ignore[no-any-return]


async def unfeature_id(tx: Tx, actor: Account, featured_id: int) -> None:
    """Remove one of the actor's featured tags by its id; anybody else's does not exist for them."""
    row = await tx.session.get(FeaturedTag, featured_id)
    if row is None or row.account_id != actor.id:
        raise NotFound()
    await tx.session.delete(row)
    await tx.session.flush()


async def unfeature_name(tx: Tx, actor: Account, name: str) -> Tag:
    """Stop featuring the hashtag ``name`` (idempotent); a tag that does not exist is 404."""
    tag = await existing_tag(tx.session, name)
    await tx.session.execute(delete(FeaturedTag).where(FeaturedTag.account_id == actor.id, FeaturedTag.tag_id == tag.id))
    return tag
