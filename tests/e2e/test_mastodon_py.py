"""Mastodon.py, unmodified, against a real ``szpak serve``: the proof that existing
Mastodon clients work. One server for the module (see conftest.py)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mastodon import Mastodon, MastodonAPIError, MastodonNotFoundError, MastodonUnauthorizedError

from szpak import cli

from .server import Server

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e-mastodon-py")]

PASSWORD = "haslo-do-testow"
USERS = ("alice", "bob", "carol")
OOB = "urn:ietf:wg:oauth:2.0:oob"


@pytest.fixture(scope="module")
def world(server: Server) -> Iterator[Server]:
    """The server, with users made by ``szpak users create`` against its database."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in server.env().items():
            if key.startswith("SZPAK_"):
                mp.setenv(key, value)
        for name in USERS:
            assert cli.main(["users", "create", name, "--email", f"{name}@example.com", "--password", PASSWORD]) == 0
    yield server


@pytest.fixture(scope="module")
def client_app(world: Server) -> tuple[str, str]:
    return Mastodon.create_app("Szpak e2e", api_base_url=world.base_url, redirect_uris=OOB)


def login(world: Server, client_app: tuple[str, str], name: str, **kw: Any) -> Mastodon:
    api = Mastodon(client_id=client_app[0], client_secret=client_app[1], api_base_url=world.base_url, **kw)
    api.log_in(name, PASSWORD, allow_http=True)
    return api


@pytest.fixture(scope="module")
def alice(world: Server, client_app: tuple[str, str]) -> Mastodon:
    return login(world, client_app, "alice")


@pytest.fixture(scope="module")
def bob(world: Server, client_app: tuple[str, str]) -> Mastodon:
    return login(world, client_app, "bob@example.com")


def test_create_app_and_verify(world: Server, client_app: tuple[str, str], alice: Mastodon) -> None:
    client_id, client_secret = client_app
    assert client_id and client_secret
    app = alice.app_verify_credentials()
    assert app.name == "Szpak e2e"


def test_log_in_with_username_or_email(world: Server, client_app: tuple[str, str]) -> None:
    for login_name in ("carol", "carol@example.com", "CAROL"):
        me = login(world, client_app, login_name).account_verify_credentials()
        assert me.username == "carol" and me.acct == "carol"
    with pytest.raises(Exception, match="Invalid user name, password"):
        Mastodon(client_id=client_app[0], client_secret=client_app[1], api_base_url=world.base_url).log_in(
            "carol", "wrong-password", allow_http=True
        )


def test_version_check(world: Server, client_app: tuple[str, str]) -> None:
    """The default mode ("none") and "created" work. ("changed" refuses every method whose
    return type changed after 4.3.0, e.g. instance_v2 in 4.6.0: that is what advertising
    4.3.0 means, not a Szpak fault.)"""
    for mode in ("none", "created"):
        api = Mastodon(api_base_url=world.base_url, version_check_mode=mode)
        assert api.retrieve_mastodon_version() == "4.3.0"
        assert api.verify_minimum_version("4.3.0", cached=True)
        assert api.instance().version == "4.3.0 (compatible; Szpak 0.1.0)"
    api = login(world, client_app, "carol", version_check_mode="created")
    assert api.account_verify_credentials().username == "carol"


def test_post_read_delete(alice: Mastodon) -> None:
    st = alice.status_post("Dzień dobry z Mastodon.py #Kraków", language="pl")
    assert st.account.username == "alice" and "Kraków" in st.content
    assert alice.status(st.id).content == st.content
    deleted = alice.status_delete(st.id)
    assert deleted.text == "Dzień dobry z Mastodon.py #Kraków"
    with pytest.raises(MastodonNotFoundError):
        alice.status(st.id)


def test_follow_and_paginate_home(alice: Mastodon, bob: Mastodon) -> None:
    alice_id = alice.account_verify_credentials().id
    rel = bob.account_follow(alice_id)
    assert rel.following
    posted = [alice.status_post(f"Wpis numer {i}").id for i in range(7)]
    page = bob.timeline_home(limit=3)
    seen: list[str] = []
    while page:
        assert len(page) <= 3
        seen += [s.id for s in page]
        page = bob.fetch_next(page)
    mine = [i for i in seen if i in posted]
    assert mine == list(reversed(posted)), "newest first, each post exactly once across pages"


def test_notifications(alice: Mastodon, bob: Mastodon, world: Server, client_app: tuple[str, str]) -> None:
    carol = login(world, client_app, "carol")
    alice_id = alice.account_verify_credentials().id
    carol.account_follow(alice_id)
    st = carol.status_post("@alice spójrz na to!")
    kinds = {(n.type, n.account.username) for n in alice.notifications()}
    assert ("follow", "carol") in kinds and ("mention", "carol") in kinds
    mention = next(n for n in alice.notifications(types=["mention"]) if n.account.username == "carol")
    assert mention.status.id == st.id


def test_reblog_and_favourite(alice: Mastodon, bob: Mastodon) -> None:
    st = alice.status_post("Podbij mnie")
    boosted = bob.status_reblog(st.id)
    assert boosted.reblog.id == st.id and boosted.reblogged
    faved = bob.status_favourite(st.id)
    assert faved.favourited and faved.favourites_count == 1
    again = alice.status(st.id)
    assert again.reblogs_count == 1 and again.favourites_count == 1
    kinds = {(n.type, n.account.username) for n in alice.notifications()}
    assert ("reblog", "bob") in kinds and ("favourite", "bob") in kinds


def test_update_credentials(bob: Mastodon) -> None:
    me = bob.account_update_credentials(display_name="Bob Budowniczy", note="Buduję mosty w Krakowie.")
    assert me.display_name == "Bob Budowniczy"
    again = bob.account_verify_credentials()
    assert again.display_name == "Bob Budowniczy" and "mosty" in again.note
    assert again.source.note == "Buduję mosty w Krakowie."


def test_search_v2(alice: Mastodon, bob: Mastodon) -> None:
    alice.status_post("Tramwaje w Krakowie znowu stoją #tramwaje")
    results = bob.search_v2("tramwaje")
    assert any(t.name == "tramwaje" for t in results.hashtags)
    accounts = bob.search_v2("alice", result_type="accounts").accounts
    assert any(a.username == "alice" for a in accounts)


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs of the consent form, whatever the template's attribute order."""
    fields = {}
    for tag in re.findall(r"<input\b[^>]*>", page):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', tag))
        if attrs.get("type") == "hidden" and "name" in attrs:
            fields[attrs["name"]] = html.unescape(attrs.get("value", ""))
    return fields


def test_authorization_code_flow(world: Server, client_app: tuple[str, str]) -> None:
    """Mastodon.py builds the URL; a 'browser' (httpx) logs in and approves; the code
    shown out of band goes back to Mastodon.py."""
    api = Mastodon(client_id=client_app[0], client_secret=client_app[1], api_base_url=world.base_url)
    url = api.auth_request_url(redirect_uris=OOB, scopes=["read", "write"], state="e2e-state", allow_http=True)
    with httpx.Client() as browser:
        page = browser.get(url)
        assert page.status_code == 200, page.text
        fields = hidden_fields(page.text)
        shown = browser.post(
            f"{world.base_url}/oauth/authorize",
            data={**fields, "login": "carol", "password": PASSWORD, "decision": "approve"},
        )
    match = re.search(r'<code id="code">([^<]+)</code>', shown.text)
    assert match, shown.text
    api.log_in(code=match.group(1), redirect_uri=OOB, scopes=["read", "write"], allow_http=True)
    assert api.account_verify_credentials().username == "carol"


def test_userinfo(world: Server, alice: Mastodon) -> None:
    """Mastodon.py's ``oauth_userinfo`` insists on https, so call it with its token."""
    r = httpx.get(f"{world.base_url}/oauth/userinfo", headers={"Authorization": f"Bearer {alice.access_token}"})
    assert r.status_code == 200 and r.json()["preferred_username"] == "alice"


def test_create_account(world: Server, client_app: tuple[str, str]) -> None:
    api = Mastodon(client_id=client_app[0], client_secret=client_app[1], api_base_url=world.base_url)
    api.create_account("dave", "dlugie-haslo-dave", "dave@example.com", agreement=True, locale="pl")
    assert api.account_verify_credentials().username == "dave"


def test_revoke(world: Server, client_app: tuple[str, str]) -> None:
    api = login(world, client_app, "carol")
    api.account_verify_credentials()
    token = api.access_token
    api.revoke_access_token(allow_http=True)
    stale = Mastodon(access_token=token, api_base_url=world.base_url)
    with pytest.raises(MastodonUnauthorizedError):
        stale.account_verify_credentials()


def test_errors_reach_the_client(alice: Mastodon) -> None:
    with pytest.raises(MastodonAPIError) as raised:
        alice.status_post("x" * 600)
    assert "character limit" in str(raised.value)


def test_server_log_is_clean(world: Server) -> None:
    """No tracebacks while Mastodon.py was talking to the server (runs last in the module)."""
    assert "Traceback" not in world.log(), world.log()[-3000:]
