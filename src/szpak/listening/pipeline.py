"""The listening step of the post pipeline: match, store, announce (and hand the
post to the sentiment stage, labeller.py).

``domain/statuses.py`` enqueues a durable job in the same transaction as every
original post (``status.created``), edit (``status.updated``) and deletion
(``status.deleted``); the handlers here turn them into mentions. Because the job is
committed with the post, an acknowledged post is matched even if the process dies
right after answering: the worker finds the job again after a restart. Handling a
job twice is harmless (one mention per query and post).

Only public and unlisted posts by accounts that allow indexing (and are not
suspended) are matched; private and direct posts never enter listening.

The matcher lives in memory, one per process, built from every organisation's
tracked queries. A version counter in the database (bumped with every query change)
tells each process when to bring it up to date: the first build runs in a thread;
later changes are applied query by query.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from szpak.domain.context import Context
from szpak.domain.events import MentionCreated, MentionDeleted, MentionUpdated
from szpak.jobs.runner import handler
from szpak.listening.alerts import minute_of
from szpak.listening.queries import QUERIES_VERSION, WEBHOOKS_VERSION, read_versions
from szpak.storage.ids import new_id
from szpak.storage.models import Account, Status
from szpak.storage.queries import fetch_typed
from szpak.storage.models.listening import ListeningVersion, Mention, TrackedQuery, Webhook
from szpak.text import Match, Matcher, QueryError, html_to_text

if TYPE_CHECKING:
    from szpak.listening.runtime import ListeningRuntime

log = logging.getLogger(__name__)

OPEN_VISIBILITIES = ("public", "unlisted")
ANY_MENTION = select(Mention.id).where(Mention.status_id == bindparam("status_id")).limit(1)
#: Above this many changed queries a fresh matcher is built (in a thread) instead
#: of patching the current one.
REBUILD_THRESHOLD = 200


@dataclass(frozen=True, slots=True)
class Post:
    """What the listening step needs of a post and its author (loaded as plain
    columns: the step runs for every post, and ORM objects cost more than matching)."""

    id: int
    text: str
    content: str
    spoiler_text: str
    visibility: str
    language: str | None
    reblog_of_id: int | None
    created_at: datetime
    author_id: int
    username: str
    domain: str | None
    indexable: bool
    suspended_at: datetime | None
    followers_count: int

    @property
    def acct(self) -> str:
        return self.username if not self.domain else f"{self.username}@{self.domain}"


POST_COLUMNS = (
    Status.id, Status.text, Status.content, Status.spoiler_text, Status.visibility, Status.language,
    Status.reblog_of_id, Status.created_at, Account.id.label("author_id"), Account.username, Account.domain,
    Account.indexable, Account.suspended_at, Account.followers_count,
)


def _version(key: str) -> Any:
    return select(ListeningVersion.value).where(ListeningVersion.key == key).scalar_subquery()


#: The post, its author and the version counters, in one statement.
LOAD_POST = (
    select(*POST_COLUMNS, _version(QUERIES_VERSION), _version(WEBHOOKS_VERSION))
    .join(Account, Account.id == Status.account_id)
    .where(Status.id == bindparam("status_id"))
)


async def load_post(session: AsyncSession, status_id: int) -> tuple[Post | None, dict[str, int]]:
    """The post (None when it is gone) and the version counters: one statement, on SQLite
    straight on the driver (storage/queries.py ``fetch_typed``), as it runs for every post."""
    rows = await fetch_typed(session, LOAD_POST, {"status_id": status_id})
    if not rows:
        return None, {}
    *fields, queries, webhooks = rows[0]
    return Post(*fields), {QUERIES_VERSION: int(queries or 0), WEBHOOKS_VERSION: int(webhooks or 0)}


def listening_text(status: Post | Status) -> str:
    """The words of a post: the content warning and the source text (or, for posts
    that came without one, the text of their HTML)."""
    body = status.text or html_to_text(status.content or "")
    return f"{status.spoiler_text}\n{body}" if status.spoiler_text else body


def eligible(post: Post) -> bool:
    """The one rule for what may enter listening: public or unlisted original posts by
    accounts that allow indexing and are not suspended."""
    return (
        post.reblog_of_id is None
        and post.visibility in OPEN_VISIBILITIES
        and post.indexable
        and post.suspended_at is None
    )


def _build(pairs: list[tuple[int, str]]) -> Matcher:
    matcher = Matcher()
    for query_id, text in pairs:
        try:
            matcher.add(query_id, text)
        except QueryError as exc:  # stored before a parser change: skip, don't stop listening
            log.warning("tracked query %s no longer parses: %s", query_id, exc)
    matcher.compile()
    return matcher


class MatcherCache:
    """This process's matcher, which organisation owns each query, and which
    organisations want every mention on a webhook; kept in step with the database
    through the version counters."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.version = -1
        self.hooks_version = -1
        self.matcher = Matcher()
        self.owners: dict[int, int] = {}
        #: Organisations with an active webhook that wants ``mention`` events.
        self.mention_hook_orgs: frozenset[int] = frozenset()
        self._sources: dict[int, str] = {}
        self._lock = asyncio.Lock()

    async def current(self, versions: dict[str, int]) -> Matcher:
        """The matcher for these versions (``read_versions``), refreshed if they moved."""
        if versions.get(QUERIES_VERSION, 0) != self.version or versions.get(WEBHOOKS_VERSION, 0) != self.hooks_version:
            async with self._lock:
                if versions.get(QUERIES_VERSION, 0) != self.version:
                    await self.refresh()
                if versions.get(WEBHOOKS_VERSION, 0) != self.hooks_version:
                    await self.refresh_hooks()
        return self.matcher

    async def refresh_hooks(self) -> None:
        async with self.ctx.read() as s:
            version = (await read_versions(s)).get(WEBHOOKS_VERSION, 0)
            hooks = await s.execute(select(Webhook.organisation_id, Webhook.events).where(Webhook.active.is_(True)))
            self.mention_hook_orgs = frozenset(int(org) for org, events in hooks if "mention" in (events or []))
        self.hooks_version = version

    async def refresh(self) -> None:
        async with self.ctx.read() as s:
            version = (await read_versions(s)).get(QUERIES_VERSION, 0)
            rows = (await s.execute(select(TrackedQuery.id, TrackedQuery.organisation_id, TrackedQuery.query))).all()
        wanted = {int(r[0]): r[2] for r in rows}
        owners = {int(r[0]): int(r[1]) for r in rows}
        changed = [qid for qid, text in wanted.items() if self._sources.get(qid) != text]
        removed = [qid for qid in self._sources if qid not in wanted]
        if self.version < 0 or len(changed) + len(removed) > REBUILD_THRESHOLD:
            self.matcher = await asyncio.to_thread(_build, sorted(wanted.items()))
        else:
            for qid in removed:
                self.matcher.remove(qid)
            for qid in changed:
                try:
                    self.matcher.add(qid, wanted[qid])
                except QueryError as exc:
                    log.warning("tracked query %s no longer parses: %s", qid, exc)
                    self.matcher.remove(qid)
            self.matcher.compile()
        self._sources = wanted
        self.owners = owners
        self.version = version


@dataclass
class Outcome:
    """What one run of the listening step did (for tests and the benchmark)."""

    created: list[int]
    updated: list[int]
    deleted: list[int]
    #: Queries that got a new mention (their volume windows were counted).
    queries: list[int]
    #: Of those, the ones whose window holds enough mentions for an alert.
    hot: dict[int, tuple[int, int]] = field(default_factory=dict)


class Pipeline:
    def __init__(self, runtime: ListeningRuntime) -> None:
        self.rt = runtime
        self.ctx = runtime.ctx

    async def process(self, status_id: int, *, edited: bool = False) -> Outcome:
        """Match one post and bring its mentions up to date."""
        async with self.ctx.read() as s:
            post, versions = await load_post(s, status_id)
        if post is None:
            return Outcome([], [], [], [])  # deleted before we got to it; status.deleted cleans up
        matches: list[Match] = []
        text = ""
        if eligible(post):
            matcher = await self.rt.matchers.current(versions)
            text = listening_text(post)
            matches = matcher.match(text, post.language)
        if not matches and not edited:
            return Outcome([], [], [], [])
        try:
            outcome = await self._store(post, matches)
        except IntegrityError:
            # A query was deleted after the matcher was built (or another worker got
            # here first): catch up and try once more.
            await self.rt.matchers.refresh()
            outcome = await self._store(post, matches)
        if outcome.created or outcome.updated:
            self.rt.labeller.submit(post.id)  # sentiment follows in a batch (labeller.py)
        if outcome.hot:
            try:
                await self.rt.alerts.evaluate(outcome.hot, post.created_at, kinds=("volume",))
            except Exception:  # the mentions are stored; the next mention checks again
                log.exception("alert evaluation failed for queries %s", list(outcome.hot))
        return outcome

    async def _store(self, post: Post, matches: list[Match]) -> Outcome:
        outcome = Outcome([], [], [], [])
        owners = self.rt.matchers.owners
        minute = minute_of(post.created_at)
        async with self.ctx.tx() as tx:
            s = tx.session
            conn = await s.connection()
            existing: dict[int, Mention] = {}
            if (await conn.execute(ANY_MENTION, {"status_id": post.id})).first() is not None:
                existing = {m.query_id: m for m in await s.scalars(select(Mention).where(Mention.status_id == post.id))}
            rows: list[dict[str, Any]] = []
            for match in matches:
                query_id = int(match.query_id)
                organisation_id = owners.get(query_id)
                if organisation_id is None:
                    continue  # deleted since the matcher was built
                mention = existing.pop(query_id, None)
                if mention is None:
                    row = {
                        "id": new_id(), "organisation_id": organisation_id, "query_id": query_id,
                        "status_id": post.id, "author_id": post.author_id, "language": post.language,
                        "sentiment": None, "confidence": None, "corrected": False, "classified": False,
                        "reach": post.followers_count, "terms": list(match.terms), "forms": list(match.forms),
                        "posted_at": post.created_at, "minute": minute, "created_at": datetime.now(timezone.utc),
                    }
                    rows.append(row)
                    outcome.created.append(row["id"])
                    outcome.queries.append(query_id)
                    tx.emit(MentionCreated(
                        mention_id=row["id"], organisation_id=organisation_id, query_id=query_id,
                        status_id=post.id, sentiment=None,
                    ))
                else:
                    mention.terms, mention.forms = list(match.terms), list(match.forms)
                    mention.language = post.language
                    if not mention.corrected:
                        mention.classified = False  # the text changed: label it again
                    outcome.updated.append(mention.id)
                    tx.emit(MentionUpdated(
                        mention_id=mention.id, organisation_id=mention.organisation_id, query_id=query_id,
                        status_id=post.id, sentiment=mention.sentiment,
                    ))
            if rows:
                await conn.execute(insert(Mention), rows)
                # Is any of these queries' windows full enough for an alert? (Usually not.)
                outcome.hot = await self.rt.alerts.windows(conn, outcome.queries, post.created_at)
            for gone in existing.values():
                await s.delete(gone)
                outcome.deleted.append(gone.id)
                tx.emit(MentionDeleted(
                    mention_id=gone.id, organisation_id=gone.organisation_id, query_id=gone.query_id, status_id=post.id,
                ))
        return outcome

    async def remove(self, status_id: int) -> list[int]:
        """A deleted post leaves every mention list."""
        async with self.ctx.tx() as tx:
            gone = list(await tx.session.scalars(select(Mention).where(Mention.status_id == status_id)))
            for mention in gone:
                await tx.session.delete(mention)
                tx.emit(MentionDeleted(
                    mention_id=mention.id, organisation_id=mention.organisation_id, query_id=mention.query_id,
                    status_id=status_id,
                ))
        return [m.id for m in gone]


def mention_payload(mention: dict[str, Any], post: Post, ctx: Context) -> dict[str, Any]:
    """A mention (its row's values) as webhooks receive it: the facts and a link, not a
    rendered status."""
    base = ctx.settings.base_url
    return {
        "id": str(mention["id"]),
        "query_id": str(mention["query_id"]),
        "status": {
            "id": str(post.id),
            "url": f"{base}/@{post.acct}/{post.id}",
            "text": listening_text(post),
            "language": post.language,
            "created_at": post.created_at.isoformat(),
            "account": {"id": str(post.author_id), "acct": post.acct, "followers_count": post.followers_count},
        },
        "sentiment": mention["sentiment"],
        "confidence": mention["confidence"],
        "terms": mention["terms"],
    }


def _runtime(ctx: Context) -> ListeningRuntime:
    from szpak.listening.runtime import runtime_for

    return runtime_for(ctx)


@handler("status.created")
async def on_status_created(ctx: Context, payload: dict[str, Any]) -> None:
    await _runtime(ctx).pipeline.process(int(payload["status_id"]))


@handler("status.updated")
async def on_status_updated(ctx: Context, payload: dict[str, Any]) -> None:
    await _runtime(ctx).pipeline.process(int(payload["status_id"]), edited=True)


@handler("status.deleted")
async def on_status_deleted(ctx: Context, payload: dict[str, Any]) -> None:
    await _runtime(ctx).pipeline.remove(int(payload["status_id"]))
