"""Status actions: post, edit, delete, reblog, unreblog, pin, unpin.

Counters follow Mastodon, including where they are careful not to leak: a direct
post does not raise its author's ``statuses_count`` (nor ``last_status_at``), and
only public and unlisted replies raise their parent's ``replies_count``, so nobody
learns from a number that a followers-only or direct answer exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, Select, String, bindparam, delete, func, insert, inspect, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from szpak.domain import polls, search_index
from szpak.domain.context import Tx
from szpak.domain.errors import Forbidden, Invalid, NotFound
from szpak.domain.events import StatusCreated, StatusDeleted, StatusUpdated
from szpak.domain.formatting import URL_LENGTH, counted_length as _counted_length, render_text
from szpak.domain.notify import notify, withdraw
from szpak.domain.visibility import OPEN_VISIBILITIES, can_see
from szpak.storage.ids import new_id
from szpak.storage.queries import column_default
from szpak.storage.models import (
    VISIBILITIES,
    Account,
    Follow,
    IdempotencyKey,
    Status,
    StatusEdit,
    StatusMention,
    StatusPin,
    StatusTag,
    Tag,
)

__all__ = [
    "IDEMPOTENCY_TTL", "MAX_PINS", "REBLOG_VISIBILITIES", "URL_LENGTH", "StatusChanges", "StatusDraft",
    "counted_length", "create_status", "delete_status", "edit_status", "normalize_language", "own_status",
    "pin", "reblog", "remove_status", "unpin", "unreblog",
]

#: How long an ``Idempotency-Key`` keeps answering with the status it created (as Mastodon).
IDEMPOTENCY_TTL = timedelta(hours=1)
MAX_PINS = 5
MAX_TAGS = 20
REBLOG_VISIBILITIES = ("public", "unlisted", "private")
_LANGUAGE_RE = re.compile(r"[a-z]{2,3}")


@dataclass
class StatusDraft:
    """A new post as the author asked for it; the route fills in the account's defaults."""

    text: str = ""
    spoiler_text: str = ""
    visibility: str = "public"
    sensitive: bool = False
    language: str | None = None
    in_reply_to_id: int | None = None
    media_ids: list[int] = field(default_factory=list)
    application_id: int | None = None
    #: A poll to attach (domain/polls.py).
    poll: polls.PollDraft | None = None


@dataclass
class StatusChanges:
    """An edit (``PUT``): a field left ``None`` keeps its current value."""

    text: str | None = None
    spoiler_text: str | None = None
    sensitive: bool | None = None
    language: str | None = None
    media_ids: list[int] | None = None
    #: ``polls.PollDraft`` to set, ``polls.REMOVE`` to drop, None to keep (domain/polls.py).
    poll: object | None = None
    #: ``media_attributes[]``: ``{"id", "description", "focus"}`` for the post's media (domain/media.py).
    media_attributes: object | None = None


def counted_length(text: str, local_domain: str = "") -> int:
    return _counted_length(text, local_domain)


def normalize_language(raw: str | None) -> str | None:
    """``"pl"``, ``"PL"``, ``"pl-PL"`` → ``"pl"``; empty → None; anything else is invalid."""
    if raw is None or not raw.strip():
        return None
    code = re.split(r"[-_]", raw.strip().lower(), maxsplit=1)[0]
    if not _LANGUAGE_RE.fullmatch(code):
        raise Invalid("Validation failed: Language is not a valid ISO 639 code")
    return code


def _check_text(tx: Tx, text: str, spoiler_text: str, *, has_media: bool) -> None:
    if not text.strip() and not has_media:
        raise Invalid("Validation failed: Text can't be blank")
    limit = tx.settings.max_status_chars
    if counted_length(text, tx.settings.domain) + len(spoiler_text) > limit:
        raise Invalid(f"Validation failed: Text character limit of {limit} exceeded")


# -- rendering, mentions, tags ------------------------------------------------------------


async def _render(tx: Tx, text: str) -> tuple[str, list[Account], list[tuple[str, str]], list[str]]:
    """Render text to HTML; return (html, mentioned local accounts, tags, links)."""
    candidates = {m.group(1).lower() for m in re.finditer(r"@([A-Za-z0-9_]{1,64})", text)}
    known: dict[str, Account] = {}
    if candidates:
        rows = await tx.session.scalars(
            select(Account).where(Account.username_lower.in_(candidates), Account.domain_key == "")
        )
        known = {a.username_lower: a for a in rows}
    base = tx.settings.base_url
    parsed = render_text(
        text,
        base_url=base,
        local_domain=tx.settings.domain,
        mention_url=lambda h: f"{base}/@{known[h].username}" if h in known else None,
    )
    mentioned = [known[h] for h in parsed.mentions if h in known]
    return parsed.html, mentioned, parsed.tags, parsed.links


class TagRow(NamedTuple):
    """What posting needs of a tag (and the renderer reads: ``name``, ``display_name``)."""

    id: int
    name: str
    display_name: str


@cache
def _tag_by_name() -> Select[Any]:
    return select(Tag.id, Tag.name, Tag.display_name).where(Tag.name == bindparam("name", type_=String()))


async def _tags_named(tx: Tx, names: list[str]) -> dict[str, TagRow]:
    """One statement built once per name (a post has a few), run on the transaction's
    own connection (``Tx.fetch``), no ORM objects."""
    found: dict[str, TagRow] = {}
    for name in names:
        for row in await tx.fetch(_tag_by_name(), {"name": name}):
            found[row[1]] = TagRow(row[0], row[1], row[2])
    return found


async def _ensure_tags(tx: Tx, tags: list[tuple[str, str]]) -> list[TagRow]:
    """The tags ``tags`` (name, as written), created when new. Insert-or-ignore,
    so two posts introducing the same tag at once do not collide."""
    wanted: dict[str, str] = {}
    for key, shown in tags:
        if len(wanted) >= MAX_TAGS:
            break
        wanted.setdefault(key[:255], shown[:255])
    if not wanted:
        return []
    found = await _tags_named(tx, list(wanted))
    missing = [name for name in wanted if name not in found]
    if missing:
        now = datetime.now(timezone.utc)
        rows = [{"tag_id": new_id(), "tag_name": n, "tag_display_name": wanted[n], "tag_created_at": now} for n in missing]
        await tx.execute(_new_tag(tx.write.db.is_sqlite), rows)
        found.update(await _tags_named(tx, missing))
    return [found[n] for n in wanted if n in found]


@cache
def _new_tag(sqlite: bool) -> Any:
    """Insert one tag unless a tag of that name exists (built once per dialect)."""
    table = Tag.__table__
    insert_ = sqlite_insert if sqlite else pg_insert
    return insert_(table).values(
        id=bindparam("tag_id", type_=BigInteger), name=bindparam("tag_name", type_=String()),
        display_name=bindparam("tag_display_name", type_=String()),
        created_at=bindparam("tag_created_at", type_=table.c.created_at.type),
    ).on_conflict_do_nothing(index_elements=["name"])


async def _attach_tags(tx: Tx, status: Status, tags: list[tuple[str, str]]) -> list[TagRow]:
    rows = await _ensure_tags(tx, tags)
    if rows:
        await tx.insert(StatusTag.__table__, [{"status_id": status.id, "tag_id": t.id} for t in rows])
    if rows and status.visibility in OPEN_VISIBILITIES:
        # Only posts anyone may see make a tag "in use" (search, trends); a tag used only
        # in followers-only or direct posts stays out of sight.
        now = datetime.now(timezone.utc)
        await tx.execute(_tag_used(), [{"tag_id": t.id, "now": now} for t in rows])
    return rows


@cache
def _tag_used() -> Any:
    """``tags.last_status_at = now`` for one tag, a Core statement built once."""
    table = Tag.__table__
    return update(table).where(table.c.id == bindparam("tag_id", type_=BigInteger)).values(
        last_status_at=bindparam("now", type_=table.c.last_status_at.type)
    )


async def _status_event_facts(tx: Tx, status: Status) -> tuple[tuple[int, ...], tuple[str, ...]]:
    s = tx.session
    mentioned = tuple(
        await s.scalars(select(StatusMention.account_id).where(StatusMention.status_id == status.id))
    )
    tags = tuple(
        await s.scalars(select(Tag.name).join(StatusTag, StatusTag.tag_id == Tag.id).where(StatusTag.status_id == status.id))
    )
    return mentioned, tags


# -- posting ---------------------------------------------------------------------------------


async def _replay(tx: Tx, author: Account, key: str) -> Status | None:
    """The status an earlier request with this key created, if still fresh; a stale key is
    forgotten so that it can be claimed again."""
    s = tx.session
    row = await s.scalar(select(IdempotencyKey).where(IdempotencyKey.account_id == author.id, IdempotencyKey.key == key))
    if row is None:
        return None
    if row.created_at >= datetime.now(timezone.utc) - IDEMPOTENCY_TTL:
        status = await s.get(Status, row.status_id)
        if status is not None:
            return status
    await s.delete(row)
    await s.flush()
    return None


async def _reply_target(tx: Tx, author: Account, in_reply_to_id: int | None) -> Status | None:
    """The post being answered; one the author may not see does not exist for them."""
    if in_reply_to_id is None:
        return None
    parent = await tx.session.get(Status, in_reply_to_id)
    if parent is None or parent.reblog_of_id is not None or not await can_see(tx.session, parent, author.id):
        raise NotFound("Record not found")
    return parent


def _status_row(**values: object) -> dict[str, object]:
    """``values`` plus every other column's Python-side default, as the ORM's flush would
    have filled them in (a column with no such default is left to the database): the row
    written and the transient ``Status`` built from it hold the same values."""
    row = dict(values)
    for column in Status.__table__.columns:
        if column.key not in row and column.default is not None:
            row[column.key] = column_default(column)
    return row


async def create_status(
    tx: Tx, author: Account, draft: StatusDraft, *, idempotency_key: str | None = None,
    facts: dict[str, object] | None = None,
) -> Status:
    """Post a status. With ``idempotency_key``, a repeat within an hour returns the first
    status instead of posting again. The key row is written first, so a concurrent
    duplicate waits on it and then fails (the route retries, and replays).

    ``facts``, when given, is filled (only when a new status was written, not on a replay)
    with what rendering it needs and this function already holds: ``status``, ``author``,
    ``mentioned`` (Account rows), ``tags`` (Tag rows), ``poll`` (bool), so the route can
    answer without reading it all back (docs/performance.md)."""
    key = (idempotency_key or "").strip()[:255] or None
    if key:
        replayed = await _replay(tx, author, key)
        if replayed is not None:
            return replayed
    if draft.visibility not in VISIBILITIES:
        raise Invalid(f"Validation failed: Visibility must be one of {', '.join(VISIBILITIES)}")
    # Media attachment is validated by the media module when present.
    from szpak.domain import media as media_actions

    media = await media_actions.claim_for_status(tx, author, draft.media_ids) if draft.media_ids else []
    _check_text(tx, draft.text, draft.spoiler_text, has_media=bool(media))
    language = normalize_language(draft.language)
    parent = await _reply_target(tx, author, draft.in_reply_to_id)

    status_id = new_id()
    if key:
        tx.session.add(IdempotencyKey(account_id=author.id, key=key, status_id=status_id))
        await tx.session.flush()
    content, mentioned, tags, links = await _render(tx, draft.text)
    row = _status_row(
        id=status_id,
        account_id=author.id,
        text=draft.text,
        content=content,
        spoiler_text=draft.spoiler_text,
        visibility=draft.visibility,
        sensitive=draft.sensitive or bool(draft.spoiler_text),
        language=language,
        in_reply_to_id=parent.id if parent else None,
        in_reply_to_account_id=parent.account_id if parent else None,
        conversation_id=(parent.conversation_id or parent.id) if parent else status_id,
        application_id=draft.application_id,
        meta={"links": links} if links else {},
        has_media=bool(media),
    )
    # Core statements on the transaction's own connection (``Tx.insert``/``execute``/
    # ``fetch``), no ORM unit of work: on SQLite an ordinary post builds no session at all
    # (docs/performance.md). ``status`` stays a transient object holding exactly the row
    # written, which is all the steps below and the route's rendering read.
    await tx.insert(Status.__table__, [row])
    status = Status(**row)
    if mentioned:
        rows = {a.id: {"status_id": status.id, "account_id": a.id} for a in mentioned}
        await tx.insert(StatusMention.__table__, list(rows.values()))
    tag_rows = await _attach_tags(tx, status, tags)
    if media:
        await media_actions.attach(tx, status, media)
    if draft.poll is not None:
        await polls.create_for_status(tx, status, draft.poll)
    if status.visibility == "public" and author.indexable:
        await search_index.insert_terms(tx, status)
    await _count_new(tx, status, author)

    mentioned_ids = {a.id for a in mentioned}
    if status.visibility == "direct":
        from szpak.domain import conversations  # direct messages grouped (docs/api/social.md)

        await conversations.on_direct_created(tx, status, mentioned_ids)
    for acc in mentioned:
        await notify(tx, acc.id, author.id, "mention", status.id)
    if status.visibility != "direct":
        subscribers = [row[0] for row in await tx.fetch(_subscribers(), {"author": author.id})]
        for follower_id in subscribers:
            if follower_id not in mentioned_ids:
                await notify(tx, follower_id, author.id, "status", status.id)

    tx.emit(
        StatusCreated(
            status_id=status.id,
            account_id=author.id,
            visibility=status.visibility,
            mentioned_ids=tuple(a.id for a in mentioned),
            tag_names=tuple(t for t, _ in tags),
            in_reply_to_account_id=status.in_reply_to_account_id,
            in_reply_to_id=status.in_reply_to_id,
            has_media=status.has_media,
            language=status.language,
        )
    )
    await tx.insert_job("status.created", {"status_id": status.id})
    if facts is not None:
        facts.update(status=status, author=author, mentioned=mentioned, tags=tag_rows, poll=draft.poll is not None)
    return status


@cache
def _subscribers() -> Select[Any]:
    """Who asked to be notified of the author's posts (``notify: true`` follows)."""
    return select(Follow.account_id).where(
        Follow.target_account_id == bindparam("author", type_=BigInteger), Follow.notify.is_(True)
    )


@cache
def _bump_statement(model: type[Account] | type[Status], counter: str, keys: tuple[str, ...]) -> Any:
    """The UPDATE of :func:`_bump`, built once per shape (building it cost more than running it)."""
    table = model.__table__
    sets: dict[str, Any] = {counter: table.c[counter] + 1}
    for key in keys:
        sets[key] = bindparam(f"v_{key}", type_=table.c[key].type)
    return update(table).where(table.c.id == bindparam("row_id", type_=BigInteger)).values(sets)


async def _bump(
    tx: Tx, model: type[Account] | type[Status], row_id: int, counter: str, obj: Any = None, **values: object
) -> None:
    """``counter += 1`` (and ``values``) on one row: a Core UPDATE (the ORM's bulk update
    with in-session synchronisation costs ~2.5× as much), then the same change applied to
    the row's object (``obj``, or the one the session holds), as the ORM would have."""
    binds: dict[str, object] = {f"v_{key}": value for key, value in values.items()}
    binds["row_id"] = row_id
    await tx.execute(_bump_statement(model, counter, tuple(values)), binds)
    objects = [obj] if obj is not None else []
    if tx.write.has_session:
        held = tx.session.sync_session.identity_map.get(identity_key(model, row_id))
        if held is not None and held is not obj:
            objects.append(held)  # e.g. the author loaded again as someone the post mentions
    for loaded in objects:
        if counter not in inspect(loaded).unloaded:
            set_committed_value(loaded, counter, getattr(loaded, counter) + 1)
            for key, value in values.items():
                set_committed_value(loaded, key, value)


async def _count_new(tx: Tx, status: Status, author: Account | None = None) -> None:
    """Raise the counters a new post or reblog affects (see the module docstring);
    ``author``, when given, is the author's object to keep in step."""
    if status.visibility != "direct":
        await _bump(tx, Account, status.account_id, "statuses_count", author, last_status_at=datetime.now(timezone.utc))
    if status.in_reply_to_id is not None and status.visibility in OPEN_VISIBILITIES:
        await _bump(tx, Status, status.in_reply_to_id, "replies_count")
    if status.reblog_of_id is not None:
        await _bump(tx, Status, status.reblog_of_id, "reblogs_count")


async def _count_gone(tx: Tx, status: Status) -> None:
    """Undo :func:`_count_new` for a status being deleted."""
    s = tx.session
    if status.visibility != "direct":
        await s.execute(
            update(Account)
            .where(Account.id == status.account_id, Account.statuses_count > 0)
            .values(statuses_count=Account.statuses_count - 1)
        )
    if status.in_reply_to_id is not None and status.visibility in OPEN_VISIBILITIES:
        await s.execute(
            update(Status)
            .where(Status.id == status.in_reply_to_id, Status.replies_count > 0)
            .values(replies_count=Status.replies_count - 1)
        )
    if status.reblog_of_id is not None:
        await s.execute(
            update(Status)
            .where(Status.id == status.reblog_of_id, Status.reblogs_count > 0)
            .values(reblogs_count=Status.reblogs_count - 1)
        )


# -- editing ---------------------------------------------------------------------------------


async def own_status(tx: Tx, actor: Account, status_id: int, *, allow_reblog: bool = False) -> Status:
    """The actor's own status. Someone else's is 403 if the actor can see it, else 404."""
    status = await tx.session.get(Status, status_id)
    if status is None or (status.reblog_of_id is not None and not allow_reblog):
        raise NotFound()
    if status.account_id != actor.id:
        # No account, brand or not, may edit or delete another account's post.
        if not await can_see(tx.session, status, actor.id):
            raise NotFound()
        raise Forbidden("This action is not allowed")
    return status


async def _snapshot(tx: Tx, status: Status, actor: Account, at: datetime) -> StatusEdit:
    """The post as it stands, as a revision: text, warning, and its media and poll options."""
    from szpak.domain import media as media_actions
    from szpak.storage.models import Poll

    media = await media_actions.attached(tx.session, status.id)
    options = await tx.session.scalar(select(Poll.options).where(Poll.status_id == status.id))
    return StatusEdit(
        status_id=status.id, account_id=actor.id, text=status.text, content=status.content,
        spoiler_text=status.spoiler_text, sensitive=status.sensitive, created_at=at,
        media=media_actions.revision_media(media), poll_options=list(options or []),
    )


def _as_changes(changes: StatusChanges | StatusDraft) -> StatusChanges:
    """A whole draft as an edit that sets every field it carries (visibility aside)."""
    if isinstance(changes, StatusChanges):
        return changes
    return StatusChanges(
        text=changes.text, spoiler_text=changes.spoiler_text, sensitive=changes.sensitive,
        language=changes.language, media_ids=list(changes.media_ids), poll=changes.poll,
    )


async def edit_status(tx: Tx, actor: Account, status_id: int, changes: StatusChanges | StatusDraft) -> Status:
    """Edit the actor's post. Text, content warning, sensitivity and media make a new
    revision (``/history``; the first edit also records the original); a language-only
    change is applied quietly; a request that changes nothing changes nothing.
    Visibility never changes on edit, as in Mastodon."""
    s = tx.session
    changes = _as_changes(changes)
    status = await own_status(tx, actor, status_id)
    from szpak.domain import media as media_actions

    # The first edit also records the post as it was, taken before anything changes.
    original = await _snapshot(tx, status, actor, status.created_at) if status.edited_at is None else None
    media = (
        await media_actions.claim_for_status(tx, actor, changes.media_ids, status_id=status.id)
        if changes.media_ids
        else []
    )
    described = await media_actions.apply_attributes(
        tx, media if changes.media_ids is not None else await media_actions.attached(s, status.id),
        changes.media_attributes,
    )
    text = status.text if changes.text is None else changes.text
    spoiler = status.spoiler_text if changes.spoiler_text is None else changes.spoiler_text
    sensitive = status.sensitive if changes.sensitive is None else changes.sensitive
    sensitive = sensitive or bool(spoiler)
    has_media = bool(media) if changes.media_ids is not None else status.has_media
    _check_text(tx, text, spoiler, has_media=has_media)
    if changes.language is not None:
        status.language = normalize_language(changes.language) or status.language
    poll_changed = await polls.edit_for_status(tx, status, changes.poll, has_media=has_media)
    significant = (
        poll_changed or described or
        text != status.text
        or spoiler != status.spoiler_text
        or sensitive != status.sensitive
        or (changes.media_ids is not None and await media_actions.changed(tx, status, media))
    )
    if not significant:
        await s.flush()
        return status

    now = datetime.now(timezone.utc)
    if original is not None:
        s.add(original)
    content, mentioned, tags, links = await _render(tx, text)
    status.text, status.content, status.spoiler_text, status.sensitive = text, content, spoiler, sensitive
    status.edited_at = now
    status.meta = {"links": links} if links else {}
    await s.flush()

    # Mentions added by the edit make the post visible to those accounts and tell them;
    # earlier ones stay (as Mastodon), so nobody loses a post they were shown.
    old_mentions = set(await s.scalars(select(StatusMention.account_id).where(StatusMention.status_id == status.id)))
    added = [acc for acc in mentioned if acc.id not in old_mentions]
    for acc in added:
        s.add(StatusMention(status_id=status.id, account_id=acc.id))
    await s.execute(delete(StatusTag).where(StatusTag.status_id == status.id))
    await s.flush()
    await _attach_tags(tx, status, tags)
    if changes.media_ids is not None:
        await media_actions.replace(tx, status, media)
        status.has_media = bool(media)
    s.add(await _snapshot(tx, status, actor, now))  # the new revision, media and poll as the edit left them
    await search_index.unindex_status(tx, status)
    if status.visibility == "public" and actor.indexable:
        search_index.index_status(tx, status)
    await s.flush()

    for acc in added:
        await notify(tx, acc.id, actor.id, "mention", status.id)
    # Those who reblogged it are told it changed.
    rebloggers = list(await s.scalars(select(Status.account_id).where(Status.reblog_of_id == status.id).distinct()))
    for rid in rebloggers:
        await notify(tx, rid, actor.id, "update", status.id)
    mentioned_ids, tag_names = await _status_event_facts(tx, status)
    tx.emit(
        StatusUpdated(
            status_id=status.id, account_id=actor.id, visibility=status.visibility,
            mentioned_ids=mentioned_ids, tag_names=tag_names, has_media=status.has_media,
        )
    )
    tx.enqueue("status.updated", {"status_id": status.id})
    return status


# -- deleting --------------------------------------------------------------------------------


async def _delete_row(tx: Tx, status: Status) -> None:
    s = tx.session
    mentioned_ids, tag_names = await _status_event_facts(tx, status)
    await _count_gone(tx, status)
    if status.visibility == "direct":
        from szpak.domain import conversations  # last_status moves back (docs/api/social.md)

        await conversations.on_direct_deleted(tx, status.id)
    if status.has_media:  # let its media go, for a redraft (domain/media.py)
        from szpak.domain import media as media_actions

        await media_actions.detach(tx, status)
    await s.delete(status)
    await s.flush()
    tx.emit(
        StatusDeleted(
            status_id=status.id, account_id=status.account_id, visibility=status.visibility,
            mentioned_ids=mentioned_ids, tag_names=tag_names, reblog_of_id=status.reblog_of_id,
            in_reply_to_id=status.in_reply_to_id,
            has_media=status.has_media, local=status.local,
        )
    )
    if status.reblog_of_id is None:
        tx.enqueue("status.deleted", {"status_id": status.id, "account_id": status.account_id})


async def delete_status(tx: Tx, actor: Account, status_id: int) -> Status:
    """Delete the actor's own status (and the reblogs of it), or the actor's own reblog
    (an unreblog, as Mastodon allows). Returns the deleted row's data."""
    status = await own_status(tx, actor, status_id, allow_reblog=True)
    if status.reblog_of_id is not None:
        await _delete_row(tx, status)
        original = await tx.session.get(Status, status.reblog_of_id)
        if original is not None:
            await withdraw(tx, original.account_id, actor.id, "reblog", original.id)
        return status
    return await remove_status(tx, status)


async def remove_status(tx: Tx, status: Status) -> Status:
    """Remove a status and its reblogs (the author's delete, or a moderator's removal)."""
    s = tx.session
    reblogs = list(await s.scalars(select(Status).where(Status.reblog_of_id == status.id)))
    for reblog in reblogs:
        await _delete_row(tx, reblog)
    # Replies stay; they just lose their parent (as Mastodon).
    await _delete_row(tx, status)
    return status


# -- reblogs ---------------------------------------------------------------------------------


async def _visible_original(tx: Tx, actor: Account, status_id: int) -> Status:
    """The post behind ``status_id`` (itself, or what it reblogs), if the actor may see it."""
    s = tx.session
    status = await s.get(Status, status_id)
    if status is None or not await can_see(s, status, actor.id):
        raise NotFound()
    if status.reblog_of_id is not None:
        original = await s.get(Status, status.reblog_of_id)
        if original is None:
            raise NotFound()
        return original
    return status


async def reblog(tx: Tx, actor: Account, status_id: int, visibility: str = "public") -> Status:
    """Boost a post; returns the reblog row (an existing one when repeated).

    Direct posts are never boosted, and followers-only ones only by their author, to the
    same followers: a boost must not widen a post's audience.
    """
    s = tx.session
    if visibility not in REBLOG_VISIBILITIES:
        raise Invalid(f"Validation failed: Visibility must be one of {', '.join(REBLOG_VISIBILITIES)}")
    original = await _visible_original(tx, actor, status_id)
    if original.visibility == "direct" or (original.visibility == "private" and original.account_id != actor.id):
        raise Forbidden("This action is not allowed")
    existing = await s.scalar(
        select(Status).where(Status.account_id == actor.id, Status.reblog_of_id == original.id).limit(1)
    )
    if existing is not None:
        return existing
    if original.visibility == "private":
        visibility = "private"
    rb = Status(account_id=actor.id, reblog_of_id=original.id, visibility=visibility, text="", content="")
    rb.conversation_id = original.conversation_id
    s.add(rb)
    await s.flush()
    await _count_new(tx, rb)
    await notify(tx, original.account_id, actor.id, "reblog", original.id)
    tx.emit(
        StatusCreated(
            status_id=rb.id, account_id=actor.id, visibility=rb.visibility,
            reblog_of_id=original.id, reblog_of_account_id=original.account_id,
            has_media=original.has_media,
        )
    )
    return rb


async def unreblog(tx: Tx, actor: Account, status_id: int) -> Status:
    """Undo the actor's boost of a post; returns the post. Not boosted is not an error."""
    s = tx.session
    original = await _visible_original(tx, actor, status_id)
    rb = await s.scalar(select(Status).where(Status.account_id == actor.id, Status.reblog_of_id == original.id).limit(1))
    if rb is not None:
        await _delete_row(tx, rb)
        await withdraw(tx, original.account_id, actor.id, "reblog", original.id)
    return original


# -- pins ------------------------------------------------------------------------------------


async def pin(tx: Tx, actor: Account, status_id: int) -> Status:
    """Feature one of the actor's own public, unlisted or followers-only posts (at most five)."""
    s = tx.session
    status = await s.get(Status, status_id)
    if status is None or not await can_see(s, status, actor.id):
        raise NotFound()
    if status.reblog_of_id is not None:
        raise Invalid("Validation failed: Reblogs can't be pinned")
    if status.account_id != actor.id:
        raise Invalid("Validation failed: You can only pin your own posts")
    if status.visibility not in REBLOG_VISIBILITIES:
        raise Invalid("Validation failed: Direct messages can't be pinned")
    if await s.scalar(select(StatusPin.id).where(StatusPin.account_id == actor.id, StatusPin.status_id == status.id)):
        return status
    count = await s.scalar(select(func.count()).select_from(StatusPin).where(StatusPin.account_id == actor.id))
    if (count or 0) >= MAX_PINS:
        raise Invalid("Validation failed: You have already pinned the maximum number of posts")
    s.add(StatusPin(account_id=actor.id, status_id=status.id))
    await s.flush()
    return status


async def unpin(tx: Tx, actor: Account, status_id: int) -> Status:
    s = tx.session
    status = await s.get(Status, status_id)
    if status is None or not await can_see(s, status, actor.id):
        raise NotFound()
    await s.execute(delete(StatusPin).where(StatusPin.account_id == actor.id, StatusPin.status_id == status.id))
    return status
