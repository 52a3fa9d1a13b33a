"""The cached Presenter renders exactly what Renderer renders from a fresh load, after
every kind of change (so a stale cache entry shows up as a difference)."""

from typing import Any

from szpak.storage.models import Status
from szpak.storage.queries import load_bundle


async def fresh(client: Any, ids: list[str], viewer_id: str | None) -> list[dict]:
    app = client.app
    vid = int(viewer_id) if viewer_id else None
    async with app.state.ctx.read() as s:
        rows = [await s.get(Status, int(i)) for i in ids]
        rows = [r for r in rows if r is not None]
        bundle = await load_bundle(s, rows, vid)
    return app.state.renderer.statuses(rows, bundle)


async def cached(client: Any, ids: list[str], viewer_id: str | None) -> list[dict]:
    app = client.app
    async with app.state.ctx.read() as s:
        return await app.state.presenter.statuses(s, [int(i) for i in ids], int(viewer_id) if viewer_id else None)


async def assert_same(client: Any, ids: list[str], viewers: list[str | None]) -> None:
    for v in viewers:
        assert await cached(client, ids, v) == await fresh(client, ids, v)


async def test_presenter_matches_renderer_through_changes(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    root = await alice.post_status("Pierwszy wpis #skarpetki @bob")
    ids = [root["id"]]
    viewers = [None, alice.id, bob.id]
    await assert_same(client, ids, viewers)  # fills the cache

    await bob.follow(alice)
    await assert_same(client, ids, viewers)  # follower counts in the embedded account
    assert (await bob.post(f"/api/v1/statuses/{root['id']}/favourite")).status_code == 200
    await assert_same(client, ids, viewers)
    reply = await bob.post_status("@alice odpowiedź", in_reply_to_id=root["id"])
    ids.append(reply["id"])
    await assert_same(client, ids, viewers)
    boost = (await bob.post(f"/api/v1/statuses/{root['id']}/reblog")).json()
    ids.append(boost["id"])
    await assert_same(client, ids, viewers)
    assert (await alice.put(f"/api/v1/statuses/{root['id']}", json={"status": "Poprawiony wpis"})).status_code == 200
    await assert_same(client, ids, viewers)
    assert (await bob.post(f"/api/v1/statuses/{root['id']}/unfavourite")).status_code == 200
    await assert_same(client, ids, viewers)
    assert (await alice.patch("/api/v1/accounts/update_credentials", json={"display_name": "Alicja"})).status_code == 200
    await assert_same(client, ids, viewers)
    assert (await bob.post(f"/api/v1/statuses/{root['id']}/unreblog")).status_code == 200
    await assert_same(client, ids, viewers)
    assert (await bob.delete(f"/api/v1/statuses/{reply['id']}")).status_code == 200
    await assert_same(client, ids, viewers)
    got = (await client.get(f"/api/v1/statuses/{root['id']}")).json()
    assert got["replies_count"] == 0 and got["favourites_count"] == 0 and got["account"]["display_name"] == "Alicja"
