"""``POST /api/v1/reports`` (docs/api/moderation.md)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from szpak.storage.models import Report

from .domain_steps import suspend

pytestmark = pytest.mark.xdist_group("reports")


async def reports_in_db(client: Any) -> list[Report]:
    async with client.app.state.ctx.read() as s:
        return list(await s.scalars(select(Report).order_by(Report.id)))


async def test_report_an_account_with_statuses(client: Any) -> None:
    ala, bob = await client.make_user("ala"), await client.make_user("bob")
    one = await bob.post_status("spam 1")
    two = await bob.post_status("spam 2")
    r = await ala.post(
        "/api/v1/reports",
        data={"account_id": bob.id, "status_ids[]": [one["id"], two["id"]], "comment": "Same spam", "category": "spam",
              "forward": "false"},
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["action_taken"] is False and report["action_taken_at"] is None
    assert (report["category"], report["comment"], report["forwarded"]) == ("spam", "Same spam", False)
    assert sorted(report["status_ids"]) == sorted([one["id"], two["id"]])
    assert report["rule_ids"] is None
    assert report["target_account"]["id"] == bob.id and report["target_account"]["acct"] == "bob"
    (row,) = await reports_in_db(client)
    assert (str(row.account_id), str(row.target_account_id)) == (ala.id, bob.id)


async def test_defaults(client: Any) -> None:
    ala, bob = await client.make_user("ala"), await client.make_user("bob")
    r = await ala.post("/api/v1/reports", json={"account_id": bob.id})
    assert r.status_code == 200, r.text
    assert (r.json()["category"], r.json()["comment"], r.json()["status_ids"]) == ("other", "", None)


async def test_only_statuses_of_that_account_the_reporter_can_see(client: Any) -> None:
    ala, bob, cyd = [await client.make_user(n) for n in ("ala", "bob", "cyd")]
    others = await cyd.post_status("cyd's")
    secret = await bob.post_status("for followers", visibility="private")
    for sid in (others["id"], secret["id"], "123456789"):
        r = await ala.post("/api/v1/reports", json={"account_id": bob.id, "status_ids": [sid]})
        assert r.status_code == 404, r.text
    assert await reports_in_db(client) == []
    # Once ala follows bob, the private post may be reported.
    await ala.follow(bob)
    r = await ala.post("/api/v1/reports", json={"account_id": bob.id, "status_ids": [secret["id"]]})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"account_id": "abc"},
        {"account_id": "BOB", "comment": "x" * 1001},
        {"account_id": "BOB", "category": "rude"},
        {"account_id": "BOB", "comment": ["list"]},
        {"account_id": "BOB", "status_ids": ["x"]},
        {"account_id": "BOB", "rule_ids": ["1"]},  # this server defines no rules
        {"account_id": "BOB", "forward": "perhaps"},
        {"account_id": "ME"},
    ],
)
async def test_bad_input(client: Any, body: dict[str, Any]) -> None:
    ala, bob = await client.make_user("ala"), await client.make_user("bob")
    body = {k: (bob.id if v == "BOB" else ala.id if v == "ME" else v) for k, v in body.items()}
    r = await ala.post("/api/v1/reports", json=body)
    assert r.status_code == 422, r.text
    assert "error" in r.json()
    assert await reports_in_db(client) == []


async def test_unknown_or_suspended_account_is_not_found(client: Any) -> None:
    ala, bob = await client.make_user("ala"), await client.make_user("bob")
    assert (await ala.post("/api/v1/reports", json={"account_id": "99999"})).status_code == 404
    await suspend(client, bob)
    assert (await ala.post("/api/v1/reports", json={"account_id": bob.id})).status_code == 404


async def test_comment_of_exactly_1000_characters(client: Any) -> None:
    ala, bob = await client.make_user("ala"), await client.make_user("bob")
    r = await ala.post("/api/v1/reports", json={"account_id": bob.id, "comment": "ż" * 1000})
    assert r.status_code == 200, r.text


async def test_scope_and_token(client: Any) -> None:
    ala = await client.make_user("ala", scopes="read")
    bob = await client.make_user("bob")
    assert (await client.post("/api/v1/reports", json={"account_id": bob.id})).status_code == 401
    assert (await ala.post("/api/v1/reports", json={"account_id": bob.id})).status_code == 403
    writer = await client.make_user("cyd", scopes="write:reports")
    assert (await writer.post("/api/v1/reports", json={"account_id": bob.id})).status_code == 200
