"""Batch loaders for rendering: everything a page of statuses needs, in a fixed
number of queries however long the page is (no N+1)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.storage.models import (
    Account,
    Application,
    Bookmark,
    Favourite,
    Mute,
    Status,
    StatusMention,
    StatusPin,
    StatusTag,
    Tag,
)


@dataclass
class StatusBundle:
    """Statuses plus what rendering them needs, for one viewer."""

    statuses: dict[int, Status] = field(default_factory=dict)
    accounts: dict[int, Account] = field(default_factory=dict)
    mentions: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    tags: dict[int, list[Tag]] = field(default_factory=lambda: defaultdict(list))
    applications: dict[int, Application] = field(default_factory=dict)
    favourited: set[int] = field(default_factory=set)
    reblogged: set[int] = field(default_factory=set)
    bookmarked: set[int] = field(default_factory=set)
    pinned: set[int] = field(default_factory=set)
    muted_accounts: set[int] = field(default_factory=set)
    viewer_id: int | None = None


async def load_accounts(session: AsyncSession, ids: Iterable[int]) -> dict[int, Account]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await session.scalars(select(Account).where(Account.id.in_(wanted)))
    return {a.id: a for a in rows}


async def load_bundle(session: AsyncSession, statuses: Sequence[Status], viewer_id: int | None) -> StatusBundle:
    b = StatusBundle(viewer_id=viewer_id)
    for st in statuses:
        b.statuses[st.id] = st
    originals = {st.reblog_of_id for st in statuses if st.reblog_of_id and st.reblog_of_id not in b.statuses}
    if originals:
        for st in await session.scalars(select(Status).where(Status.id.in_(originals))):
            b.statuses[st.id] = st
    ids = list(b.statuses)
    content_ids = [i for i, st in b.statuses.items() if st.reblog_of_id is None]
    account_ids = {st.account_id for st in b.statuses.values()}
    if content_ids:
        for sid, aid in (
            await session.execute(
                select(StatusMention.status_id, StatusMention.account_id).where(StatusMention.status_id.in_(content_ids))
            )
        ).all():
            b.mentions[sid].append(aid)
            account_ids.add(aid)
        for sid, tag in (
            await session.execute(
                select(StatusTag.status_id, Tag).join(Tag, Tag.id == StatusTag.tag_id).where(StatusTag.status_id.in_(content_ids))
            )
        ).all():
            b.tags[sid].append(tag)
    b.accounts = await load_accounts(session, account_ids)
    app_ids = {st.application_id for st in b.statuses.values() if st.application_id}
    if app_ids:
        b.applications = {a.id: a for a in await session.scalars(select(Application).where(Application.id.in_(app_ids)))}
    if viewer_id is not None and ids:
        b.favourited = set(
            await session.scalars(
                select(Favourite.status_id).where(Favourite.account_id == viewer_id, Favourite.status_id.in_(content_ids))
            )
        )
        b.bookmarked = set(
            await session.scalars(
                select(Bookmark.status_id).where(Bookmark.account_id == viewer_id, Bookmark.status_id.in_(content_ids))
            )
        )
        b.reblogged = set(
            await session.scalars(
                select(Status.reblog_of_id).where(Status.account_id == viewer_id, Status.reblog_of_id.in_(content_ids))
            )
        )
        own = [i for i in content_ids if b.statuses[i].account_id == viewer_id]
        if own:
            b.pinned = set(
                await session.scalars(
                    select(StatusPin.status_id).where(StatusPin.account_id == viewer_id, StatusPin.status_id.in_(own))
                )
            )
        authors = {st.account_id for st in b.statuses.values()}
        b.muted_accounts = set(
            await session.scalars(
                select(Mute.target_account_id).where(Mute.account_id == viewer_id, Mute.target_account_id.in_(authors))
            )
        )
    return b
