"""The hub: this process's streaming connections and the fan-out of events to them.

Fan-out happens at the edge (see docs/realtime.md). Every process receives every
committed event once from the bus; its hub finds the recipients among *its own*
connections with in-memory indexes, loads and renders the entity once per
distinct payload, and pushes frames into per-connection bounded queues.

Indexes kept here:

- ``accounts``: account id → ``AccountState`` (its ``Relations`` and its
  account-scoped subscriptions: ``user``, ``user:notification``, ``direct``, lists);
- ``followers``: account id → ids of connected accounts that follow it, so a post
  finds its connected followers in one dictionary look-up;
- ``public``: public and hashtag stream key → connections subscribed to it.

Events are queued by the bus handler (``on_event`` never blocks the write that
published them) and handled one at a time, in order, by one task.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.api.deps import TokenCache, Viewer, lookup_token
from szpak.api.serializers import Renderer
from szpak.domain import notify
from szpak.domain.context import Context
from szpak.domain.events import (
    AccountUpdated,
    Custom,
    Event,
    FiltersChanged,
    ListChanged,
    NotificationCreated,
    RelationshipChanged,
    StatusCreated,
    StatusDeleted,
    StatusUpdated,
    TokenRevoked,
)
from szpak.domain.filters import apply as apply_filters
from szpak.domain.filters import apply_to_notifications, load_filter_set, status_text
from szpak.domain.lists import DatabaseLists, reply_shown
from szpak.domain.tag_follows import TAG_FOLLOWS_TOPIC, followed_tag_names
from szpak.realtime import audience
from szpak.realtime.audience import PairState, Relations, RowFacts, StatusFacts
from szpak.realtime.connection import SSE_HEARTBEAT, Connection, Frames, Transport
from szpak.realtime.render import (
    StatusPayloads,
    conversation_entity,
    load_marks,
    to_json,
)
from szpak.realtime.streams import (
    ACCOUNT_STREAMS,
    HASHTAG_STREAMS,
    PUBLIC_STREAMS,
    StreamError,
    StreamKey,
    required_scope,
)
from szpak.storage.models import AccountConversation, ConversationStatus, Follow, Notification, Status
from szpak.storage.queries import StatusBundle, load_accounts, load_bundle

log = logging.getLogger(__name__)

#: ``Custom`` topic of the barrier used by ``Hub.sync`` (tests and the benchmark).
SYNC_TOPIC = "realtime.sync"
#: ``Custom`` topics broadcast to every ``user`` stream: the hook for announcements (not built yet).
#: ``data["payload"]``: the Announcement entity (or, for ``announcement.delete``, its id).
ANNOUNCEMENT_TOPICS = {"announcement": "announcement", "announcement.reaction": "announcement.reaction",
                       "announcement.delete": "announcement.delete"}
USER: StreamKey = ("user",)
NOTIFICATIONS: StreamKey = ("user:notification",)
DIRECT: StreamKey = ("direct",)


class ListSource(Protocol):
    """Where list streams learn who owns a list and whom it holds (``domain.lists.DatabaseLists``).

    A source may also offer ``replies_policy(session, list_id) -> str`` (else ``"list"``,
    Mastodon's default) and ``exclusive_members(session, owner_id) -> set[int]`` (else none).
    """

    async def owner(self, session: AsyncSession, list_id: int) -> int | None: ...
    async def members(self, session: AsyncSession, list_id: int) -> set[int]: ...


@dataclass(eq=False)
class AccountState:
    """One connected account: its relations, its connections and their account-scoped streams."""

    rel: Relations
    conns: set[Connection] = field(default_factory=set)
    streams: dict[StreamKey, set[Connection]] = field(default_factory=dict)
    #: Set while ``rel`` is being loaded; later openers wait on it (``None`` once loaded:
    #: an idle account keeps no event object).
    loading: asyncio.Future[None] | None = None
    #: Account pairs whose relationship changed while ``rel`` was loading; re-read after.
    dirty: list[tuple[int, int]] = field(default_factory=list)
    #: list id → its member account ids, for this account's list subscriptions.
    list_members: dict[str, set[int]] = field(default_factory=dict)
    #: list id → its replies policy, for the same lists.
    list_policies: dict[str, str] = field(default_factory=dict)
    #: Members of this account's exclusive lists: left out of its ``user`` stream.
    exclusive: set[int] = field(default_factory=set)
    #: Bumped by every ``ListChanged`` of this account: a list read that sees it move re-reads.
    list_epoch: int = 0

    @property
    def ready(self) -> bool:
        return self.loading is None

    def subscribers(self, key: StreamKey) -> tuple[Connection, ...]:
        conns = self.streams.get(key)
        return tuple(conns) if conns else ()


def facts_from_bundle(st: Status, bundle: StatusBundle) -> StatusFacts:
    """Exact routing facts from a loaded status (and, for a reblog, its original)."""

    def row(status: Status) -> RowFacts:
        author = bundle.accounts.get(status.account_id)
        return RowFacts(
            author_id=status.account_id,
            visibility=status.visibility,
            mentioned=frozenset(bundle.mentions.get(status.id, ())),
            author_suspended=author is None or author.suspended_at is not None,
            author_silenced=author is not None and author.silenced_at is not None,
        )

    original = bundle.statuses.get(st.reblog_of_id) if st.reblog_of_id is not None else None
    return StatusFacts(
        status_id=st.id,
        row=row(st),
        original=row(original) if original is not None else None,
        reblog_of_id=st.reblog_of_id,
        tags=tuple(t.name for t in bundle.tags.get(st.id, ())),
        in_reply_to_id=st.in_reply_to_id,
        in_reply_to_account_id=st.in_reply_to_account_id,
        has_media=st.has_media,
        local=st.local,
        text=filter_text(original or st),
    )


def filter_text(st: Status) -> str:
    """What filters match in streams: the content and content warning (domain/filters.py)."""
    return status_text(content_html=st.content, spoiler=st.spoiler_text)


def facts_from_event(event: StatusCreated | StatusUpdated | StatusDeleted) -> StatusFacts:
    """What an event says about its status: enough to find candidates (and to route a deletion)."""
    return StatusFacts(
        status_id=event.status_id,
        row=RowFacts(event.account_id, event.visibility, frozenset(event.mentioned_ids)),
        reblog_of_id=getattr(event, "reblog_of_id", None),
        tags=tuple(event.tag_names),
        in_reply_to_account_id=getattr(event, "in_reply_to_account_id", None),
        has_media=event.has_media,
        local=event.local,
    )


async def _conversation_rows(session: AsyncSession, status_id: int) -> dict[int, AccountConversation]:
    """Each participant's conversation holding this direct status (domain/conversations.py)."""
    rows = await session.scalars(
        select(AccountConversation)
        .join(ConversationStatus, ConversationStatus.account_conversation_id == AccountConversation.id)
        .where(ConversationStatus.status_id == status_id)
    )
    return {r.account_id: r for r in rows}


def _filtered(payloads: StatusPayloads, rel: Relations, context: str) -> str:
    """The viewer's payload, with ``filtered`` filled in by its warn filters for ``context``
    (hide filters were applied by ``audience``; domain/filters.py)."""
    data, text = payloads.rendered(rel.account_id)
    if not rel.filters:
        return text
    shown = apply_filters(rel.filters, context, [data], owner=rel.account_id)
    return to_json(shown[0]) if shown and shown[0] is not data else text


class _Outbox:
    """Frames for one event, shared by every connection that gets the same payload."""

    def __init__(self, event: str) -> None:
        self.event = event
        self._frames: dict[str | None, Frames] = {}
        self.sent = 0

    def send(self, conn: Connection, key: StreamKey, payload: str | None) -> None:
        frames = self._frames.get(payload)
        if frames is None:
            frames = self._frames[payload] = Frames(self.event, payload)
        if conn.push(frames.for_connection(conn, key)):
            self.sent += 1


class Hub:
    """Streaming connections of this process, and delivery of bus events to them."""

    def __init__(self, ctx: Context, renderer: Renderer, tokens: TokenCache, *, lists: ListSource | None = None) -> None:
        self.ctx = ctx
        self.renderer = renderer
        self.tokens = tokens
        self.lists: ListSource = lists or DatabaseLists()
        self.queue_size = ctx.settings.stream_queue_size
        self.heartbeat_seconds = ctx.settings.heartbeat_seconds
        self.connections: set[Connection] = set()
        self.accounts: dict[int, AccountState] = {}
        self.followers: dict[int, set[int]] = defaultdict(set)
        #: hashtag name → connected accounts following it (followed tags in ``user`` streams).
        self.tag_followers: dict[str, set[int]] = defaultdict(set)
        self.public: dict[StreamKey, set[Connection]] = {}
        self._intake: asyncio.Queue[Event] = asyncio.Queue()
        self._syncs: dict[str, asyncio.Future[None]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe_bus: Callable[[], None] | None = None
        #: Counters for the health of fan-out (read by tests and the benchmark).
        self.stats: dict[str, int] = defaultdict(int)

    # -- life cycle --------------------------------------------------------------------
    async def start(self) -> None:
        self._unsubscribe_bus = self.ctx.bus.subscribe(self.on_event)
        self._tasks = [
            asyncio.create_task(self._run(), name="szpak-stream-hub"),
            asyncio.create_task(self._heartbeats(), name="szpak-stream-heartbeat"),
        ]

    async def stop(self) -> None:
        if self._unsubscribe_bus is not None:
            self._unsubscribe_bus()
        for conn in list(self.connections):
            conn.kill("server shutting down")
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._tasks = []

    def on_event(self, event: Event) -> None:
        """Bus handler: queue and return at once, so a write never waits for fan-out."""
        self._intake.put_nowait(event)

    async def sync(self, *, mark: str | None = None, timeout: float = 10.0) -> None:
        """Wait until every event published before this call has been handed to the connections.

        With ``mark``, every event stream (in every process) also gets a ``:sync <mark>``
        comment line at that point, which clients ignore and tests wait for.
        """
        token = uuid.uuid4().hex
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._syncs[token] = future
        try:
            await self.ctx.bus.publish([Custom(topic=SYNC_TOPIC, data={"token": token, "mark": mark})])
            await asyncio.wait_for(future, timeout)
        finally:
            self._syncs.pop(token, None)

    async def _run(self) -> None:
        while True:
            event = await self._intake.get()
            try:
                await self._dispatch(event)
            except Exception:  # one bad event must not stop streaming for everyone
                log.exception("streaming hub failed on %s", event.name)

    async def _heartbeats(self) -> None:
        """SSE has no ping frame: idle event streams get a comment line (WebSocket pings come from the server)."""
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            for conn in list(self.connections):
                if conn.transport == "sse" and conn.queue.empty():
                    conn.push(SSE_HEARTBEAT)

    # -- connections -------------------------------------------------------------------
    async def open(self, viewer: Viewer, transport: Transport, token: str) -> Connection:
        """Register a connection for a logged-in viewer (its relations are loaded on first use)."""
        if viewer.account_id is None:
            raise StreamError(401, "This method requires an authenticated user")
        conn = Connection(viewer, transport, self.queue_size, token)
        state = await self._acquire(viewer.account_id)
        state.conns.add(conn)
        self.connections.add(conn)
        self.stats["opened"] += 1
        return conn

    async def subscribe(self, conn: Connection, key: StreamKey) -> None:
        if conn.closed or key in conn.subs:
            return
        if not conn.viewer.allows(required_scope(key)):
            raise StreamError(401, "Access token does not have the required scopes")
        state = self.accounts[conn.account_id]
        if key[0] == "list":
            await self._load_list(conn, state, key)
        conn.subs.add(key)
        if key[0] in ACCOUNT_STREAMS or key[0] == "list":
            state.streams.setdefault(key, set()).add(conn)
        else:
            self.public.setdefault(key, set()).add(conn)

    def unsubscribe(self, conn: Connection, key: StreamKey) -> None:
        if key not in conn.subs:
            return
        conn.subs.discard(key)
        state = self.accounts.get(conn.account_id)
        index = state.streams if (state is not None and (key[0] in ACCOUNT_STREAMS or key[0] == "list")) else self.public
        members = index.get(key)
        if members is not None:
            members.discard(conn)
            if not members:
                del index[key]
                if state is not None and key[0] == "list" and index is state.streams:
                    state.list_members.pop(key[1], None)
                    state.list_policies.pop(key[1], None)

    def close(self, conn: Connection) -> None:
        """Forget a connection (its transport has ended or is ending)."""
        if conn not in self.connections:
            return
        conn.kill("closed")
        for key in list(conn.subs):
            self.unsubscribe(conn, key)
        self.connections.discard(conn)
        state = self.accounts.get(conn.account_id)
        if state is not None:
            state.conns.discard(conn)
            if not state.conns:
                self._release(state)
        self.stats["closed"] += 1

    async def _acquire(self, account_id: int) -> AccountState:
        # A state being loaded may be released meanwhile (its only connection went away,
        # e.g. a browser tab navigating): then load it anew rather than fail this one.
        for _ in range(3):
            state = self.accounts.get(account_id)
            if state is None:
                return await self._load_state(account_id)
            if state.loading is not None:
                await asyncio.shield(state.loading)
            if self.accounts.get(account_id) is state:
                return state
        raise StreamError(503, "Try again")

    async def _load_state(self, account_id: int) -> AccountState:
        state = AccountState(Relations(account_id), loading=asyncio.get_running_loop().create_future())
        self.accounts[account_id] = state
        try:
            async with self.ctx.read() as session:
                state.rel = await audience.load_relations(session, account_id)
            for target in state.rel.following:
                self.followers[target].add(account_id)
            for tag in state.rel.followed_tags:
                self.tag_followers[tag].add(account_id)
            # Relationship events that arrived while loading: re-read those pairs, in a new
            # transaction (the first one's snapshot may predate them).
            while state.dirty:
                pair = state.dirty.pop()
                async with self.ctx.read() as session:
                    self._apply_pair(state, await audience.load_pair(session, *pair))
            # Last, so that a ListChanged during any read above is seen (it bumps list_epoch).
            await self._load_exclusive(state)
        except BaseException:
            self._release(state)
            raise
        finally:
            loading, state.loading = state.loading, None
            if loading is not None and not loading.done():
                loading.set_result(None)
        return state

    def _release(self, state: AccountState) -> None:
        account_id = state.rel.account_id
        if self.accounts.get(account_id) is state:
            del self.accounts[account_id]
        for target in state.rel.following:
            followers = self.followers.get(target)
            if followers is not None:
                followers.discard(account_id)
                if not followers:
                    del self.followers[target]
        self._index_tags(account_id, state.rel.followed_tags, set())

    def _index_tags(self, account_id: int, before: set[str], after: set[str]) -> None:
        for tag in after - before:
            self.tag_followers[tag].add(account_id)
        for tag in before - after:
            members = self.tag_followers.get(tag)
            if members is not None:
                members.discard(account_id)
                if not members:
                    del self.tag_followers[tag]

    async def _tag_follows_changed(self, account_id: int) -> None:
        """Re-read the hashtags an account follows (a ``TAG_FOLLOWS_TOPIC`` event)."""
        state = self.accounts.get(account_id)
        if state is None:
            return
        if not state.ready:
            # Its loading may have read the tags before this change: handle the event again after.
            again = Custom(topic=TAG_FOLLOWS_TOPIC, data={"account_id": account_id})
            if state.loading is not None:
                state.loading.add_done_callback(lambda _f: self._intake.put_nowait(again))
            return
        async with self.ctx.read() as session:
            names = await followed_tag_names(session, account_id)
        if self.accounts.get(account_id) is state:
            self._index_tags(account_id, state.rel.followed_tags, names)
            state.rel.followed_tags = names

    async def _load_list(self, conn: Connection, state: AccountState, key: StreamKey) -> None:
        list_id = int(key[1])
        while True:
            epoch = state.list_epoch
            async with self.ctx.read() as session:
                if await self.lists.owner(session, list_id) != conn.account_id:
                    raise StreamError(404, "Not authorized to stream this list")
                if key[1] in state.list_members:
                    return  # another connection of this account holds it, kept current
                members, policy = await self._read_list(session, list_id)
            if state.list_epoch == epoch:  # else a ListChanged landed meanwhile: read again
                state.list_members[key[1]] = members
                state.list_policies[key[1]] = policy
                return

    async def _read_list(self, session: AsyncSession, list_id: int) -> tuple[set[int], str]:
        policy_of = getattr(self.lists, "replies_policy", None)
        policy = await policy_of(session, list_id) if policy_of is not None else "list"
        return await self.lists.members(session, list_id), policy

    async def _load_exclusive(self, state: AccountState) -> None:
        load = getattr(self.lists, "exclusive_members", None)
        if load is None:
            return
        while True:
            epoch = state.list_epoch
            async with self.ctx.read() as session:
                members = await load(session, state.rel.account_id)
            if state.list_epoch == epoch:
                state.exclusive = members
                return

    # -- events ------------------------------------------------------------------------
    async def _dispatch(self, event: Event) -> None:
        if isinstance(event, Custom):
            await self._custom(event)
            return
        if not self.accounts:
            return  # nobody connected (or connecting): nothing to do
        if isinstance(event, StatusCreated):
            await self._status(event, "update")
        elif isinstance(event, StatusUpdated):
            await self._status(event, "status.update")
        elif isinstance(event, StatusDeleted):
            self._deleted(event)
        elif isinstance(event, NotificationCreated):
            await self._notification(event)
        elif isinstance(event, RelationshipChanged):
            await self._relationship(event)
        elif isinstance(event, ListChanged):
            await self._list_changed(event)
        elif isinstance(event, FiltersChanged):
            state = self.accounts.get(event.account_id)
            if state is not None and state.ready:
                async with self.ctx.read() as session:
                    state.rel.filters = await load_filter_set(session, event.account_id)
            self._to_account(event.account_id, (USER,), "filters_changed", None)
        elif isinstance(event, TokenRevoked):
            self._token_revoked(event.token_hash)
        elif isinstance(event, AccountUpdated):
            await self._account_updated(event.account_id)

    async def _custom(self, event: Custom) -> None:
        if event.topic == SYNC_TOPIC:
            mark = event.data.get("mark")
            if mark:
                comment = f":sync {mark}\n".encode()
                for conn in list(self.connections):
                    if conn.transport == "sse":
                        conn.push(comment)
            future = self._syncs.get(str(event.data.get("token")))
            if future is not None and not future.done():
                future.set_result(None)
        elif event.topic == TAG_FOLLOWS_TOPIC:
            await self._tag_follows_changed(int(event.data.get("account_id", 0)))
        elif event.topic in ANNOUNCEMENT_TOPICS:
            payload = event.data.get("payload")
            text = payload if isinstance(payload, str) else to_json(payload)
            out = _Outbox(ANNOUNCEMENT_TOPICS[event.topic])
            for state in list(self.accounts.values()):
                for conn in state.subscribers(USER):
                    out.send(conn, USER, text)

    def _to_account(self, account_id: int, keys: Iterable[StreamKey], event: str, payload: str | None) -> int:
        state = self.accounts.get(account_id)
        if state is None:
            return 0
        out = _Outbox(event)
        for key in keys:
            for conn in state.subscribers(key):
                out.send(conn, key, payload)
        return out.sent

    # -- statuses ----------------------------------------------------------------------
    def _home_candidates(self, author_id: int, f: StatusFacts | None = None) -> list[AccountState]:
        """Connected accounts whose home might show a post by ``author_id`` (its followers and
        itself; with ``f``, also the followers of a public post's hashtags)."""
        ids = set(self.followers.get(author_id, ()))
        ids.add(author_id)
        if f is not None and f.visibility == "public" and f.reblog_of_id is None:
            for tag in f.tags:
                ids.update(self.tag_followers.get(tag, ()))
        found = []
        for account_id in ids:
            state = self.accounts.get(account_id)
            if state is not None and state.ready and (USER in state.streams or state.list_members):
                found.append(state)
        return found

    def _public_keys(self, f: StatusFacts) -> list[StreamKey]:
        """Public and hashtag stream keys with subscribers that could carry this status."""
        if f.visibility != "public" or f.reblog_of_id is not None:
            return []
        keys: list[StreamKey] = [(name,) for name in PUBLIC_STREAMS if (name,) in self.public]
        for tag in f.tags:
            keys += [(name, tag) for name in HASHTAG_STREAMS if (name, tag) in self.public]
        return keys

    def _direct_candidates(self, f: StatusFacts) -> list[AccountState]:
        if f.visibility != "direct" or f.reblog_of_id is not None:
            return []
        ids = {f.author_id, *f.mentioned}
        return [s for i in ids if (s := self.accounts.get(i)) is not None and DIRECT in s.streams]

    def _public_accepts(self, conn: Connection, key: StreamKey, f: StatusFacts, now: datetime) -> bool:
        state = self.accounts.get(conn.account_id)
        if state is None:
            return False
        if key[0] in HASHTAG_STREAMS:
            return audience.hashtag_accepts(state.rel, f, now, key[1], local_only=key[0] == "hashtag:local")
        return audience.public_accepts(state.rel, f, now, PUBLIC_STREAMS[key[0]])

    async def _status(self, event: StatusCreated | StatusUpdated, name: str) -> None:
        hint = facts_from_event(event)
        home = self._home_candidates(hint.author_id, hint)
        public = self._public_keys(hint)
        direct = self._direct_candidates(hint)
        if not (home or public or direct):
            return
        async with self.ctx.read() as session:
            st = await session.get(Status, event.status_id)
            if st is None:
                return  # deleted meanwhile; its deletion event follows
            bundle = await load_bundle(session, [st], None)
            marks = await load_marks(session, [s.id for s in bundle.statuses.values() if s.reblog_of_id is None])
            threads = await _conversation_rows(session, st.id) if direct else {}
            hidden: set[int] = set()
            if st.reblog_of_id is not None and home:
                hidden = set(
                    await session.scalars(
                        select(Follow.account_id).where(
                            Follow.target_account_id == st.account_id, Follow.show_reblogs.is_(False)
                        )
                    )
                )
        facts = facts_from_bundle(st, bundle)
        payloads = StatusPayloads(self.renderer, st, bundle, marks)
        now = audience.utcnow()
        out = _Outbox(name)
        for state in home:
            rel = state.rel
            accepted = audience.home_accepts(rel, facts, now, reblogs_hidden=rel.account_id in hidden)
            if accepted and facts.author_id not in state.exclusive:
                text = _filtered(payloads, rel, "home")
                for conn in state.subscribers(USER):
                    out.send(conn, USER, text)
            for list_id, members in state.list_members.items():
                policy = state.list_policies.get(list_id, "list")
                if (
                    accepted
                    and facts.author_id in members
                    and reply_shown(policy, rel.account_id, facts.author_id, facts.in_reply_to_account_id, members,
                                    rel.following)
                ):
                    key: StreamKey = ("list", list_id)
                    for conn in state.subscribers(key):
                        out.send(conn, key, _filtered(payloads, rel, "home"))
        for key in self._public_keys(facts):
            for conn in tuple(self.public.get(key, ())):
                if self._public_accepts(conn, key, facts, now):
                    viewer = self.accounts[conn.account_id].rel
                    out.send(conn, key, _filtered(payloads, viewer, "public"))
        if direct:
            conversations = _Outbox("conversation")
            for state in direct:
                if audience.direct_accepts(state.rel, facts):
                    entity = conversation_entity(
                        self.renderer, st, bundle, state.rel.account_id, payloads.rendered(state.rel.account_id)[0],
                        threads.get(state.rel.account_id),
                    )
                    text = to_json(entity)
                    for conn in state.subscribers(DIRECT):
                        conversations.send(conn, DIRECT, text)
            self.stats["frames"] += conversations.sent
        self.stats["frames"] += out.sent
        self.stats["renders"] += payloads.variants

    def _deleted(self, event: StatusDeleted) -> None:
        facts = facts_from_event(event)
        out = _Outbox("delete")
        payload = str(event.status_id)
        for state in self._home_candidates(facts.author_id, facts):
            if audience.delete_reaches_home(state.rel, facts):
                for conn in state.subscribers(USER):
                    out.send(conn, USER, payload)
            for list_id, members in state.list_members.items():
                if facts.author_id in members and audience.may_see(state.rel, facts):
                    list_key: StreamKey = ("list", list_id)
                    for conn in state.subscribers(list_key):
                        out.send(conn, list_key, payload)
        for key in self._public_keys(facts):
            for conn in tuple(self.public.get(key, ())):
                viewer = self.accounts.get(conn.account_id)
                if viewer is not None and audience.may_see(viewer.rel, facts):
                    out.send(conn, key, payload)
        for state in self._direct_candidates(facts):
            if audience.may_see(state.rel, facts):
                for conn in state.subscribers(DIRECT):
                    out.send(conn, DIRECT, payload)
        self.stats["frames"] += out.sent

    # -- notifications -----------------------------------------------------------------
    async def _notification(self, event: NotificationCreated) -> None:
        """Rendered as ``GET /api/v1/notifications/:id`` would, if the recipient is still shown it."""
        me = event.account_id
        state = self.accounts.get(me)
        if state is None or not (state.subscribers(USER) or state.subscribers(NOTIFICATIONS)):
            return
        async with self.ctx.read() as session:
            n = await session.scalar(notify.notifications_query(me).where(Notification.id == event.notification_id))
            if n is None:
                return  # withdrawn meanwhile, or not shown to the recipient
            statuses = [st] if n.status_id is not None and (st := await session.get(Status, n.status_id)) else []
            bundle = await load_bundle(session, statuses, me)
            accounts = dict(bundle.accounts)
            if n.from_account_id not in accounts:
                accounts.update(await load_accounts(session, [n.from_account_id]))
        entity = self.renderer.notification(n, accounts, bundle)
        if entity is None:
            return
        if state.rel.filters:  # the recipient's notifications filters (domain/filters.py)
            shown = apply_to_notifications(state.rel.filters, [entity], me)
            if not shown:
                return
            entity = shown[0]
        self.stats["frames"] += self._to_account(me, (USER, NOTIFICATIONS), "notification", to_json(entity))

    # -- relationships and credentials -------------------------------------------------
    async def _relationship(self, event: RelationshipChanged) -> None:
        pair = (event.account_id, event.target_account_id)
        states = [s for i in pair if (s := self.accounts.get(i)) is not None]
        if not states:
            return
        loaded = []
        for state in states:
            if state.ready:
                loaded.append(state)
            else:
                state.dirty.append(pair)
        if not loaded:
            return
        async with self.ctx.read() as session:
            edges = await audience.load_pair(session, *pair)
        for state in loaded:
            self._apply_pair(state, edges)

    async def _list_changed(self, event: ListChanged) -> None:
        """Re-read the owner's exclusive members and the changed list, if it is streamed
        (re-read, not patched from the event, so the result is the committed state)."""
        state = self.accounts.get(event.account_id)
        if state is None:
            return
        state.list_epoch += 1
        if not state.ready:
            return  # the loading reads notice the epoch and read again
        await self._load_exclusive(state)
        key = str(event.list_id)
        if key not in state.list_members:
            return
        async with self.ctx.read() as session:
            if await self.lists.owner(session, event.list_id) == event.account_id:
                members, policy = await self._read_list(session, event.list_id)
            else:  # deleted: its streams stay open and quiet
                members, policy = set(), "none"
        if key in state.list_members:
            state.list_members[key] = members
            state.list_policies[key] = policy

    def _apply_pair(self, state: AccountState, edges: PairState) -> None:
        rel = state.rel
        before = set(rel.following)
        edges.apply(rel)
        for target in rel.following - before:
            self.followers[target].add(rel.account_id)
        for target in before - rel.following:
            followers = self.followers.get(target)
            if followers is not None:
                followers.discard(rel.account_id)
                if not followers:
                    del self.followers[target]

    def _token_revoked(self, token_hash: str) -> None:
        for conn in list(self.connections):
            if conn.viewer.token_hash == token_hash:
                conn.kill("token revoked")

    async def _account_updated(self, account_id: int) -> None:
        """A suspended or disabled account's open streams end, as its token stops working."""
        state = self.accounts.get(account_id)
        if state is None:
            return
        for conn in list(state.conns):
            self.tokens.drop(conn.viewer.token_hash)
            if await lookup_token(self.ctx, self.tokens, conn.token) is None:
                conn.kill("token no longer valid")
