"""Mastodon pagination: ``max_id``, ``since_id``, ``min_id``, ``limit``, and ``Link`` headers.

- ``max_id``: return results older than this id.
- ``since_id``: return results newer than this id (newest first).
- ``min_id``: return results immediately newer than this id (the page just above it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request, Response
from sqlalchemy import Select

T = TypeVar("T")


def _as_id(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        n = int(value)
    except ValueError:
        return None
    return n if 0 <= n < 2**63 else None


@dataclass
class Page:
    max_id: int | None
    since_id: int | None
    min_id: int | None
    limit: int

    def apply(self, query: Select[Any], column: Any) -> Select[Any]:
        """Filter and order ``query`` by ``column`` (an id) and cap it at ``limit``."""
        if self.max_id is not None:
            query = query.where(column < self.max_id)
        if self.since_id is not None:
            query = query.where(column > self.since_id)
        if self.min_id is not None:
            query = query.where(column > self.min_id)
            return query.order_by(column.asc()).limit(self.limit)
        return query.order_by(column.desc()).limit(self.limit)

    def finish(self, rows: Sequence[T]) -> list[T]:
        """Rows come newest first, whatever the direction the query ran in."""
        return list(reversed(rows)) if self.min_id is not None else list(rows)


def page_params(default: int = 20, maximum: int = 40) -> Any:
    """Dependency: the page asked for. One function reading ``request.query_params``
    rather than four ``Query`` parameters: FastAPI's per-parameter solving cost more than
    the home page's statements (docs/performance.md). Same leniency as before: a value that
    is not a valid id or number is ignored (the last of repeated values counts)."""

    # async on purpose: FastAPI runs plain-function dependencies on a thread pool.
    async def dependency(request: Request) -> Page:
        q = request.query_params
        if not q:
            return Page(None, None, None, max(1, min(default, maximum)))
        limit = q.get("limit")
        try:
            n = int(limit) if limit not in (None, "") else default
        except ValueError:
            n = default
        n = max(1, min(n, maximum))
        return Page(_as_id(q.get("max_id")), _as_id(q.get("since_id")), _as_id(q.get("min_id")), n)

    return dependency


def link_header(request: Request, response: Response, ids: Sequence[int], *, extra: dict[str, str] | None = None) -> None:
    """Set ``Link: <...max_id=oldest>; rel="next", <...min_id=newest>; rel="prev"``."""
    if not ids:
        return
    base = str(request.url).partition("?")[0]
    q = request.query_params
    if not q and not extra:  # the common case: nothing to carry over
        nxt, prev = f"max_id={min(ids)}", f"min_id={max(ids)}"
    else:
        kept = [(k, v) for k, v in q.multi_items() if k not in ("max_id", "min_id", "since_id")]
        if extra:
            kept += list(extra.items())
        nxt = urlencode(kept + [("max_id", str(min(ids)))])
        prev = urlencode(kept + [("min_id", str(max(ids)))])
    response.headers["Link"] = f'<{base}?{nxt}>; rel="next", <{base}?{prev}>; rel="prev"'
