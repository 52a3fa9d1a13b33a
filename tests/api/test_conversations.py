"""Direct-message conversations: ``GET /api/v1/conversations``, ``DELETE /api/v1/conversations/:id``,
``POST /api/v1/conversations/:id/read``, and the ``conversation`` event of the ``direct`` stream."""

from __future__ import annotations

from typing import Any

import orjson

from szpak.api.deps import lookup_token
from szpak.realtime.hub import Hub

from .helpers import error, links, ok
from .mastodon_schema import assert_entity


async def trio(client: Any) -> tuple[Any, Any, Any]:
    return tuple([await client.make_user(n) for n in ("alice", "bob", "carol")])  # type: ignore[return-value]


async def test_a_direct_message_makes_a_conversation_for_each_participant(client: Any) -> None:
    alice, bob, carol = await trio(client)
    dm = await alice.post_status("@bob tylko między nami", visibility="direct")

    [mine] = ok(await alice.get("/api/v1/conversations"))
    assert_entity(mine, "Conversation")
    assert mine["unread"] is False  # the author has read what it wrote
    assert [a["id"] for a in mine["accounts"]] == [bob.id]
    assert mine["last_status"] == ok(await alice.get(f"/api/v1/statuses/{dm['id']}"))

    [theirs] = ok(await bob.get("/api/v1/conversations"))
    assert theirs["unread"] is True
    assert [a["id"] for a in theirs["accounts"]] == [alice.id]
    assert theirs["last_status"] == ok(await bob.get(f"/api/v1/statuses/{dm['id']}"))
    assert theirs["id"] != mine["id"]  # each participant has its own

    # carol, not mentioned, sees nothing, and cannot touch theirs
    assert ok(await carol.get("/api/v1/conversations")) == []
    error(await carol.post(f"/api/v1/conversations/{theirs['id']}/read"), 404)
    error(await carol.delete(f"/api/v1/conversations/{theirs['id']}"), 404)
    assert ok(await bob.get("/api/v1/conversations"))[0]["unread"] is True


async def test_other_visibilities_make_no_conversation(client: Any) -> None:
    alice, bob, _ = await trio(client)
    for visibility in ("public", "unlisted", "private"):
        await alice.post_status(f"@bob {visibility}", visibility=visibility)
    assert ok(await alice.get("/api/v1/conversations")) == []
    assert ok(await bob.get("/api/v1/conversations")) == []


async def test_replies_stay_in_the_conversation_and_raise_it(client: Any) -> None:
    alice, bob, carol = await trio(client)
    first = await alice.post_status("@bob pierwsza", visibility="direct")
    other = await alice.post_status("@carol osobno", visibility="direct")
    ok(await bob.post(f"/api/v1/conversations/{ok(await bob.get('/api/v1/conversations'))[0]['id']}/read"))
    reply = await bob.post_status("@alice odpowiedź", visibility="direct", in_reply_to_id=first["id"])

    convs = ok(await alice.get("/api/v1/conversations"))
    assert [c["last_status"]["id"] for c in convs] == [reply["id"], other["id"]]
    assert convs[0]["unread"] is True  # bob wrote to alice
    [bobs] = ok(await bob.get("/api/v1/conversations"))
    assert bobs["last_status"]["id"] == reply["id"] and bobs["unread"] is False

    # a group message: a conversation with both others
    group = await alice.post_status("@bob @carol wszyscy razem", visibility="direct")
    top = ok(await alice.get("/api/v1/conversations"))[0]
    assert top["last_status"]["id"] == group["id"]
    assert sorted(a["id"] for a in top["accounts"]) == sorted([bob.id, carol.id])
    assert len(ok(await carol.get("/api/v1/conversations"))) == 2


async def test_read_and_delete(client: Any) -> None:
    alice, bob, _ = await trio(client)
    dm = await alice.post_status("@bob hej", visibility="direct")
    [conv] = ok(await bob.get("/api/v1/conversations"))
    read = ok(await bob.post(f"/api/v1/conversations/{conv['id']}/read"))
    assert read["unread"] is False and read["id"] == conv["id"]
    assert ok(await bob.get("/api/v1/conversations"))[0]["unread"] is False
    assert ok(await bob.delete(f"/api/v1/conversations/{conv['id']}")) == {}
    assert ok(await bob.get("/api/v1/conversations")) == []
    assert len(ok(await alice.get("/api/v1/conversations"))) == 1  # alice keeps hers
    error(await bob.delete(f"/api/v1/conversations/{conv['id']}"), 404)
    error(await bob.post("/api/v1/conversations/abc/read"), 404)
    # the message itself stays
    assert ok(await bob.get(f"/api/v1/statuses/{dm['id']}"))["id"] == dm["id"]
    # a new message in the thread brings the conversation back, unread
    await alice.post_status("@bob jeszcze raz", visibility="direct", in_reply_to_id=dm["id"])
    [back] = ok(await bob.get("/api/v1/conversations"))
    assert back["unread"] is True


async def test_deleting_the_last_status_moves_last_status_back(client: Any) -> None:
    alice, bob, _ = await trio(client)
    first = await alice.post_status("@bob pierwsza", visibility="direct")
    second = await alice.post_status("@bob druga", visibility="direct", in_reply_to_id=first["id"])
    assert ok(await bob.get("/api/v1/conversations"))[0]["last_status"]["id"] == second["id"]
    ok(await alice.delete(f"/api/v1/statuses/{second['id']}"))
    for user in (alice, bob):
        [conv] = ok(await user.get("/api/v1/conversations"))
        assert conv["last_status"]["id"] == first["id"]
    ok(await alice.delete(f"/api/v1/statuses/{first['id']}"))
    assert ok(await bob.get("/api/v1/conversations")) == []
    assert ok(await alice.get("/api/v1/conversations")) == []


async def test_a_block_hides_the_last_status(client: Any) -> None:
    alice, bob, _ = await trio(client)
    await alice.post_status("@bob hej", visibility="direct")
    ok(await bob.post(f"/api/v1/accounts/{alice.id}/block"))
    [conv] = ok(await bob.get("/api/v1/conversations"))
    assert conv["last_status"] is None


async def test_pagination_by_last_status(client: Any) -> None:
    alice = await client.make_user("alice")
    friends = [await client.make_user(f"f{i}") for i in range(3)]
    sent = [await alice.post_status(f"@{f.username} cześć", visibility="direct") for f in friends]
    r = await alice.get("/api/v1/conversations", params={"limit": 2})
    assert [c["last_status"]["id"] for c in ok(r)] == [sent[2]["id"], sent[1]["id"]]
    nxt = links(r)["next"]
    assert f"max_id={sent[1]['id']}" in nxt
    r2 = await alice.get(nxt.removeprefix("http://testserver"))
    assert [c["last_status"]["id"] for c in ok(r2)] == [sent[0]["id"]]
    r3 = await alice.get("/api/v1/conversations", params={"min_id": sent[0]["id"], "limit": 1})
    assert [c["last_status"]["id"] for c in ok(r3)] == [sent[1]["id"]]


async def test_scopes(client: Any) -> None:
    error(await client.get("/api/v1/conversations"), 401)
    alice, bob, _ = await trio(client)
    await alice.post_status("@bob hej", visibility="direct")
    reader = await client.make_user("reader", scopes="read")
    assert ok(await reader.get("/api/v1/conversations")) == []
    error(await reader.post("/api/v1/conversations/1/read"), 403)
    writer = await client.make_user("writer", scopes="write")
    error(await writer.get("/api/v1/conversations"), 403)


async def test_direct_stream_conversation_event_matches_rest(client: Any) -> None:
    alice, bob, carol = await trio(client)
    app = client.app
    hub: Hub = app.state.hub
    conns = {}
    for user in (alice, bob, carol):
        viewer = await lookup_token(app.state.ctx, app.state.token_cache, user.token)
        conns[user.username] = conn = await hub.open(viewer, "ws", user.token)
        await hub.subscribe(conn, ("direct",))
    await alice.post_status("@bob tajemnica", visibility="direct")
    await hub.sync()

    def frames(name: str) -> list[dict[str, Any]]:
        out = []
        conn = conns[name]
        while not conn.queue.empty():
            out.append(orjson.loads(conn.queue.get_nowait()))
        return out

    for user in (alice, bob):
        [frame] = frames(user.username)
        assert frame["event"] == "conversation" and frame["stream"] == ["direct"]
        assert orjson.loads(frame["payload"]) == ok(await user.get("/api/v1/conversations"))[0]
    assert frames("carol") == []
    for conn in conns.values():
        hub.close(conn)
