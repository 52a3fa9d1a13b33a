"""Tracked queries: CRUD, roles, clear 422s for malformed queries, the version counter,
and the OpenAPI description of the listening API."""

from __future__ import annotations

import time
from typing import Any

import pytest

from szpak.listening.queries import current_version

from .conftest import P, add_member, make_org, track


async def version(client: Any) -> int:
    async with client.app.state.ctx.read() as s:
        return await current_version(s)


async def test_query_crud(client: Any) -> None:
    ala = await client.make_user("ala")
    org = await make_org(ala)
    v0 = await version(client)
    r = await ala.post(
        f"{P}/organisations/{org}/queries",
        json={"query": 'Skarpetkowo OR "skarpetki antyzapachowe" -praca', "name": "Marka", "category": "brand"},
    )
    assert r.status_code == 200, r.text
    q = r.json()
    assert (q["name"], q["category"], q["organisation_id"]) == ("Marka", "brand", org)
    assert await version(client) == v0 + 1

    # A name defaults to the query; the category to "other".
    qid2 = await track(ala, org, "#skarpetki")
    listed = (await ala.get(f"{P}/organisations/{org}/queries")).json()
    assert [(x["id"], x["name"], x["category"]) for x in listed] == [
        (q["id"], "Marka", "brand"), (qid2, "#skarpetki", "other"),
    ]
    r = await ala.patch(f"{P}/organisations/{org}/queries/{q['id']}", json={"query": "Skarpetkowo lang:pl", "category": "product"})
    assert r.status_code == 200 and (r.json()["query"], r.json()["category"], r.json()["name"]) == (
        "Skarpetkowo lang:pl", "product", "Marka",
    )
    assert await version(client) == v0 + 3
    # Renaming alone doesn't make processes rebuild their matcher.
    r = await ala.put(f"{P}/organisations/{org}/queries/{q['id']}", json={"name": "Sklep"})
    assert r.status_code == 200 and r.json()["name"] == "Sklep"
    assert await version(client) == v0 + 3
    assert (await ala.get(f"{P}/organisations/{org}/queries/{q['id']}")).json()["name"] == "Sklep"
    assert (await ala.delete(f"{P}/organisations/{org}/queries/{q['id']}")).status_code == 200
    assert (await ala.get(f"{P}/organisations/{org}/queries/{q['id']}")).status_code == 404
    assert await version(client) == v0 + 4


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("(Orlen OR Lotos", "unbalanced"),
        ("Orlen)", "unbalanced"),
        ('""', "empty"),
        ("()", "empty"),
        ("   ", "empty"),
        ("Orlen AND", "AND"),
        ("NOT Orlen", ""),
        ("lang:xx Orlen", "lang"),
        ("?!", ""),
    ],
)
async def test_malformed_queries_get_a_clear_422(client: Any, query: str, expected: str) -> None:
    ala = await client.make_user("ala")
    org = await make_org(ala)
    r = await ala.post(f"{P}/organisations/{org}/queries", json={"query": query})
    assert r.status_code == 422, r.text
    message = r.json()["error"]
    assert message.startswith("Validation failed: Query "), message
    assert expected.lower() in message.lower()
    assert (await ala.get(f"{P}/organisations/{org}/queries")).json() == []


async def test_error_says_where(client: Any) -> None:
    ala = await client.make_user("ala")
    org = await make_org(ala)
    r = await ala.post(f"{P}/organisations/{org}/queries", json={"query": "Orlen AND (cena OR"})
    assert r.status_code == 422 and "position" in r.json()["error"]


async def test_a_10000_term_paste_is_refused_fast(client: Any) -> None:
    ala = await client.make_user("ala")
    org = await make_org(ala)
    paste = " OR ".join(f"marka{i}" for i in range(10_000))
    started = time.perf_counter()
    r = await ala.post(f"{P}/organisations/{org}/queries", json={"query": paste})
    elapsed = time.perf_counter() - started
    assert r.status_code == 422
    assert "limit" in r.json()["error"]
    assert elapsed < 1.0
    # 500 terms under the character limit: refused at the 501st term.
    terms = " ".join(f"m{i}" for i in range(600))
    r = await ala.post(f"{P}/organisations/{org}/queries", json={"query": terms})
    assert r.status_code == 422 and "terms" in r.json()["error"]
    # Not even a JSON string: 422 too.
    r = await ala.post(f"{P}/organisations/{org}/queries", json={"query": ["a", "b"]})
    assert r.status_code == 422


async def test_invalid_names_and_categories(client: Any) -> None:
    ala = await client.make_user("ala")
    org = await make_org(ala)
    assert (await ala.post(f"{P}/organisations/{org}/queries", json={"query": "x", "category": "boss"})).status_code == 422
    assert (await ala.post(f"{P}/organisations/{org}/queries", json={"query": "x", "name": " "})).status_code == 422
    assert (await ala.post(f"{P}/organisations/{org}/queries", json={"query": "x", "name": "n" * 101})).status_code == 422
    qid = await track(ala, org, "Orlen")
    assert (await ala.patch(f"{P}/organisations/{org}/queries/{qid}", json={"query": "(x"})).status_code == 422
    assert (await ala.get(f"{P}/organisations/{org}/queries/{qid}")).json()["query"] == "Orlen"


async def test_nul_bytes_are_refused_with_a_clear_422(client: Any) -> None:
    """PostgreSQL cannot store NUL in text: the routes say so themselves, on both databases."""
    ala = await client.make_user("ala")
    org = await make_org(ala)
    for body in ({"query": "Orlen\u0000"}, {"query": "Orlen", "name": "Mar\u0000ka"}):
        r = await ala.post(f"{P}/organisations/{org}/queries", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["error"].startswith("Validation failed: ") and "NUL byte" in r.json()["error"]
    # The escape written by hand in the raw JSON body: the same.
    r = await ala.client.post(f"{P}/organisations/{org}/queries", content=b'{"query": "a\\u0000b"}',
                              headers={**ala.headers, "Content-Type": "application/json"})
    assert r.status_code == 422 and "NUL" in r.json()["error"]
    assert (await ala.get(f"{P}/organisations/{org}/queries")).json() == []
    qid = await track(ala, org, "Orlen")
    for method in (ala.patch, ala.put):
        for body in ({"query": "x\u0000"}, {"name": "\u0000"}):
            r = await method(f"{P}/organisations/{org}/queries/{qid}", json=body)
            assert r.status_code == 422 and "NUL" in r.json()["error"], r.text
    q = (await ala.get(f"{P}/organisations/{org}/queries/{qid}")).json()
    assert (q["query"], q["name"]) == ("Orlen", "Orlen")
    for path in ("mentions", "mentions/stats"):
        r = await ala.get(f"{P}/organisations/{org}/{path}?language=p%00l")
        assert r.status_code == 422, r.text
        assert r.json() == {"error": "Validation failed: language must not contain a NUL byte"}
        assert (await ala.get(f"{P}/organisations/{org}/{path}?language=pl")).status_code == 200


async def test_query_limit(client: Any) -> None:
    client.app.state.ctx.settings.listening_max_queries = 2
    ala = await client.make_user("ala")
    org = await make_org(ala)
    await track(ala, org, "a1")
    await track(ala, org, "a2")
    r = await ala.post(f"{P}/organisations/{org}/queries", json={"query": "a3"})
    assert r.status_code == 422 and "at most 2" in r.json()["error"]


async def test_roles_and_outsiders(client: Any) -> None:
    ala = await client.make_user("ala")
    bartek = await client.make_user("bartek")
    celina = await client.make_user("celina")
    obcy = await client.make_user("obcy")
    org = await make_org(ala)
    other = await make_org(obcy, "konkurencja")
    await add_member(ala, org, bartek, "agent")
    await add_member(ala, org, celina, "analyst")
    qid = await track(bartek, org, "Skarpetkowo")  # agents manage queries
    # Analysts read only.
    assert (await celina.get(f"{P}/organisations/{org}/queries")).status_code == 200
    assert (await celina.get(f"{P}/organisations/{org}/queries/{qid}")).status_code == 200
    assert (await celina.post(f"{P}/organisations/{org}/queries", json={"query": "x"})).status_code == 403
    assert (await celina.patch(f"{P}/organisations/{org}/queries/{qid}", json={"name": "x"})).status_code == 403
    assert (await celina.delete(f"{P}/organisations/{org}/queries/{qid}")).status_code == 403
    # Outsiders see nothing; another organisation's query id is not found through yours.
    assert (await obcy.get(f"{P}/organisations/{org}/queries")).status_code == 403
    assert (await obcy.get(f"{P}/organisations/{org}/queries/{qid}")).status_code == 403
    assert (await obcy.get(f"{P}/organisations/{other}/queries/{qid}")).status_code == 404
    assert (await obcy.delete(f"{P}/organisations/{other}/queries/{qid}")).status_code == 404
    # No token, wrong scope.
    assert (await client.get(f"{P}/organisations/{org}/queries")).status_code == 401
    reader = await client.make_user("reader", scopes="read")
    await add_member(ala, org, reader, "owner")
    assert (await reader.post(f"{P}/organisations/{org}/queries", json={"query": "x"})).status_code == 403
    writer = await client.make_user("writer", scopes="write")
    await add_member(ala, org, writer, "owner")
    assert (await writer.get(f"{P}/organisations/{org}/queries")).status_code == 403


async def test_try_a_query_without_saving(client: Any) -> None:
    ala = await client.make_user("ala")
    org = await make_org(ala)
    r = await ala.post(
        f"{P}/organisations/{org}/queries/test",
        json={"query": "Skarpetkowo AND skarpeta", "text": "Kupiłam skarpetki w Skarpetkowie, polecam"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["matches"] is True
    assert sorted(r.json()["forms"]) == ["skarpetki", "skarpetkowie"]
    r = await ala.post(f"{P}/organisations/{org}/queries/test", json={"query": "Skarpetkowo lang:en", "text": "Skarpetkowo", "language": "pl"})
    assert r.json() == {"matches": False, "terms": [], "forms": []}
    r = await ala.post(f"{P}/organisations/{org}/queries/test", json={"query": "(", "text": "x"})
    assert r.status_code == 422
    assert (await ala.get(f"{P}/organisations/{org}/queries")).json() == []


async def test_listening_api_is_in_the_openapi_document(client: Any) -> None:
    doc = (await client.get("/api/openapi.json")).json()
    paths = doc["paths"]
    for path, method in [
        ("/api/szpak/v1/organisations", "post"),
        ("/api/szpak/v1/organisations/{organisation_id}/members", "post"),
        ("/api/szpak/v1/organisations/{organisation_id}/tokens", "post"),
        ("/api/szpak/v1/organisations/{organisation_id}/queries", "post"),
        ("/api/szpak/v1/organisations/{organisation_id}/queries/{query_id}", "patch"),
        ("/api/szpak/v1/organisations/{organisation_id}/mentions", "get"),
        ("/api/szpak/v1/organisations/{organisation_id}/mentions/stats", "get"),
        ("/api/szpak/v1/mentions/{mention_id}/sentiment", "put"),
        ("/api/szpak/v1/organisations/{organisation_id}/alerts", "get"),
        ("/api/szpak/v1/organisations/{organisation_id}/webhooks", "post"),
        ("/api/szpak/v1/organisations/{organisation_id}/listening/stream", "get"),
    ]:
        assert method in paths[path], (path, method)
    schemas = doc["components"]["schemas"]
    assert {"MentionOut", "AlertOut", "QueryOut", "WebhookOut", "CreateQuery", "StatsOut"} <= set(schemas)
    mentions_op = paths["/api/szpak/v1/organisations/{organisation_id}/mentions"]["get"]
    assert {p["name"] for p in mentions_op["parameters"]} >= {"query_id", "sentiment", "since", "until"}
