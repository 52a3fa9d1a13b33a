"""The ``list`` stream end to end, against a real server: who reaches it, with which payload,
and how membership, replies policy, exclusivity and the social graph changing under an open
stream take effect (``ListChanged``, ``RelationshipChanged``).

Every payload is compared with the REST list timeline and ``GET /api/v1/statuses/:id`` for
the same viewer.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from .live import Actor, LiveServer, StreamClient

pytestmark = pytest.mark.xdist_group("realtime-lists")


def payload(frame: dict[str, Any]) -> Any:
    return json.loads(frame["payload"])


async def make_list(owner: Actor, title: str = "Lista", **fields: Any) -> str:
    r = await owner.post("/api/v1/lists", json={"title": title, **fields})
    assert r.status_code == 200, r.text
    return r.json()["id"]  # type: ignore[no-any-return]


async def add(owner: Actor, list_id: str, *members: Actor) -> None:
    r = await owner.post(f"/api/v1/lists/{list_id}/accounts", json={"account_ids": [m.id for m in members]})
    assert r.status_code == 200, r.text


async def remove(owner: Actor, list_id: str, *members: Actor) -> None:
    r = await owner.request("DELETE", f"/api/v1/lists/{list_id}/accounts", json={"account_ids": [m.id for m in members]})
    assert r.status_code == 200, r.text


async def update(owner: Actor, list_id: str, **fields: Any) -> None:
    r = await owner.request("PUT", f"/api/v1/lists/{list_id}", json=fields)
    assert r.status_code == 200, r.text


async def list_timeline(owner: Actor, list_id: str) -> list[dict[str, Any]]:
    r = await owner.get(f"/api/v1/timelines/list/{list_id}", params={"limit": 40})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def quiet(server: LiveServer, *clients: StreamClient) -> list[dict[str, Any]]:
    """Frames that arrived for everything published so far (the test expects none)."""
    await server.settle(*clients)
    return [frame for client in clients for frame in client.pending()]


async def setup(server: LiveServer, **fields: Any) -> tuple[Actor, Actor, Actor, str]:
    """owner follows member and outsider; member is on the owner's new list."""
    owner, member, outsider = await server.users("owner", "member", "outsider")
    await owner.follow(member)
    await owner.follow(outsider)
    list_id = await make_list(owner, **fields)
    await add(owner, list_id, member)
    return owner, member, outsider, list_id


async def test_update_edit_delete_over_websocket_and_sse(live_server: LiveServer) -> None:
    owner, member, outsider, list_id = await setup(live_server)
    ws = await owner.ws(("list", "list", list_id))
    sse = await owner.sse("list", list=list_id)
    await live_server.settle(sse)

    await outsider.post_status("Poza listą")
    st = await member.post_status("Na liście, #Gdańsk")
    frame = await ws.expect("update")
    assert frame["stream"] == ["list", list_id]
    shown = payload(frame)
    assert shown == await owner.status_as_seen(st["id"])
    assert [s for s in await list_timeline(owner, list_id) if s["id"] == st["id"]] == [shown]
    assert payload(await sse.expect("update")) == shown

    await member.edit(st["id"], "Poprawione")
    edited = await ws.expect("status.update")
    assert payload(edited) == await owner.status_as_seen(st["id"])
    assert payload(await sse.expect("status.update")) == payload(edited)

    await member.delete(st["id"])
    assert (await ws.expect("delete"))["payload"] == st["id"]
    assert (await sse.expect("delete"))["payload"] == st["id"]
    assert await quiet(live_server, ws, sse) == []
    for client in (ws, sse):
        await client.close()


async def test_subscribe_on_connect_by_query(live_server: LiveServer) -> None:
    from .live import WSClient

    owner, member, _, list_id = await setup(live_server)
    ws = await WSClient.connect(live_server, owner.token, query=f"stream=list&list={list_id}")
    await live_server.settle(ws)
    st = await member.post_status("Od razu")
    assert payload(await ws.expect("update"))["id"] == st["id"]
    await ws.close()


async def test_only_the_owner_may_stream_a_list(live_server: LiveServer) -> None:
    owner, member, _, list_id = await setup(live_server)
    ws = await member.ws()
    await ws.send({"type": "subscribe", "stream": "list", "list": list_id})
    assert await ws.next() == {"error": "Not authorized to stream this list", "status": 404}
    r = await member.get("/api/v1/streaming/list", params={"list": list_id})
    assert r.status_code == 404 and r.json() == {"error": "Not authorized to stream this list"}
    r = await owner.get("/api/v1/streaming/list")
    assert r.status_code == 400
    await member.post_status("Nikt obcy tego nie dostanie")
    assert await quiet(live_server, ws) == []
    await ws.close()


async def test_membership_changes_apply_to_an_open_stream(live_server: LiveServer) -> None:
    owner, member, outsider, list_id = await setup(live_server)
    ws = await owner.ws(("list", "list", list_id))

    await add(owner, list_id, outsider)
    st = await outsider.post_status("Już na liście")
    assert payload(await ws.expect("update"))["id"] == st["id"]

    await remove(owner, list_id, outsider)
    await outsider.post_status("Znowu poza")
    assert await quiet(live_server, ws) == []

    # Unfollowing takes the member off the list (a ListChanged from the graph action).
    await owner.unfollow(member)
    await member.post_status("Już nieobserwowany")
    assert await quiet(live_server, ws) == []
    await owner.follow(member)  # following again does not put anyone back
    await member.post_status("Obserwowany, ale nie na liście")
    assert await quiet(live_server, ws) == []
    await ws.close()


async def test_a_second_connection_shares_the_current_membership(live_server: LiveServer) -> None:
    owner, member, outsider, list_id = await setup(live_server)
    first = await owner.ws(("list", "list", list_id))
    await add(owner, list_id, outsider)
    second = await owner.ws(("list", "list", list_id))
    st = await outsider.post_status("Dla obu")
    for ws in (first, second):
        assert payload(await ws.expect("update"))["id"] == st["id"]
    await first.close()
    await live_server.settle(second)
    st = await member.post_status("Dla drugiego")
    assert payload(await second.expect("update"))["id"] == st["id"]
    await second.close()


async def test_block_by_a_member_ends_delivery(live_server: LiveServer) -> None:
    owner, member, _, list_id = await setup(live_server)
    ws = await owner.ws(("list", "list", list_id))
    await member.block(owner)
    await member.post_status("Zablokowana")
    assert await quiet(live_server, ws) == []
    await ws.close()


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("followed", ["self", "owner", "to_member", "to_followed"]), ("list", ["self", "owner", "to_member"]),
     ("none", ["self", "owner"])],
)
async def test_replies_policy_matches_the_rest_timeline(live_server: LiveServer, policy: str,
                                                        expected: list[str]) -> None:
    owner, member, other_member, followed, stranger = await live_server.users("owner", "m", "m2", "f", "s")
    for who in (member, other_member, followed):
        await owner.follow(who)
    list_id = await make_list(owner, replies_policy=policy)
    await add(owner, list_id, member, other_member)
    roots = {}
    for name, who in (("owner", owner), ("member", member), ("m2", other_member), ("f", followed), ("s", stranger)):
        roots[name] = (await who.post_status(f"Wątek {name}"))["id"]
    ws = await owner.ws(("list", "list", list_id))
    made = {}
    for name, target in (("self", "member"), ("owner", "owner"), ("to_member", "m2"), ("to_followed", "f"),
                         ("to_stranger", "s")):
        made[name] = (await member.post_status(f"Odpowiedź {name}", in_reply_to_id=roots[target]))["id"]
    await live_server.settle(ws)
    streamed = [payload(f)["id"] for f in ws.pending() if f["event"] == "update"]
    by_id = {v: k for k, v in made.items()}
    assert [by_id[i] for i in streamed] == expected
    rest = [s["id"] for s in await list_timeline(owner, list_id) if s["id"] in by_id]
    assert sorted(rest) == sorted(streamed)
    await ws.close()


async def test_replies_policy_change_applies_to_an_open_stream(live_server: LiveServer) -> None:
    owner, member, outsider, list_id = await setup(live_server, replies_policy="followed")
    root = await outsider.post_status("Pytanie")
    ws = await owner.ws(("list", "list", list_id))
    first = await member.post_status("Odpowiedź 1", in_reply_to_id=root["id"])
    assert payload(await ws.expect("update"))["id"] == first["id"]
    await update(owner, list_id, replies_policy="none")
    await member.post_status("Odpowiedź 2", in_reply_to_id=root["id"])
    assert await quiet(live_server, ws) == []
    await ws.close()


async def test_visibility_and_mutes(live_server: LiveServer) -> None:
    owner, member, _, list_id = await setup(live_server)
    somebody = await live_server.user("somebody")
    ws = await owner.ws(("list", "list", list_id))
    await member.post_status(f"@{somebody.username} tylko dla ciebie", visibility="direct")
    private = await member.post_status("Dla obserwujących", visibility="private")
    frame = await ws.expect("update")
    assert payload(frame) == await owner.status_as_seen(private["id"])
    assert await quiet(live_server, ws) == []
    await owner.mute(member)
    await member.post_status("Wyciszony")
    assert await quiet(live_server, ws) == []
    await ws.close()


async def test_exclusive_list_keeps_members_out_of_the_user_stream(live_server: LiveServer) -> None:
    owner, member, outsider, list_id = await setup(live_server)
    ws = await owner.ws("user", ("list", "list", list_id))
    home_only = await owner.ws("user")  # a connection of the same account without the list

    st = await member.post_status("Wszędzie")
    frames = [await ws.expect("update") for _ in range(2)]
    assert sorted(f["stream"][0] for f in frames) == ["list", "user"]
    assert payload(await home_only.expect("update"))["id"] == st["id"]

    await update(owner, list_id, exclusive=True)
    st = await member.post_status("Tylko na liście")
    frame = await ws.expect("update")
    assert frame["stream"] == ["list", list_id] and payload(frame)["id"] == st["id"]
    other = await outsider.post_status("Spoza listy")
    assert payload(await ws.expect("update"))["id"] == other["id"]
    assert payload(await home_only.expect("update"))["id"] == other["id"]
    assert await quiet(live_server, ws, home_only) == []
    home = [s["id"] for s in (await owner.get("/api/v1/timelines/home")).json()]
    assert st["id"] not in home and other["id"] in home
    for client in (ws, home_only):
        await client.close()


async def test_exclusive_members_are_loaded_when_the_account_connects(live_server: LiveServer) -> None:
    owner, member, _, list_id = await setup(live_server, exclusive=True)
    ws = await owner.ws("user")
    await member.post_status("Nie w domu")
    assert await quiet(live_server, ws) == []
    await ws.close()


async def test_a_deleted_list_goes_quiet(live_server: LiveServer) -> None:
    owner, member, _, list_id = await setup(live_server)
    ws = await owner.ws(("list", "list", list_id))
    r = await owner.request("DELETE", f"/api/v1/lists/{list_id}")
    assert r.status_code == 200
    await member.post_status("Po usunięciu listy")
    assert await quiet(live_server, ws) == []
    fresh = await owner.ws()
    await fresh.send({"type": "subscribe", "stream": "list", "list": list_id})
    assert await fresh.next() == {"error": "Not authorized to stream this list", "status": 404}
    for client in (ws, fresh):
        await client.close()


async def test_list_stream_needs_a_read_token(live_server: LiveServer) -> None:
    owner, _, _, list_id = await setup(live_server)
    writer = await live_server.user("writer", scopes="write")
    r = await writer.get("/api/v1/streaming/list", params={"list": list_id})
    assert r.status_code == 401
    r = await live_server.http().get("/api/v1/streaming/list", params={"list": list_id})
    assert r.status_code == 401
    del owner
