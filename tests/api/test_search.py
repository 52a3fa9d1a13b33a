"""/api/v2/search (statuses by Polish lemma, hashtags by folded prefix, accounts, local
URLs and handles) and /api/v1/tags/:name with its 7-day history."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import select

from szpak.domain import relationships, statuses
from szpak.domain.statuses import StatusDraft
from szpak.storage.ids import id_for_time
from szpak.storage.models import Status, StatusTag, Tag
from szpak.storage.search import SQL_FOLDS, midnight
from szpak.text import fold

from .domain_steps import act, set_account
from .mastodon_schema import assert_entity


async def _search(user: Any, q: str, **params: Any) -> dict[str, Any]:
    r = await user.get("/api/v2/search", params={"q": q, **params})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def _status_ids(user: Any, q: str, **params: Any) -> list[str]:
    found = await _search(user, q, type="statuses", **params)
    assert found["accounts"] == [] and found["hashtags"] == []
    return [s["id"] for s in found["statuses"]]


# -- statuses --------------------------------------------------------------------------


async def test_statuses_match_any_inflected_form_without_diacritics(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    socks = await alice.post_status("Kupiłam dziś nowe skarpetki w Łodzi")
    turtle = await alice.post_status("Widziałem żółwia w parku")
    await alice.post_status("Zupełnie inny temat")

    assert await _status_ids(bob, "skarpetek") == [socks["id"]]
    assert await _status_ids(bob, "SKARPETKA") == [socks["id"]]
    assert await _status_ids(bob, "lodz") == [socks["id"]]
    assert await _status_ids(bob, "zolw") == [turtle["id"]]
    assert await _status_ids(bob, "żółwie") == [turtle["id"]]
    # Every word must match, in any order.
    assert await _status_ids(bob, "łódź skarpetki") == [socks["id"]]
    assert await _status_ids(bob, "skarpetki żółw") == []
    assert await _status_ids(bob, "rower") == []
    assert await _status_ids(bob, "?!…") == []

    found = await _search(bob, "skarpetek")
    assert_entity(found, "Search")
    assert [s["id"] for s in found["statuses"]] == [socks["id"]]


async def test_anonymous_search_finds_no_statuses(client):
    alice = await client.make_user("alice")
    await alice.post_status("Skarpetki w paski")
    r = await client.get("/api/v2/search", params={"q": "skarpetki"})
    assert r.status_code == 200
    assert r.json()["statuses"] == []
    r = await client.get("/api/v2/search", params={"q": "alice"})
    assert [a["username"] for a in r.json()["accounts"]] == ["alice"]


async def test_only_public_posts_of_indexable_authors_visible_to_the_viewer(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    carol = await client.make_user("carol")
    await act(client, bob, relationships.follow, int(alice.id))
    public = await alice.post_status("Pierogi z kapustą", visibility="public")
    await alice.post_status("Pierogi ruskie", visibility="unlisted")
    await alice.post_status("Pierogi dla swoich", visibility="private")
    await alice.post_status("@bob pierogi prywatnie", visibility="direct")
    assert await _status_ids(bob, "pierogi") == [public["id"]]

    hidden = await carol.post_status("Pierogi od carol")
    assert await _status_ids(bob, "pierogów") == [hidden["id"], public["id"]]
    await act(client, bob, relationships.block, int(carol.id))
    assert await _status_ids(bob, "pierogi") == [public["id"]]
    await act(client, bob, relationships.mute, int(alice.id))
    assert await _status_ids(bob, "pierogi") == []
    await act(client, bob, relationships.unmute, int(alice.id))
    await set_account(client, alice, indexable=False)
    assert await _status_ids(bob, "pierogi") == []


async def test_reblogs_are_not_results_and_the_index_follows_edits_and_deletes(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    st = await alice.post_status("Sprzedam rower")
    await act(client, bob, statuses.reblog, int(st["id"]))
    assert await _status_ids(bob, "rowery") == [st["id"]]
    await act(client, alice, statuses.edit_status, int(st["id"]), StatusDraft(text="Sprzedam hulajnogę"))
    assert await _status_ids(bob, "rower") == []
    assert await _status_ids(bob, "hulajnogi") == [st["id"]]
    assert (await alice.delete(f"/api/v1/statuses/{st['id']}")).status_code == 200
    assert await _status_ids(bob, "hulajnoga") == []


async def test_spoiler_text_and_hashtags_are_searchable(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    cw = await alice.post_status("treść", spoiler_text="Polityka krajowa")
    tagged = await alice.post_status("Idzie #Zima")
    assert await _status_ids(bob, "polityki") == [cw["id"]]
    assert await _status_ids(bob, "#zima") == [tagged["id"]]


async def test_mentions_are_searchable_by_short_and_full_handle(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    carol = await client.make_user("carol")
    short = await bob.post_status("Pozdrowienia dla @alice")
    full = await carol.post_status("@alice@testserver też pozdrawiam")
    expected = [full["id"], short["id"]]
    assert await _status_ids(bob, "@alice") == expected
    assert await _status_ids(bob, "@alice@testserver.") == expected
    assert await _status_ids(bob, "@ALICE@TestServer pozdrowienia") == [short["id"]]
    assert await _status_ids(bob, "@alice@elsewhere.example") == []


async def test_filters_and_paging(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    mine = [await alice.post_status(f"Kawa numer {i}") for i in range(5)]
    theirs = await bob.post_status("Kawa od boba")
    ids = [theirs["id"]] + [s["id"] for s in reversed(mine)]
    assert await _status_ids(bob, "kawy") == ids
    assert await _status_ids(bob, "kawa", account_id=alice.id) == ids[1:]
    assert await _status_ids(bob, "kawa", limit=2) == ids[:2]
    assert await _status_ids(bob, "kawa", limit=2, offset=2) == ids[2:4]
    assert await _status_ids(bob, "kawa", max_id=ids[1]) == ids[2:]
    assert await _status_ids(bob, "kawa", min_id=ids[3], limit=2) == ids[1:3]
    # offset counts only within one type (Mastodon ignores it otherwise).
    everything = await _search(bob, "kawa", offset=3)
    assert [s["id"] for s in everything["statuses"]] == ids


# -- hashtags ---------------------------------------------------------------------------


async def test_hashtags_by_folded_prefix_with_history(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    await alice.post_status("Wycieczka #Kraków")
    await bob.post_status("Znowu #kraków i #krakowiacy")
    await alice.post_status("#Krab")
    await alice.post_status("Tajne #krakenprojekt", visibility="private")

    found = await _search(bob, "krakow", type="hashtags")
    assert [t["name"] for t in found["hashtags"]] == ["Kraków", "krakowiacy"]
    assert_entity(found, "Search")
    krakow = found["hashtags"][0]
    assert len(krakow["history"]) == 7
    assert krakow["history"][0] == {
        "day": str(int(midnight(datetime.now(timezone.utc)).timestamp())), "uses": "2", "accounts": "2",
    }
    assert all(h["uses"] == "0" for h in krakow["history"][1:])
    assert [t["name"] for t in (await _search(bob, "#KRA", type="hashtags"))["hashtags"]] == [
        "Krab", "Kraków", "krakowiacy",
    ]
    # An exact name comes first even when longer names sort before it.
    assert [t["name"] for t in (await _search(bob, "krab", type="hashtags"))["hashtags"]] == ["Krab"]
    # A tag only ever used in a private post is not found.
    assert (await _search(bob, "kraken", type="hashtags"))["hashtags"] == []
    # Not a hashtag-shaped query: no hashtags.
    assert (await _search(bob, "krak ow", type="hashtags"))["hashtags"] == []
    # Anonymous callers see hashtags too.
    r = await client.get("/api/v2/search", params={"q": "krako", "type": "hashtags"})
    assert [t["name"] for t in r.json()["hashtags"]] == ["Kraków", "krakowiacy"]
    page = await _search(bob, "kra", type="hashtags", limit=1, offset=1)
    assert [t["name"] for t in page["hashtags"]] == ["Kraków"]


async def test_hashtags_show_whether_the_viewer_follows_them(client):
    alice, bob = await client.make_user("alice"), await client.make_user("bob")
    await alice.post_status("#Kraków i #krakowiacy")
    assert (await bob.post(f"/api/v1/tags/{quote('kraków')}/follow")).status_code == 200
    assert (await alice.post("/api/v1/tags/krakowiacy/follow")).status_code == 200

    def following(found: dict[str, Any]) -> dict[str, Any]:
        return {t["name"]: t.get("following", "absent") for t in found["hashtags"]}

    assert following(await _search(bob, "krakow")) == {"Kraków": True, "krakowiacy": False}
    assert following(await _search(alice, "#krakow", type="hashtags")) == {"Kraków": False, "krakowiacy": True}
    # Anonymous callers get no ``following`` (as Mastodon: it is the viewer's).
    r = await client.get("/api/v2/search", params={"q": "krakow", "type": "hashtags"})
    assert following(r.json()) == {"Kraków": "absent", "krakowiacy": "absent"}
    assert (await bob.post(f"/api/v1/tags/{quote('Kraków')}/unfollow")).status_code == 200
    assert following(await _search(bob, "krakow"))["Kraków"] is False


def test_sql_folding_table_agrees_with_the_text_layer():
    for letter, base in SQL_FOLDS.items():
        if letter.isalpha():
            assert fold(letter) == base, letter
        else:  # a combining mark vanishes when folded after a base letter
            assert fold("a" + letter) == "a", hex(ord(letter))


async def test_tag_page_counts_uses_and_accounts_per_day(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    await alice.post_status("#Zima przyszła")
    await alice.post_status("#zima znowu")
    await bob.post_status("#ZIMA")
    await bob.post_status("#zima tylko dla swoich", visibility="private")
    today = midnight(datetime.now(timezone.utc))
    async with client.app.state.ctx.tx() as tx:  # two posts dated three days ago
        tag = await tx.session.scalar(select(Tag).where(Tag.name == "zima"))
        assert tag is not None
        for n in (1, 2):
            old = Status(id=id_for_time(today - timedelta(days=3, hours=-n)), account_id=int(alice.id),
                         text="#zima", content="<p>#zima</p>", visibility="public")
            tx.session.add(old)
            await tx.session.flush()
            tx.session.add(StatusTag(status_id=old.id, tag_id=tag.id))

    r = await client.get("/api/v1/tags/Zima")
    assert r.status_code == 200, r.text
    body = r.json()
    assert_entity(body, "Tag")
    assert body["name"] == "Zima" and body["url"] == "http://testserver/tags/zima"
    days = [int(h["day"]) for h in body["history"]]
    assert days == [int((today - timedelta(days=i)).timestamp()) for i in range(7)]
    assert [(h["uses"], h["accounts"]) for h in body["history"]] == [
        ("3", "2"), ("0", "0"), ("0", "0"), ("2", "1"), ("0", "0"), ("0", "0"), ("0", "0"),
    ]
    assert (await alice.get("/api/v1/tags/%23zima")).json()["id"] == body["id"]
    assert (await client.get(f"/api/v1/tags/{quote('zimą')}")).status_code == 404
    assert (await client.get("/api/v1/tags/nieznany")).status_code == 404


async def test_tag_page_errors(client):
    alice = await client.make_user("alice")
    await alice.post_status("Plany #tajne", visibility="private")
    assert (await client.get("/api/v1/tags/tajne")).status_code == 404
    assert (await client.get("/api/v1/tags/" + "x" * 300)).status_code == 404
    assert (await client.get("/api/v1/tags/%23")).status_code == 404
    r = await client.get("/api/v1/tags/tajne", headers={"Authorization": "Bearer zly-token"})
    assert r.status_code == 401


# -- accounts, handles and URLs ---------------------------------------------------------


async def test_accounts_and_handles(client):
    alice = await client.make_user("alice")
    await client.make_user("alicja")
    bob = await client.make_user("bob")
    found = await _search(bob, "@alice", type="accounts")
    assert [a["id"] for a in found["accounts"]][0] == alice.id
    assert_entity(found["accounts"][0], "Account")
    assert (await _search(bob, "alice@testserver", type="accounts"))["accounts"][0]["id"] == alice.id
    assert (await _search(bob, "@alice@elsewhere.example", type="accounts"))["accounts"] == []
    assert {a["username"] for a in (await _search(bob, "ali", type="accounts"))["accounts"]} == {"alice", "alicja"}
    assert (await _search(bob, "ali", type="accounts", following="true"))["accounts"] == []
    await act(client, bob, relationships.follow, int(alice.id))
    assert [a["username"] for a in (await _search(bob, "ali", type="accounts", following="true"))["accounts"]] == [
        "alice"
    ]


async def test_local_urls_resolve_to_their_object(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    st = await alice.post_status("Zwykły wpis")
    secret = await alice.post_status("Tylko dla obserwujących", visibility="private")

    for url in (st["url"], st["uri"]):
        found = await _search(bob, url)
        assert [s["id"] for s in found["statuses"]] == [st["id"]] and found["accounts"] == []
    assert (await _search(bob, st["url"], type="accounts"))["statuses"] == []
    assert (await _search(bob, secret["url"]))["statuses"] == []
    assert (await _search(alice, secret["url"]))["statuses"][0]["id"] == secret["id"]
    assert (await _search(bob, f"http://testserver/@bob/{st['id']}"))["statuses"] == []  # wrong author
    assert [a["id"] for a in (await _search(bob, "http://testserver/@alice"))["accounts"]] == [alice.id]
    assert [a["id"] for a in (await _search(bob, "http://testserver/users/alice"))["accounts"]] == [alice.id]
    empty = {"accounts": [], "statuses": [], "hashtags": []}
    assert await _search(bob, f"https://elsewhere.example/@alice/{st['id']}") == empty
    assert await _search(bob, "http://testserver/about") == empty
    r = await client.get("/api/v2/search", params={"q": st["url"]})
    assert r.json()["statuses"] == []  # never statuses without a token


# -- errors and scopes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({}, 400),
        ({"q": "   "}, 400),
        ({"q": "x" * 1001}, 422),
        ({"q": "kawa", "resolve": "może"}, 422),
        ({"q": "kawa", "account_id": "abc"}, 422),
    ],
)
async def test_bad_input(client, params, status):
    bob = await client.make_user("bob")
    r = await bob.get("/api/v2/search", params=params)
    assert r.status_code == status, r.text
    assert "error" in r.json()


async def test_bad_account_id_is_rejected_for_anonymous_callers_too(client):
    r = await client.get("/api/v2/search", params={"q": "kawa", "account_id": "x1"})
    assert r.status_code == 422


async def test_unknown_type_finds_nothing(client):
    alice = await client.make_user("alice")
    await alice.post_status("kawa")
    assert await _search(alice, "kawa", type="collections") == {"accounts": [], "statuses": [], "hashtags": []}


async def test_tokens_and_scopes(client):
    r = await client.get("/api/v2/search", params={"q": "kawa", "offset": "1", "type": "statuses"})
    assert r.status_code == 401
    r = await client.get("/api/v2/search", params={"q": "kawa", "resolve": "true"})
    assert r.status_code == 401
    r = await client.get("/api/v2/search", params={"q": "kawa"}, headers={"Authorization": "Bearer niewazny"})
    assert r.status_code == 401
    writer = await client.make_user("writer", scopes="write")
    assert (await writer.get("/api/v2/search", params={"q": "kawa"})).status_code == 403
    narrow = await client.make_user("narrow", scopes="read:search")
    assert (await narrow.get("/api/v2/search", params={"q": "kawa", "resolve": "true"})).status_code == 200


async def test_hidden_matches_do_not_shorten_a_page(client, monkeypatch):
    """Matching ids are read in batches; a batch of invisible matches makes it read on."""
    from szpak.storage import search as storage_search

    monkeypatch.setattr(storage_search, "MIN_BATCH", 2)
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    carol = await client.make_user("carol")
    older = [await alice.post_status(f"Herbata numer {i}") for i in range(3)]
    for i in range(6):
        await carol.post_status(f"Herbata od carol {i}")
    await act(client, bob, relationships.block, int(carol.id))
    expected = [s["id"] for s in reversed(older)]
    assert await _status_ids(bob, "herbaty", limit=1) == expected[:1]
    assert await _status_ids(bob, "herbata", limit=1, offset=2) == expected[2:]
    assert await _status_ids(bob, "herbata", limit=2, max_id=expected[0]) == expected[1:]
    assert await _status_ids(bob, "herbata numer", limit=5) == expected
    assert await _status_ids(bob, "herbata", min_id=expected[2], limit=1) == expected[1:2]
