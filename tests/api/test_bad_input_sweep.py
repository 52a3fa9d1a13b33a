"""Bad input never crashes the server: walk every route under /api/ and send it hostile
input with a token holding every scope (an admin's, so admin routes run their code too).

For every route (except endless streams and WebSockets):

- path parameters that are huge (2**70, 2**64), negative, zero, non-numeric, carry a NUL
  byte (``%00``) or odd unicode;
- the query string and the body (JSON, form, multipart) with every field the route's
  request model knows (plus common ones) set to: NUL bytes, 100k-character strings,
  lists, objects, nested arrays, huge and negative numbers;
- bodies that are not objects (a JSON array, a number, ``null``), malformed JSON,
  invalid UTF-8 in form and JSON bodies, empty bodies, bogus content types.

The rule: never a 5xx, and every 4xx is ``{"error": "<non-empty string>"}``. Both on
SQLite and on PostgreSQL (``SZPAK_TEST_DATABASE_URL``), which refuses NUL bytes in text
and integers beyond BIGINT, so input that slips through to a query shows up there as a 500.
"""

from __future__ import annotations

import inspect
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import orjson
from fastapi import FastAPI, Request
from pydantic import BaseModel
from sqlalchemy import select

from szpak.api.params import read_params
from szpak.domain import oauth

from .test_scopes import route_keys

#: Endless or long-lived responses: not swept.
SKIP = re.compile(r"/streaming|/listening/stream$")
LONG = "x" * 100_000
NUL = "a\x00b"
HUGE = str(2**70)

#: Path parameter values (already URL-encoded where it matters).
BAD_PATH_VALUES = [
    HUGE, str(2**63), "-1", "abc", "1%00", "%00", quote("żółć☃\U0001f600"), "%FF%FE", "x" * 2000,
]

#: Fields sent to every route besides those its own request model declares.
COMMON_FIELDS = [
    "id", "q", "limit", "max_id", "since_id", "min_id", "offset", "type", "status", "account_id",
    "status_ids", "media_ids", "title", "name", "description", "scheduled_at", "expires_in", "poll",
    "local", "remote", "types", "exclude_types", "context", "keywords_attributes", "comment", "domain",
    "choices", "visibility", "language", "note", "display_name", "fields_attributes", "focus",
]


@dataclass
class Result:
    method: str
    url: str
    what: str
    status: int
    body: str


@dataclass
class Sweep:
    """Collects what went wrong; counts requests so the sweep can't silently do nothing."""

    client: Any
    headers: dict[str, str]
    ids: dict[str, str]
    problems: list[Result] = field(default_factory=list)
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)

    async def send(self, method: str, url: str, what: str, **kw: Any) -> None:
        headers = {**self.headers, **kw.pop("headers", {})}
        self.sent += 1
        try:
            r = await self.client.request(method, url, headers=headers, **kw)
        except Exception as exc:  # the app raised through the transport: a 500 on a real server
            self.problems.append(Result(method, url[:160], f"{what}: raised", 500, repr(exc)[:300]))
            return
        self.statuses[r.status_code] += 1
        problem = judge(r.status_code, r.content)
        if problem:
            self.problems.append(Result(method, url[:160], f"{what}: {problem}", r.status_code, r.text[:300]))


def judge(status: int, content: bytes) -> str | None:
    """Why this response breaks the rule (None when it doesn't)."""
    if status >= 500:
        return "a 5xx"
    if 400 <= status < 500:
        try:
            data = orjson.loads(content)
        except orjson.JSONDecodeError:
            return "a 4xx without a JSON body"
        if not isinstance(data, dict) or not isinstance(data.get("error"), str) or not data["error"].strip():
            return 'a 4xx without {"error": "<text>"}'
    return None


def model_fields(route: Any) -> set[str]:
    """Field names of the pydantic models the route's dependencies validate against
    (``body(Model)`` / ``query(Model)`` keep the model in their closure)."""
    names: set[str] = set()
    seen: set[int] = set()

    def visit_call(call: Any) -> None:
        if call is None or id(call) in seen:
            return
        seen.add(id(call))
        for cell in getattr(call, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if inspect.isclass(value) and issubclass(value, BaseModel):
                for name, info in value.model_fields.items():
                    names.add(info.alias or name)

    def visit(dependant: Any) -> None:
        visit_call(dependant.call)
        for param in list(dependant.query_params) + list(dependant.body_params):
            names.add(param.alias)
            annotation = getattr(param, "type_", None) or getattr(getattr(param, "field_info", None), "annotation", None)
            if inspect.isclass(annotation) and issubclass(annotation, BaseModel):  # a FastAPI body model
                names.update(info.alias or name for name, info in annotation.model_fields.items())
        for sub in dependant.dependencies:
            visit(sub)

    dependant = getattr(route, "dependant", None)
    if dependant is not None:
        visit(dependant)
    return names


def api_routes(app: FastAPI) -> Iterator[tuple[str, str, Any]]:
    by_path: dict[str, Any] = {}
    for route in app.routes:
        path = getattr(route, "path", None)
        if path:
            by_path.setdefault(path, route)
    for key in sorted(set(route_keys(app))):
        method, path = key.split(" ", 1)
        if method in ("WS", "MOUNT") or SKIP.search(path):
            continue
        route = next(
            (r for r in app.routes if getattr(r, "path", None) == path and method in (getattr(r, "methods", None) or ())),
            by_path.get(path),
        )
        yield method, path, route


def order(item: tuple[str, str, Any]) -> tuple[int, str, str]:
    """Destructive calls (deletes, admin actions, suspensions) last, so valid ids stay valid."""
    method, path, _ = item
    late = method == "DELETE" or "/admin/" in path or path.endswith(("/block", "/mute", "/reject"))
    return (1 if late else 0, path, method)


def fill(path: str, ids: dict[str, str], override: tuple[str, str] | None = None) -> str:
    def one(m: re.Match[str]) -> str:
        name = m.group(1).split(":")[0]
        if override and name == override[0]:
            return override[1]
        return ids.get(name, "1")

    return re.sub(r"\{([^}]+)\}", one, path)


def scalar_values() -> list[tuple[str, Any]]:
    return [
        ("NUL", NUL),
        ("100k chars", LONG),
        ("huge int", 2**70),
        ("negative", -(2**63) - 1),
        ("list", ["a\x00", 2**70]),
        ("object", {"a": {"b": NUL}}),
        ("nested arrays", [[[NUL]], [[]]]),
    ]


def query_string(names: list[str], value: Any) -> str:
    """The query string for one hostile value for every name (lists and objects the Rails way)."""
    pairs: list[tuple[str, str]] = []
    for name in names:
        if isinstance(value, list):
            pairs += [(f"{name}[]", str(v)) for v in value if not isinstance(v, list)]
            pairs.append((f"{name}[][]", NUL))
        elif isinstance(value, dict):
            pairs.append((f"{name}[a][b]", NUL))
        elif value is None:
            pairs.append((name, ""))
        else:
            pairs.append((name, str(value).lower() if isinstance(value, bool) else str(value)))
    return "&".join(f"{quote(k, safe='[]')}={quote(v, safe='')}" for k, v in pairs)


async def sweep_route(sweep: Sweep, method: str, path: str, route: Any) -> None:
    base = fill(path, sweep.ids)
    names = sorted(model_fields(route) | set(COMMON_FIELDS))

    # Path parameters, one at a time, every bad value.
    for param in re.findall(r"\{([^}:]+)(?::[^}]*)?\}", path):
        for bad in BAD_PATH_VALUES:
            await sweep.send(method, fill(path, sweep.ids, (param, bad)), f"path {param}={bad[:20]!r}")

    # The query string: every variant for GET; other methods merge it into the body
    # (api/params.py), which gets every variant below, so one NUL query is enough there.
    for label, value in scalar_values():
        if method != "GET" and label != "NUL":
            continue
        if value is LONG:
            value = "x" * 1200  # httpx refuses URLs over 64k; the 100k string goes in bodies
        await sweep.send(method, f"{base}?{query_string(names, value)}", f"query {label}")
    await sweep.send(method, f"{base}?limit=%00&max_id=%FF&q=%C3%28&id[]=%FF", "query invalid utf-8")

    if method == "GET":
        return
    # Bodies.
    for label, value in scalar_values():
        await sweep.send(method, base, f"JSON body {label}", json={n: value for n in names})
        if isinstance(value, str):
            form = {n: str(value) for n in names}
            await sweep.send(method, base, f"form body {label}", data=form)
    await sweep.send(method, base, "form lists", content=query_string(names, ["1", NUL]).encode(),
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    await sweep.send(method, base, "form objects", content=query_string(names, {"a": 1}).encode(),
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    await sweep.send(method, base, "multipart NUL", data={n: NUL for n in names},
                     files={"file": ("a\x00.jpg", b"\x00\xff\xfe not an image", "image/jpeg")})
    for label, raw, ctype in [
        ("JSON array", b"[1, 2, 3]", "application/json"),
        ("JSON number", b"42", "application/json"),
        ("JSON malformed", b'{"a": ', "application/json"),
        ("JSON invalid utf-8", b'{"status": "\xff\xfe"}', "application/json"),
        ("JSON deep nesting", b"[" * 5000 + b"]" * 5000, "application/json"),
        ("empty JSON", b"", "application/json"),
        ("empty form", b"", "application/x-www-form-urlencoded"),
        ("form invalid utf-8", b"status=%FF%FE&q=\xff\xfe&\xff=1&" + "&".join(f"{n}=%C3%28" for n in names).encode(), "application/x-www-form-urlencoded"),
        ("multipart without boundary", b"--x\r\n", "multipart/form-data"),
        ("multipart broken", b"--b\r\nContent-Disposition: form-data; name=\"status\"\r\n\r\nx", "multipart/form-data; boundary=b"),
        ("bogus content type", b"status=hello", "application/x-bogus"),
        ("no content type", b"\x00\x01\x02", ""),
        ("invalid content type", b"{}", "\x7f;;;==="),
    ]:
        headers = {"Content-Type": ctype} if ctype else {}
        await sweep.send(method, base, label, content=raw, headers=headers)


async def make_fixtures(client: Any) -> tuple[dict[str, str], dict[str, str]]:
    """An admin holding every scope, a second account, and objects whose ids the sweep uses."""
    admin = await client.make_user("sweeper", scopes=" ".join(sorted(oauth.ALL_SCOPES)), role="admin")
    other = await client.make_user("target")
    ids = {"account_id": other.id}
    st = await admin.post_status("do przeczesania #sweep", poll={"options": ["tak", "nie"], "expires_in": 3600})
    ids["status_id"] = st["id"]
    if st.get("poll"):
        ids["poll_id"] = st["poll"]["id"]
    ids["name"] = ids["hashtag"] = "sweep"

    async def created(url: str, key: str, payload: dict[str, Any], pick: Any = lambda j: j["id"]) -> None:
        r = await admin.post(url, json=payload)
        if r.status_code == 200:
            ids[key] = str(pick(r.json()))

    await created("/api/v1/lists", "list_id", {"title": "lista"})
    await created("/api/v2/filters", "filter_id", {"title": "f", "context": ["home"], "keywords_attributes": [{"keyword": "kot"}]})
    if "filter_id" in ids:
        r = await admin.get(f"/api/v2/filters/{ids['filter_id']}/keywords")
        if r.status_code == 200 and r.json():
            ids["keyword_id"] = r.json()[0]["id"]
    await created("/api/v1/reports", "report_id", {"account_id": other.id, "comment": "spam"})
    await created("/api/v1/featured_tags", "featured_id", {"name": "sweep"})
    await created("/api/szpak/v1/organisations", "organisation_id", {"username": "przeczesywacze"})
    if "organisation_id" in ids:  # (no webhook: its ping would go out to the network)
        await created(f"/api/szpak/v1/organisations/{ids['organisation_id']}/queries", "query_id", {"query": "kawa"})
    return ids, admin.headers


async def run_sweep(client: Any) -> Sweep:
    ids, headers = await make_fixtures(client)
    sweep = Sweep(client, headers, ids)
    for method, path, route in sorted(api_routes(client.app), key=order):
        await sweep_route(sweep, method, path, route)
    return sweep


def report(sweep: Sweep) -> str:
    lines = [f"{r.method} {r.url[:90]} [{r.what}] -> {r.status} {r.body}" for r in sweep.problems[:60]]
    more = len(sweep.problems) - 60
    return "\n".join(lines) + (f"\n... and {more} more" if more > 0 else "")


async def test_bad_input_never_crashes(client: Any) -> None:
    started = time.monotonic()
    sweep = await run_sweep(client)
    elapsed = time.monotonic() - started
    assert sweep.sent > 2000, f"only {sweep.sent} requests were sent; is the route walk broken?"
    assert not sweep.problems, f"{len(sweep.problems)} bad responses of {sweep.sent}:\n" + report(sweep)
    # The requests got past authentication into the routes (a dead token would pass the
    # rule above trivially with 401s).
    assert sweep.statuses[401] + sweep.statuses[403] < sweep.sent // 20, sweep.statuses
    assert sweep.statuses[200] > 500 and sweep.statuses[422] > 1000, sweep.statuses
    assert {"status_id", "poll_id", "list_id", "filter_id", "keyword_id", "report_id", "featured_id", "organisation_id", "query_id"} <= set(sweep.ids), sweep.ids
    assert elapsed < 150, f"the sweep took {elapsed:.0f}s"


def test_the_judge_notices_bad_answers() -> None:
    assert judge(500, b'{"error": "Internal server error"}') == "a 5xx"
    assert judge(404, b"Not Found") == "a 4xx without a JSON body"
    assert judge(422, b'{"detail": []}') == 'a 4xx without {"error": "<text>"}'
    assert judge(422, b'{"error": ""}') == 'a 4xx without {"error": "<text>"}'
    assert judge(422, b'{"error": "Validation failed: x"}') is None
    assert judge(200, b"[]") is None


async def test_the_sweep_notices_a_crashing_route(client: Any) -> None:
    """Honesty check: a route that lets a NUL byte (or a huge id) through to the database
    is caught by the same machinery."""
    app = client.app

    @app.post("/api/v1/sweep_canary/{thing_id}")
    async def canary(thing_id: str, request: Request) -> Any:
        data = await read_params(request)
        if int(thing_id) > 2**63 or any("\x00" in str(v) for v in data.values()):
            raise RuntimeError("reached the database")
        return {}

    try:
        ids, headers = await make_fixtures(client)
        sweep = Sweep(client, headers, ids)
        route = next(r for r in app.routes if getattr(r, "path", "") == "/api/v1/sweep_canary/{thing_id}")
        await sweep_route(sweep, "POST", route.path, route)
        whats = {r.what.split(":")[0] for r in sweep.problems}
        assert any(w.startswith("path thing_id=") for w in whats), report(sweep)
        assert "JSON body NUL" in whats and "form body NUL" in whats and "multipart NUL" in whats, whats
        assert "query NUL" in whats, whats
    finally:
        app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", "") != "/api/v1/sweep_canary/{thing_id}"]


async def test_values_the_database_refuses_are_422(client: Any) -> None:
    """The backstop in api/errors.py: a NUL byte in text (PostgreSQL refuses it) or an
    integer beyond 64 bits (asyncpg and sqlite3 refuse it) that reaches a query is a 422
    with an error body, on both databases, not a 500."""
    from szpak.storage.models import Status, Tag

    app = client.app
    path = "/api/v1/sweep_backstop/{kind}"

    @app.get(path)
    async def backstop(kind: str) -> Any:
        async with app.state.ctx.read() as s:
            if kind == "nul":
                found = await s.scalar(select(Tag.id).where(Tag.name == "a\x00b"))
            else:
                found = await s.scalar(select(Status.id).where(Status.id == 2**70))
        return {"found": found}

    try:
        nul = await client.get("/api/v1/sweep_backstop/nul")
        expected = 200 if client.app.state.ctx.db.is_sqlite else 422  # SQLite stores NUL; no such tag
        assert nul.status_code == expected and judge(nul.status_code, nul.content) is None, nul.text
        if expected == 422:
            assert nul.json()["error"] == "Validation failed: text must not contain NUL bytes"
        huge = await client.get("/api/v1/sweep_backstop/int")
        assert huge.status_code == 422 and huge.json()["error"] == "Validation failed: a number is out of range", huge.text
    finally:
        app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", "") != path]
