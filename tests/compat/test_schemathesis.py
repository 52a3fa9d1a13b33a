"""schemathesis over the GET operations of the Mastodon OpenAPI description that Szpak
implements, against a real ``szpak serve`` (docs/compatibility.md).

Bounded: a few derandomized examples per operation plus one explicit case with ids
that exist, under a total time budget. Checks: no 5xx ever (never excusable), and
response schema conformance, where a mismatch must be fixed or listed in
docs/compatibility.md as the spec's error.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest

from .server import REPO, artifacts_dir, running_server

COMPAT_DOC = REPO / "docs" / "compatibility.md"
SPEC = REPO.parent / "shared" / "mastodon-api" / "openapi.json"
DOCUMENTED_HEADING = "### Documented schema mismatches"
#: ``| `GET /path` | `what the failure says` | reason |``
ROW = re.compile(r"^\|\s*`(GET [^`]+)`\s*\|\s*`([^`]+)`\s*\|")
#: Generated examples per operation (the explicit case comes on top).
MAX_EXAMPLES = 10
#: Seconds for all operations together; operations not reached are reported.
TIME_BUDGET = 150.0
#: Paths schemathesis leaves alone: endless streams.
EXCLUDED = re.compile(r"^/api/v1/streaming")
SCOPES = ["read", "write", "follow", "push"]

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("compat")]


def documented_mismatches() -> dict[str, list[str]]:
    """Operation -> the texts its documented mismatches contain (each failure of that
    operation must contain one of them, else it is a new, undocumented mismatch)."""
    text = COMPAT_DOC.read_text(encoding="utf-8")
    assert DOCUMENTED_HEADING in text, f"{COMPAT_DOC} lost its heading {DOCUMENTED_HEADING!r}"
    section = text.split(DOCUMENTED_HEADING, 1)[1].split("\n#", 1)[0]
    rows: dict[str, list[str]] = defaultdict(list)
    for line in section.splitlines():
        if m := ROW.match(line):
            rows[m.group(1)].append(m.group(2))
    return rows


def shape(path: str) -> str:
    """A path template with its parameter names dropped: ``/a/{id}`` -> ``/a/{}``."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def served_get_paths() -> set[str]:
    """Shapes of the GET routes the app serves (built without starting it)."""
    from szpak.app import create_app
    from szpak.config import Settings

    app = create_app(Settings(_env_file=None), migrate=False)  # type: ignore[call-arg]
    try:
        from fastapi.routing import iter_route_contexts

        routes: Any = iter_route_contexts(app.routes)
    except ImportError:  # older FastAPI: app.routes is already flat
        routes = app.routes
    return {shape(r.path) for r in routes if "GET" in (getattr(r, "methods", None) or ())}


async def seed_token(database_url: str, data_dir: Path) -> str:
    """Migrate, create alice and bob, and return a token of alice's holding every scope."""
    from szpak.config import Settings
    from szpak.domain import oauth
    from szpak.domain.accounts import create_user
    from szpak.domain.context import Context
    from szpak.realtime.bus import InProcessBus
    from szpak.storage.db import Database
    from szpak.storage.migrate import upgrade_async

    await upgrade_async(database_url)
    settings = Settings(database_url=database_url, data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
    ctx = Context(settings, Database(database_url, pool_size=2), InProcessBus())
    try:
        async with ctx.tx() as tx:
            for name in ("alice", "bob"):
                await create_user(tx, username=name, email=f"{name}@example.com", password="sekretne-haslo-123")
            token = await oauth.issue_cli_token(tx, "alice", SCOPES)
            bob = await oauth.issue_cli_token(tx, "bob", SCOPES)
    finally:
        await ctx.db.dispose()
    return f"{token} {bob}"


def seed(base: str, alice: str, bob: str) -> dict[str, str]:
    """Data for the ids in paths to point at: posts, a favourite, a reblog, a list..."""
    A = {"Authorization": f"Bearer {alice}"}
    B = {"Authorization": f"Bearer {bob}"}
    with httpx.Client(base_url=base, timeout=30) as c:
        def ok(r: httpx.Response) -> Any:
            assert r.status_code == 200, f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:300]}"
            return r.json()

        me = ok(c.get("/api/v1/accounts/verify_credentials", headers=A))
        them = ok(c.get("/api/v1/accounts/verify_credentials", headers=B))
        ok(c.post(f"/api/v1/accounts/{them['id']}/follow", headers=A))
        ok(c.post(f"/api/v1/accounts/{me['id']}/follow", headers=B))
        post = ok(c.post("/api/v1/statuses", headers=A, json={"status": "Witaj #szpak https://example.com/a"}))
        ok(c.post("/api/v1/statuses", headers=A, json={"status": "Tylko dla znajomych #szpak", "visibility": "private"}))
        theirs = ok(c.post("/api/v1/statuses", headers=B, json={"status": "Cześć @alice #szpak"}))
        ok(c.post("/api/v1/statuses", headers=A, json={"status": "Odpowiedź", "in_reply_to_id": theirs["id"]}))
        ok(c.post(f"/api/v1/statuses/{post['id']}/favourite", headers=B))
        ok(c.post(f"/api/v1/statuses/{post['id']}/reblog", headers=B))
        ok(c.post(f"/api/v1/statuses/{theirs['id']}/bookmark", headers=A))
        ok(c.put(f"/api/v1/statuses/{post['id']}", headers=A, json={"status": "Witaj #szpak https://example.com/a (edit)"}))
        lst = ok(c.post("/api/v1/lists", headers=A, json={"title": "Znajomi"}))
        ok(c.post(f"/api/v1/lists/{lst['id']}/accounts", headers=A, json={"account_ids": [them["id"]]}))
        notes = ok(c.get("/api/v1/notifications", headers=A))
    return {
        "account": me["id"], "status": post["id"], "list": lst["id"],
        "notification": notes[0]["id"] if notes else "1", "tag": "szpak", "acct": "alice",
    }


#: Which seeded id a path parameter gets, by the path's first segment after /api/vN/.
AREA = {"accounts": "account", "statuses": "status", "lists": "list", "notifications": "notification", "tags": "tag"}


def explicit_parameters(path: str, ids: dict[str, str]) -> dict[str, str] | None:
    names = re.findall(r"\{([^}]+)\}", path)
    if not names:
        return {}
    parts = path.split("/")
    area = parts[3] if len(parts) > 3 else ""
    if area == "timelines" and len(parts) > 4:
        area = {"tag": "tags", "list": "lists"}.get(parts[4], area)
    key = AREA.get(area)
    if key is None:
        return None
    return {name: ids[key] for name in names}


EXPLICIT_QUERY = {
    "/api/v1/accounts/lookup": {"acct": "alice"},
    "/api/v1/accounts/search": {"q": "ali"},
    "/api/v2/search": {"q": "szpak"},
    "/api/v1/accounts/relationships": {"id[]": "1"},
    "/api/v1/statuses": {"id[]": "1"},
}


def test_get_operations_conform_to_the_mastodon_description(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], record_property: Any
) -> None:
    if not SPEC.exists():
        pytest.skip(f"{SPEC} is not present (../shared exists only in CI and on developers' machines)")
    schemathesis = pytest.importorskip("schemathesis", reason="schemathesis 4 is in the test extras")
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.core.failures import FailureGroup
    from schemathesis.specs.openapi.checks import response_schema_conformance

    documented = documented_mismatches()
    raw = json.loads(SPEC.read_text(encoding="utf-8"))
    served = served_get_paths()
    kept: dict[str, Any] = {}
    for path, item in raw["paths"].items():
        if "get" in item and shape(path) in served and not EXCLUDED.match(path):
            kept[path] = {k: v for k, v in item.items() if k in ("get", "parameters")}
    assert len(kept) >= 40, f"only {len(kept)} GET operations of the description matched Szpak's routes"
    spec = {**raw, "paths": kept}
    schema = schemathesis.openapi.from_dict(spec)

    data_dir = tmp_path / "server"
    data_dir.mkdir()
    examples = 0
    tested: list[str] = []
    server_errors: dict[str, list[str]] = defaultdict(list)
    mismatches: dict[str, list[str]] = defaultdict(list)
    errors: dict[str, list[str]] = defaultdict(list)
    not_reached: list[str] = []
    with running_server(data_dir) as server:
        alice, bob = asyncio.run(seed_token(server.database_url, data_dir)).split()
        ids = seed(server.base_url, alice, bob)
        auth = {"Authorization": f"Bearer {alice}"}
        started = time.monotonic()
        import requests

        session = requests.Session()

        def exercise(label: str, case: Any) -> None:
            nonlocal examples
            examples += 1
            try:
                response = case.call(base_url=server.base_url, headers=auth, session=session, timeout=30)
            except Exception as exc:  # a connection dropped mid-answer counts as a server error
                server_errors[label].append(f"{case.formatted_path}: {type(exc).__name__}: {exc}"[:500])
                return
            if response.status_code >= 500:
                server_errors[label].append(
                    f"{response.status_code} for {response.request.url}: {response.text[:300]}"
                )
                return
            try:
                case.validate_response(response, checks=[response_schema_conformance], headers=auth)
            except FailureGroup as group:
                for failure in group.exceptions:
                    where = re.search(r"Schema at (\S+?):?$", failure.message, re.M)
                    mismatches[label].append(
                        f"{response.status_code} {failure.title}: {failure.message.splitlines()[0][:300]}"
                        + (f" (at {where.group(1)})" if where else "")
                        + f" for {response.request.url}"[:400]
                    )

        for result in schema.get_all_operations():
            operation = result.ok()
            label = f"GET {operation.path}"
            if time.monotonic() - started > TIME_BUDGET:
                not_reached.append(label)
                continue
            tested.append(label)
            params = explicit_parameters(operation.path, ids)
            if params is not None:
                query = EXPLICIT_QUERY.get(operation.path, {})
                exercise(label, operation.Case(path_parameters=params, query=query))

            @settings(
                max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate],
            )
            @given(case=operation.as_strategy())
            def generated(case: Any) -> None:
                exercise(label, case)

            try:
                generated()
            except Exception as exc:  # schemathesis could not build cases for this operation
                errors[label].append(f"{type(exc).__name__}: {str(exc)[:300]}")
        elapsed = time.monotonic() - started

    undocumented = sorted(
        op for op, found in mismatches.items()
        if any(not any(text in m for text in documented.get(op, ())) for m in found)
    )
    fixed = sorted(
        f"{op} ({text})" for op, texts in documented.items() for text in texts
        if op in tested and not any(text in m for m in mismatches.get(op, ()))
    )
    lines = [
        f"schemathesis {schemathesis.__version__ if hasattr(schemathesis, '__version__') else ''}: "
        f"{len(tested)} GET operations tested ({len(kept)} of the description's match Szpak's routes), "
        f"{examples} examples in {elapsed:.0f}s; {sum(map(len, server_errors.values()))} server errors, "
        f"{len(mismatches)} operations with schema mismatches ({len(undocumented)} not documented), "
        f"{len(not_reached)} not reached in the time budget, {len(errors)} not generated",
    ]
    for title, table in (("server errors", server_errors), ("schema mismatches", mismatches), ("generation errors", errors)):
        for op in sorted(table):
            lines.append(f"\n[{title}] {op}" + (" (documented)" if op in documented and title == "schema mismatches" else ""))
            # Undocumented ones first: those are what a reader of a failure needs to see.
            known = documented.get(op, ()) if title == "schema mismatches" else ()
            shown = sorted(set(table[op]), key=lambda m: (any(text in m for text in known), m))
            lines += [f"    {m}" for m in shown[:5]]
    if not_reached:
        lines.append("\nnot reached: " + ", ".join(not_reached))
    report = "\n".join(lines)
    (artifacts_dir() / "schemathesis-summary.txt").write_text(report + "\n")
    with capsys.disabled():
        print("\n" + lines[0])
    record_property("figures", lines[0])

    problems = []
    if server_errors:
        problems.append("server errors (5xx) - never acceptable: " + ", ".join(sorted(server_errors)))
    if undocumented:
        problems.append("schema mismatches not listed in docs/compatibility.md: " + ", ".join(undocumented))
    if fixed:
        problems.append("documented mismatches that no longer happen (drop them from the table): " + ", ".join(fixed))
    if not_reached:
        problems.append(f"{len(not_reached)} operations not reached within {TIME_BUDGET:.0f}s")
    assert not problems, "\n".join(problems) + "\n\n" + report[:12000]
