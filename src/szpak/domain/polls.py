"""Polls: created with a status, changed by editing it, voted in, closed by a job.

Rules (as Mastodon, docs/api/polls.md):
- 2 to ``MAX_OPTIONS`` distinct, non-blank options of at most ``MAX_OPTION_CHARS``
  characters; open for ``MIN_EXPIRATION`` to ``MAX_EXPIRATION`` seconds; not together
  with media attachments.
- Anyone who may see the status may vote once (one choice, or several in a ``multiple``
  poll), except its author; not after it has expired.
- Changing the options (or ``multiple``) by an edit throws away the votes cast.
- At ``expires_at`` a durable job closes the poll and tells the voters and the author
  (notification type ``poll``). The job carries nothing but the poll id: a poll whose
  ``expires_at`` has been moved later by an edit is left open, and a closed one is not
  closed twice, so a stale or repeated job does nothing.

Votes and closing change what the poll renders as, so both emit ``StatusCountsChanged``,
which drops cached renders of the status (api/cache.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import delete, select

from szpak.domain.context import Context, Tx
from szpak.domain.errors import Invalid, NotFound
from szpak.domain.events import NotificationCreated, StatusCountsChanged
from szpak.domain.notify import notify
from szpak.domain.visibility import can_see
from szpak.jobs.runner import handler
from szpak.storage.models import Notification, Status
from szpak.storage.models.polls import Poll, PollVote

log = logging.getLogger(__name__)

MAX_OPTIONS = 4
MAX_OPTION_CHARS = 50
MIN_EXPIRATION = 300
MAX_EXPIRATION = 2629746
EXPIRE_JOB = "poll.expire"

_TRUE = {"true", "1", "on", "yes", "t", "y"}
_FALSE = {"false", "0", "off", "no", "f", "n", ""}


@dataclass(frozen=True)
class PollDraft:
    """A poll as asked for with a new or edited status (already validated)."""

    options: tuple[str, ...]
    expires_in: int
    multiple: bool = False
    hide_totals: bool = False

    def as_params(self) -> dict[str, Any]:
        """The shape Mastodon shows in ScheduledStatus ``params.poll``."""
        return {
            "options": list(self.options), "expires_in": self.expires_in,
            "multiple": self.multiple, "hide_totals": self.hide_totals,
        }


class _Remove:
    def __repr__(self) -> str:
        return "REMOVE"


#: An edit's ``poll`` that takes the poll away (``None`` keeps it as it is).
REMOVE: Any = _Remove()


def _flag(value: Any, name: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise Invalid(f"Validation failed: Poll {name} must be true or false")


def _seconds(value: Any) -> int:
    if value is None or value == "":
        raise Invalid("Validation failed: Poll expires in can't be blank")
    if isinstance(value, bool):
        raise Invalid("Validation failed: Poll expires in must be a number of seconds")
    try:
        number = float(value) if isinstance(value, (str, float)) else int(value)
    except (TypeError, ValueError, OverflowError):
        raise Invalid("Validation failed: Poll expires in must be a number of seconds") from None
    if number != number or number in (float("inf"), float("-inf")):  # NaN, infinities
        raise Invalid("Validation failed: Poll expires in must be a number of seconds")
    return int(number)


def parse_poll(raw: Any) -> PollDraft | None:
    """The ``poll`` parameter (a dict from JSON, form or multipart) as a validated draft;
    None when absent or empty. Breaking a limit is :class:`Invalid` (422)."""
    if raw is None or raw == {} or raw == "":
        return None
    if not isinstance(raw, dict):
        raise Invalid("Validation failed: Poll is invalid")
    options = raw.get("options")
    if isinstance(options, dict):  # poll[options][0]=… left as a dict by an odd client
        options = list(options.values())
    if options is None or options == "":
        options = []
    if not isinstance(options, list) or not all(isinstance(o, (str, int, float)) and not isinstance(o, bool) for o in options):
        raise Invalid("Validation failed: Poll options must be a list of texts")
    titles = [str(o) for o in options]
    if len(titles) < 2:
        raise Invalid("Validation failed: Poll options must have more than one item")
    if len(titles) > MAX_OPTIONS:
        raise Invalid(f"Validation failed: Poll options can't contain more than {MAX_OPTIONS} items")
    if any(not t.strip() for t in titles):
        raise Invalid("Validation failed: Poll options can't be blank")
    if any(len(t) > MAX_OPTION_CHARS for t in titles):
        raise Invalid(f"Validation failed: Poll options cannot be longer than {MAX_OPTION_CHARS} characters each")
    if len({t.strip() for t in titles}) != len(titles):
        raise Invalid("Validation failed: Poll options contain duplicate items")
    expires_in = _seconds(raw.get("expires_in"))
    if expires_in < MIN_EXPIRATION:
        raise Invalid("Validation failed: Poll expires at is too soon")
    if expires_in > MAX_EXPIRATION:
        raise Invalid("Validation failed: Poll expires at is too far into the future")
    return PollDraft(
        options=tuple(titles),
        expires_in=expires_in,
        multiple=_flag(raw.get("multiple"), "multiple"),
        hide_totals=_flag(raw.get("hide_totals"), "hide_totals"),
    )


def parse_edit(raw: Any, given: bool) -> Any:
    """An edit's ``poll``: None (not given: keep), :data:`REMOVE` (given empty or null),
    or a :class:`PollDraft`."""
    if not given:
        return None
    draft = parse_poll(raw)
    return REMOVE if draft is None else draft


def is_expired(poll: Poll, now: datetime | None = None) -> bool:
    if poll.closed_at is not None:
        return True
    if poll.expires_at is None:
        return False
    return poll.expires_at <= (now or datetime.now(timezone.utc))


def _media_conflict() -> Invalid:
    return Invalid("Validation failed: A post with a poll cannot have media attachments")


def _schedule_expiry(tx: Tx, poll: Poll) -> None:
    if poll.expires_at is not None:
        tx.enqueue(EXPIRE_JOB, {"poll_id": poll.id}, run_at=poll.expires_at)


# -- creating and editing ------------------------------------------------------------------


async def create_for_status(tx: Tx, status: Status, draft: PollDraft | None) -> Poll | None:
    """Attach a poll to a status being created (same transaction)."""
    if draft is None:
        return None
    if status.has_media:
        raise _media_conflict()
    now = datetime.now(timezone.utc)
    poll = Poll(
        status_id=status.id, account_id=status.account_id, options=list(draft.options),
        tallies=[0] * len(draft.options), multiple=draft.multiple, hide_totals=draft.hide_totals,
        expires_at=now + timedelta(seconds=draft.expires_in), votes_count=0, voters_count=0,
        created_at=now, updated_at=now,
    )
    tx.session.add(poll)
    await tx.session.flush()
    _schedule_expiry(tx, poll)
    return poll


async def _locked(tx: Tx, **where: int) -> Poll | None:
    """The poll, its row locked until the transaction ends (PostgreSQL; SQLite has one writer)."""
    query = select(Poll).filter_by(**where).with_for_update().execution_options(populate_existing=True)
    return await tx.session.scalar(query)  # type: ignore[no-any-return]


async def edit_for_status(tx: Tx, status: Status, change: Any, *, has_media: bool) -> bool:
    """Apply an edit's ``poll`` (see :func:`parse_edit`) to ``status``; True if the poll
    changed. New options (or a changed ``multiple``) discard the votes, as Mastodon;
    the poll runs ``expires_in`` from now."""
    if change is None:
        if has_media and await tx.session.scalar(select(Poll.id).where(Poll.status_id == status.id)):
            raise _media_conflict()
        return False
    existing = await _locked(tx, status_id=status.id)
    if change is REMOVE:
        if existing is None:
            return False
        await tx.session.delete(existing)
        await tx.session.flush()
        return True
    if not isinstance(change, PollDraft):
        raise TypeError(f"unexpected poll change {change!r}")
    if has_media:
        raise _media_conflict()
    if existing is None:
        await create_for_status(tx, status, change)
        return True
    now = datetime.now(timezone.utc)
    if list(change.options) != list(existing.options) or change.multiple != existing.multiple:
        await tx.session.execute(delete(PollVote).where(PollVote.poll_id == existing.id))
        existing.options = list(change.options)
        existing.tallies = [0] * len(change.options)
        existing.votes_count = 0
        existing.voters_count = 0
    existing.multiple = change.multiple
    existing.hide_totals = change.hide_totals
    existing.expires_at = now + timedelta(seconds=change.expires_in)
    existing.closed_at = None
    existing.updated_at = now
    await tx.session.flush()
    _schedule_expiry(tx, existing)
    return True


# -- voting --------------------------------------------------------------------------------


def _choices(raw: Any) -> list[int]:
    if raw is None or raw == "" or raw == []:
        raise Invalid("Validation failed: Choices can't be blank")
    items = raw if isinstance(raw, list) else [raw]
    out: list[int] = []
    for item in items:
        if isinstance(item, bool):
            raise Invalid("Validation failed: The chosen vote option does not exist")
        try:
            value = int(str(item).strip())
        except (TypeError, ValueError):
            raise Invalid("Validation failed: The chosen vote option does not exist") from None
        if value not in out:
            out.append(value)
    return out


async def visible_poll(session: Any, poll_id: int, viewer_id: int | None) -> tuple[Poll, Status]:
    """The poll and its status, if the viewer may see the status; else NotFound."""
    poll = await session.get(Poll, poll_id)
    if poll is None:
        raise NotFound()
    status = await session.get(Status, poll.status_id)
    if status is None or not await can_see(session, status, viewer_id):
        raise NotFound()
    return poll, status


async def vote(tx: Tx, voter_id: int, poll_id: int, raw_choices: Any) -> Poll:
    """Cast the voter's vote. 404 when the voter may not see the poll; 422 when it has
    ended, a choice does not exist, or the voter has voted (or tries several choices in a
    single-choice poll, which Mastodon reports as having voted)."""
    s = tx.session
    poll = await _locked(tx, id=poll_id)
    if poll is None:
        raise NotFound()
    status = await s.get(Status, poll.status_id)
    if status is None or not await can_see(s, status, voter_id):
        raise NotFound()
    choices = _choices(raw_choices)
    if is_expired(poll):
        raise Invalid("Validation failed: The poll has already ended")
    if any(c < 0 or c >= len(poll.options) for c in choices):
        raise Invalid("Validation failed: The chosen vote option does not exist")
    if voter_id == poll.account_id:
        raise Invalid("Validation failed: You cannot vote in your own polls")
    already = await s.scalar(select(PollVote.id).where(PollVote.poll_id == poll.id, PollVote.account_id == voter_id).limit(1))
    if already is not None or (not poll.multiple and len(choices) > 1):
        raise Invalid("Validation failed: You have already voted on this poll")
    now = datetime.now(timezone.utc)
    for choice in choices:
        s.add(PollVote(poll_id=poll.id, account_id=voter_id, choice=choice, created_at=now))
    tallies = [int(n) for n in poll.tallies] + [0] * (len(poll.options) - len(poll.tallies))
    for choice in choices:
        tallies[choice] += 1
    poll.tallies = tallies
    poll.votes_count += len(choices)
    poll.voters_count += 1
    poll.updated_at = now
    await s.flush()
    tx.emit(StatusCountsChanged(status_id=status.id))
    return poll


# -- expiry --------------------------------------------------------------------------------


async def close(tx: Tx, poll_id: int) -> bool:
    """Close a poll whose time is up and notify its voters and author; True if it did.
    Does nothing for a poll that is gone, closed already or (after an edit) not due yet."""
    s = tx.session
    poll = await _locked(tx, id=poll_id)
    now = datetime.now(timezone.utc)
    if poll is None or poll.closed_at is not None or poll.expires_at is None or poll.expires_at > now:
        return False
    status = await s.get(Status, poll.status_id)
    if status is None:
        return False
    poll.closed_at = now
    voters = sorted(set(await s.scalars(select(PollVote.account_id).where(PollVote.poll_id == poll.id))))
    for voter_id in voters:
        await notify(tx, voter_id, poll.account_id, "poll", status.id)
    # The author is told too; notify() skips one's own actions, so this one is made here.
    own = Notification(account_id=poll.account_id, from_account_id=poll.account_id, type="poll", status_id=status.id)
    s.add(own)
    await s.flush()
    tx.emit(
        NotificationCreated(
            notification_id=own.id, account_id=poll.account_id, type="poll",
            from_account_id=poll.account_id, status_id=status.id,
        )
    )
    tx.emit(StatusCountsChanged(status_id=status.id))
    return True


@handler(EXPIRE_JOB)
async def _expire_job(ctx: Context, payload: dict[str, Any]) -> None:
    try:
        poll_id = int(payload["poll_id"])
    except (KeyError, TypeError, ValueError):
        log.warning("poll.expire job without a poll id: %r", payload)
        return
    async with ctx.tx() as tx:
        await close(tx, poll_id)
