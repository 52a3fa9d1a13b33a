"""Followed hashtags: ``POST /api/v1/tags/:name/follow`` and ``/unfollow``.

Following a hashtag brings public posts that use it (not boosts, from accounts the
follower does not block, is not blocked by and does not mute) into the follower's home
timeline and ``user`` stream (``followed_tags_clause``, used by ``home_query`` in
``api/routes/timelines.py``; the stream side is ``Relations.followed_tags`` in
``realtime/audience.py``). Following a tag nobody has used yet creates it, as Mastodon
does; such a tag stays hidden from search and ``GET /api/v1/tags/:name`` for everybody
but the accounts that follow or feature it (``api/routes/tags.py``).

Every change publishes ``Custom(topic=TAG_FOLLOWS_TOPIC)`` after commit, so the streaming
hub re-reads the account's followed tags.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.domain.context import Tx
from szpak.domain.errors import Invalid, NotFound
from szpak.domain.events import Custom
from szpak.storage.ids import new_id
from szpak.storage.inserts import insert_or_ignore
from szpak.storage.models import Account, Status, StatusTag, Tag, TagFollow

#: ``Custom`` event topic: ``data={"account_id": ...}`` followed or unfollowed a tag.
TAG_FOLLOWS_TOPIC = "tags.followed_changed"
#: Hashtags one account may follow.
MAX_FOLLOWED_TAGS = 1000
#: A hashtag as posts write it (``domain/formatting.HASHTAG_RE``): word characters, at least one letter.
_NAME_RE = re.compile(r"\w*[^\W\d_]\w*")


def tag_key(name: str) -> str:
    """The stored form of a tag name: without ``#``, lower-cased, diacritics kept."""
    return name.strip().lstrip("#").lower()


def valid_name(name: str) -> str:
    """The name as written (without ``#``), if it is a hashtag; else ``Invalid`` (422)."""
    shown = (name or "").strip().lstrip("#")
    if not shown or len(shown.lower()) > 255 or len(shown) > 255 or not _NAME_RE.fullmatch(shown):
        raise Invalid("Validation failed: Name is invalid")
    return shown


async def find_tag(session: AsyncSession, name: str) -> Tag | None:
    key = tag_key(name)
    if not key or len(key) > 255:
        return None
    return await session.scalar(select(Tag).where(Tag.name == key))  # type: ignore[no-any-return]


async def existing_tag(session: AsyncSession, name: str) -> Tag:
    """The tag called ``name``: ``Invalid`` (422) when ``name`` is not a hashtag, ``NotFound``
    when no such tag exists."""
    valid_name(name)
    tag = await find_tag(session, name)
    if tag is None:
        raise NotFound()
    return tag


async def ensure_tag(tx: Tx, name: str) -> Tag:
    """The tag called ``name``, created (unused: ``last_status_at`` stays empty) when new.
    Insert-or-ignore, as ``domain.statuses`` does, so two creators do not collide."""
    shown = valid_name(name)
    key = shown.lower()
    s = tx.session
    tag = await s.scalar(select(Tag).where(Tag.name == key))
    if tag is None:
        await insert_or_ignore(
            s, Tag, ["name"], id=new_id(), name=key, display_name=shown, created_at=datetime.now(timezone.utc)
        )
        tag = await s.scalar(select(Tag).where(Tag.name == key))
    assert tag is not None
    return tag  # type: ignore[no-any-return]


async def is_following(session: AsyncSession, account_id: int, tag_id: int) -> bool:
    found = await session.scalar(
        select(TagFollow.id).where(TagFollow.account_id == account_id, TagFollow.tag_id == tag_id)
    )
    return found is not None


async def account_tag_ids(session: AsyncSession, model: Any, account_id: int, tag_ids: list[int]) -> set[int]:
    """Which of ``tag_ids`` the account has a ``model`` row for (``TagFollow``, ``FeaturedTag``)."""
    if not tag_ids:
        return set()
    return set(
        await session.scalars(select(model.tag_id).where(model.account_id == account_id, model.tag_id.in_(tag_ids)))
    )


async def followed_tag_ids(session: AsyncSession, account_id: int, tag_ids: list[int]) -> set[int]:
    return await account_tag_ids(session, TagFollow, account_id, tag_ids)


async def followed_tag_names(session: AsyncSession, account_id: int) -> set[str]:
    """Names of the tags ``account_id`` follows (the streaming hub's view)."""
    return set(
        await session.scalars(
            select(Tag.name).join(TagFollow, TagFollow.tag_id == Tag.id).where(TagFollow.account_id == account_id)
        )
    )


def followed_tags_clause(me: Any, below: Any = None, above: Any = None) -> ColumnElement[bool]:
    """SQL condition on ``Status``: a public post (not a boost) carrying a tag ``me`` follows.

    Visibility, blocks and mutes are not restated: the home query applies
    ``visible_clause`` and ``not_muted_clause`` to every row. ``me`` may be a bind parameter.
    ``below``/``above``: the id range the statement reads (binds), repeated inside so that
    the tagged posts are found through ``ix_status_tags_tag_id_status_id`` for that range
    only; ``reblog_of_id + 0`` keeps SQLite from planning the branch through the (nearly
    all-NULL) ``reblog_of_id`` index once ``ANALYZE`` has given it statistics."""
    followed = select(TagFollow.tag_id).where(TagFollow.account_id == me)
    tagged = select(StatusTag.status_id).where(StatusTag.tag_id.in_(followed))
    if below is not None:
        tagged = tagged.where(StatusTag.status_id < below)
    if above is not None:
        tagged = tagged.where(StatusTag.status_id > above)
    return and_(
        Status.visibility == "public",
        (Status.reblog_of_id + 0).is_(None),
        Status.id.in_(tagged),
    )


def _changed(tx: Tx, account_id: int) -> None:
    tx.emit(Custom(topic=TAG_FOLLOWS_TOPIC, data={"account_id": account_id}))


async def follow(tx: Tx, actor: Account, name: str) -> Tag:
    """Follow the hashtag (idempotent)."""
    tag = await ensure_tag(tx, name)
    s = tx.session
    if await is_following(s, actor.id, tag.id):
        return tag
    count = len(list(await s.scalars(select(TagFollow.id).where(TagFollow.account_id == actor.id).limit(MAX_FOLLOWED_TAGS))))
    if count >= MAX_FOLLOWED_TAGS:
        raise Invalid(f"Validation failed: You can follow at most {MAX_FOLLOWED_TAGS} hashtags")
    await insert_or_ignore(
        s, TagFollow, ["account_id", "tag_id"],
        id=new_id(), account_id=actor.id, tag_id=tag.id, created_at=datetime.now(timezone.utc)
    )
    _changed(tx, actor.id)
    return tag


async def unfollow(tx: Tx, actor: Account, name: str) -> Tag:
    """Stop following the hashtag (idempotent). A tag that does not exist is 404."""
    tag = await existing_tag(tx.session, name)
    res = await tx.session.execute(
        delete(TagFollow).where(TagFollow.account_id == actor.id, TagFollow.tag_id == tag.id)
    )
    if res.rowcount:
        _changed(tx, actor.id)
    return tag
