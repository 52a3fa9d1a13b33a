"""Status actions: post, edit, delete, reblog, unreblog."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import delete, func, select, update

from szpak.domain import search_index
from szpak.domain.context import Tx
from szpak.domain.errors import Forbidden, Invalid, NotFound
from szpak.domain.events import StatusCreated, StatusDeleted, StatusUpdated
from szpak.domain.formatting import URL_RE, render_text
from szpak.domain.notify import notify, withdraw
from szpak.domain.visibility import can_see
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

URL_LENGTH = 23  # every link counts as this many characters, as in Mastodon


@dataclass
class StatusDraft:
    text: str = ""
    spoiler_text: str = ""
    visibility: str = "public"
    sensitive: bool = False
    language: str | None = None
    in_reply_to_id: int | None = None
    media_ids: list[int] = field(default_factory=list)
    application_id: int | None = None


def counted_length(text: str) -> int:
    return len(URL_RE.sub("x" * URL_LENGTH, text))


def _check_draft(tx: Tx, draft: StatusDraft, *, has_media: bool) -> None:
    if draft.visibility not in VISIBILITIES:
        raise Invalid(f"Validation failed: Visibility must be one of {', '.join(VISIBILITIES)}")
    if not draft.text.strip() and not has_media:
        raise Invalid("Validation failed: Text can't be blank")
    limit = tx.settings.max_status_chars
    if counted_length(draft.text) + len(draft.spoiler_text) > limit:
        raise Invalid(f"Validation failed: Text character limit of {limit} exceeded")
    if draft.language is not None and not re.fullmatch(r"[a-z]{2,3}", draft.language):
        raise Invalid("Validation failed: Language is not a valid ISO 639 code")


async def _render(tx: Tx, text: str) -> tuple[str, list[Account], list[tuple[str, str]], list[str]]:
    """Render text to HTML; return (html, mentioned local accounts, tags, links)."""
    s = tx.session
    candidates = {m.group(1).lower() for m in re.finditer(r"@([A-Za-z0-9_]{1,64})", text)}
    known: dict[str, Account] = {}
    if candidates:
        rows = await s.scalars(
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


async def _attach_tags(tx: Tx, status: Status, tags: list[tuple[str, str]]) -> None:
    s = tx.session
    now = datetime.now(timezone.utc)
    for key, shown in tags[:20]:
        key = key[:255]
        tag = await s.scalar(select(Tag).where(Tag.name == key))
        if tag is None:
            tag = Tag(name=key, display_name=shown[:255])
            s.add(tag)
            await s.flush()
        if status.visibility in ("public", "unlisted"):
            tag.last_status_at = now
        s.add(StatusTag(status_id=status.id, tag_id=tag.id))


async def _status_event_facts(tx: Tx, status: Status) -> tuple[tuple[int, ...], tuple[str, ...]]:
    s = tx.session
    mentioned = tuple(
        await s.scalars(select(StatusMention.account_id).where(StatusMention.status_id == status.id))
    )
    tags = tuple(
        await s.scalars(select(Tag.name).join(StatusTag, StatusTag.tag_id == Tag.id).where(StatusTag.status_id == status.id))
    )
    return mentioned, tags


async def create_status(
    tx: Tx, author: Account, draft: StatusDraft, *, idempotency_key: str | None = None
) -> Status:
    s = tx.session
    if idempotency_key:
        existing = await s.scalar(
            select(IdempotencyKey.status_id).where(
                IdempotencyKey.account_id == author.id, IdempotencyKey.key == idempotency_key[:255]
            )
        )
        if existing is not None:
            status = await s.get(Status, existing)
            if status is not None:
                return status
    # Media attachment is validated by the media module when present.
    from szpak.domain import media as media_actions

    media = await media_actions.claim_for_status(tx, author, draft.media_ids) if draft.media_ids else []
    _check_draft(tx, draft, has_media=bool(media))

    parent: Status | None = None
    if draft.in_reply_to_id is not None:
        parent = await s.get(Status, draft.in_reply_to_id)
        if parent is None or parent.reblog_of_id is not None or not await can_see(s, parent, author.id):
            raise NotFound("Record not found")

    content, mentioned, tags, links = await _render(tx, draft.text)
    status = Status(
        account_id=author.id,
        text=draft.text,
        content=content,
        spoiler_text=draft.spoiler_text,
        visibility=draft.visibility,
        sensitive=draft.sensitive or bool(draft.spoiler_text),
        language=draft.language,
        in_reply_to_id=parent.id if parent else None,
        in_reply_to_account_id=parent.account_id if parent else None,
        application_id=draft.application_id,
        meta={"links": links} if links else {},
        has_media=bool(media),
    )
    s.add(status)
    await s.flush()
    status.conversation_id = (parent.conversation_id or parent.id) if parent else status.id
    for acc in mentioned:
        s.add(StatusMention(status_id=status.id, account_id=acc.id))
    await _attach_tags(tx, status, tags)
    if media:
        await media_actions.attach(tx, status, media)
    if status.visibility == "public" and author.indexable:
        search_index.index_status(tx, status)

    now = datetime.now(timezone.utc)
    await s.execute(
        update(Account)
        .where(Account.id == author.id)
        .values(statuses_count=Account.statuses_count + 1, last_status_at=now)
    )
    if parent is not None:
        await s.execute(update(Status).where(Status.id == parent.id).values(replies_count=Status.replies_count + 1))
    if idempotency_key:
        s.add(IdempotencyKey(account_id=author.id, key=idempotency_key[:255], status_id=status.id))
    await s.flush()

    for acc in mentioned:
        await notify(tx, acc.id, author.id, "mention", status.id)
    if status.visibility in ("public", "unlisted", "private"):
        subscribers = await s.scalars(
            select(Follow.account_id).where(Follow.target_account_id == author.id, Follow.notify.is_(True))
        )
        for follower_id in subscribers:
            if follower_id not in {a.id for a in mentioned}:
                await notify(tx, follower_id, author.id, "status", status.id)

    tx.emit(
        StatusCreated(
            status_id=status.id,
            account_id=author.id,
            visibility=status.visibility,
            mentioned_ids=tuple(a.id for a in mentioned),
            tag_names=tuple(t for t, _ in tags),
            in_reply_to_account_id=status.in_reply_to_account_id,
            has_media=status.has_media,
            language=status.language,
        )
    )
    tx.enqueue("status.created", {"status_id": status.id})
    return status


async def own_status(tx: Tx, actor: Account, status_id: int) -> Status:
    status = await tx.session.get(Status, status_id)
    if status is None or status.reblog_of_id is not None:
        raise NotFound()
    if status.account_id != actor.id:
        # No account, brand or not, may edit or delete another account's post.
        visible = await can_see(tx.session, status, actor.id)
        if not visible:
            raise NotFound()
        raise Forbidden("This action is not allowed")
    return status


async def edit_status(tx: Tx, actor: Account, status_id: int, draft: StatusDraft) -> Status:
    s = tx.session
    status = await own_status(tx, actor, status_id)
    from szpak.domain import media as media_actions

    media = await media_actions.claim_for_status(tx, actor, draft.media_ids, status_id=status.id) if draft.media_ids else []
    draft.visibility = status.visibility  # visibility can't change on edit
    _check_draft(tx, draft, has_media=bool(media))
    first_edit = status.edited_at is None
    if first_edit:
        s.add(
            StatusEdit(
                status_id=status.id, account_id=actor.id, text=status.text, content=status.content,
                spoiler_text=status.spoiler_text, sensitive=status.sensitive, created_at=status.created_at,
            )
        )
    content, mentioned, tags, links = await _render(tx, draft.text)
    status.text = draft.text
    status.content = content
    status.spoiler_text = draft.spoiler_text
    status.sensitive = draft.sensitive or bool(draft.spoiler_text)
    if draft.language is not None:
        status.language = draft.language
    status.edited_at = datetime.now(timezone.utc)
    status.meta = {"links": links} if links else {}
    await s.flush()
    s.add(
        StatusEdit(
            status_id=status.id, account_id=actor.id, text=status.text, content=status.content,
            spoiler_text=status.spoiler_text, sensitive=status.sensitive, created_at=status.edited_at,
        )
    )
    # Mentions added by the edit become visible to those accounts; old ones stay (as Mastodon).
    old_mentions = set(await s.scalars(select(StatusMention.account_id).where(StatusMention.status_id == status.id)))
    for acc in mentioned:
        if acc.id not in old_mentions:
            s.add(StatusMention(status_id=status.id, account_id=acc.id))
    await s.execute(delete(StatusTag).where(StatusTag.status_id == status.id))
    await s.flush()
    await _attach_tags(tx, status, tags)
    if media or draft.media_ids == []:
        await media_actions.replace(tx, status, media)
    await search_index.unindex_status(tx, status)
    if status.visibility == "public" and actor.indexable:
        search_index.index_status(tx, status)
    await s.flush()

    # Those who reblogged it are told it changed.
    rebloggers = await s.scalars(select(Status.account_id).where(Status.reblog_of_id == status.id).distinct())
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


async def _delete_row(tx: Tx, status: Status) -> None:
    s = tx.session
    mentioned_ids, tag_names = await _status_event_facts(tx, status)
    await s.execute(
        update(Account)
        .where(Account.id == status.account_id, Account.statuses_count > 0)
        .values(statuses_count=Account.statuses_count - 1)
    )
    if status.in_reply_to_id is not None:
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
    await s.delete(status)
    await s.flush()
    tx.emit(
        StatusDeleted(
            status_id=status.id, account_id=status.account_id, visibility=status.visibility,
            mentioned_ids=mentioned_ids, tag_names=tag_names, reblog_of_id=status.reblog_of_id,
            has_media=status.has_media, local=status.local,
        )
    )
    if status.reblog_of_id is None:
        tx.enqueue("status.deleted", {"status_id": status.id, "account_id": status.account_id})


async def delete_status(tx: Tx, actor: Account, status_id: int) -> Status:
    """Delete the actor's own status (and the reblogs of it). Returns the deleted row's data."""
    s = tx.session
    status = await own_status(tx, actor, status_id)
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


async def reblog(tx: Tx, actor: Account, status_id: int, visibility: str = "public") -> Status:
    s = tx.session
    original = await s.get(Status, status_id)
    if original is None or not await can_see(s, original, actor.id):
        raise NotFound()
    if original.reblog_of_id is not None:
        original = await s.get(Status, original.reblog_of_id)
        assert original is not None
    if original.visibility == "direct" or (original.visibility == "private" and original.account_id != actor.id):
        raise Forbidden("This action is not allowed")
    existing = await s.scalar(
        select(Status).where(Status.account_id == actor.id, Status.reblog_of_id == original.id)
    )
    if existing is not None:
        return existing
    if visibility not in ("public", "unlisted", "private"):
        visibility = "public"
    if original.visibility == "private":
        visibility = "private"
    rb = Status(account_id=actor.id, reblog_of_id=original.id, visibility=visibility, text="", content="")
    s.add(rb)
    await s.flush()
    await s.execute(update(Status).where(Status.id == original.id).values(reblogs_count=Status.reblogs_count + 1))
    await s.execute(
        update(Account)
        .where(Account.id == actor.id)
        .values(statuses_count=Account.statuses_count + 1, last_status_at=datetime.now(timezone.utc))
    )
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
    s = tx.session
    original = await s.get(Status, status_id)
    if original is None or not await can_see(s, original, actor.id):
        raise NotFound()
    if original.reblog_of_id is not None:
        original = await s.get(Status, original.reblog_of_id) or original
    rb = await s.scalar(select(Status).where(Status.account_id == actor.id, Status.reblog_of_id == original.id))
    if rb is not None:
        await _delete_row(tx, rb)
        await withdraw(tx, original.account_id, actor.id, "reblog", original.id)
    await s.refresh(original)
    return original


async def pin(tx: Tx, actor: Account, status_id: int) -> Status:
    s = tx.session
    status = await s.get(Status, status_id)
    if status is None or not await can_see(s, status, actor.id):
        raise NotFound()
    if status.account_id != actor.id or status.reblog_of_id is not None:
        raise Invalid("Validation failed: Status can only pin your own posts")
    if status.visibility not in ("public", "unlisted", "private"):
        raise Invalid("Validation failed: Status can't pin a direct message")
    count = await s.scalar(select(func.count()).select_from(StatusPin).where(StatusPin.account_id == actor.id))
    exists = await s.scalar(select(StatusPin.id).where(StatusPin.account_id == actor.id, StatusPin.status_id == status.id))
    if not exists:
        if (count or 0) >= 5:
            raise Invalid("Validation failed: You have already pinned the maximum number of posts")
        s.add(StatusPin(account_id=actor.id, status_id=status.id))
    return status


async def unpin(tx: Tx, actor: Account, status_id: int) -> Status:
    s = tx.session
    status = await s.get(Status, status_id)
    if status is None or not await can_see(s, status, actor.id):
        raise NotFound()
    await s.execute(delete(StatusPin).where(StatusPin.account_id == actor.id, StatusPin.status_id == status.id))
    return status
