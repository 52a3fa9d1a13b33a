"""Followed hashtags: ``POST /api/v1/tags/:name/follow``/``unfollow``, ``GET /api/v1/followed_tags``,
the Tag entity's ``following``, and followed-tag posts in the home timeline and ``user`` stream."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from szpak.api.deps import lookup_token
from szpak.realtime.hub import Hub

from .helpers import error, links, ok
from .mastodon_schema import assert_entity


async def home_ids(user: Any) -> list[str]:
    return [s["id"] for s in ok(await user.get("/api/v1/timelines/home"))]


async def test_follow_unfollow_and_list(client: Any) -> None:
    alice = await client.make_user("alice")
    assert ok(await alice.get("/api/v1/followed_tags")) == []

    tag = ok(await alice.post("/api/v1/tags/Kraków/follow"))
    assert tag["name"] == "Kraków" and tag["following"] is True
    assert tag["url"].endswith("/tags/kraków")
    assert_entity(tag, "Tag")
    again = ok(await alice.post("/api/v1/tags/%23kraków/follow"))  # idempotent, case-folded, '#' dropped
    assert again["id"] == tag["id"] and again["following"] is True

    ok(await alice.post("/api/v1/tags/gdansk/follow"))
    listed = ok(await alice.get("/api/v1/followed_tags"))
    assert [t["name"] for t in listed] == ["gdansk", "Kraków"]  # latest followed first
    assert all(t["following"] is True for t in listed)

    # the unused tag is visible to its follower, with following/featuring, and to nobody else
    shown = ok(await alice.get("/api/v1/tags/kraków"))
    assert shown["following"] is True and shown["featuring"] is False
    assert (await client.get("/api/v1/tags/kraków")).status_code == 404
    bob = await client.make_user("bob")
    assert (await bob.get("/api/v1/tags/kraków")).status_code == 404

    gone = ok(await alice.post("/api/v1/tags/kraków/unfollow"))
    assert gone["following"] is False
    assert ok(await alice.post("/api/v1/tags/kraków/unfollow"))["following"] is False  # idempotent
    assert [t["name"] for t in ok(await alice.get("/api/v1/followed_tags"))] == ["gdansk"]


async def test_followed_tags_pagination(client: Any) -> None:
    alice = await client.make_user("alice")
    for name in ("jeden", "dwa", "trzy"):
        ok(await alice.post(f"/api/v1/tags/{name}/follow"))
    r = await alice.get("/api/v1/followed_tags", params={"limit": 2})
    assert [t["name"] for t in ok(r)] == ["trzy", "dwa"]
    nxt = links(r)["next"]
    r2 = await alice.get(nxt.removeprefix("http://testserver"))
    assert [t["name"] for t in ok(r2)] == ["jeden"]
    prev = links(r2)["prev"]
    assert "min_id=" in prev and "limit=2" in prev
    assert [t["name"] for t in ok(await alice.get(prev.removeprefix("http://testserver")))] == ["trzy", "dwa"]


async def test_following_is_per_viewer_and_absent_for_anonymous(client: Any) -> None:
    alice, bob = await client.make_user("alice"), await client.make_user("bob")
    await bob.post_status("Wiosna w #Poznań")
    ok(await alice.post("/api/v1/tags/poznań/follow"))
    assert ok(await alice.get("/api/v1/tags/poznań"))["following"] is True
    assert ok(await bob.get("/api/v1/tags/poznań"))["following"] is False
    anonymous = ok(await client.get("/api/v1/tags/poznań"))
    assert "following" not in anonymous and "featuring" not in anonymous


@pytest.mark.parametrize("name", ["123", "a-b", "%20", "x" * 256, "zażółć%00", "İ" * 200])
async def test_bad_names_are_422(client: Any, name: str) -> None:
    alice = await client.make_user("alice")
    error(await alice.post(f"/api/v1/tags/{name}/follow"), 422)
    assert ok(await alice.get("/api/v1/followed_tags")) == []


async def test_unfollow_unknown_tag_is_404_and_auth(client: Any) -> None:
    alice = await client.make_user("alice")
    error(await alice.post("/api/v1/tags/nieznany/unfollow"), 404)
    error(await client.post("/api/v1/tags/kot/follow"), 401)
    reader = await client.make_user("reader", scopes="read")
    error(await reader.post("/api/v1/tags/kot/follow"), 403)
    writer = await client.make_user("writer", scopes="write")
    error(await writer.get("/api/v1/followed_tags"), 403)


async def test_followed_tag_posts_join_home(client: Any) -> None:
    alice, bob, carol = [await client.make_user(n) for n in ("alice", "bob", "carol")]
    ok(await alice.post("/api/v1/tags/koty/follow"))
    public = await bob.post_status("Mój kot #Koty")
    other = await bob.post_status("Bez tagu")
    unlisted = await bob.post_status("Cicho #koty", visibility="unlisted")
    private = await bob.post_status("Tylko dla obserwujących #koty", visibility="private")
    direct = await bob.post_status("@carol prywatnie #koty", visibility="direct")
    boost = ok(await carol.post(f"/api/v1/statuses/{public['id']}/reblog"))
    home = await home_ids(alice)
    assert public["id"] in home
    for hidden in (other, unlisted, private, direct, boost):
        assert hidden["id"] not in home

    # unfollowing the tag takes the posts out again
    ok(await alice.post("/api/v1/tags/koty/unfollow"))
    assert public["id"] not in await home_ids(alice)


async def test_followed_tag_never_brings_private_posts_even_of_followed_tags(client: Any) -> None:
    """Private posts of a non-followed author stay out; a followed author's still come (as a follower)."""
    alice, bob, dave = [await client.make_user(n) for n in ("alice", "bob", "dave")]
    await alice.follow(dave)
    ok(await alice.post("/api/v1/tags/sekret/follow"))
    stranger_private = await bob.post_status("#sekret dla obserwujących", visibility="private")
    friend_private = await dave.post_status("#sekret od znajomego", visibility="private")
    home = await home_ids(alice)
    assert stranger_private["id"] not in home
    assert friend_private["id"] in home


async def test_followed_tag_posts_respect_blocks_and_mutes(client: Any) -> None:
    alice, blocked, blocker, muted = [await client.make_user(n) for n in ("alice", "blocked", "blocker", "muted")]
    ok(await alice.post("/api/v1/tags/psy/follow"))
    ok(await alice.post(f"/api/v1/accounts/{blocked.id}/block"))
    ok(await blocker.post(f"/api/v1/accounts/{alice.id}/block"))
    ok(await alice.post(f"/api/v1/accounts/{muted.id}/mute"))
    posts = [await u.post_status("Mój pies #psy") for u in (blocked, blocker, muted)]
    home = await home_ids(alice)
    assert all(p["id"] not in home for p in posts)


async def test_followed_tag_post_reaches_user_stream(client: Any) -> None:
    alice, bob, carol = [await client.make_user(n) for n in ("alice", "bob", "carol")]
    app = client.app
    hub: Hub = app.state.hub
    ok(await alice.post("/api/v1/tags/rowery/follow"))
    conns = {}
    for user in (alice, carol):
        viewer = await lookup_token(app.state.ctx, app.state.token_cache, user.token)
        conns[user.username] = conn = await hub.open(viewer, "ws", user.token)
        await hub.subscribe(conn, ("user",))

    def drain(conn: Any) -> list[dict[str, Any]]:
        frames = []
        while not conn.queue.empty():
            frames.append(orjson.loads(conn.queue.get_nowait()))
        return frames

    st = await bob.post_status("Nowy rower #Rowery")
    await bob.post_status("Prywatny rower #rowery", visibility="private")
    await hub.sync()
    frames = drain(conns["alice"])
    assert [(f["event"], orjson.loads(f["payload"])["id"]) for f in frames] == [("update", st["id"])]
    streamed = orjson.loads(frames[0]["payload"])
    shown = ok(await alice.get(f"/api/v1/statuses/{st['id']}"))
    # (the author's statuses_count moved with the second post meanwhile)
    assert streamed.pop("account")["id"] == shown.pop("account")["id"] == bob.id
    assert streamed == shown
    assert drain(conns["carol"]) == []

    # deleting it reaches the same stream; a follow taken back mid-stream is applied
    await bob.delete(f"/api/v1/statuses/{st['id']}")
    await hub.sync()
    assert [(f["event"], f.get("payload")) for f in drain(conns["alice"])] == [("delete", st["id"])]
    ok(await alice.post("/api/v1/tags/rowery/unfollow"))
    ok(await carol.post("/api/v1/tags/rowery/follow"))
    st2 = await bob.post_status("Drugi rower #rowery")
    await hub.sync()
    assert drain(conns["alice"]) == []
    assert [orjson.loads(f["payload"])["id"] for f in drain(conns["carol"])] == [st2["id"]]
    for conn in conns.values():
        hub.close(conn)


async def test_a_tag_follow_during_stream_loading_is_not_lost(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from sqlalchemy.ext.asyncio import AsyncSession

    from szpak.realtime import audience

    app = client.app
    hub: Hub = app.state.hub
    alice, bob = await client.make_user("alice"), await client.make_user("bob")
    loading, resume = asyncio.Event(), asyncio.Event()
    real_load = audience.load_relations

    async def slow_load(session: AsyncSession, account_id: int) -> audience.Relations:
        rel = await real_load(session, account_id)  # read before the tag follow commits...
        loading.set()
        await resume.wait()
        return rel

    monkeypatch.setattr(audience, "load_relations", slow_load)
    viewer = await lookup_token(app.state.ctx, app.state.token_cache, alice.token)

    async def open_stream() -> Any:
        conn = await hub.open(viewer, "ws", alice.token)
        await hub.subscribe(conn, ("user",))
        return conn

    opening = asyncio.create_task(open_stream())
    await loading.wait()
    ok(await alice.post("/api/v1/tags/góry/follow"))  # ...committed while alice's stream is loading
    await hub.sync()
    resume.set()
    conn = await opening
    await hub.sync()  # the re-queued event is handled after the loading
    assert hub.accounts[int(alice.id)].rel.followed_tags == {"góry"}
    st = await bob.post_status("Szczyt! #Góry")
    await hub.sync()
    frames = []
    while not conn.queue.empty():
        frames.append(orjson.loads(conn.queue.get_nowait()))
    assert [orjson.loads(f["payload"])["id"] for f in frames] == [st["id"]]
    hub.close(conn)
