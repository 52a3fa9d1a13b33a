"""Typed domain events.

Actions record events on the transaction (``Tx.emit``); they are published on the
bus only after the transaction commits, so a consumer (a streaming client, the
listening pipeline, analytics) never sees a change that was rolled back. Events
carry ids and the facts needed to route them, not rendered payloads: each
consumer loads and renders what it needs for its own viewer.

Every event round-trips through ``to_dict``/``from_dict`` so that the Redis bus
can carry it between processes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    name: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["event"] = self.name
        return data

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Event:
        data = dict(data)
        cls = EVENT_TYPES[data.pop("event")]
        kwargs = {}
        for f in dataclasses.fields(cls):
            if f.name in data:
                value = data[f.name]
                kwargs[f.name] = tuple(value) if isinstance(value, list) else value
        return cls(**kwargs)


@dataclass(frozen=True)
class StatusCreated(Event):
    """A post or a reblog became visible to its audience."""

    name: ClassVar[str] = "status.created"
    status_id: int
    account_id: int
    visibility: str
    #: Local accounts mentioned (the audience of a direct post).
    mentioned_ids: tuple[int, ...] = ()
    tag_names: tuple[str, ...] = ()
    reblog_of_id: int | None = None
    #: Author of the reblogged status, when this is a reblog.
    reblog_of_account_id: int | None = None
    in_reply_to_account_id: int | None = None
    has_media: bool = False
    local: bool = True
    language: str | None = None
    #: The post this one answers (its replies_count changed).
    in_reply_to_id: int | None = None


@dataclass(frozen=True)
class StatusUpdated(Event):
    name: ClassVar[str] = "status.updated"
    status_id: int
    account_id: int
    visibility: str
    mentioned_ids: tuple[int, ...] = ()
    tag_names: tuple[str, ...] = ()
    has_media: bool = False
    local: bool = True


@dataclass(frozen=True)
class StatusDeleted(Event):
    name: ClassVar[str] = "status.deleted"
    status_id: int
    account_id: int
    visibility: str
    mentioned_ids: tuple[int, ...] = ()
    tag_names: tuple[str, ...] = ()
    reblog_of_id: int | None = None
    has_media: bool = False
    local: bool = True
    in_reply_to_id: int | None = None


@dataclass(frozen=True)
class StatusCountsChanged(Event):
    """A status's favourites, reblogs or replies count changed without the status itself
    changing (a favourite, an unfavourite): rendered copies of it are stale."""

    name: ClassVar[str] = "status.counts_changed"
    status_id: int


@dataclass(frozen=True)
class NotificationCreated(Event):
    name: ClassVar[str] = "notification.created"
    notification_id: int
    account_id: int  # recipient
    type: str
    from_account_id: int
    status_id: int | None = None


@dataclass(frozen=True)
class RelationshipChanged(Event):
    """A follow, unfollow, block, unblock, mute or unmute between two accounts."""

    name: ClassVar[str] = "relationship.changed"
    account_id: int
    target_account_id: int
    kind: str  # 'follow' | 'unfollow' | 'block' | 'unblock' | 'mute' | 'unmute' | 'follow_request'


@dataclass(frozen=True)
class ListChanged(Event):
    """A list's members or settings changed, or the list was deleted (domain/lists.py)."""

    name: ClassVar[str] = "list.changed"
    list_id: int
    #: The list's owner.
    account_id: int
    kind: str  # 'updated' | 'deleted' | 'added' | 'removed'
    #: Accounts added or removed.
    member_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class AccountUpdated(Event):
    name: ClassVar[str] = "account.updated"
    account_id: int
    #: The account's posts render differently too (a moderator's sensitive mark set or lifted).
    statuses: bool = False


@dataclass(frozen=True)
class TokenRevoked(Event):
    """Tells every process to drop its cached copy of a token."""

    name: ClassVar[str] = "token.revoked"
    token_hash: str
    user_id: int | None = None


@dataclass(frozen=True)
class FiltersChanged(Event):
    name: ClassVar[str] = "filters.changed"
    account_id: int


@dataclass(frozen=True)
class Custom(Event):
    """For subsystems that need a one-off event without a schema change here."""

    name: ClassVar[str] = "custom"
    topic: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MentionCreated(Event):
    """Brand listening: a post matched an organisation's tracked query."""

    name: ClassVar[str] = "mention.created"
    mention_id: int
    organisation_id: int
    query_id: int
    status_id: int
    sentiment: str | None = None


@dataclass(frozen=True)
class MentionUpdated(Event):
    """A mention was re-matched after an edit, or its sentiment was corrected."""

    name: ClassVar[str] = "mention.updated"
    mention_id: int
    organisation_id: int
    query_id: int
    status_id: int
    sentiment: str | None = None


@dataclass(frozen=True)
class MentionDeleted(Event):
    """A mention left the lists: its post was deleted or no longer matches."""

    name: ClassVar[str] = "mention.deleted"
    mention_id: int
    organisation_id: int
    query_id: int
    status_id: int


@dataclass(frozen=True)
class AlertRaised(Event):
    """Brand listening: a volume or negative-share spike on a tracked query."""

    name: ClassVar[str] = "listening.alert"
    alert_id: int
    organisation_id: int
    query_id: int
    kind: str


EVENT_TYPES: dict[str, type[Event]] = {
    cls.name: cls
    for cls in (
        StatusCountsChanged,
        StatusCreated, StatusUpdated, StatusDeleted, NotificationCreated, RelationshipChanged, ListChanged,
        AccountUpdated, TokenRevoked, FiltersChanged, Custom,
        MentionCreated, MentionUpdated, MentionDeleted, AlertRaised,
    )
}
