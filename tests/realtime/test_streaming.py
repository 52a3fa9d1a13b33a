"""The streaming API end to end: a REST action, and the event a Mastodon client expects.

Every payload is compared with what ``GET`` returns for the same viewer, so a stream
never shows a viewer something (or some flag) that the REST API would not.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from .live import Actor, LiveServer, SSEClient, WSClient

pytestmark = pytest.mark.xdist_group("realtime-streaming")


def payload(frame: dict[str, Any]) -> Any:
    return json.loads(frame["payload"])


async def test_health(live_server: LiveServer) -> None:
    r = await live_server.http().get("/api/v1/streaming/health")
    assert r.status_code == 200
    assert r.text == "OK"


async def test_user_stream_update_is_what_get_shows_each_viewer(live_server: LiveServer) -> None:
    alice, bob = await live_server.user("alice"), await live_server.user("bob")
    await bob.follow(alice)
    bob_ws, alice_ws = await bob.ws("user"), await alice.ws("user")
    bob_sse = await bob.sse("user")

    st = await alice.post_status("Dzień dobry, #Kraków!")

    frame = await bob_ws.expect("update")
    assert frame["stream"] == ["user"]
    assert payload(frame) == await bob.status_as_seen(st["id"])
    own = payload(await alice_ws.expect("update"))
    assert own == await alice.status_as_seen(st["id"])
    assert own["pinned"] is False  # the author's own view differs from the followers'
    event = await bob_sse.expect("update")
    assert payload(event) == await bob.status_as_seen(st["id"])
    for client in (bob_ws, alice_ws, bob_sse):
        await client.close()


async def test_edit_and_delete_reach_home_public_and_hashtag(live_server: LiveServer) -> None:
    alice, bob = await live_server.user("alice"), await live_server.user("bob")
    await bob.follow(alice)
    ws = await bob.ws("user", "public", ("hashtag", "tag", "Zmiana"))
    st = await alice.post_status("Wersja pierwsza #zmiana")
    for stream in (["user"], ["public"], ["hashtag", "zmiana"]):
        frame = await ws.expect("update")
        assert frame["stream"] == stream

    await alice.edit(st["id"], "Wersja druga #zmiana")
    edited = [await ws.expect("status.update") for _ in range(3)]
    seen = await bob.status_as_seen(st["id"])
    assert seen["edited_at"] is not None
    assert all(payload(f) == seen for f in edited)
    assert sorted(f["stream"][0] for f in edited) == ["hashtag", "public", "user"]

    await alice.delete(st["id"])
    deleted = [await ws.expect("delete") for _ in range(3)]
    assert {f["payload"] for f in deleted} == {st["id"]}  # the id string, as Mastodon
    await ws.close()


async def test_notifications_on_user_and_notification_streams(live_server: LiveServer) -> None:
    alice, carol = await live_server.user("alice"), await live_server.user("carol")
    ws = await alice.ws("user:notification")
    user_ws = await alice.ws("user")
    sse = await alice.sse("user/notification")
    st = await alice.post_status("Polubcie to")
    await user_ws.expect("update")

    await carol.follow(alice)
    await carol.favourite(st["id"])
    follow, favourite = await ws.expect("notification"), await ws.expect("notification")
    assert (payload(follow)["type"], payload(favourite)["type"]) == ("follow", "favourite")
    for frame in (follow, favourite):
        rest = await alice.get(f"/api/v1/notifications/{payload(frame)['id']}")
        assert payload(frame) == rest.json()
    assert payload(favourite)["status"]["favourites_count"] == 1
    assert [payload(await user_ws.expect("notification"))["type"] for _ in range(2)] == ["follow", "favourite"]
    assert [payload(await sse.expect("notification"))["type"] for _ in range(2)] == ["follow", "favourite"]
    for client in (ws, user_ws, sse):
        await client.close()


async def test_public_streams_and_their_flags(live_server: LiveServer) -> None:
    alice, bob = await live_server.user("alice"), await live_server.user("bob")
    streams = ("public", "public:local", "public:media", "public:remote", "public:local:media")
    ws = await bob.ws(*streams, ("hashtag:local", "tag", "tramwaj"))
    sse_local = await bob.sse("public/local")
    sse_tag = await bob.sse("hashtag", tag="tramwaj")

    st = await alice.post_status("Tramwaj stoi na Rondzie #tramwaj")
    await live_server.settle(ws, sse_local, sse_tag)
    expected = await bob.status_as_seen(st["id"])
    got = ws.pending()
    # No media: only the plain public streams; a local post: never public:remote.
    assert sorted(tuple(f["stream"]) for f in got) == [("hashtag:local", "tramwaj"), ("public",), ("public:local",)]
    assert all(f["event"] == "update" and payload(f) == expected for f in got)
    for sse in (sse_local, sse_tag):
        events = sse.pending()
        assert [e["event"] for e in events] == ["update"]
        assert payload(events[0]) == expected

    await alice.post_status("Tylko dla wtajemniczonych #tramwaj", visibility="unlisted")
    await alice.post_status("Dla obserwujących #tramwaj", visibility="private")
    await live_server.settle(ws, sse_local, sse_tag)
    assert ws.pending() == sse_local.pending() == sse_tag.pending() == []
    for client in (ws, sse_local, sse_tag):
        await client.close()


async def test_private_posts_reach_followers_only(live_server: LiveServer) -> None:
    alice, follower, stranger = await live_server.users("alice", "follower", "stranger")
    await follower.follow(alice)
    follower_ws, stranger_ws = await follower.ws("user", "public"), await stranger.ws("user", "public")
    st = await alice.post_status("Tylko dla was", visibility="private")
    frame = await follower_ws.expect("update")
    assert frame["stream"] == ["user"]
    assert payload(frame) == await follower.status_as_seen(st["id"])
    await live_server.settle(follower_ws, stranger_ws)
    assert follower_ws.pending() == []
    assert stranger_ws.pending() == []
    assert (await stranger.get(f"/api/v1/statuses/{st['id']}")).status_code == 404
    await follower_ws.close()
    await stranger_ws.close()


async def test_direct_posts_reach_the_mentioned_only(live_server: LiveServer) -> None:
    alice, bob, carol = await live_server.users("alice", "bob", "carol")
    await carol.follow(alice)
    bob_ws = await bob.ws("direct", "user")
    carol_ws = await carol.ws("direct", "user")
    alice_ws = await alice.ws("direct")
    st = await alice.post_status(f"@{bob.username} tylko między nami", visibility="direct")

    frames = {f["event"]: f for f in [await bob_ws.next(), await bob_ws.next()]}
    assert payload(frames["notification"])["type"] == "mention"
    conversation = frames["conversation"]
    assert conversation["stream"] == ["direct"]
    entity = payload(conversation)
    assert entity["last_status"] == await bob.status_as_seen(st["id"])
    assert [a["id"] for a in entity["accounts"]] == [alice.id]
    assert entity["unread"] is True
    mine = payload(await alice_ws.expect("conversation"))
    assert [a["id"] for a in mine["accounts"]] == [bob.id] and mine["unread"] is False
    if live_server.has_route("GET", "/api/v1/conversations"):
        listed = (await bob.get("/api/v1/conversations")).json()
        assert entity in listed

    await live_server.settle(bob_ws, carol_ws)
    assert bob_ws.pending() == []  # bob does not follow alice: not in his home
    assert carol_ws.pending() == []  # carol follows alice but is not mentioned
    await alice.delete(st["id"])
    assert (await bob_ws.expect("delete"))["stream"] == ["direct"]
    await live_server.settle(carol_ws)
    assert carol_ws.pending() == []
    for client in (alice_ws, bob_ws, carol_ws):
        await client.close()


async def test_blocks_and_mutes_hold_in_streams(live_server: LiveServer) -> None:
    alice, muter, blocked = await live_server.users("alice", "muter", "blocked")
    await muter.follow(alice)
    await blocked.follow(alice)
    await muter.mute(alice)
    await alice.block(blocked)
    muter_ws = await muter.ws("user", "public", ("hashtag", "tag", "cisza"))
    blocked_ws = await blocked.ws("user", "public", ("hashtag", "tag", "cisza"))
    await alice.post_status("Czy ktoś mnie słyszy? #cisza")
    await live_server.settle(muter_ws, blocked_ws)
    assert muter_ws.pending() == []
    assert blocked_ws.pending() == []
    await muter_ws.close()
    await blocked_ws.close()


async def test_relationship_changes_reach_open_streams(live_server: LiveServer) -> None:
    alice, bob = await live_server.user("alice"), await live_server.user("bob")
    ws = await bob.ws("user")
    await alice.post_status("Jeszcze mnie nie obserwujesz")
    await bob.follow(alice)
    st = await alice.post_status("Teraz tak")
    assert payload(await ws.expect("update"))["id"] == st["id"]
    await bob.unfollow(alice)
    await alice.post_status("A teraz już nie")
    await live_server.settle(ws)
    assert ws.pending() == []
    await ws.close()


async def test_reblogs_reach_the_rebloggers_followers(live_server: LiveServer) -> None:
    alice, bob, carol, dave = await live_server.users("alice", "bob", "carol", "dave")
    await carol.follow(bob)
    await dave.domain(_follow_without_reblogs, int(bob.id))
    carol_ws, dave_ws = await carol.ws("user"), await dave.ws("user")
    st = await alice.post_status("Warto to przeczytać")
    await carol.favourite(st["id"])  # carol's view of the reblogged post differs from others'
    await bob.reblog(st["id"])
    frame = await carol_ws.expect("update")
    reblog = payload(frame)
    assert reblog["reblog"]["id"] == st["id"]
    assert reblog["favourited"] is True and reblog["reblog"]["favourited"] is True
    assert reblog == await carol.status_as_seen(reblog["id"])
    await live_server.settle(dave_ws)
    assert dave_ws.pending() == []  # followed with reblogs=false
    await carol_ws.close()
    await dave_ws.close()


async def _follow_without_reblogs(tx: Any, actor: Any, target_id: int) -> None:
    from szpak.domain import relationships

    await relationships.follow(tx, actor, target_id, reblogs=False)


async def test_a_rolled_back_post_is_never_streamed(live_server: LiveServer) -> None:
    alice, bob = await live_server.user("alice"), await live_server.user("bob")
    await bob.follow(alice)
    ws = await bob.ws("user", "public")

    async def post_then_fail(tx: Any, actor: Any) -> None:
        from szpak.domain.statuses import StatusDraft, create_status

        await create_status(tx, actor, StatusDraft(text="Tego nie było"))
        raise RuntimeError("the request fails after the post was written")

    with pytest.raises(RuntimeError):
        await alice.domain(post_then_fail)
    await live_server.settle(ws)
    assert ws.pending() == []
    statuses = (await bob.get(f"/api/v1/accounts/{alice.id}/statuses")).json()
    assert statuses == []
    await ws.close()


# -- the protocol ------------------------------------------------------------------------
async def test_websocket_token_from_query_header_or_subprotocol(live_server: LiveServer) -> None:
    alice = await live_server.user("alice")
    for via in ("query", "header", "protocol"):
        client = await WSClient.connect(live_server, alice.token, via=via, query="stream=user")
        if via == "protocol":
            assert client.conn.subprotocol == alice.token  # echoed back, or browsers drop the socket
        st = await alice.post_status(f"przez {via}")
        assert payload(await client.expect("update"))["id"] == st["id"]
        await client.close()


async def test_stream_on_connect_with_parameters(live_server: LiveServer) -> None:
    alice = await live_server.user("alice")
    client = await WSClient.connect(live_server, alice.token, query="stream=hashtag&tag=Smok")
    st = await alice.post_status("Smok Wawelski #smok")
    frame = await client.expect("update")
    assert frame["stream"] == ["hashtag", "smok"] and payload(frame)["id"] == st["id"]
    await client.close()


async def test_missing_or_invalid_tokens_are_refused(live_server: LiveServer) -> None:
    for token, message in ((None, "Missing access token"), ("nope", "Invalid access token")):
        with pytest.raises(InvalidStatus) as refused:
            await WSClient.connect(live_server, token, query="stream=public")
        assert refused.value.response.status_code == 401
        assert json.loads(refused.value.response.body)["error"] == message
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        r = await live_server.http().get("/api/v1/streaming/public", headers=headers)
        assert (r.status_code, r.json()["error"]) == (401, message)


async def test_scopes_are_checked_per_stream(live_server: LiveServer) -> None:
    alice = await live_server.user("alice", scopes="read:notifications")
    client = await alice.ws("user:notification")
    await client.subscribe("user")
    error = await client.next()
    assert error == {"error": "Access token does not have the required scopes", "status": 401}
    r = await alice.get("/api/v1/streaming/user")
    assert r.status_code == 401
    with pytest.raises(InvalidStatus) as refused:
        await WSClient.connect(live_server, alice.token, query="stream=user")
    assert refused.value.response.status_code == 401
    await client.close()


async def test_bad_subscriptions_get_error_frames(live_server: LiveServer) -> None:
    alice = await live_server.user("alice")
    client = await alice.ws()
    await client.send({"type": "subscribe", "stream": "hashtag"})
    assert await client.next() == {"error": "No tag for stream provided", "status": 400}
    await client.send({"type": "subscribe", "stream": "list", "list": "12345"})
    assert await client.next() == {"error": "Not authorized to stream this list", "status": 404}
    await client.send({"type": "dance"})
    assert (await client.next())["status"] == 400
    await client.conn.send("{not json")
    assert await client.next() == {"error": "Invalid JSON", "status": 400}
    r = await alice.get("/api/v1/streaming/list", params={"list": "12345"})
    assert r.status_code == 404
    r = await alice.get("/api/v1/streaming/hashtag")
    assert r.status_code == 400
    r = await alice.get("/api/v1/streaming/nowhere")
    assert r.status_code == 404
    await client.close()


async def test_unsubscribe_stops_a_stream(live_server: LiveServer) -> None:
    alice = await live_server.user("alice")
    client = await alice.ws("public", "public:local")
    await client.unsubscribe("public")
    await live_server.settle(client)
    await alice.post_status("Kto słucha?")
    frame = await client.expect("update")
    assert frame["stream"] == ["public:local"]
    await live_server.settle(client)
    assert client.pending() == []
    await client.close()


async def test_event_stream_by_name_and_media_flag(live_server: LiveServer) -> None:
    alice = await live_server.user("alice")
    sse = await alice.sse("public", only_media="true")
    plain = await SSEClient.open(live_server, "", alice.token, {"stream": "public:local"})
    st = await alice.post_status("Bez zdjęcia")
    await live_server.settle(sse, plain)
    assert sse.pending() == []  # public:media: this post has no media
    assert [payload(e)["id"] for e in plain.pending()] == [st["id"]]
    await sse.close()
    await plain.close()


async def test_heartbeats_keep_idle_connections_alive(live_server: LiveServer) -> None:
    alice = await live_server.user("alice")
    sse = await alice.sse("user")
    pings: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            pings.append(record.getMessage())

    logger = logging.getLogger(f"ws-pings-{alice.id}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(Collect())
    client = await WSClient.connect(live_server, alice.token, query="stream=user", logger=logger, ping_interval=None)
    await asyncio.sleep(live_server.settings.heartbeat_seconds * 2.5)
    assert "thump" in sse.comments  # ``:thump`` lines, as Mastodon's streaming server writes
    assert any(line.startswith("< PING") for line in pings)  # the server pings; the client answers
    assert not client.closed.is_set()
    await client.close()
    await sse.close()


async def test_revoking_the_token_ends_its_streams(live_server: LiveServer) -> None:
    from szpak.domain import oauth

    alice = await live_server.user("alice")
    client = await alice.ws("user")

    async def revoke(app: Any) -> None:
        async with app.state.ctx.tx() as tx:
            await oauth.revoke_token(tx, alice.token)

    await live_server.run(revoke)
    await asyncio.wait_for(client.closed.wait(), 5)
    assert client.conn.close_code == 1008
    r = await alice.get("/api/v1/streaming/user")
    assert r.status_code == 401


async def test_mastodon_py_reads_the_event_stream(live_server: LiveServer) -> None:
    """Mastodon.py (a real client) over server-sent events, in its own thread."""
    from mastodon import Mastodon, StreamListener

    alice, bob = await live_server.user("alice"), await live_server.user("bob")
    await bob.follow(alice)
    got: asyncio.Queue[Any] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    class Listener(StreamListener):  # type: ignore[misc]
        def on_update(self, status: Any) -> None:
            loop.call_soon_threadsafe(got.put_nowait, ("update", status))

        def on_delete(self, status_id: Any) -> None:
            loop.call_soon_threadsafe(got.put_nowait, ("delete", status_id))

    api = Mastodon(access_token=bob.token, api_base_url=live_server.base_url, version_check_mode="none")
    handle = await asyncio.to_thread(api.stream_user, Listener(), run_async=True)
    try:
        await _wait_until_subscribed(live_server, int(bob.id))
        st = await alice.post_status("Cześć, Mastodon.py!")
        kind, status = await asyncio.wait_for(got.get(), 5)
        assert kind == "update" and str(status["id"]) == st["id"]
        await alice.delete(st["id"])
        kind, status_id = await asyncio.wait_for(got.get(), 5)
        assert kind == "delete" and str(status_id) == st["id"]
    finally:
        await asyncio.to_thread(handle.close)


async def _wait_until_subscribed(server: LiveServer, account_id: int) -> None:
    for _ in range(200):
        state = server.hub.accounts.get(account_id)
        if state is not None and state.streams.get(("user",)):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the client never subscribed")


async def test_a_user_cannot_read_someone_elses_stream(live_server: LiveServer) -> None:
    alice, bob = await live_server.user("alice"), await live_server.user("bob")
    await alice.follow(bob)
    client = await WSClient.connect(live_server, bob.token, query="stream=user")
    st = await alice.post_status(f"@{bob.username} psst", visibility="direct")
    # bob's user stream carries the mention notification, never alice's home.
    frame = await client.expect("notification")
    assert payload(frame)["status"]["id"] == st["id"]
    await client.close()


_ = (Actor, httpx)
