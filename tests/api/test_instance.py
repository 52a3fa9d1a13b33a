"""Instance documents (v1, v2), custom emojis, preferences, NodeInfo and /health."""

from __future__ import annotations

from szpak import __version__
from szpak.domain import statuses

from .domain_steps import act, set_user, suspend
from .mastodon_schema import assert_entity


async def test_v2_instance_matches_the_spec(client):
    await client.make_user("owner", role="owner")
    r = await client.get("/api/v2/instance")
    assert r.status_code == 200
    doc = r.json()
    assert_entity(doc, "Instance")
    assert doc["domain"] == "testserver"
    assert doc["configuration"]["urls"]["streaming"] == "ws://testserver"
    assert doc["configuration"]["statuses"]["max_characters"] == client.app.state.settings.max_status_chars
    assert doc["configuration"]["accounts"]["max_pinned_statuses"] == 5
    assert doc["contact"]["account"]["username"] == "owner"
    assert doc["registrations"] == {**doc["registrations"], "enabled": True, "approval_required": False}
    assert doc["version"].startswith("4.") and f"Szpak {__version__}" in doc["version"]
    assert doc["api_versions"]["mastodon"] >= 2


async def test_v1_instance_matches_the_spec_and_counts(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    await client.make_user("gone")
    await alice.post_status("Pierwszy")
    st = await alice.post_status("Drugi")
    await bob.post_status("Prywatny", visibility="private")
    await act(client, bob, statuses.reblog, int(st["id"]))
    await suspend(client, await client.make_user("suspended"))
    r = await client.get("/api/v1/instance")
    assert r.status_code == 200
    doc = r.json()
    assert_entity(doc, "V1Instance")
    assert doc["uri"] == "testserver"
    assert doc["urls"] == {"streaming_api": "ws://testserver"}
    assert "urls" not in doc["configuration"]
    assert doc["configuration"]["statuses"]["max_characters"] == client.app.state.settings.max_status_chars
    # Three usable accounts; the two public posts (not the private one, not the reblog).
    assert doc["stats"] == {"user_count": 3, "status_count": 2, "domain_count": 0}
    assert doc["contact_account"] is None

    v2 = (await client.get("/api/v2/instance")).json()
    assert v2["usage"]["users"]["active_month"] == 2  # alice and bob posted


async def test_registration_modes_show_in_both_documents(client):
    client.app.state.settings.registrations = "approval"
    v1 = (await client.get("/api/v1/instance")).json()
    v2 = (await client.get("/api/v2/instance")).json()
    assert v1["registrations"] is True and v1["approval_required"] is True
    assert v2["registrations"]["approval_required"] is True
    client.app.state.settings.registrations = "closed"
    assert (await client.get("/api/v1/instance")).json()["registrations"] is False


async def test_custom_emojis_is_an_empty_list(client):
    r = await client.get("/api/v1/custom_emojis")
    assert r.status_code == 200 and r.json() == []


async def test_preferences_reflect_the_users_defaults(client):
    alice = await client.make_user("alice")
    r = await alice.get("/api/v1/preferences")
    assert r.status_code == 200
    assert_entity(r.json(), "Preferences")
    assert r.json()["posting:default:visibility"] == "public"
    assert r.json()["posting:default:language"] is None
    await set_user(client, alice, default_visibility="private", default_sensitive=True, default_language="pl")
    prefs = (await alice.get("/api/v1/preferences")).json()
    assert prefs["posting:default:visibility"] == "private"
    assert prefs["posting:default:sensitive"] is True
    assert prefs["posting:default:language"] == "pl"


async def test_preferences_needs_read_accounts(client):
    assert (await client.get("/api/v1/preferences")).status_code == 401
    writer = await client.make_user("writer", scopes="write")
    assert (await writer.get("/api/v1/preferences")).status_code == 403
    narrow = await client.make_user("narrow", scopes="read:accounts")
    assert (await narrow.get("/api/v1/preferences")).status_code == 200
    r = await client.get("/api/v1/preferences", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401


async def test_nodeinfo_discovery_and_documents(client):
    alice = await client.make_user("alice")
    await alice.post_status("Witaj")
    r = await client.get("/.well-known/nodeinfo")
    assert r.status_code == 200
    links = r.json()["links"]
    assert [link["href"] for link in links] == ["http://testserver/nodeinfo/2.0", "http://testserver/nodeinfo/2.1"]
    assert links[0]["rel"] == "http://nodeinfo.diaspora.software/ns/schema/2.0"
    for version in ("2.0", "2.1"):
        r = await client.get(f"/nodeinfo/{version}")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/json")
        assert f"schema/{version}#" in r.headers["content-type"]
        doc = r.json()
        assert doc["version"] == version
        assert doc["software"]["name"] == "szpak" and doc["software"]["version"] == __version__
        assert doc["usage"] == {"users": {"total": 1, "activeMonth": 1, "activeHalfyear": 1}, "localPosts": 1}
        assert doc["openRegistrations"] is True
        assert doc["protocols"] == [] and doc["services"] == {"inbound": [], "outbound": []}
    assert "repository" in (await client.get("/nodeinfo/2.1")).json()["software"]
    assert (await client.get("/nodeinfo/3.0")).status_code == 404


async def test_health(client):
    r = await client.get("/health")
    assert r.status_code == 200 and r.text == "OK"


def test_doc_names_every_endpoint():
    """docs/api/notifications-search.md lists every route of the modules it covers."""
    import re
    from pathlib import Path

    from fastapi.routing import APIRoute

    from szpak.api.routes import (
        bookmarks_favourites, instance, markers, notifications, notifications_v2, search, tags,
    )

    doc = (Path(__file__).resolve().parents[2] / "docs" / "api" / "notifications-search.md").read_text()
    missing = []
    for module in (notifications, notifications_v2, markers, search, bookmarks_favourites, tags, instance):
        for route in module.router.routes:
            assert isinstance(route, APIRoute)
            path = re.sub(r"\{\w+_id\}", ":id", route.path)
            path = re.sub(r"\{(\w+)\}", r":\1", path)
            for method in route.methods:
                if f"`{method} {path}`" not in doc:
                    missing.append(f"{method} {path}")
    assert not missing, missing
