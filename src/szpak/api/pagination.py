"""Mastodon pagination: ``max_id``, ``since_id``, ``min_id``, ``limit``, and ``Link`` headers.

- ``max_id``: return results older than this id.
- ``since_id``: return results newer than this id (newest first).
- ``min_id``: return results immediately newer than this id (the page just above it).

``limit`` and ``offset`` are read the same way on every list endpoint (``limit_value``,
``offset_value``; ``limit_field``/``OFFSET_FIELD`` in a ``Params`` model), as Mastodon
reads them: a list request is never refused for either.

- ``limit``: Mastodon's ``[params[:limit].to_i.abs, max].min``: the leading integer of the
  value (``12abc`` is 12, ``5.9`` is 5), its absolute value (``-5`` is 5), capped at the
  endpoint's maximum. Missing, empty or with no leading number (``abc``): the endpoint's
  default. ``0`` (where Mastodon would answer an empty page) is 1: one item, and a ``Link``
  header to go on from. (``GET /api/v1/lists/:id/accounts`` reads a literal ``limit=0`` as
  "every member" before this, as Mastodon does.)
- ``offset``: negative, missing or junk is 0. Endpoints with a deepest offset they serve
  (search, directory) answer an empty list beyond it, as past the end of the results.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request, Response
from pydantic import BeforeValidator
from sqlalchemy import Select

T = TypeVar("T")

#: The leading integer of a value, as Ruby's ``String#to_i`` finds it.
_LEADING_INT = re.compile(r"\s*([+-]?\d+)", re.ASCII)
#: Numbers read from a parameter saturate here: far beyond any page or offset, and within
#: the 64-bit integers SQLite and PostgreSQL take.
HUGE = 2**62


def read_int(value: object) -> int | None:
    """The integer a query parameter starts with (``" 12abc"`` is 12, ``"-5"`` is -5), or
    None when it starts with none (``"abc"``, ``""``, a list from ``limit[]=``). Huge
    values saturate at ±``HUGE``: never an error, never an overflow in a query."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return max(-HUGE, min(value, HUGE))
    if not isinstance(value, str):
        return None
    if value.isascii() and value.isdigit() and len(value) < 19:  # the common case, without the regex
        return int(value)
    m = _LEADING_INT.match(value)
    if m is None:
        return None
    digits = m.group(1)
    if len(digits) > 19 and len(digits.lstrip("+-").lstrip("0")) > 19:  # int() of thousands of digits is refused
        return -HUGE if digits[0] == "-" else HUGE
    return max(-HUGE, min(int(digits), HUGE))


def limit_value(value: object, default: int, maximum: int) -> int:
    """``limit`` as Mastodon reads it (module docstring): ``|n|`` capped at ``maximum``;
    the default when there is no number; 0 is 1."""
    n = read_int(value)
    if n is None:
        return max(1, min(default, maximum))
    return max(1, min(abs(n), maximum))


def offset_value(value: object) -> int:
    """``offset``: 0 when missing, junk or negative; at most ``HUGE``."""
    n = read_int(value)
    return n if n is not None and n > 0 else 0


def limit_field(default: int, maximum: int) -> BeforeValidator:
    """A ``Params`` field read by ``limit_value``:
    ``limit: Annotated[int, limit_field(40, 80)] = 40``."""
    return BeforeValidator(lambda value: limit_value(value, default, maximum))


#: A ``Params`` field read by ``offset_value``: ``offset: Annotated[int, OFFSET_FIELD] = 0``.
OFFSET_FIELD = BeforeValidator(offset_value)


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
    the home page's statements (docs/performance.md). A value that is not a valid id is
    ignored, ``limit`` is read by ``limit_value`` (the last of repeated values counts)."""

    # async on purpose: FastAPI runs plain-function dependencies on a thread pool.
    async def dependency(request: Request) -> Page:
        q = request.query_params
        if not q:
            return Page(None, None, None, max(1, min(default, maximum)))
        n = limit_value(q.get("limit"), default, maximum)
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
