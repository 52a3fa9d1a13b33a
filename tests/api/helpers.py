"""Response assertions shared by the API tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event


def ok(r: Any) -> Any:
    """The JSON body of a 200 response."""
    assert r.status_code == 200, r.text
    return r.json()


def error(r: Any, status: int) -> str:
    """The ``error`` text of a response with ``status``, which must be a non-empty string."""
    assert r.status_code == status, r.text
    body = r.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    return body["error"]  # type: ignore[no-any-return]


def links(r: Any) -> dict[str, str]:
    """rel → URL from a Link header."""
    out = {}
    for part in r.headers.get("link", "").split(","):
        url, _, rel = part.partition(";")
        if url.strip():
            out[rel.strip().removeprefix('rel="').removesuffix('"')] = url.strip()[1:-1]
    return out


@contextmanager
def read_statements(client: Any, *, selects_only: bool = False) -> Iterator[list[str]]:
    """Every SQL statement (or only the SELECTs) sent through the app's read engine while the
    block runs."""
    engine = client.app.state.ctx.db.read_engine.sync_engine
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not selects_only or statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
