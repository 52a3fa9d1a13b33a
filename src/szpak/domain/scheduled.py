"""Scheduled statuses: a post kept until its time, then published by a durable job.

- ``schedule`` checks the post as far as it can now (text, visibility, language, poll,
  reply target, media) and the time (at least ``MIN_OFFSET`` ahead, and at most
  ``DAILY_LIMIT`` per day and ``TOTAL_LIMIT`` pending per account, as Mastodon), stores
  it and enqueues ``PUBLISH_JOB`` at ``scheduled_at``.
- ``reschedule`` moves it: the row's ``version`` goes up and a new job is enqueued; the
  old job finds a different version and does nothing, so a post is never published at
  its old time nor twice.
- The job publishes through ``statuses.create_status`` (the same checks, notifications,
  events and jobs as a post made now) and deletes the row in the same transaction, so a
  repeated job finds nothing to do. A post that can no longer be made (its author
  suspended, disabled or gone, its reply target deleted, a limit broken) is dropped.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select

from szpak.domain import polls
from szpak.domain import statuses as status_actions
from szpak.domain.context import Context, Tx
from szpak.domain.errors import DomainError, Invalid, NotFound
from szpak.domain.visibility import can_see
from szpak.jobs.runner import handler
from szpak.storage.models import VISIBILITIES, Account, Status, User
from szpak.storage.models.scheduled import ScheduledStatus

log = logging.getLogger(__name__)

MIN_OFFSET = timedelta(minutes=5)
DAILY_LIMIT = 25
TOTAL_LIMIT = 300
PUBLISH_JOB = "scheduled_status.publish"


def parse_time(raw: Any) -> datetime:
    """An ISO 8601 time (``Z`` or an offset; a time without one is taken as UTC).
    Anything else is ``Record invalid``, the words Mastodon answers with."""
    if not isinstance(raw, str) or not raw.strip():
        raise Invalid("Record invalid")
    text = raw.strip()
    if text[-1:] in ("z", "Z"):
        text = text[:-1] + "+00:00"
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid("Record invalid") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    try:
        return at.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        raise Invalid("Record invalid") from None


def _day(at: datetime) -> tuple[datetime, datetime]:
    start = at.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


async def _check_time(tx: Tx, account_id: int, at: datetime, *, exclude_id: int | None = None) -> None:
    if at < datetime.now(timezone.utc) + MIN_OFFSET:
        raise Invalid("Validation failed: Scheduled at The scheduled date must be in the future")
    if at.year >= 9999:
        raise Invalid("Record invalid")
    s = tx.session
    mine = select(func.count()).select_from(ScheduledStatus).where(ScheduledStatus.account_id == account_id)
    if exclude_id is not None:
        mine = mine.where(ScheduledStatus.id != exclude_id)
    if (await s.scalar(mine) or 0) >= TOTAL_LIMIT:
        raise Invalid(f"Validation failed: You have exceeded the limit of {TOTAL_LIMIT} scheduled posts")
    start, end = _day(at)
    same_day = mine.where(ScheduledStatus.scheduled_at >= start, ScheduledStatus.scheduled_at < end)
    if (await s.scalar(same_day) or 0) >= DAILY_LIMIT:
        raise Invalid(f"Validation failed: You have exceeded the limit of {DAILY_LIMIT} scheduled posts for today")


def _params(draft: status_actions.StatusDraft) -> dict[str, Any]:
    """Mastodon's ScheduledStatus ``params``, in storable (JSON) form."""
    return {
        "text": draft.text,
        "poll": draft.poll.as_params() if draft.poll is not None else None,
        "media_ids": [str(m) for m in draft.media_ids] or None,
        "sensitive": draft.sensitive,
        "spoiler_text": draft.spoiler_text,
        "visibility": draft.visibility,
        "idempotency": None,
        "scheduled_at": None,
        # Integers, as Mastodon's documentation gives them (unlike the entities' string ids).
        "in_reply_to_id": draft.in_reply_to_id,
        "language": draft.language,
        "application_id": draft.application_id,
        "with_rate_limit": False,
    }


def draft_of(row: ScheduledStatus) -> status_actions.StatusDraft:
    """The post a scheduled row stands for, ready for ``create_status``."""
    p = row.params or {}

    def as_int(value: Any) -> int | None:
        return int(value) if value not in (None, "") else None

    return status_actions.StatusDraft(
        text=p.get("text") or "",
        spoiler_text=p.get("spoiler_text") or "",
        visibility=p.get("visibility") or "public",
        sensitive=bool(p.get("sensitive")),
        language=p.get("language"),
        in_reply_to_id=as_int(p.get("in_reply_to_id")),
        media_ids=[int(m) for m in (p.get("media_ids") or [])],
        application_id=as_int(p.get("application_id")),
        poll=polls.parse_poll(p.get("poll")),
    )


async def schedule(tx: Tx, author: Account, draft: status_actions.StatusDraft, at: datetime) -> ScheduledStatus:
    """Keep ``draft`` for publishing at ``at``; checks what can be checked now."""
    s = tx.session
    if draft.visibility not in VISIBILITIES:
        raise Invalid(f"Validation failed: Visibility must be one of {', '.join(VISIBILITIES)}")
    if draft.media_ids:
        if draft.poll is not None:
            raise Invalid("Validation failed: A post with a poll cannot have media attachments")
        from szpak.domain import media as media_actions

        # Checks that the media exist and are the author's; they are attached on publishing.
        # Unattached uploads expire a day after upload (media.expire): keep these until a
        # day after the post's time, when a fresh expiry job deletes them if still unused.
        for media in await media_actions.claim_for_status(tx, author, draft.media_ids):
            media.detached_at = max(at, media.detached_at or at)
            tx.enqueue(media_actions.EXPIRE_JOB, {"media_id": media.id}, run_at=at + media_actions.UNATTACHED_TTL)
    status_actions._check_text(tx, draft.text, draft.spoiler_text, has_media=bool(draft.media_ids))
    draft.language = status_actions.normalize_language(draft.language)
    if draft.in_reply_to_id is not None:
        parent = await s.get(Status, draft.in_reply_to_id)
        if parent is None or parent.reblog_of_id is not None or not await can_see(s, parent, author.id):
            raise NotFound("Record not found")
    await _check_time(tx, author.id, at)
    row = ScheduledStatus(account_id=author.id, scheduled_at=at, params=_params(draft), version=0)
    s.add(row)
    await s.flush()
    tx.enqueue(PUBLISH_JOB, {"id": row.id, "version": row.version}, run_at=at)
    return row


async def own(tx_or_session: Any, account_id: int, scheduled_id: int) -> ScheduledStatus:
    """The account's scheduled status; anyone else's does not exist for them."""
    session = tx_or_session.session if isinstance(tx_or_session, Tx) else tx_or_session
    row = await session.get(ScheduledStatus, scheduled_id)
    if row is None or row.account_id != account_id:
        raise NotFound()
    return row  # type: ignore[no-any-return]


async def _locked(tx: Tx, scheduled_id: int) -> ScheduledStatus | None:
    query = (
        select(ScheduledStatus).where(ScheduledStatus.id == scheduled_id)
        .with_for_update().execution_options(populate_existing=True)
    )
    return await tx.session.scalar(query)  # type: ignore[no-any-return]


async def reschedule(tx: Tx, account_id: int, scheduled_id: int, at: datetime) -> ScheduledStatus:
    row = await _locked(tx, scheduled_id)
    if row is None or row.account_id != account_id:
        raise NotFound()
    await _check_time(tx, account_id, at, exclude_id=row.id)
    row.scheduled_at = at
    row.version = (row.version or 0) + 1
    await tx.session.flush()
    tx.enqueue(PUBLISH_JOB, {"id": row.id, "version": row.version}, run_at=at)
    return row


async def cancel(tx: Tx, account_id: int, scheduled_id: int) -> None:
    row = await _locked(tx, scheduled_id)
    if row is None or row.account_id != account_id:
        raise NotFound()
    await tx.session.delete(row)
    await tx.session.flush()


async def _author_may_post(tx: Tx, account_id: int) -> Account | None:
    """The author if they may still post, else None."""
    author = await tx.session.get(Account, account_id)
    if author is None or author.suspended_at is not None:
        return None
    user = await tx.session.scalar(select(User).where(User.account_id == account_id))
    if user is not None and user.disabled:
        return None
    return author  # type: ignore[no-any-return]


async def publish(ctx: Context, scheduled_id: int, version: int) -> int | None:
    """Publish a scheduled status if this job is still the one for it; the new status's id,
    or None when there was nothing (more) to do or the post was dropped."""
    try:
        async with ctx.tx() as tx:
            row = await _locked(tx, scheduled_id)
            if row is None or row.version != version:
                return None
            author = await _author_may_post(tx, row.account_id)
            if author is None:
                log.info("scheduled status %s dropped: its author may no longer post", row.id)
                await tx.session.delete(row)
                return None
            draft = draft_of(row)
            await tx.session.delete(row)
            await tx.session.flush()
            status = await status_actions.create_status(tx, author, draft)
            return status.id
    except DomainError as exc:
        log.info("scheduled status %s dropped: %s", scheduled_id, exc.message)
        async with ctx.tx() as tx:
            row = await _locked(tx, scheduled_id)
            if row is not None and row.version == version:
                await tx.session.delete(row)
        return None


@handler(PUBLISH_JOB)
async def _publish_job(ctx: Context, payload: dict[str, Any]) -> None:
    try:
        scheduled_id, version = int(payload["id"]), int(payload.get("version", 0))
    except (KeyError, TypeError, ValueError):
        log.warning("%s job with a bad payload: %r", PUBLISH_JOB, payload)
        return
    await publish(ctx, scheduled_id, version)
