"""/api/v1/statuses: post, read, edit, history, source, delete, context, and the actions on
a status (reblog, favourite, bookmark, pin and their undo), favourited_by/reblogged_by.

Every endpoint is tested for its happy path, without a token (401), with a token lacking
the scope (403) and with bad input (4xx, never 500). Relationships are set up through
domain actions (``domain_steps.act``) so these tests depend only on the status routes.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from szpak.domain import relationships
from szpak.storage.models import IdempotencyKey, Notification, Status

from .domain_steps import act, set_user
from .mastodon_schema import assert_entity


async def follow(client: Any, who: Any, whom: Any) -> None:
    await act(client, who, relationships.follow, int(whom.id))


async def count_rows(client: Any, model: Any, *where: Any) -> int:
    async with client.app.state.ctx.read() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def link_ids(response: Any) -> dict[str, str]:
    """``{"next": max_id, "prev": min_id}`` from a Link header."""
    out = {}
    for part in response.headers.get("link", "").split(","):
        if 'rel="next"' in part:
            out["next"] = part.split("max_id=")[1].split(">")[0].split("&")[0]
        if 'rel="prev"' in part:
            out["prev"] = part.split("min_id=")[1].split(">")[0].split("&")[0]
    return out


# -- create -----------------------------------------------------------------------------------


async def test_create_renders_a_full_status_entity(client):
    alice = await client.make_user("alice")
    await client.make_user("bob")
    st = await alice.post_status(
        "Cześć @bob! #Kraków https://example.com/a", spoiler_text="uwaga", language="pl", visibility="unlisted"
    )
    assert_entity(st, "Status")
    assert st["url"] == f"http://testserver/@alice/{st['id']}"
    assert st["uri"] == f"http://testserver/users/alice/statuses/{st['id']}"
    assert st["visibility"] == "unlisted" and st["language"] == "pl"
    assert st["spoiler_text"] == "uwaga" and st["sensitive"] is True  # a content warning implies sensitive
    assert [m["username"] for m in st["mentions"]] == ["bob"]
    assert st["tags"] == [{"name": "Kraków", "url": "http://testserver/tags/kraków"}]
    assert 'href="https://example.com/a"' in st["content"]
    assert st["favourited"] is False and st["reblogged"] is False and st["bookmarked"] is False
    assert st["pinned"] is False
    assert "text" not in st
    assert st["edited_at"] is None and st["reblog"] is None


async def test_create_accepts_form_and_multipart_bodies(client):
    alice = await client.make_user("alice")
    r = await alice.post("/api/v1/statuses", data={"status": "z formularza", "visibility": "private", "sensitive": "true"})
    assert r.status_code == 200, r.text
    assert r.json()["visibility"] == "private" and r.json()["sensitive"] is True
    r = await alice.post("/api/v1/statuses", files={"status": (None, "z multipart"), "language": (None, "en")})
    assert r.status_code == 200, r.text
    assert r.json()["content"] == "<p>z multipart</p>" and r.json()["language"] == "en"


async def test_create_uses_the_accounts_posting_defaults(client):
    alice = await client.make_user("alice")
    await set_user(client, alice, default_visibility="private", default_sensitive=True, default_language="pl")
    st = await alice.post_status("domyślnie")
    assert (st["visibility"], st["sensitive"], st["language"]) == ("private", True, "pl")
    st = await alice.post_status("jawnie", visibility="public", sensitive=False, language="en")
    assert (st["visibility"], st["sensitive"], st["language"]) == ("public", False, "en")


async def test_create_needs_a_token_and_the_scope(client):
    r = await client.post("/api/v1/statuses", json={"status": "x"})
    assert r.status_code == 401 and "error" in r.json()
    reader = await client.make_user("reader", scopes="read")
    r = await reader.post("/api/v1/statuses", json={"status": "x"})
    assert r.status_code == 403
    granular = await client.make_user("granular", scopes="write:statuses")
    assert (await granular.post("/api/v1/statuses", json={"status": "x"})).status_code == 200


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"status": ""}, 422),
        ({"status": "   "}, 422),
        ({"status": "x", "visibility": "everyone"}, 422),
        ({"status": "x", "language": "polski"}, 422),
        ({"status": "x", "in_reply_to_id": "123456789"}, 404),
        ({"status": "x", "in_reply_to_id": "nie-liczba"}, 404),
        ({"status": "x", "media_ids": ["abc"]}, 422),
        ({"status": "x", "media_ids": ["1", "2", "3", "4", "5"]}, 422),
        ({"status": "x", "poll": {"options": ["a"], "expires_in": 600}}, 422),
        ({"status": "x", "poll": {"options": ["a", "b"], "expires_in": 600}, "media_ids": ["1"]}, 422),
        ({"status": "x", "scheduled_at": "banana"}, 422),
        ({"status": ["lista"]}, 422),
        ({"status": "x", "sensitive": "może"}, 422),
    ],
)
async def test_create_rejects_bad_input(client, payload, status):
    alice = await client.make_user("alice")
    r = await alice.post("/api/v1/statuses", json=payload)
    assert r.status_code == status, r.text
    assert "error" in r.json()
    assert await count_rows(client, Status) == 0


async def test_create_rejects_malformed_bodies(client):
    alice = await client.make_user("alice")
    headers = {**alice.headers, "Content-Type": "application/json"}
    r = await client.post("/api/v1/statuses", content=b"{nie json", headers=headers)
    assert r.status_code == 400
    r = await client.post("/api/v1/statuses", content=b"[1]", headers=headers)
    assert r.status_code == 422


async def test_character_limit_is_configurable_and_counts_links_as_23(client):
    alice = await client.make_user("alice")
    assert (await alice.post("/api/v1/statuses", json={"status": "x" * 500})).status_code == 200
    r = await alice.post("/api/v1/statuses", json={"status": "x" * 501})
    assert r.status_code == 422 and "500" in r.json()["error"]
    # A long link counts 23, so this fits even though it is far over 500 characters.
    long_link = "https://example.com/" + "a" * 600
    assert (await alice.post("/api/v1/statuses", json={"status": "x" * 476 + " " + long_link})).status_code == 200
    assert (await alice.post("/api/v1/statuses", json={"status": "x" * 477 + " " + long_link})).status_code == 422
    # The content warning counts too.
    r = await alice.post("/api/v1/statuses", json={"status": "x" * 400, "spoiler_text": "y" * 101})
    assert r.status_code == 422

    client.app.state.ctx.settings.max_status_chars = 10
    assert (await alice.post("/api/v1/statuses", json={"status": "x" * 10})).status_code == 200
    r = await alice.post("/api/v1/statuses", json={"status": "x" * 11})
    assert r.status_code == 422 and "10" in r.json()["error"]


async def test_html_in_a_post_is_stored_and_returned_as_text(client):
    alice = await client.make_user("alice")
    st = await alice.post_status('<script>alert(1)</script> <img src=x onerror="alert(2)"> <a href="javascript:x">y</a>')
    for content in (st["content"], (await client.get(f"/api/v1/statuses/{st['id']}")).json()["content"]):
        assert "<script" not in content and "<img" not in content and "<a href=\"javascript" not in content
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
        assert "&lt;img src=x onerror=" in content
    async with client.app.state.ctx.read() as s:
        stored = await s.get(Status, int(st["id"]))
    assert "<script" not in stored.content and stored.text.startswith("<script>")


async def test_idempotency_key_returns_the_same_status_once(client):
    alice = await client.make_user("alice")
    headers = {**alice.headers, "Idempotency-Key": "klucz-1"}
    first = await client.post("/api/v1/statuses", json={"status": "raz"}, headers=headers)
    again = await client.post("/api/v1/statuses", json={"status": "dwa"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["content"] == "<p>raz</p>"
    assert await count_rows(client, Status) == 1
    # Another key, or another account with the same key, posts anew.
    other = await client.post("/api/v1/statuses", json={"status": "trzy"}, headers={**alice.headers, "Idempotency-Key": "klucz-2"})
    bob = await client.make_user("bob")
    bobs = await client.post("/api/v1/statuses", json={"status": "bob"}, headers={**bob.headers, "Idempotency-Key": "klucz-1"})
    assert len({first.json()["id"], other.json()["id"], bobs.json()["id"]}) == 3
    r = await alice.get("/api/v1/accounts/verify_credentials")
    assert r.json()["statuses_count"] == 2


async def test_idempotency_key_of_a_deleted_status_can_be_used_again(client):
    alice = await client.make_user("alice")
    headers = {**alice.headers, "Idempotency-Key": "k"}
    first = (await client.post("/api/v1/statuses", json={"status": "raz"}, headers=headers)).json()
    assert (await alice.delete(f"/api/v1/statuses/{first['id']}")).status_code == 200
    second = await client.post("/api/v1/statuses", json={"status": "dwa"}, headers=headers)
    assert second.status_code == 200 and second.json()["id"] != first["id"]


async def test_concurrent_requests_with_one_idempotency_key_post_once(client):
    alice = await client.make_user("alice")
    headers = {**alice.headers, "Idempotency-Key": "at-once-1"}
    responses = await asyncio.gather(
        *(client.post("/api/v1/statuses", json={"status": f"wersja {i}"}, headers=headers) for i in range(4))
    )
    assert [r.status_code for r in responses] == [200] * 4
    assert len({r.json()["id"] for r in responses}) == 1
    assert await count_rows(client, Status) == 1
    assert await count_rows(client, IdempotencyKey) == 1


async def test_reply_threads_and_counts_only_public_replies(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    root = await alice.post_status("pytanie")
    reply = await bob.post_status("@alice odpowiedź", in_reply_to_id=root["id"])
    assert reply["in_reply_to_id"] == root["id"] and reply["in_reply_to_account_id"] == alice.id
    await bob.post_status("@alice po cichu", in_reply_to_id=root["id"], visibility="direct")
    # The direct reply exists but is not counted anywhere the public can see.
    assert (await client.get(f"/api/v1/statuses/{root['id']}")).json()["replies_count"] == 1
    assert (await client.get(f"/api/v1/accounts/{bob.id}")).json()["statuses_count"] == 1


async def test_reply_to_a_status_the_author_cannot_see_is_404(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    secret = await alice.post_status("tylko dla obserwujących", visibility="private")
    r = await bob.post("/api/v1/statuses", json={"status": "hej", "in_reply_to_id": secret["id"]})
    assert r.status_code == 404
    await follow(client, bob, alice)
    r = await bob.post("/api/v1/statuses", json={"status": "hej", "in_reply_to_id": secret["id"]})
    assert r.status_code == 200


async def test_direct_post_reaches_only_mentioned_accounts(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    carol = await client.make_user("carol")
    await follow(client, carol, alice)
    dm = await alice.post_status("@bob tylko do ciebie", visibility="direct")
    assert (await bob.get(f"/api/v1/statuses/{dm['id']}")).status_code == 200
    assert (await carol.get(f"/api/v1/statuses/{dm['id']}")).status_code == 404
    assert (await client.get(f"/api/v1/statuses/{dm['id']}")).status_code == 404
    carol_home = (await carol.get("/api/v1/timelines/home")).json()
    assert dm["id"] not in [s["id"] for s in carol_home]
    assert await count_rows(client, Notification, Notification.account_id == int(carol.id)) == 0
    assert await count_rows(client, Notification, Notification.account_id == int(bob.id), Notification.type == "mention") == 1
    # A direct post does not show in the author's public post count.
    assert (await client.get(f"/api/v1/accounts/{alice.id}")).json()["statuses_count"] == 0


# -- read ---------------------------------------------------------------------------------------


async def test_get_status_anonymously_and_with_tokens(client):
    alice = await client.make_user("alice")
    pub = await alice.post_status("jawny")
    priv = await alice.post_status("prywatny", visibility="private")
    r = await client.get(f"/api/v1/statuses/{pub['id']}")
    assert r.status_code == 200
    assert "favourited" not in r.json()  # no viewer, no viewer flags (as Mastodon)
    assert (await client.get(f"/api/v1/statuses/{priv['id']}")).status_code == 404
    assert (await alice.get(f"/api/v1/statuses/{priv['id']}")).status_code == 200
    r = await client.get(f"/api/v1/statuses/{pub['id']}", headers={"Authorization": "Bearer nieprawdziwy"})
    assert r.status_code == 401
    writer = await client.make_user("writer", scopes="write")
    assert (await writer.get(f"/api/v1/statuses/{pub['id']}")).status_code == 403
    for bad in ("0", "-1", "abc", "99999999999999999999", "123"):
        r = await client.get(f"/api/v1/statuses/{bad}")
        assert r.status_code == 404 and r.json() == {"error": "Record not found"}


async def test_get_many_statuses_keeps_order_and_drops_the_invisible(client):
    alice = await client.make_user("alice")
    a = await alice.post_status("a")
    b = await alice.post_status("b")
    hidden = await alice.post_status("c", visibility="private")
    query = f"?id[]={b['id']}&id[]={hidden['id']}&id[]=nonsense&id[]=1&id[]={a['id']}&id[]={b['id']}"
    r = await client.get(f"/api/v1/statuses{query}")
    assert r.status_code == 200
    assert [s["id"] for s in r.json()] == [b["id"], a["id"]]
    r = await alice.get(f"/api/v1/statuses{query}")
    assert [s["id"] for s in r.json()] == [b["id"], hidden["id"], a["id"]]
    assert (await client.get("/api/v1/statuses")).json() == []
    too_many = "&".join(f"id[]={i}" for i in range(1, 23))
    assert (await client.get(f"/api/v1/statuses?{too_many}")).status_code == 422
    writer = await client.make_user("writer", scopes="write")
    assert (await writer.get(f"/api/v1/statuses?id[]={a['id']}")).status_code == 403
    r = await client.get(f"/api/v1/statuses?id[]={a['id']}", headers={"Authorization": "Bearer zly"})
    assert r.status_code == 401


# -- edit, history, source ------------------------------------------------------------------------


async def test_edit_keeps_history_and_source(client):
    alice = await client.make_user("alice")
    await client.make_user("bob")
    st = await alice.post_status("pierwsza wersja #stary", language="pl")
    r = await alice.get(f"/api/v1/statuses/{st['id']}/history")
    assert r.status_code == 200 and len(r.json()) == 1
    assert r.json()[0]["content"] == st["content"]

    r = await alice.put(f"/api/v1/statuses/{st['id']}", json={"status": "druga wersja #nowy @bob", "spoiler_text": "cw"})
    assert r.status_code == 200, r.text
    edited = r.json()
    assert_entity(edited, "Status")
    assert edited["id"] == st["id"] and edited["edited_at"] is not None
    assert "druga wersja" in edited["content"] and edited["spoiler_text"] == "cw" and edited["sensitive"] is True
    assert [t["name"] for t in edited["tags"]] == ["nowy"]
    assert edited["language"] == "pl"  # not given, kept
    assert edited["visibility"] == "public"

    history = (await alice.get(f"/api/v1/statuses/{st['id']}/history")).json()
    assert [h["content"] for h in history] == [st["content"], edited["content"]]
    for entry in history:
        assert_entity(entry, "StatusEdit")
        assert entry["account"]["id"] == alice.id
    assert history[0]["spoiler_text"] == "" and history[1]["spoiler_text"] == "cw"

    source = (await alice.get(f"/api/v1/statuses/{st['id']}/source")).json()
    assert source == {"id": st["id"], "text": "druga wersja #nowy @bob", "spoiler_text": "cw"}
    assert_entity(source, "StatusSource")

    # A second edit adds one revision; an edit that changes nothing adds none.
    await alice.put(f"/api/v1/statuses/{st['id']}", data={"status": "trzecia"})
    await alice.put(f"/api/v1/statuses/{st['id']}", data={"status": "trzecia"})
    assert len((await alice.get(f"/api/v1/statuses/{st['id']}/history")).json()) == 3
    # Language alone changes quietly.
    r = await alice.put(f"/api/v1/statuses/{st['id']}", json={"language": "en"})
    assert r.json()["language"] == "en"
    assert len((await alice.get(f"/api/v1/statuses/{st['id']}/history")).json()) == 3


async def test_edit_that_adds_a_mention_reaches_the_new_recipient(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    dm = await alice.post_status("notatka", visibility="direct")
    assert (await bob.get(f"/api/v1/statuses/{dm['id']}")).status_code == 404
    r = await alice.put(f"/api/v1/statuses/{dm['id']}", json={"status": "notatka dla @bob"})
    assert r.status_code == 200 and r.json()["visibility"] == "direct"
    assert (await bob.get(f"/api/v1/statuses/{dm['id']}")).status_code == 200
    assert await count_rows(client, Notification, Notification.account_id == int(bob.id), Notification.type == "mention") == 1


async def test_edit_is_for_the_author_only(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    pub = await alice.post_status("moje")
    priv = await alice.post_status("moje prywatne", visibility="private")
    assert (await bob.put(f"/api/v1/statuses/{pub['id']}", json={"status": "twoje"})).status_code == 403
    assert (await bob.put(f"/api/v1/statuses/{priv['id']}", json={"status": "twoje"})).status_code == 404
    assert (await client.put(f"/api/v1/statuses/{pub['id']}", json={"status": "x"})).status_code == 401
    reader = await client.make_user("reader", scopes="read")
    assert (await reader.put(f"/api/v1/statuses/{pub['id']}", json={"status": "x"})).status_code == 403
    assert (await alice.put(f"/api/v1/statuses/{pub['id']}", json={"status": ""})).status_code == 422
    assert (await alice.put(f"/api/v1/statuses/{pub['id']}", json={"status": "x" * 501})).status_code == 422
    assert (await alice.put(f"/api/v1/statuses/{pub['id']}", json={"language": "???"})).status_code == 422
    assert (await alice.put(f"/api/v1/statuses/{pub['id']}", json={"poll": {"options": ["a"]}})).status_code == 422
    assert (await alice.put("/api/v1/statuses/123", json={"status": "x"})).status_code == 404
    assert (await alice.get(f"/api/v1/statuses/{pub['id']}")).json()["content"] == "<p>moje</p>"


async def test_history_and_source_follow_visibility_and_scopes(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    priv = await alice.post_status("sekret", visibility="private")
    pub = await alice.post_status("jawne")
    assert (await bob.get(f"/api/v1/statuses/{priv['id']}/history")).status_code == 404
    assert (await bob.get(f"/api/v1/statuses/{priv['id']}/source")).status_code == 404
    assert (await client.get(f"/api/v1/statuses/{pub['id']}/history")).status_code == 200
    assert (await client.get(f"/api/v1/statuses/{pub['id']}/source")).status_code == 401
    writer = await client.make_user("writer", scopes="write")
    assert (await writer.get(f"/api/v1/statuses/{pub['id']}/source")).status_code == 403
    assert (await writer.get(f"/api/v1/statuses/{pub['id']}/history")).status_code == 403
    assert (await bob.get("/api/v1/statuses/x/history")).status_code == 404


# -- delete --------------------------------------------------------------------------------------


async def test_delete_returns_the_source_for_redrafting_and_removes_everything(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    st = await alice.post_status("do usunięcia **tekst** #tag", spoiler_text="cw")
    await bob.post(f"/api/v1/statuses/{st['id']}/reblog")
    await bob.post(f"/api/v1/statuses/{st['id']}/favourite")
    reply = await bob.post_status("odpowiedź", in_reply_to_id=st["id"])
    r = await alice.delete(f"/api/v1/statuses/{st['id']}")
    assert r.status_code == 200, r.text
    gone = r.json()
    assert gone["id"] == st["id"] and gone["text"] == "do usunięcia **tekst** #tag" and gone["spoiler_text"] == "cw"
    assert_entity(gone, "Status")
    assert (await client.get(f"/api/v1/statuses/{st['id']}")).status_code == 404
    assert await count_rows(client, Status, Status.reblog_of_id == int(st["id"])) == 0
    # The reply stays, and the counts went down.
    assert (await client.get(f"/api/v1/statuses/{reply['id']}")).status_code == 200
    assert (await client.get(f"/api/v1/accounts/{alice.id}")).json()["statuses_count"] == 0
    assert (await client.get(f"/api/v1/accounts/{bob.id}")).json()["statuses_count"] == 1
    assert (await alice.delete(f"/api/v1/statuses/{st['id']}")).status_code == 404


async def test_delete_is_for_the_author_only(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    pub = await alice.post_status("moje")
    priv = await alice.post_status("prywatne", visibility="private")
    assert (await bob.delete(f"/api/v1/statuses/{pub['id']}")).status_code == 403
    assert (await bob.delete(f"/api/v1/statuses/{priv['id']}")).status_code == 404
    assert (await client.delete(f"/api/v1/statuses/{pub['id']}")).status_code == 401
    reader = await client.make_user("reader", scopes="read")
    assert (await reader.delete(f"/api/v1/statuses/{pub['id']}")).status_code == 403
    assert (await alice.delete("/api/v1/statuses/abc")).status_code == 404
    assert (await client.get(f"/api/v1/statuses/{pub['id']}")).status_code == 200


async def test_deleting_ones_own_reblog_is_an_unreblog(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    st = await alice.post_status("post")
    rb = (await bob.post(f"/api/v1/statuses/{st['id']}/reblog")).json()
    assert (await alice.delete(f"/api/v1/statuses/{rb['id']}")).status_code == 403
    r = await bob.delete(f"/api/v1/statuses/{rb['id']}")
    assert r.status_code == 200 and r.json()["reblog"]["id"] == st["id"]
    after = (await bob.get(f"/api/v1/statuses/{st['id']}")).json()
    assert after["reblogs_count"] == 0 and after["reblogged"] is False


# -- context ------------------------------------------------------------------------------------


async def test_context_orders_a_thread_depth_first(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    root = await alice.post_status("korzeń")
    a = await bob.post_status("a", in_reply_to_id=root["id"])
    b = await alice.post_status("b", in_reply_to_id=root["id"])
    a1 = await alice.post_status("a1", in_reply_to_id=a["id"])
    a1x = await bob.post_status("a1x", in_reply_to_id=a1["id"])
    a2 = await bob.post_status("a2", in_reply_to_id=a["id"])
    b1 = await bob.post_status("b1", in_reply_to_id=b["id"])

    r = await client.get(f"/api/v1/statuses/{root['id']}/context")
    assert r.status_code == 200
    assert_entity(r.json(), "Context")
    assert r.json()["ancestors"] == []
    assert [s["id"] for s in r.json()["descendants"]] == [a["id"], a1["id"], a1x["id"], a2["id"], b["id"], b1["id"]]

    r = await bob.get(f"/api/v1/statuses/{a1x['id']}/context")
    assert [s["id"] for s in r.json()["ancestors"]] == [root["id"], a["id"], a1["id"]]
    assert r.json()["descendants"] == []
    r = await bob.get(f"/api/v1/statuses/{a['id']}/context")
    assert [s["id"] for s in r.json()["ancestors"]] == [root["id"]]
    assert [s["id"] for s in r.json()["descendants"]] == [a1["id"], a1x["id"], a2["id"]]


async def test_context_hides_what_the_viewer_may_not_see(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    carol = await client.make_user("carol")
    root = await alice.post_status("publiczny")
    await follow(client, carol, bob)
    private = await bob.post_status("dla obserwujących", in_reply_to_id=root["id"], visibility="private")
    below_private = await carol.post_status("pod prywatnym", in_reply_to_id=private["id"])
    direct = await bob.post_status("@alice szeptem", in_reply_to_id=root["id"], visibility="direct")

    def ids(r: Any) -> list[str]:
        return [s["id"] for s in r.json()["descendants"]]

    anon = await client.get(f"/api/v1/statuses/{root['id']}/context")
    assert ids(anon) == [below_private["id"]]
    assert ids(await carol.get(f"/api/v1/statuses/{root['id']}/context")) == [private["id"], below_private["id"]]
    assert ids(await alice.get(f"/api/v1/statuses/{root['id']}/context")) == [below_private["id"], direct["id"]]
    r = await client.get(f"/api/v1/statuses/{below_private['id']}/context")
    assert [s["id"] for s in r.json()["ancestors"]] == [root["id"]]


async def test_context_errors_and_scopes(client):
    alice = await client.make_user("alice")
    priv = await alice.post_status("p", visibility="private")
    assert (await client.get(f"/api/v1/statuses/{priv['id']}/context")).status_code == 404
    assert (await client.get("/api/v1/statuses/1/context")).status_code == 404
    assert (await client.get("/api/v1/statuses/nie/context")).status_code == 404
    writer = await client.make_user("writer", scopes="write")
    assert (await writer.get(f"/api/v1/statuses/{priv['id']}/context")).status_code == 403
    r = await client.get(f"/api/v1/statuses/{priv['id']}/context", headers={"Authorization": "Bearer x"})
    assert r.status_code == 401


# -- reblog -------------------------------------------------------------------------------------


async def test_reblog_and_unreblog(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    st = await alice.post_status("warto przeczytać")
    r = await bob.post(f"/api/v1/statuses/{st['id']}/reblog")
    assert r.status_code == 200, r.text
    rb = r.json()
    assert_entity(rb, "Status")
    assert rb["reblog"]["id"] == st["id"] and rb["account"]["id"] == bob.id
    assert rb["reblog"]["reblogged"] is True and rb["reblog"]["reblogs_count"] == 1
    assert rb["visibility"] == "public" and rb["content"] == ""
    # Again: the same reblog, not a second one; a reblog of the reblog is of the post.
    assert (await bob.post(f"/api/v1/statuses/{st['id']}/reblog")).json()["id"] == rb["id"]
    assert (await bob.post(f"/api/v1/statuses/{rb['id']}/reblog")).json()["id"] == rb["id"]
    assert await count_rows(client, Notification, Notification.account_id == int(alice.id), Notification.type == "reblog") == 1

    r = await bob.post(f"/api/v1/statuses/{st['id']}/unreblog")
    assert r.status_code == 200
    assert r.json()["id"] == st["id"] and r.json()["reblogged"] is False and r.json()["reblogs_count"] == 0
    assert (await client.get(f"/api/v1/statuses/{rb['id']}")).status_code == 404
    assert await count_rows(client, Notification, Notification.type == "reblog") == 0
    # Undoing what was never done is fine.
    assert (await bob.post(f"/api/v1/statuses/{st['id']}/unreblog")).status_code == 200


async def test_reblog_visibility(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    st = await alice.post_status("post")
    r = await bob.post(f"/api/v1/statuses/{st['id']}/reblog", data={"visibility": "unlisted"})
    assert r.json()["visibility"] == "unlisted"
    await bob.post(f"/api/v1/statuses/{st['id']}/unreblog")
    await set_user(client, bob, default_visibility="private")
    assert (await bob.post(f"/api/v1/statuses/{st['id']}/reblog")).json()["visibility"] == "private"
    await bob.post(f"/api/v1/statuses/{st['id']}/unreblog")
    for bad in ("direct", "wszyscy"):
        r = await bob.post(f"/api/v1/statuses/{st['id']}/reblog", json={"visibility": bad})
        assert r.status_code == 422
    # The author may boost their own followers-only post, and it stays followers-only.
    priv = await alice.post_status("dla swoich", visibility="private")
    r = await alice.post(f"/api/v1/statuses/{priv['id']}/reblog", json={"visibility": "public"})
    assert r.status_code == 200 and r.json()["visibility"] == "private"


async def test_reblog_errors_and_scopes(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    st = await alice.post_status("post")
    assert (await client.post(f"/api/v1/statuses/{st['id']}/reblog")).status_code == 401
    assert (await client.post(f"/api/v1/statuses/{st['id']}/unreblog")).status_code == 401
    fav_only = await client.make_user("favonly", scopes="write:favourites read")
    assert (await fav_only.post(f"/api/v1/statuses/{st['id']}/reblog")).status_code == 403
    assert (await fav_only.post(f"/api/v1/statuses/{st['id']}/unreblog")).status_code == 403
    assert (await bob.post("/api/v1/statuses/1/reblog")).status_code == 404
    assert (await bob.post("/api/v1/statuses/x/unreblog")).status_code == 404


# -- favourite, bookmark, pin -----------------------------------------------------------------------


async def test_favourite_and_unfavourite(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    st = await alice.post_status("lubię to")
    r = await bob.post(f"/api/v1/statuses/{st['id']}/favourite")
    assert r.status_code == 200
    assert r.json()["favourited"] is True and r.json()["favourites_count"] == 1
    assert (await bob.post(f"/api/v1/statuses/{st['id']}/favourite")).json()["favourites_count"] == 1
    assert await count_rows(client, Notification, Notification.type == "favourite") == 1
    # Favouriting through a reblog marks the post.
    carol = await client.make_user("carol")
    rb = (await carol.post(f"/api/v1/statuses/{st['id']}/reblog")).json()
    r = await carol.post(f"/api/v1/statuses/{rb['id']}/favourite")
    assert r.json()["id"] == st["id"] and r.json()["favourites_count"] == 2
    r = await bob.post(f"/api/v1/statuses/{st['id']}/unfavourite")
    assert r.json()["favourited"] is False and r.json()["favourites_count"] == 1
    assert (await bob.post(f"/api/v1/statuses/{st['id']}/unfavourite")).json()["favourites_count"] == 1
    assert await count_rows(client, Notification, Notification.type == "favourite", Notification.from_account_id == int(bob.id)) == 0


async def test_concurrent_favourites_count_once(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    st = await alice.post_status("szybko")
    responses = await asyncio.gather(*(bob.post(f"/api/v1/statuses/{st['id']}/favourite") for _ in range(4)))
    assert [r.status_code for r in responses] == [200] * 4
    assert (await client.get(f"/api/v1/statuses/{st['id']}")).json()["favourites_count"] == 1


async def test_bookmark_and_unbookmark(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    st = await alice.post_status("na później")
    r = await bob.post(f"/api/v1/statuses/{st['id']}/bookmark")
    assert r.status_code == 200 and r.json()["bookmarked"] is True
    assert (await bob.get(f"/api/v1/statuses/{st['id']}")).json()["bookmarked"] is True
    assert (await alice.get(f"/api/v1/statuses/{st['id']}")).json()["bookmarked"] is False
    r = await bob.post(f"/api/v1/statuses/{st['id']}/unbookmark")
    assert r.status_code == 200 and r.json()["bookmarked"] is False


@pytest.mark.parametrize(
    ("action", "scope", "other_scope"),
    [
        ("favourite", "write:favourites", "write:bookmarks"),
        ("unfavourite", "write:favourites", "write:bookmarks"),
        ("bookmark", "write:bookmarks", "write:favourites"),
        ("unbookmark", "write:bookmarks", "write:favourites"),
        ("pin", "write:accounts", "write:statuses"),
        ("unpin", "write:accounts", "write:statuses"),
    ],
)
async def test_action_scopes_tokens_and_unknown_ids(client, action, scope, other_scope):
    actor = await client.make_user("actor", scopes=f"{scope} write:statuses read")
    st = await actor.post_status("mój")  # one's own post: every action applies to it
    assert (await client.post(f"/api/v1/statuses/{st['id']}/{action}")).status_code == 401
    wrong = await client.make_user("wrong", scopes=f"{other_scope} read")
    assert (await wrong.post(f"/api/v1/statuses/{st['id']}/{action}")).status_code == 403
    assert (await actor.post(f"/api/v1/statuses/{st['id']}/{action}")).status_code == 200
    assert (await actor.post(f"/api/v1/statuses/999/{action}")).status_code == 404
    assert (await actor.post(f"/api/v1/statuses/abc/{action}")).status_code == 404


async def test_interactions_on_a_status_one_cannot_see_are_404(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    priv = await alice.post_status("prywatne", visibility="private")
    for action in ("favourite", "unfavourite", "bookmark", "unbookmark", "reblog", "unreblog", "pin", "unpin"):
        r = await bob.post(f"/api/v1/statuses/{priv['id']}/{action}")
        assert r.status_code == 404, action
    assert await count_rows(client, Notification, Notification.account_id == int(alice.id)) == 0


async def test_pin_and_unpin(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    st = await alice.post_status("przypięty")
    r = await alice.post(f"/api/v1/statuses/{st['id']}/pin")
    assert r.status_code == 200 and r.json()["pinned"] is True
    assert (await alice.post(f"/api/v1/statuses/{st['id']}/pin")).status_code == 200  # again: fine
    assert "pinned" not in (await bob.get(f"/api/v1/statuses/{st['id']}")).json()
    assert (await bob.post(f"/api/v1/statuses/{st['id']}/pin")).status_code == 422
    dm = await alice.post_status("@bob dm", visibility="direct")
    assert (await alice.post(f"/api/v1/statuses/{dm['id']}/pin")).status_code == 422
    rb = (await alice.post(f"/api/v1/statuses/{st['id']}/reblog")).json()
    assert (await alice.post(f"/api/v1/statuses/{rb['id']}/pin")).status_code == 422
    priv = await alice.post_status("prywatny też można", visibility="private")
    assert (await alice.post(f"/api/v1/statuses/{priv['id']}/pin")).status_code == 200
    more = [await alice.post_status(f"kolejny {i}") for i in range(4)]
    assert [(await alice.post(f"/api/v1/statuses/{m['id']}/pin")).status_code for m in more] == [200, 200, 200, 422]
    r = await alice.post(f"/api/v1/statuses/{st['id']}/unpin")
    assert r.status_code == 200 and r.json()["pinned"] is False
    assert (await alice.post(f"/api/v1/statuses/{more[3]['id']}/pin")).status_code == 200


# -- favourited_by, reblogged_by -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["favourite", "reblog"])
async def test_who_interacted_is_paged_with_link_headers(client, kind):
    alice = await client.make_user("alice")
    st = await alice.post_status("popularny")
    fans = [await client.make_user(f"fan{i}") for i in range(5)]
    for fan in fans:
        assert (await fan.post(f"/api/v1/statuses/{st['id']}/{kind}")).status_code == 200
    path = f"/api/v1/statuses/{st['id']}/{'favourited_by' if kind == 'favourite' else 'reblogged_by'}"
    r = await client.get(path)
    assert r.status_code == 200
    assert [a["id"] for a in r.json()] == [f.id for f in reversed(fans)]
    for account in r.json():
        assert_entity(account, "Account")

    first = await client.get(f"{path}?limit=2")
    assert [a["id"] for a in first.json()] == [fans[4].id, fans[3].id]
    links = link_ids(first)
    second = await client.get(f"{path}?limit=2&max_id={links['next']}")
    assert [a["id"] for a in second.json()] == [fans[2].id, fans[1].id]
    newer = await client.get(f"{path}?limit=2&min_id={link_ids(second)['prev']}")
    assert [a["id"] for a in newer.json()] == [fans[4].id, fans[3].id]
    since = await client.get(f"{path}?since_id={link_ids(second)['prev']}")
    assert [a["id"] for a in since.json()] == [fans[4].id, fans[3].id]
    assert (await client.get(f"{path}?limit=nonsense&max_id=zzz")).status_code == 200

    assert (await client.get(path, headers={"Authorization": "Bearer zly"})).status_code == 401
    writer = await client.make_user("writer", scopes="write")
    assert (await writer.get(path)).status_code == 403
    priv = await alice.post_status("prywatny", visibility="private")
    assert (await client.get(path.replace(st["id"], priv["id"]))).status_code == 404
    assert (await client.get(path.replace(st["id"], "abc"))).status_code == 404


async def test_reblogged_by_shows_a_followers_only_boost_to_followers_only(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    carol = await client.make_user("carol")
    st = await alice.post_status("post")
    await bob.post(f"/api/v1/statuses/{st['id']}/reblog", json={"visibility": "private"})
    path = f"/api/v1/statuses/{st['id']}/reblogged_by"
    assert (await client.get(path)).json() == []
    assert (await carol.get(path)).json() == []
    await follow(client, carol, bob)
    assert [a["id"] for a in (await carol.get(path)).json()] == [bob.id]


def test_doc_names_every_endpoint():
    """docs/api/statuses.md lists every route of the statuses and timelines modules."""
    import re
    from pathlib import Path

    from fastapi.routing import APIRoute

    from szpak.api.routes import statuses, timelines

    doc = (Path(__file__).resolve().parents[2] / "docs" / "api" / "statuses.md").read_text()
    missing = []
    for module in (statuses, timelines):
        for route in module.router.routes:
            assert isinstance(route, APIRoute)
            path = re.sub(r"\{\w+_id\}", ":id", route.path)
            path = re.sub(r"\{(\w+)\}", r":\1", path)
            for method in route.methods:
                if f"`{method} {path}`" not in doc:
                    missing.append(f"{method} {path}")
    assert not missing, missing


async def test_context_for_anonymous_readers_is_bounded(client, monkeypatch):
    from szpak.api.routes import statuses as routes

    monkeypatch.setattr(routes, "ANONYMOUS_ANCESTORS", 2)
    monkeypatch.setattr(routes, "ANONYMOUS_DESCENDANTS", 3)
    monkeypatch.setattr(routes, "ANONYMOUS_DEPTH", 4)
    alice = await client.make_user("alice")
    chain = [await alice.post_status("0")]
    for i in range(1, 6):
        chain.append(await alice.post_status(str(i), in_reply_to_id=chain[-1]["id"]))
    r = await client.get(f"/api/v1/statuses/{chain[5]['id']}/context")
    assert [s["id"] for s in r.json()["ancestors"]] == [chain[3]["id"], chain[4]["id"]]
    r = await client.get(f"/api/v1/statuses/{chain[0]['id']}/context")
    assert [s["id"] for s in r.json()["descendants"]] == [c["id"] for c in chain[1:4]]
    r = await alice.get(f"/api/v1/statuses/{chain[0]['id']}/context")
    assert [s["id"] for s in r.json()["descendants"]] == [c["id"] for c in chain[1:]]
    r = await alice.get(f"/api/v1/statuses/{chain[5]['id']}/context")
    assert [s["id"] for s in r.json()["ancestors"]] == [c["id"] for c in chain[:5]]
