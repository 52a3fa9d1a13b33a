"""Stream names as Mastodon clients spell them, and what each one needs.

A subscription is identified by a ``StreamKey``: the tuple a WebSocket frame
carries in its ``stream`` field, e.g. ``("user",)``, ``("hashtag", "kraków")``
or ``("list", "42")``. Both transports (WebSocket and server-sent events) parse
requests into keys here, so they accept and reject exactly the same things.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

StreamKey = tuple[str, ...]

#: Streams that belong to the viewer's own account.
ACCOUNT_STREAMS = frozenset({"user", "user:notification", "direct"})


@dataclass(frozen=True, slots=True)
class PublicFilter:
    """Which public posts a public stream carries (as the REST public timeline's flags)."""

    #: ``True``: local posts only; ``False``: remote only; ``None``: both.
    local: bool | None
    only_media: bool


PUBLIC_STREAMS: dict[str, PublicFilter] = {
    "public": PublicFilter(None, False),
    "public:media": PublicFilter(None, True),
    "public:local": PublicFilter(True, False),
    "public:local:media": PublicFilter(True, True),
    "public:remote": PublicFilter(False, False),
    "public:remote:media": PublicFilter(False, True),
}
HASHTAG_STREAMS = frozenset({"hashtag", "hashtag:local"})
ALL_STREAMS = ACCOUNT_STREAMS | set(PUBLIC_STREAMS) | HASHTAG_STREAMS | {"list"}

#: Server-sent events paths under ``/api/v1/streaming/`` and the stream each one opens.
SSE_PATHS: dict[str, str] = {
    "user": "user",
    "user/notification": "user:notification",
    "public": "public",
    "public/local": "public:local",
    "public/remote": "public:remote",
    "hashtag": "hashtag",
    "hashtag/local": "hashtag:local",
    "list": "list",
    "direct": "direct",
}


class StreamError(Exception):
    """A subscription the server refuses; ``status`` follows HTTP (400, 401, 403, 404)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def normalize_tag(raw: str) -> str:
    """The tag key as stored (``Tag.name``): lower-cased, without ``#`` (as the REST tag timeline)."""
    return raw.strip().lower().lstrip("#")


def _truthy(value: object) -> bool:
    return str(value).lower() in ("1", "true", "yes", "on")


def with_media_flag(name: str, params: Mapping[str, object]) -> str:
    """``/streaming/public?only_media=true`` means the ``public:media`` stream (as Mastodon)."""
    if name in PUBLIC_STREAMS and not name.endswith(":media") and _truthy(params.get("only_media", "")):
        return f"{name}:media"
    return name


def parse_stream(name: object, params: Mapping[str, object]) -> StreamKey:
    """Turn a stream name and its ``tag``/``list`` parameter into a key, or raise StreamError."""
    if not isinstance(name, str) or not name:
        raise StreamError(400, "No stream specified")
    if name in ACCOUNT_STREAMS or name in PUBLIC_STREAMS:
        return (name,)
    if name in HASHTAG_STREAMS:
        tag = normalize_tag(str(params.get("tag") or ""))
        if not tag:
            raise StreamError(400, "No tag for stream provided")
        return (name, tag)
    if name == "list":
        raw = str(params.get("list") or "").strip()
        if not raw:
            raise StreamError(400, "No list for stream provided")
        if not raw.isdigit():
            raise StreamError(404, "Not authorized to stream this list")
        return (name, raw)
    raise StreamError(400, "Unknown stream type")


def required_scope(key: StreamKey) -> str:
    """The OAuth scope a token needs for this stream (``read`` covers each of them)."""
    if key[0] == "user:notification":
        return "read:notifications"
    if key[0] == "list":
        return "read:lists"
    return "read:statuses"
