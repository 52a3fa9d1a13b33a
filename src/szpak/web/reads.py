"""What the pages show, read in a fixed number of queries per page.

Every list asks ``domain/visibility.py`` who may see what; posts are rendered by the
API's ``Presenter`` (the ``Renderer``'s entities from the shared entity cache), so a
page shows exactly what the same reader gets from the REST API, at the API's cost.
The feeds are the API's own queries (``api/routes/timelines.py``: home and public
are used as they are, a hashtag feed as the API's tag timeline builds it), so a page
and ``GET /api/v1/timelines/...`` never disagree on what a feed holds.

Building those statements costs more than running them (visibility is a dozen
correlated subqueries), so each shape is built once and run with bind parameters,
through ``storage/queries.py:fetch_raw`` (compiled once, run on the driver) as the API
runs them; the home feed is the API's statement, run window by window as the API does.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, Integer, Select, String, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.api.presenter import Presenter
from szpak.api.routes import timelines
from szpak.api.serializers import Renderer, iso
from szpak.domain.search_index import query_alternatives
from szpak.domain.visibility import PUBLIC_TIMELINE_VISIBILITIES, not_muted_clause, visible_clause
from szpak.storage.account_search import search_accounts
from szpak.storage.ids import id_for_time
from szpak.storage.models import Account, Follow, Notification, Status, StatusTag, Tag
from szpak.storage.models.base import UTCDateTime
from szpak.storage.queries import fetch_raw
from szpak.storage.search import statuses_query, tags_query

PAGE_SIZE = 20
THREAD_LIMIT = 400
TRENDING_DAYS = 7
MAX_ID = 2**63 - 1


@dataclass
class Listing:
    """One page of rendered items and the ``max_id`` of the next page (None at the end)."""

    items: list[dict[str, Any]] = field(default_factory=list)
    next_max_id: str | None = None


# -- feed statements, built once per shape ---------------------------------------------------


def _viewer(signed_in: bool) -> Any:
    return bindparam("viewer", type_=BigInteger) if signed_in else None


def _now() -> Any:
    return bindparam("now", type_=UTCDateTime())


def _paged(query: Select[Any]) -> Select[Any]:
    """Ids only, newest first, below ``max_id``, ``limit`` of them."""
    return (
        query.with_only_columns(Status.id)
        .where(Status.id < bindparam("max_id", type_=BigInteger))
        .order_by(Status.id.desc())
        .limit(bindparam("limit", type_=Integer))
    )


@cache
def public_statement(signed_in: bool) -> Select[Any]:
    return _paged(timelines.public_query(_viewer(signed_in), local=False, remote=False, only_media=False, now=_now()))


@cache
def tag_statement(signed_in: bool) -> Select[Any]:
    """Public posts with the tag, replies included (as the API's tag timeline)."""
    viewer = _viewer(signed_in)
    tagged = select(StatusTag.status_id).join(Tag, Tag.id == StatusTag.tag_id).where(
        Tag.name == bindparam("tag", type_=String)
    )
    query = select(Status).where(
        Status.visibility.in_(PUBLIC_TIMELINE_VISIBILITIES),
        Status.reblog_of_id.is_(None),
        visible_clause(viewer),
        not_muted_clause(viewer, _now()),
        Status.id.in_(tagged),
    )
    return _paged(query)


@cache
def account_statement(signed_in: bool, with_replies: bool) -> Select[Any]:
    """An account's posts and boosts; replies to others only on the "with replies" tab."""
    query = select(Status).where(
        Status.account_id == bindparam("account", type_=BigInteger), visible_clause(_viewer(signed_in))
    )
    if not with_replies:
        query = query.where(or_(Status.in_reply_to_id.is_(None), Status.in_reply_to_account_id == Status.account_id))
    return _paged(query)


async def feed(
    session: AsyncSession, presenter: Presenter, statement: Select[Any], viewer_id: int | None, *,
    max_id: int | None = None, limit: int = PAGE_SIZE, context: str | None = None, windowed: bool = False,
    **binds: Any,
) -> Listing:
    """One page of a feed statement, rendered for ``viewer_id``; with a filter ``context``
    (home, public, account...) the reader's filters apply as in the API: ``filtered`` is
    filled in and posts a ``hide`` filter matches are left out (the page may then show
    fewer than ``limit``; paging still follows the ids)."""
    values = {"max_id": max_id or MAX_ID, "limit": limit + 1, "now": datetime.now(timezone.utc), **binds}
    if viewer_id is not None:
        values["viewer"] = viewer_id
    if windowed:
        ids = await timelines.windowed_ids(session, statement, {"since_id": 0, **values})
    else:
        ids = [row[0] for row in await fetch_raw(session, statement, values)]
    more = len(ids) > limit
    ids = ids[:limit]
    items = await presenter.statuses(session, ids, viewer_id, context)
    return Listing(items, str(ids[-1]) if more and ids else None)


async def home(session: AsyncSession, presenter: Presenter, me: int, max_id: int | None = None) -> Listing:
    # The API's own statement, run window by window as GET /api/v1/timelines/home runs it.
    statement = await timelines.home_statement(session, me, False)
    return await feed(session, presenter, statement, me, max_id=max_id, context="home", windowed=True)


async def public(
    session: AsyncSession, presenter: Presenter, viewer_id: int | None, max_id: int | None = None, limit: int = PAGE_SIZE,
) -> Listing:
    return await feed(
        session, presenter, public_statement(viewer_id is not None), viewer_id, max_id=max_id, limit=limit, context="public"
    )


async def tagged(
    session: AsyncSession, presenter: Presenter, name: str, viewer_id: int | None, max_id: int | None = None,
) -> Listing:
    statement = tag_statement(viewer_id is not None)
    return await feed(session, presenter, statement, viewer_id, max_id=max_id, context="public", tag=name.lower())


async def by_account(
    session: AsyncSession, presenter: Presenter, account_id: int, viewer_id: int | None, *, with_replies: bool,
    max_id: int | None = None,
) -> Listing:
    statement = account_statement(viewer_id is not None, with_replies)
    return await feed(session, presenter, statement, viewer_id, max_id=max_id, context="account", account=account_id)


async def one_status(
    session: AsyncSession, presenter: Presenter, status_id: int, viewer_id: int | None, context: str | None = None,
) -> dict[str, Any] | None:
    """One post the caller has checked the viewer may see (None: a filter of ``context`` hides it)."""
    items = await presenter.statuses(session, [status_id], viewer_id, context)
    return items[0] if items else None


# -- threads --------------------------------------------------------------------------------


@dataclass
class Thread:
    ancestors: list[dict[str, Any]]
    status: dict[str, Any]
    #: (depth below the status, rendered reply), depth-first as a conversation reads
    descendants: list[tuple[int, dict[str, Any]]]


def _walk(status: Status, rows: list[Status]) -> tuple[list[int], list[tuple[int, int]]]:
    """Ancestor ids (oldest first) and (depth, id) of replies, depth-first, from one conversation."""
    by_id = {st.id: st for st in rows}
    by_id[status.id] = status
    ancestors: list[int] = []
    cursor = status.in_reply_to_id
    while cursor is not None and cursor in by_id and len(ancestors) < THREAD_LIMIT:
        ancestors.append(cursor)
        cursor = by_id[cursor].in_reply_to_id
    ancestors.reverse()
    children: dict[int, list[int]] = defaultdict(list)
    for st in rows:
        if st.in_reply_to_id is not None and st.id != status.id:
            children[st.in_reply_to_id].append(st.id)
    descendants: list[tuple[int, int]] = []
    stack = [(1, child) for child in reversed(children.get(status.id, []))]
    while stack:
        depth, sid = stack.pop()
        descendants.append((depth, sid))
        stack.extend((depth + 1, child) for child in reversed(children.get(sid, [])))
    return ancestors, descendants


async def thread(session: AsyncSession, presenter: Presenter, status: Status, viewer_id: int | None) -> Thread:
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
    ancestors, descendants = _walk(status, rows)
    rendered = {
        s["id"]: s
        for s in await presenter.statuses(
            session, [*ancestors, status.id, *(sid for _, sid in descendants)], viewer_id, "thread"
        )
    }
    focused = rendered.get(str(status.id))
    if focused is None:  # a filter hides it from threads, but it is the post asked for: shown as it is
        focused = (await presenter.statuses(session, [status.id], viewer_id))[0]
    return Thread(
        ancestors=[rendered[str(sid)] for sid in ancestors if str(sid) in rendered],
        status=focused,
        descendants=[(depth, rendered[str(sid)]) for depth, sid in descendants if str(sid) in rendered],
    )


# -- notifications, follows, trends, search --------------------------------------------------


async def notifications(
    session: AsyncSession, presenter: Presenter, me: int, *, max_id: int | None = None, limit: int = PAGE_SIZE,
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
    visible: list[int] = []
    if status_ids:
        visible = list(await session.scalars(select(Status.id).where(Status.id.in_(status_ids), visible_clause(me))))
    statuses = {s["id"]: s for s in await presenter.statuses(session, visible, me, "notifications")}
    live_senders = set(
        await session.scalars(
            select(Account.id).where(Account.id.in_({n.from_account_id for n in rows}), Account.suspended_at.is_(None))
        )
    )
    senders = await presenter.accounts(session, live_senders)
    items: list[dict[str, Any]] = []
    for n in rows:
        sender = senders.get(n.from_account_id)
        status = statuses.get(str(n.status_id)) if n.status_id is not None else None
        if sender is None or (n.status_id is not None and status is None):
            continue
        items.append({"id": str(n.id), "type": n.type, "created_at": iso(n.created_at), "account": sender, "status": status})
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
    session: AsyncSession, presenter: Presenter, q: str, viewer_id: int | None, *, local_domain: str
) -> SearchResults:
    """Accounts, hashtags and posts for ``q``; posts match any inflection of each word,
    with or without Polish diacritics (the shared lemma index)."""
    out = SearchResults()
    q = q.strip()[:500]
    if not q:
        return out
    renderer = presenter.renderer
    accounts = await search_accounts(session, q, viewer_id=viewer_id, limit=5, local_domain=local_domain)
    out.accounts = [renderer.account(a) for a in accounts]
    words = q.lstrip("#").split()
    if words and len(words[0]) <= 100:
        out.tags = [{**renderer.tag(t), "key": t.name} for t in await session.scalars(tags_query(words[0]).limit(5))]
    if viewer_id is None:
        out.statuses_need_login = True
        return out
    alternatives = query_alternatives(q)
    if alternatives:
        query = statuses_query(alternatives, viewer_id).with_only_columns(Status.id).order_by(Status.id.desc())
        ids = list(await session.scalars(query.limit(PAGE_SIZE)))
        out.statuses = await presenter.statuses(session, ids, viewer_id)
    return out
