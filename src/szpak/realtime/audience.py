"""Who receives a status event: the feed rules over in-memory relations.

Streams cannot ask the database "may this viewer see it?" once per recipient: a
post by an account with thousands of connected followers would cost thousands of
queries. Instead every connected account keeps its ``Relations`` (whom it follows,
blocks, is blocked by, mutes) in memory, loaded when it connects and refreshed on
``RelationshipChanged``, and the predicates below decide with set look-ups.

Visibility itself is not restated here: ``may_see`` feeds those facts to
``domain.visibility.decide``, the rules' one Python form. What this module adds
is which visible rows belong to which feed, mirroring the REST timeline queries
(``home_query``, ``public_query``, ``tag_query`` in ``api/routes/timelines.py``)
and ``visibility.not_muted_clause``. ``tests/realtime/test_audience.py`` runs
these predicates and those SQL queries over a matrix of relationships,
visibilities, replies and reblogs, so a change to one side that is not made to
the other fails the build.

Hook for a later issue: domain blocks and keyword filters with the "hide"
action go in ``Relations.hides`` (what they need loaded in ``load_relations``
and reloaded on ``FiltersChanged``); filters with the "warn" action will instead
fill the rendered ``filtered`` field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.domain.tag_follows import followed_tag_names
from szpak.domain.filters import FilterSet, load_filter_set
from szpak.domain.visibility import Facts, decide
from szpak.realtime.streams import PublicFilter
from szpak.storage.models import Block, Follow, Mute


@dataclass(frozen=True, slots=True)
class RowFacts:
    """One status row as the visibility rules see it."""

    author_id: int
    visibility: str
    mentioned: frozenset[int] = frozenset()
    author_suspended: bool = False
    #: Silenced authors stay out of public streams for those who don't follow them.
    author_silenced: bool = False


@dataclass(frozen=True, slots=True)
class StatusFacts:
    """What routing a status needs to know, from an event or a loaded row."""

    status_id: int
    row: RowFacts
    #: The reblogged post, for a reblog whose original is known (``None`` otherwise).
    original: RowFacts | None = None
    reblog_of_id: int | None = None
    tags: tuple[str, ...] = ()
    in_reply_to_id: int | None = None
    in_reply_to_account_id: int | None = None
    has_media: bool = False
    local: bool = True
    #: Folded text that filters match (``domain.filters.status_text``; the boosted post's for a boost).
    text: str = ""

    @property
    def author_id(self) -> int:
        return self.row.author_id

    @property
    def visibility(self) -> str:
        return self.row.visibility

    @property
    def mentioned(self) -> frozenset[int]:
        return self.row.mentioned


@dataclass(slots=True)
class Relations:
    """One connected account's view of the social graph, kept current by the hub."""

    account_id: int
    following: set[int] = field(default_factory=set)
    blocking: set[int] = field(default_factory=set)
    blocked_by: set[int] = field(default_factory=set)
    #: target → when the mute ends (``None``: never). Expired rows stay, as in the table.
    muting: dict[int, datetime | None] = field(default_factory=dict)
    #: The account's filters (``domain.filters.FilterSet``), reloaded on ``FiltersChanged``.
    filters: FilterSet | None = None
    #: Names of the hashtags the account follows (domain/tag_follows.py).
    followed_tags: set[str] = field(default_factory=set)

    def blocks_either_way(self, other: int) -> bool:
        return other in self.blocking or other in self.blocked_by

    def mutes(self, other: int, now: datetime) -> bool:
        """An active mute (``not_muted_clause``: no end, or an end in the future)."""
        if other not in self.muting:
            return False
        ends = self.muting[other]
        return ends is None or ends > now

    def hides(self, f: StatusFacts, context: str = "home") -> bool:
        """The account's ``hide`` filters for ``context`` drop the status (never its own posts)."""
        if not self.filters:
            return False
        if (f.original or f.row).author_id == self.account_id:
            return False
        ids = (f.status_id,) if f.reblog_of_id is None else (f.status_id, f.reblog_of_id)
        return self.filters.hides(context, f.text, ids)

    def mute_rows(self) -> set[int]:
        """Every muted account with a row, expired or not (what ``load_bundle`` reports as ``muted``)."""
        return set(self.muting)


def utcnow() -> datetime:
    return datetime.now(UTC)


def row_visible(rel: Relations, row: RowFacts) -> bool:
    """``visibility.decide`` for this viewer and one row."""
    author = row.author_id
    key = (
        row.visibility,
        author == rel.account_id,
        row.author_suspended,
        author in rel.blocking or author in rel.blocked_by,
        rel.account_id in row.mentioned,
        author in rel.following,
    )
    answer = _DECISIONS.get(key)
    if answer is None:
        visibility, own, suspended, blocked, mentioned, follows = key
        facts = Facts(author_suspended=suspended, blocked=blocked, mentioned=mentioned, follows_author=follows)
        answer = _DECISIONS[key] = decide(visibility, own=own, anonymous=False, facts=facts)
    return answer


#: ``decide`` depends only on these few facts: its answers, remembered (a post to a thousand
#: followers asks the same question a thousand times).
_DECISIONS: dict[tuple[str, bool, bool, bool, bool, bool], bool] = {}


def may_see(rel: Relations, f: StatusFacts) -> bool:
    """``visible_clause``: the row, and for a reblog the reblogged post too (when known)."""
    return row_visible(rel, f.row) and (f.original is None or row_visible(rel, f.original))


def not_muted(rel: Relations, f: StatusFacts, now: datetime) -> bool:
    """``not_muted_clause``: neither the author nor, for a reblog, the reblogged author is muted."""
    if rel.mutes(f.author_id, now):
        return False
    return f.original is None or not rel.mutes(f.original.author_id, now)


def followed_tag_post(rel: Relations, f: StatusFacts) -> bool:
    """A public post (not a boost) with a hashtag the viewer follows (``followed_tags_clause``)."""
    if not rel.followed_tags or f.visibility != "public" or f.reblog_of_id is not None:
        return False
    return any(tag in rel.followed_tags for tag in f.tags)


def home_accepts(rel: Relations, f: StatusFacts, now: datetime, *, reblogs_hidden: bool = False) -> bool:
    """Whether the status belongs in the viewer's home timeline (``home_query``).

    ``reblogs_hidden``: the viewer follows the author with ``reblogs=false``
    (looked up per reblog event, since changing it emits no event).
    """
    viewer = rel.account_id
    author = f.author_id
    if author != viewer and author not in rel.following and not followed_tag_post(rel, f):
        return False
    if not may_see(rel, f) or not not_muted(rel, f, now) or rel.hides(f):
        return False
    reply_to = f.in_reply_to_account_id
    if author != viewer and reply_to is not None and reply_to not in (viewer, author) and reply_to not in rel.following:
        return False
    return not (f.reblog_of_id is not None and reblogs_hidden)


def _public_row(rel: Relations, f: StatusFacts, now: datetime) -> bool:
    """``_public_base``: public, not a reblog, visible, not muted."""
    if f.visibility != "public" or f.reblog_of_id is not None:
        return False
    if f.row.author_silenced and f.author_id != rel.account_id and f.author_id not in rel.following:
        return False
    return may_see(rel, f) and not_muted(rel, f, now) and not rel.hides(f, "public")


def _origin_ok(f: StatusFacts, flt: PublicFilter) -> bool:
    if flt.local is not None and f.local != flt.local:
        return False
    return f.has_media or not flt.only_media


def public_accepts(rel: Relations, f: StatusFacts, now: datetime, flt: PublicFilter) -> bool:
    """Whether the status belongs in a public timeline with these flags (``public_query``):
    replies to others stay out, a thread continued by its own author stays in."""
    if f.in_reply_to_id is not None and f.in_reply_to_account_id != f.author_id:
        return False
    return _origin_ok(f, flt) and _public_row(rel, f, now)


def hashtag_accepts(rel: Relations, f: StatusFacts, now: datetime, tag: str, *, local_only: bool) -> bool:
    """Whether the status belongs in the hashtag timeline of ``tag`` (``tag_query``)."""
    if tag not in f.tags:
        return False
    return _origin_ok(f, PublicFilter(True if local_only else None, False)) and _public_row(rel, f, now)


def direct_accepts(rel: Relations, f: StatusFacts) -> bool:
    """Whether a direct post reaches this viewer's ``direct`` stream (its author or a mentioned account)."""
    if f.visibility != "direct" or f.reblog_of_id is not None:
        return False
    if rel.account_id != f.author_id and rel.account_id not in f.mentioned:
        return False
    return may_see(rel, f)


def delete_reaches_home(rel: Relations, f: StatusFacts) -> bool:
    """A deletion goes to every home stream that could have shown the status.

    Mutes and the reply rule are ignored (a client simply drops an unknown id);
    visibility and blocks are not, so a deletion tells nobody about a post they
    could not see.
    """
    viewer = rel.account_id
    if f.author_id != viewer and f.author_id not in rel.following and not followed_tag_post(rel, f):
        return False
    return may_see(rel, f)


async def load_relations(session: AsyncSession, account_id: int) -> Relations:
    """Everything ``Relations`` holds for one account, in five indexed queries."""
    rel = Relations(account_id)
    rel.following = set(await session.scalars(select(Follow.target_account_id).where(Follow.account_id == account_id)))
    rel.blocking = set(await session.scalars(select(Block.target_account_id).where(Block.account_id == account_id)))
    rel.blocked_by = set(await session.scalars(select(Block.account_id).where(Block.target_account_id == account_id)))
    rows = await session.execute(select(Mute.target_account_id, Mute.expires_at).where(Mute.account_id == account_id))
    rel.muting = {target: ends for target, ends in rows.all()}
    rel.filters = await load_filter_set(session, account_id)
    rel.followed_tags = await followed_tag_names(session, account_id)
    return rel


@dataclass(frozen=True, slots=True)
class PairState:
    """The edges between two accounts ``a`` and ``b``, as the database holds them now."""

    a: int
    b: int
    follows: frozenset[tuple[int, int]]
    blocks: frozenset[tuple[int, int]]
    mutes: dict[tuple[int, int], datetime | None]

    def apply(self, rel: Relations) -> None:
        """Bring one side's ``Relations`` up to date with these edges."""
        me = rel.account_id
        other = self.b if me == self.a else self.a
        _toggle(rel.following, other, (me, other) in self.follows)
        _toggle(rel.blocking, other, (me, other) in self.blocks)
        _toggle(rel.blocked_by, other, (other, me) in self.blocks)
        if (me, other) in self.mutes:
            rel.muting[other] = self.mutes[(me, other)]
        else:
            rel.muting.pop(other, None)


def _toggle(values: set[int], value: int, present: bool) -> None:
    if present:
        values.add(value)
    else:
        values.discard(value)


async def load_pair(session: AsyncSession, a: int, b: int) -> PairState:
    """Re-read the follow, block and mute edges between ``a`` and ``b`` (both directions).

    The hub re-reads rather than trusting the event's ``kind`` so that whatever
    order events arrive in, the result is the committed state.
    """
    def between(model: type[Follow] | type[Block] | type[Mute]):  # noqa: ANN202 - an SQL condition
        return or_(
            and_(model.account_id == a, model.target_account_id == b),
            and_(model.account_id == b, model.target_account_id == a),
        )

    follows = (await session.execute(select(Follow.account_id, Follow.target_account_id).where(between(Follow)))).all()
    blocks = (await session.execute(select(Block.account_id, Block.target_account_id).where(between(Block)))).all()
    mutes = (
        await session.execute(select(Mute.account_id, Mute.target_account_id, Mute.expires_at).where(between(Mute)))
    ).all()
    return PairState(
        a=a,
        b=b,
        follows=frozenset((x, y) for x, y in follows),
        blocks=frozenset((x, y) for x, y in blocks),
        mutes={(x, y): ends for x, y, ends in mutes},
    )
