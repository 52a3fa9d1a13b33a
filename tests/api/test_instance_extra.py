"""The smaller instance documents (docs/api/instance.md) and the instance's ``uri``."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from szpak.api.routes import instance_extra
from szpak.api.routes.instance_extra import parse_rules, week_start, weekly_activity
from szpak.domain import statuses

from .domain_steps import act
from .mastodon_schema import assert_entity

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api"


async def test_peers_and_translation_languages_are_empty(client):
    assert (await client.get("/api/v1/instance/peers")).json() == []
    # No moderated servers, for anonymous callers and signed-in users alike.
    r = await client.get("/api/v1/instance/domain_blocks")
    assert r.status_code == 200 and r.json() == []
    ala = await client.make_user("ala")
    assert (await ala.get("/api/v1/instance/domain_blocks")).json() == []
    assert (await client.get("/api/v1/instance/translation_languages")).json() == {}


async def test_rules_default_and_configured(client):
    r = await client.get("/api/v1/instance/rules")
    assert r.status_code == 200
    rules = r.json()
    assert len(rules) == len(instance_extra.DEFAULT_RULES) and rules[0]["id"] == "1"
    for rule in rules:
        assert_entity(rule, "Rule")
    assert "nękania" in rules[0]["text"] and "harassment" in rules[0]["hint"]
    # The same rules in both instance documents.
    assert (await client.get("/api/v1/instance")).json()["rules"] == rules
    assert (await client.get("/api/v2/instance")).json()["rules"] == rules

    client.app.state.settings.rules = '["Bądź miły", {"text": "Bez spamu", "hint": "No spam"}]'
    assert (await client.get("/api/v1/instance/rules")).json() == [
        {"id": "1", "text": "Bądź miły", "hint": "", "translations": {}},
        {"id": "2", "text": "Bez spamu", "hint": "No spam", "translations": {}},
    ]
    assert len((await client.get("/api/v2/instance")).json()["rules"]) == 2


def test_rules_parsing():
    assert parse_rules("") == instance_extra.DEFAULT_RULES
    assert parse_rules("Pierwsza\n\n  Druga  \n") == [{"text": "Pierwsza", "hint": ""}, {"text": "Druga", "hint": ""}]
    assert parse_rules("[not json") == [{"text": "[not json", "hint": ""}]
    assert parse_rules('[{"hint": "no text"}, "ok"]') == [{"text": "ok", "hint": ""}]


async def test_languages_are_iso_639_1_with_names(client):
    langs = (await client.get("/api/v1/instance/languages")).json()
    codes = [lang["code"] for lang in langs]
    assert len(codes) > 150 and codes == sorted(codes)
    assert all(re.fullmatch(r"[a-z]{2}", c) for c in codes)
    names = {lang["code"]: lang["name"] for lang in langs}
    assert names["pl"] == "Polish" and names["en"] == "English"


async def test_text_documents(client):
    client.app.state.settings.contact_email = "admin@example.com"
    ext = (await client.get("/api/v1/instance/extended_description")).json()
    assert_entity(ext, "ExtendedDescription")
    assert "admin@example.com" in ext["content"] and "<ol>" in ext["content"]
    client.app.state.settings.title = "<Szpak & co>"
    assert "&lt;Szpak &amp; co&gt;" in (await client.get("/api/v1/instance/extended_description")).json()["content"]
    privacy = (await client.get("/api/v1/instance/privacy_policy")).json()
    assert_entity(privacy, "PrivacyPolicy")
    assert "Privacy policy" in privacy["content"] and privacy["updated_at"].endswith("Z")
    terms = (await client.get("/api/v1/instance/terms_of_service")).json()
    assert_entity(terms, "TermsOfService")
    assert terms["effective"] is True and re.fullmatch(r"\d{4}-\d{2}-\d{2}", terms["effective_date"])


async def test_activity_counts_twelve_weeks(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    st = await alice.post_status("Publiczny")
    await bob.post_status("Prywatny", visibility="private")
    await act(client, bob, statuses.reblog, int(st["id"]))
    r = await client.get("/api/v1/instance/activity")
    assert r.status_code == 200
    weeks = r.json()
    assert len(weeks) == 12
    assert all(set(w) == {"week", "statuses", "logins", "registrations"} for w in weeks)
    assert all(isinstance(v, str) for w in weeks for v in w.values())
    starts = [int(w["week"]) for w in weeks]
    assert starts == sorted(starts, reverse=True)
    assert all(a - b == 7 * 86400 for a, b in zip(starts, starts[1:]))
    assert datetime.fromtimestamp(starts[0], timezone.utc).weekday() == 0  # a Monday
    # Two posts and a reblog; two sign-ups, each with a token.
    assert weeks[0] == {**weeks[0], "statuses": "3", "registrations": "2", "logins": "2"}
    assert all(w["statuses"] == "0" for w in weeks[1:])


async def test_activity_buckets_by_week(client):
    await client.make_user("alice")
    later = datetime.now(timezone.utc) + timedelta(days=8)
    weeks = await weekly_activity(client.app.state.ctx, now=later)
    # A week later, this week's sign-up sits in the second entry.
    assert weeks[0]["registrations"] == "0" and weeks[1]["registrations"] == "1"
    assert week_start(datetime(2026, 11, 29, 23, 0, tzinfo=timezone.utc)) == datetime(2026, 11, 23, tzinfo=timezone.utc)


@pytest.mark.parametrize("host", ["localhost:3105", "szpak.example", "127.0.0.1:8080"])
async def test_uri_is_the_host_the_server_is_reached_at(client, host):
    v1 = (await client.get("/api/v1/instance", headers={"Host": host})).json()
    v2 = (await client.get("/api/v2/instance", headers={"Host": host})).json()
    assert v1["uri"] == host and v2["domain"] == host


async def test_a_malformed_host_falls_back_to_the_configured_domain(client):
    r = await client.get("/api/v1/instance", headers={"Host": "bad host/<x>"})
    assert r.status_code in (200, 400)
    if r.status_code == 200:
        assert r.json()["uri"] == "testserver"


def test_doc_names_every_endpoint():
    from fastapi.routing import APIRoute

    doc = (DOCS / "instance.md").read_text(encoding="utf-8")
    for route in instance_extra.router.routes:
        assert isinstance(route, APIRoute)
        for method in route.methods:
            assert f"`{method} {route.path}`" in doc, route.path
