import json

async def test_smoke(live_server):
    alice = await live_server.user("alice")
    bob = await live_server.user("bob")
    await bob.follow(alice)
    ws = await bob.ws("user")
    st = await alice.post_status("hello")
    frame = await ws.expect("update")
    assert frame["stream"] == ["user"]
    assert json.loads(frame["payload"]) == await bob.status_as_seen(st["id"])
    sse = await bob.sse("user")
    st2 = await alice.post_status("again")
    ev = await sse.expect("update")
    assert json.loads(ev["payload"])["id"] == st2["id"]
    await sse.close()
    await ws.close()
