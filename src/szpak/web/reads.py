"""What the pages show, read in a fixed number of queries per page.

Every list asks ``domain/visibility.py`` who may see what, loads its statuses with
``storage.queries.load_bundle`` and renders them with the API's ``Renderer``, so a
page shows exactly what the same viewer would get from the REST API. The feed
queries (home, public, hashtag) are the API's own (``api/routes/timelines.py``), so
a page and ``GET /api/v1/timelines/...`` can never disagree on what a feed holds.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.api.routes import timelines
from szpak.api.serializers import Renderer, iso
from szpak.domain.search_index import query_alternatives
from szpak.domain.visibility import visible_clause
from szpak.storage.account_search import search_accounts
from szpak.storage.ids import id_for_time
from szpak.storage.models import Account, Follow, Notification, Status, StatusTag, Tag
from szpak.storage.queries import load_bundle
from szpak.storage.search import statuses_query, tags_query

PAGE_SIZE = 20
THREAD_LIMIT = 400
TRENDING_DAYS = 7


@dataclass
class Listing:
    """One page of rendered items and the ``max_id`` of the next page (None at the end)."""

    items: list[dict[str, Any]] = field(default_factory=list)
    next_max_id: str | None = None


def home_query(me: int) -> Select[tuple[Status]]:
    """The viewer's home feed: exactly the API's query (one definition of the feed rules)."""
    return timelines.home_query(me)


def public_query(viewer_id: int | None) -> Select[tuple[Status]]:
    return timelines.public_query(viewer_id, local=False, remote=False, only_media=False)


def tag_query(name: str, viewer_id: int | None) -> Select[tuple[Status]]:
    return timelines.tag_query(
        viewer_id, name, any_=[], all_=[], none=[], local=False, remote=False, only_media=False
    )


def account_query(account_id: int, viewer_id: int | None, *, with_replies: bool) -> Select[tuple[Status]]:
    """An account's posts and boosts; replies to others only on the "with replies" tab."""
    query = select(Status).where(Status.account_id == account_id, visible_clause(viewer_id))
    if not with_replies:
        query = query.where(
            or_(Status.in_reply_to_id.is_(None), Status.in_reply_to_account_id == account_id)
        )
    return query


async def statuses(
    session: AsyncSession, renderer: Renderer, query: Select[tuple[Status]], viewer_id: int | None,
    *, max_id: int | None = None, limit: int = PAGE_SIZE,
) -> Listing:
    if max_id is not None:
        query = query.where(Status.id < max_id)
    rows = list(await session.scalars(query.order_by(Status.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    bundle = await load_bundle(session, rows, viewer_id)
    return Listing(renderer.statuses(rows, bundle), str(rows[-1].id) if more and rows else None)


async def one_status(session: AsyncSession, renderer: Renderer, status: Status, viewer_id: int | None) -> dict[str, Any]:
    bundle = await load_bundle(session, [status], viewer_id)
    return renderer.status(status, bundle)  # type: ignore[no-any-return]


@dataclass
class Thread:
    ancestors: list[dict[str, Any]]
    status: dict[str, Any]
    #: (depth below the status, rendered reply), depth-first as a conversation reads
    descendants: list[tuple[int, dict[str, Any]]]


async def thread(session: AsyncSession, renderer: Renderer, status: Status, viewer_id: int | None) -> Thread:
    """The post, the posts it answers and the answers to it: one query for the whole
    conversation (what the viewer may see of it), then the tree is walked in memory."""
    conversation = status.conversation_id or status.id
    rows = list(
        await session.scalars(
            select(Status)
            .where(Status.conversation_id == conversation, Status.reblog_of_id.is_(None), visible_clause(viewer_id))
            .order_by(Status.id)
            .limit(THREAD_LIMIT)
        )
    )
    by_id = {st.id: st for st in rows}
    by_id[status.id] = status
    ancestors: list[Status] = []
    cursor = status.in_reply_to_id
    while cursor is not None and cursor in by_id and len(ancestors) < THREAD_LIMIT:
        ancestors.append(by_id[cursor])
        cursor = by_id[cursor].in_reply_to_id
    ancestors.reverse()
    children: dict[int, list[Status]] = defaultdict(list)
    for st in rows:
        if st.in_reply_to_id is not None and st.id != status.id:
            children[st.in_reply_to_id].append(st)
    descendants: list[tuple[int, Status]] = []
    stack = [(1, child) for child in reversed(children.get(status.id, []))]
    while stack:
        depth, st = stack.pop()
        descendants.append((depth, st))
        stack.extend((depth + 1, child) for child in reversed(children.get(st.id, [])))
    bundle = await load_bundle(session, [*ancestors, status, *(st for _, st in descendants)], viewer_id)
    return Thread(
        ancestors=[renderer.status(st, bundle) for st in ancestors if st.account_id in bundle.accounts],
        status=renderer.status(status, bundle),
        descendants=[(d, renderer.status(st, bundle)) for d, st in descendants if st.account_id in bundle.accounts],
    )


async def notifications(
    session: AsyncSession, renderer: Renderer, me: int, *, max_id: int | None = None, limit: int = PAGE_SIZE,
    only_id: int | None = None,
) -> Listing:
    """The viewer's notifications, newest first, with the posts they are about (those the
    viewer may no longer see are left out, as is everything from suspended accounts)."""
    query = select(Notification).where(Notification.account_id == me)
    if only_id is not None:
        query = query.where(Notification.id == only_id)
    if max_id is not None:
        query = query.where(Notification.id < max_id)
    rows = list(await session.scalars(query.order_by(Notification.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    status_ids = {n.status_id for n in rows if n.status_id is not None}
    visible: list[Status] = []
    if status_ids:
        visible = list(await session.scalars(select(Status).where(Status.id.in_(status_ids), visible_clause(me))))
    bundle = await load_bundle(session, visible, me)
    senders = {
        a.id: a
        for a in await session.scalars(
            select(Account).where(Account.id.in_({n.from_account_id for n in rows}), Account.suspended_at.is_(None))
        )
    }
    items: list[dict[str, Any]] = []
    for n in rows:
        sender = senders.get(n.from_account_id)
        if sender is None or (n.status_id is not None and n.status_id not in bundle.statuses):
            continue
        items.append(
            {
                "id": str(n.id),
                "type": n.type,
                "created_at": iso(n.created_at),
                "account": renderer.account(sender),
                "status": renderer.status(bundle.statuses[n.status_id], bundle) if n.status_id is not None else None,
            }
        )
    return Listing(items, str(rows[-1].id) if more and rows else None)


async def follows(
    session: AsyncSession, renderer: Renderer, account: Account, *, followers: bool, max_id: int | None = None,
    limit: int = 40,
) -> Listing:
    """Who follows ``account`` (or whom it follows), newest follow first."""
    edge_owner, edge_target = (
        (Follow.account_id, Follow.target_account_id) if followers else (Follow.target_account_id, Follow.account_id)
    )
    query = (
        select(Follow.id, Account)
        .join(Account, Account.id == edge_owner)
        .where(edge_target == account.id, Account.suspended_at.is_(None))
    )
    if max_id is not None:
        query = query.where(Follow.id < max_id)
    rows = (await session.execute(query.order_by(Follow.id.desc()).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Listing([renderer.account(a) for _, a in rows], str(rows[-1][0]) if more and rows else None)


async def trending_tags(session: AsyncSession, renderer: Renderer, *, limit: int = 10) -> list[dict[str, Any]]:
    """Tags used by the most people in public posts over the last week."""
    since = id_for_time(datetime.now(timezone.utc) - timedelta(days=TRENDING_DAYS))
    people = func.count(func.distinct(Status.account_id))
    rows = (
        await session.execute(
            select(Tag, people, func.count())
            .join(StatusTag, StatusTag.tag_id == Tag.id)
            .join(Status, Status.id == StatusTag.status_id)
            .where(StatusTag.status_id >= since, Status.visibility == "public", Status.reblog_of_id.is_(None))
            .group_by(Tag.id)
            .order_by(people.desc(), func.count().desc(), Tag.name)
            .limit(limit)
        )
    ).all()
    return [{**renderer.tag(tag), "key": tag.name, "people": n, "uses": uses} for tag, n, uses in rows]


@dataclass
class SearchResults:
    accounts: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    #: Full-text search of posts needs a signed-in reader (as in Mastodon).
    statuses_need_login: bool = False


async def search(
    session: AsyncSession, renderer: Renderer, q: str, viewer_id: int | None, *, local_domain: str
) -> SearchResults:
    """Accounts, hashtags and posts for ``q``; posts match any inflection of each word,
    with or without Polish diacritics (the shared lemma index)."""
    out = SearchResults()
    q = q.strip()[:500]
    if not q:
        return out
    accounts = await search_accounts(session, q, viewer_id=viewer_id, limit=5, local_domain=local_domain)
    out.accounts = [renderer.account(a) for a in accounts]
    tag_prefix = q.lstrip("#").split()[0] if q.lstrip("#").split() else ""
    if tag_prefix and len(tag_prefix) <= 100:
        out.tags = [{**renderer.tag(t), "key": t.name} for t in await session.scalars(tags_query(tag_prefix).limit(5))]
    if viewer_id is None:
        out.statuses_need_login = True
        return out
    words = query_alternatives(q)
    if words:
        rows = list(await session.scalars(statuses_query(words, viewer_id).order_by(Status.id.desc()).limit(PAGE_SIZE)))
        bundle = await load_bundle(session, rows, viewer_id)
        out.statuses = renderer.statuses(rows, bundle)
    return out
