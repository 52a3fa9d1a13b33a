"""Filters v2 and v1 (docs/api/filters.md): the CRUD endpoints, and what filters do to the
statuses their owner is shown (``filtered`` on a warn match, gone on a hide match), in
timelines, threads, profiles, notifications and streams."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from sqlalchemy import update

from szpak.api.deps import lookup_token
from szpak.domain.filters import FilterSet, keyword_pattern, load_filter_set, status_text
from szpak.storage.models import Filter

pytestmark = pytest.mark.xdist_group("filters")
FORM = "application/x-www-form-urlencoded"


async def make_filter(user: Any, **fields: Any) -> dict[str, Any]:
    body = {"title": "t", "context": ["home"], **fields}
    r = await user.post("/api/v2/filters", json=body)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def home(user: Any) -> list[dict[str, Any]]:
    r = await user.get("/api/v1/timelines/home")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [s["id"] for s in items]


# -- CRUD ----------------------------------------------------------------------------------

async def test_create_show_update_delete_v2(client: Any) -> None:
    ala = await client.make_user("ala")
    # A form as Rails clients send it: each keyword's fields one after the other.
    form = urlencode([
        ("title", "Polityka"), ("context[]", "home"), ("context[]", "public"), ("filter_action", "hide"),
        ("expires_in", "3600"),
        ("keywords_attributes[][keyword]", "sejm"), ("keywords_attributes[][whole_word]", "false"),
        ("keywords_attributes[][keyword]", "wybory"), ("keywords_attributes[][whole_word]", "true"),
    ])
    r = await ala.client.post("/api/v2/filters", content=form, headers={**ala.headers, "content-type": FORM})
    assert r.status_code == 200, r.text
    f = r.json()
    assert f["title"] == "Polityka" and f["context"] == ["home", "public"] and f["filter_action"] == "hide"
    assert [(k["keyword"], k["whole_word"]) for k in f["keywords"]] == [("sejm", False), ("wybory", True)]
    assert f["statuses"] == []
    expires = datetime.fromisoformat(f["expires_at"].replace("Z", "+00:00"))
    assert timedelta(minutes=59) < expires - datetime.now(timezone.utc) <= timedelta(hours=1)

    assert (await ala.get(f"/api/v2/filters/{f['id']}")).json() == f
    assert [x["id"] for x in (await ala.get("/api/v2/filters")).json()] == [f["id"]]

    sejm, wybory = f["keywords"]
    r = await ala.put(
        f"/api/v2/filters/{f['id']}",
        json={
            "title": "Nowy", "filter_action": "warn", "expires_in": "",
            "keywords_attributes": [
                {"id": sejm["id"], "keyword": "senat"},
                {"id": wybory["id"], "_destroy": True},
                {"keyword": "ustawa", "whole_word": False},
            ],
        },
    )
    assert r.status_code == 200, r.text
    g = r.json()
    assert (g["title"], g["filter_action"], g["expires_at"], g["context"]) == ("Nowy", "warn", None, ["home", "public"])
    assert [(k["keyword"], k["whole_word"]) for k in g["keywords"]] == [("senat", False), ("ustawa", False)]
    assert g["keywords"][0]["id"] == sejm["id"]

    assert (await ala.delete(f"/api/v2/filters/{f['id']}")).json() == {}
    assert (await ala.get(f"/api/v2/filters/{f['id']}")).status_code == 404
    assert (await ala.get("/api/v2/filters")).json() == []


async def test_keywords_and_statuses_endpoints(client: Any) -> None:
    ala, bob = await client.make_user("ala"), await client.make_user("bob")
    f = await make_filter(ala)
    r = await ala.post(f"/api/v2/filters/{f['id']}/keywords", json={"keyword": "kot", "whole_word": False})
    assert r.status_code == 200, r.text
    kw = r.json()
    assert kw["keyword"] == "kot" and kw["whole_word"] is False
    assert (await ala.get(f"/api/v2/filters/{f['id']}/keywords")).json() == [kw]
    assert (await ala.get(f"/api/v2/filters/keywords/{kw['id']}")).json() == kw
    r = await ala.put(f"/api/v2/filters/keywords/{kw['id']}", data={"keyword": "pies", "whole_word": "true"})
    assert r.json() == {"id": kw["id"], "keyword": "pies", "whole_word": True}

    post = await bob.post_status("cokolwiek")
    r = await ala.post(f"/api/v2/filters/{f['id']}/statuses", json={"status_id": post["id"]})
    assert r.status_code == 200, r.text
    fs = r.json()
    assert fs["status_id"] == post["id"]
    assert (await ala.get(f"/api/v2/filters/{f['id']}/statuses")).json() == [fs]
    assert (await ala.get(f"/api/v2/filters/statuses/{fs['id']}")).json() == fs
    assert (await ala.post(f"/api/v2/filters/{f['id']}/statuses", json={"status_id": post["id"]})).status_code == 422
    assert (await ala.delete(f"/api/v2/filters/statuses/{fs['id']}")).json() == {}
    assert (await ala.get(f"/api/v2/filters/statuses/{fs['id']}")).status_code == 404
    assert (await ala.delete(f"/api/v2/filters/keywords/{kw['id']}")).json() == {}
    assert (await ala.get(f"/api/v2/filters/{f['id']}/keywords")).json() == []


async def test_single_keyword_and_status_paths_do_not_collide_and_old_spellings_still_work(client: Any) -> None:
    """``/api/v2/filters/keywords/:id`` is not ``/api/v2/filters/:id``; Szpak's first
    spelling (``/api/v2/filter_keywords/:id``, ``/api/v2/filter_statuses/:id``) is an alias."""
    ala, bob = await client.make_user("ala"), await client.make_user("bob")
    f = await make_filter(ala, keywords_attributes=[{"keyword": "kot"}])
    kw = f["keywords"][0]
    post = await bob.post_status("cokolwiek")
    fs = (await ala.post(f"/api/v2/filters/{f['id']}/statuses", json={"status_id": post["id"]})).json()
    assert (await ala.get(f"/api/v2/filters/keywords/{kw['id']}")).json() == kw
    assert (await ala.get(f"/api/v2/filter_keywords/{kw['id']}")).json() == kw
    assert (await ala.get(f"/api/v2/filters/statuses/{fs['id']}")).json() == fs
    assert (await ala.get(f"/api/v2/filter_statuses/{fs['id']}")).json() == fs
    # The words "keywords"/"statuses" are never taken for a filter id, nor a filter id for a keyword's.
    assert (await ala.get("/api/v2/filters/keywords/statuses")).status_code == 404
    assert (await ala.get(f"/api/v2/filters/keywords/{f['id']}")).status_code == 404
    assert (await ala.get(f"/api/v2/filters/{f['id']}")).json()["id"] == f["id"]
    r = await ala.put(f"/api/v2/filter_keywords/{kw['id']}", json={"keyword": "pies"})
    assert r.json()["keyword"] == "pies"
    assert (await ala.delete(f"/api/v2/filter_statuses/{fs['id']}")).json() == {}
    assert (await ala.delete(f"/api/v2/filter_keywords/{kw['id']}")).json() == {}
    assert (await ala.get(f"/api/v2/filters/{f['id']}")).json()["keywords"] == []
    assert (await ala.get(f"/api/v2/filters/{f['id']}")).json()["statuses"] == []


async def test_other_peoples_filters_are_not_found(client: Any) -> None:
    ala, bob = await client.make_user("ala"), await client.make_user("bob")
    f = await make_filter(ala, keywords_attributes=[{"keyword": "x"}])
    kid = f["keywords"][0]["id"]
    for method, url in [
        ("GET", f"/api/v2/filters/{f['id']}"), ("PUT", f"/api/v2/filters/{f['id']}"),
        ("DELETE", f"/api/v2/filters/{f['id']}"), ("GET", f"/api/v2/filters/{f['id']}/keywords"),
        ("POST", f"/api/v2/filters/{f['id']}/keywords"), ("GET", f"/api/v2/filters/keywords/{kid}"),
        ("DELETE", f"/api/v2/filters/keywords/{kid}"), ("GET", f"/api/v1/filters/{kid}"),
        ("DELETE", f"/api/v1/filters/{kid}"),
    ]:
        r = await bob.client.request(method, url, headers=bob.headers, json={"keyword": "y", "title": "z"})
        assert r.status_code == 404, (method, url, r.text)
        assert "error" in r.json()
    # Nor may one's filter's keyword list take someone else's keyword id.
    g = await make_filter(bob)
    r = await bob.put(f"/api/v2/filters/{g['id']}", json={"keywords_attributes": [{"id": kid, "_destroy": "1"}]})
    assert r.status_code == 404
    assert (await ala.get(f"/api/v2/filters/keywords/{kid}")).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"title": "", "context": ["home"]},
        {"title": "t"},
        {"title": "t", "context": ["everywhere"]},
        {"title": "t", "context": "home", "filter_action": "explode"},
        {"title": "t", "context": ["home"], "expires_in": "soon"},
        {"title": "t", "context": ["home"], "expires_in": -5},
        {"title": "t", "context": ["home"], "keywords_attributes": [{"keyword": ""}]},
        {"title": "t", "context": ["home"], "keywords_attributes": "kot"},
        {"title": "t", "context": ["home"], "keywords_attributes": [{"keyword": {"a": 1}}]},
        {"title": "t" * 300, "context": ["home"]},
        {"title": ["a"], "context": ["home"]},
        {"title": "a\x00b", "context": ["home"]},
        {"title": "t", "context": [None]},
        {"title": "t", "context": ["home"], "keywords_attributes": [{"keyword": "k", "whole_word": "maybe"}]},
    ],
)
async def test_bad_input_is_422(client: Any, body: dict[str, Any]) -> None:
    ala = await client.make_user("ala")
    r = await ala.post("/api/v2/filters", json=body)
    assert r.status_code == 422, r.text
    assert "error" in r.json()
    assert (await ala.get("/api/v2/filters")).json() == []


async def test_bad_ids_and_bodies(client: Any) -> None:
    ala = await client.make_user("ala")
    f = await make_filter(ala)
    assert (await ala.get("/api/v2/filters/abc")).status_code == 404
    assert (await ala.get("/api/v2/filters/99999999999999999999")).status_code == 404
    assert (await ala.post(f"/api/v2/filters/{f['id']}/statuses", json={})).status_code == 422
    assert (await ala.post(f"/api/v2/filters/{f['id']}/statuses", json={"status_id": "x"})).status_code == 422
    assert (await ala.post(f"/api/v2/filters/{f['id']}/statuses", json={"status_id": "12345"})).status_code == 404
    r = await ala.client.post("/api/v2/filters", headers={**ala.headers, "content-type": "application/json"}, content=b"{")
    assert r.status_code == 400


async def test_v1_filters(client: Any) -> None:
    ala = await client.make_user("ala")
    r = await ala.post(
        "/api/v1/filters", data={"phrase": "Żółw", "context[]": ["home", "thread"], "irreversible": "true",
                                 "whole_word": "false", "expires_in": ""},
    )
    assert r.status_code == 200, r.text
    v1 = r.json()
    assert v1 == {
        "id": v1["id"], "phrase": "Żółw", "context": ["home", "thread"], "whole_word": False, "expires_at": None,
        "irreversible": True,
    }
    # It is a v2 filter with one keyword, and the v1 id is the keyword's.
    (f,) = (await ala.get("/api/v2/filters")).json()
    assert f["filter_action"] == "hide" and f["keywords"][0]["id"] == v1["id"]
    assert (await ala.get("/api/v1/filters")).json() == [v1]
    assert (await ala.get(f"/api/v1/filters/{v1['id']}")).json() == v1
    r = await ala.put(f"/api/v1/filters/{v1['id']}", json={"phrase": "kot", "irreversible": False, "context": ["public"]})
    assert r.status_code == 200, r.text
    assert (r.json()["phrase"], r.json()["irreversible"], r.json()["context"]) == ("kot", False, ["public"])
    assert (await ala.post("/api/v1/filters", json={"phrase": "", "context": ["home"]})).status_code == 422
    assert (await ala.delete(f"/api/v1/filters/{v1['id']}")).json() == {}
    assert (await ala.get("/api/v1/filters")).json() == []
    assert (await ala.get("/api/v2/filters")).json() == []  # the emptied filter went too


# -- matching ------------------------------------------------------------------------------

def test_keyword_semantics() -> None:
    import re

    def hit(keyword: str, whole: bool, text: str) -> bool:
        return re.search(keyword_pattern(keyword, whole), status_text(content_html=f"<p>{text}</p>")) is not None

    assert hit("zolw", True, "Mój ŻÓŁW śpi")  # case and diacritics folded on both sides
    assert hit("Żółw", True, "mój zolw śpi")
    assert not hit("kot", True, "kotlet na obiad")  # whole words only
    assert hit("kot", False, "kotlet na obiad")  # substring
    assert hit("kot", True, "Kot! na obiad")
    assert hit("#polityka", True, "dziś o #Polityka rano")  # no word boundary needed before '#'
    assert not hit("polityka", True, "geopolityka")
    assert hit("sejm ustawa", True, "Sejm ustawa")
    assert hit("c++", True, "uczę się C++ dziś")
    assert not hit("a.b", False, "axb")  # keywords are literal, not patterns


# -- what filters do -----------------------------------------------------------------------

async def test_warn_adds_filtered_and_hide_removes_from_home(client: Any) -> None:
    ala, bob = await client.make_user("ala"), await client.make_user("bob")
    await ala.follow(bob)
    warned = await bob.post_status("Dziś o Żółwiach i sejmie")
    hidden = await bob.post_status("Spoiler o finale", spoiler_text="serial")
    plain = await bob.post_status("nic ciekawego")

    before = await home(ala)
    assert ids(before) == [plain["id"], hidden["id"], warned["id"]]
    assert all(s["filtered"] == [] for s in before)

    w = await make_filter(ala, title="Polityka", filter_action="warn",
                          keywords_attributes=[{"keyword": "SEJMIE"}, {"keyword": "zolw", "whole_word": False}])
    h = await make_filter(ala, title="Seriale", filter_action="hide", keywords_attributes=[{"keyword": "serial"}])

    after = await home(ala)
    assert ids(after) == [plain["id"], warned["id"]]
    (result,) = after[1]["filtered"]
    assert result["filter"] == {k: w[k] for k in ("id", "title", "context", "expires_at", "filter_action")}
    assert sorted(result["keyword_matches"]) == ["SEJMIE", "zolw"] and result["status_matches"] is None
    assert after[0]["filtered"] == []

    # Others are not affected; the author is not filtered by its own... nor by others' filters.
    assert ids(await home(bob)) == ids(before)
    # Not in the public timeline: the filters' context is home only.
    public = (await ala.get("/api/v1/timelines/public")).json()
    assert hidden["id"] in ids(public) and all(s["filtered"] == [] for s in public)

    # Deleting the hide filter takes effect at once.
    assert (await ala.delete(f"/api/v2/filters/{h['id']}")).status_code == 200
    assert ids(await home(ala)) == ids(before)


async def test_own_posts_are_never_filtered(client: Any) -> None:
    ala = await client.make_user("ala")
    mine = await ala.post_status("o sejmie")
    await make_filter(ala, filter_action="hide", keywords_attributes=[{"keyword": "sejmie"}])
    assert ids(await home(ala)) == [mine["id"]]


async def test_single_and_batch_statuses_carry_thread_filters(client: Any) -> None:
    """A post asked for by id (``/statuses/:id``, ``/statuses?id[]=``) is in the thread context:
    ``filtered`` is filled in, and a hide match is marked rather than answered 404."""
    ala, bob = await client.make_user("ala"), await client.make_user("bob")
    warned = await bob.post_status("o sejmie dziś")
    hidden = await bob.post_status("spoiler z serialu")
    plain = await bob.post_status("nic ciekawego")
    w = await make_filter(ala, context=["thread"], filter_action="warn", keywords_attributes=[{"keyword": "sejmie"}])
    h = await make_filter(ala, context=["thread"], filter_action="hide", keywords_attributes=[{"keyword": "serialu"}])
    home_only = await make_filter(ala, context=["home"], keywords_attributes=[{"keyword": "ciekawego"}])

    def filter_ids(status: dict[str, Any]) -> list[str]:
        return [r["filter"]["id"] for r in status["filtered"]]

    one = (await ala.get(f"/api/v1/statuses/{warned['id']}")).json()
    assert filter_ids(one) == [w["id"]] and one["filtered"][0]["keyword_matches"] == ["sejmie"]
    r = await ala.get(f"/api/v1/statuses/{hidden['id']}")
    assert r.status_code == 200 and filter_ids(r.json()) == [h["id"]]
    assert r.json()["filtered"][0]["filter"]["filter_action"] == "hide"
    assert (await ala.get(f"/api/v1/statuses/{plain['id']}")).json()["filtered"] == []  # home only
    assert home_only["id"] not in filter_ids(one)

    query = urlencode([("id[]", x["id"]) for x in (hidden, plain, warned)])
    batch = (await ala.get(f"/api/v1/statuses?{query}")).json()
    assert ids(batch) == [hidden["id"], plain["id"], warned["id"]]
    assert [filter_ids(x) for x in batch] == [[h["id"]], [], [w["id"]]]

    # Nobody else is affected, and the author is never filtered.
    for other in (bob, await client.make_user("cyd")):
        assert (await other.get(f"/api/v1/statuses/{warned['id']}")).json()["filtered"] == []
        assert all(x["filtered"] == [] for x in (await other.get(f"/api/v1/statuses?{query}")).json())


async def test_filter_by_status_and_boosts(client: Any) -> None:
    ala, bob, cyd = [await client.make_user(n) for n in ("ala", "bob", "cyd")]
    await ala.follow(bob)
    post = await cyd.post_status("coś cyda")
    boost = (await bob.post(f"/api/v1/statuses/{post['id']}/reblog")).json()
    f = await make_filter(ala, filter_action="warn")
    assert (await ala.post(f"/api/v2/filters/{f['id']}/statuses", json={"status_id": post["id"]})).status_code == 200
    (shown,) = await home(ala)
    assert shown["id"] == boost["id"]
    assert shown["filtered"][0]["status_matches"] == [post["id"]]
    assert shown["reblog"]["filtered"][0]["status_matches"] == [post["id"]]
    await ala.put(f"/api/v2/filters/{f['id']}", json={"filter_action": "hide"})
    assert await home(ala) == []


async def test_public_tag_thread_account_and_list_contexts(client: Any) -> None:
    ala, bob = await client.make_user("ala"), await client.make_user("bob")
    await ala.follow(bob)
    root = await bob.post_status("#pogoda dziś ładnie")
    reply = await bob.post_status("a jutro burza", in_reply_to_id=root["id"])
    await make_filter(ala, context=["public", "thread", "account"], filter_action="hide",
                      keywords_attributes=[{"keyword": "pogoda"}, {"keyword": "burza"}])

    assert root["id"] not in ids((await ala.get("/api/v1/timelines/public")).json())
    assert (await ala.get("/api/v1/timelines/tag/pogoda")).json() == []
    assert (await ala.get(f"/api/v1/accounts/{bob.id}/statuses")).json() == []
    ctx = (await ala.get(f"/api/v1/statuses/{root['id']}/context")).json()
    assert ctx == {"ancestors": [], "descendants": []}
    # Home was not among the contexts.
    assert ids(await home(ala)) == [reply["id"], root["id"]]
    # Anonymous readers and other accounts see everything.
    assert len((await client.get("/api/v1/timelines/tag/pogoda")).json()) == 1
    assert len((await bob.get(f"/api/v1/statuses/{root['id']}/context")).json()["descendants"]) == 1

    # Lists read the home context.
    lst = (await ala.post("/api/v1/lists", json={"title": "L"})).json()
    await ala.post(f"/api/v1/lists/{lst['id']}/accounts", json={"account_ids": [bob.id]})
    assert len((await ala.get(f"/api/v1/timelines/list/{lst['id']}")).json()) == 2
    await make_filter(ala, context=["home"], filter_action="hide", keywords_attributes=[{"keyword": "burza"}])
    assert ids((await ala.get(f"/api/v1/timelines/list/{lst['id']}")).json()) == [root["id"]]


async def test_notifications_context(client: Any) -> None:
    ala, bob = await client.make_user("ala"), await client.make_user("bob")
    await bob.post_status("@ala spam spam")
    await bob.post_status("@ala witaj")
    assert len((await ala.get("/api/v1/notifications")).json()) == 2
    f = await make_filter(ala, context=["notifications"], filter_action="warn", keywords_attributes=[{"keyword": "spam"}])
    shown = (await ala.get("/api/v1/notifications")).json()
    assert [bool(n["status"]["filtered"]) for n in shown] == [False, True]
    await ala.put(f"/api/v2/filters/{f['id']}", json={"filter_action": "hide"})
    (left,) = (await ala.get("/api/v1/notifications")).json()
    assert "witaj" in left["status"]["content"]


async def test_expired_filters_stop_applying(client: Any) -> None:
    ala, bob = await client.make_user("ala"), await client.make_user("bob")
    await ala.follow(bob)
    post = await bob.post_status("o sejmie")
    f = await make_filter(ala, filter_action="hide", expires_in=3600, keywords_attributes=[{"keyword": "sejmie"}])
    assert await home(ala) == []
    # Expire it behind the API's back: no event, no cache drop; expiry is checked on use.
    async with client.app.state.ctx.tx() as tx:
        await tx.session.execute(
            update(Filter).where(Filter.id == int(f["id"])).values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1))
        )
    client.app.state.filter_cache.drop(int(ala.id))
    assert ids(await home(ala)) == [post["id"]]


async def test_filter_set_expiry_is_checked_at_use() -> None:
    from szpak.domain.filters import CompiledFilter

    soon = datetime.now(timezone.utc) + timedelta(seconds=5)
    import re

    f = CompiledFilter(1, "hide", frozenset({"home"}), soon, {}, [("kot", re.compile("kot"))], frozenset())
    fs = FilterSet([f])
    assert fs.hides("home", "kot", [])
    assert not fs.hides("home", "kot", [], now=soon + timedelta(seconds=1))
    assert not fs.hides("public", "kot", [])


async def test_changes_reach_a_cached_reader_at_once(client: Any) -> None:
    """The per-process cache is dropped by FiltersChanged (no TTL wait)."""
    ala, bob = await client.make_user("ala"), await client.make_user("bob")
    await ala.follow(bob)
    await bob.post_status("o kotach")
    f = await make_filter(ala, filter_action="hide", keywords_attributes=[{"keyword": "kot", "whole_word": False}])
    assert await home(ala) == []
    kid = f["keywords"][0]["id"]
    await ala.put(f"/api/v2/filters/keywords/{kid}", json={"keyword": "pies"})
    assert len(await home(ala)) == 1
    await ala.put(f"/api/v2/filters/keywords/{kid}", json={"keyword": "kotach"})
    assert await home(ala) == []


async def test_hide_filter_keeps_a_status_out_of_streams(client: Any) -> None:
    from szpak.realtime.hub import Hub

    ala, bob = await client.make_user("ala"), await client.make_user("bob")
    await ala.follow(bob)
    hub: Hub = client.app.state.hub
    viewer = await lookup_token(client.app.state.ctx, client.app.state.token_cache, ala.token)
    conn = await hub.open(viewer, "ws", ala.token)
    await hub.subscribe(conn, ("user",))
    await hub.subscribe(conn, ("public",))

    def frames() -> list[tuple[str, str, Any]]:
        out = []
        while not conn.queue.empty():
            frame = orjson.loads(conn.queue.get_nowait())
            out.append((frame["stream"][0], frame["event"], frame.get("payload")))
        return out

    await bob.post_status("pierwszy o kotach")
    await hub.sync()
    assert sorted(s for s, e, _ in frames() if e == "update") == ["public", "user"]

    f = await make_filter(ala, context=["home"], filter_action="hide",
                          keywords_attributes=[{"keyword": "KOTACH"}])
    await hub.sync()
    assert [e for _, e, _ in frames()] == ["filters_changed"]
    await bob.post_status("drugi o kotach")
    await bob.post_status("o psach")
    await hub.sync()
    updates = [(s, orjson.loads(p)["content"]) for s, e, p in frames() if e == "update"]
    assert ("user", "<p>drugi o kotach</p>") not in updates
    assert ("public", "<p>drugi o kotach</p>") in updates  # public was not a context of the filter
    assert ("user", "<p>o psach</p>") in updates

    await ala.put(f"/api/v2/filters/{f['id']}", json={"context": ["home", "public"]})
    await hub.sync()
    frames()
    await bob.post_status("trzeci o kotach")
    await hub.sync()
    assert [e for _, e, _ in frames() if e == "update"] == []
    hub.close(conn)


async def test_load_filter_set(client: Any) -> None:
    ala = await client.make_user("ala")
    await make_filter(ala, keywords_attributes=[{"keyword": "kot"}])
    async with client.app.state.ctx.read() as s:
        fs = await load_filter_set(s, int(ala.id))
    assert fs.results("home", status_text(content_html="<p>Kot</p>"), [])
    assert not fs.results("public", status_text(content_html="<p>Kot</p>"), [])


async def test_poll_options_and_content_warnings_are_matched(client: Any) -> None:
    ala, bob = await client.make_user("ala"), await client.make_user("bob")
    await ala.follow(bob)
    poll = await bob.post_status("Głosujcie!", poll={"options": ["Kot", "Pies"], "expires_in": 3600})
    if poll.get("poll") is None:
        pytest.skip("polls are not rendered by this build")
    cw = await bob.post_status("treść", spoiler_text="o finale serialu")
    await make_filter(ala, filter_action="hide", keywords_attributes=[{"keyword": "kot"}, {"keyword": "finale"}])
    assert await home(ala) == []
    assert {s["id"] for s in await home(bob)} == {poll["id"], cw["id"]}


async def test_warn_filter_fills_filtered_in_streams(client: Any) -> None:
    from szpak.realtime.hub import Hub

    ala, bob = await client.make_user("ala"), await client.make_user("bob")
    await ala.follow(bob)
    f = await make_filter(ala, context=["home"], filter_action="warn", keywords_attributes=[{"keyword": "kot"}])
    hub: Hub = client.app.state.hub
    viewer = await lookup_token(client.app.state.ctx, client.app.state.token_cache, ala.token)
    conn = await hub.open(viewer, "ws", ala.token)
    await hub.subscribe(conn, ("user",))
    await hub.subscribe(conn, ("public",))
    await bob.post_status("mój kot")
    await hub.sync()
    got = {}
    while not conn.queue.empty():
        frame = orjson.loads(conn.queue.get_nowait())
        if frame["event"] == "update":
            got[frame["stream"][0]] = orjson.loads(frame["payload"])
    assert got["user"]["filtered"][0]["filter"]["id"] == f["id"]
    assert got["user"]["filtered"][0]["keyword_matches"] == ["kot"]
    assert got["public"]["filtered"] == []  # not a context of the filter
    hub.close(conn)


async def test_notifications_filter_in_the_notification_stream(client: Any) -> None:
    from szpak.realtime.hub import Hub

    ala, bob = await client.make_user("ala"), await client.make_user("bob")
    await make_filter(ala, context=["notifications"], filter_action="hide", keywords_attributes=[{"keyword": "spam"}])
    hub: Hub = client.app.state.hub
    viewer = await lookup_token(client.app.state.ctx, client.app.state.token_cache, ala.token)
    conn = await hub.open(viewer, "ws", ala.token)
    await hub.subscribe(conn, ("user:notification",))
    await bob.post_status("@ala spam spam")
    await bob.post_status("@ala cześć")
    await hub.sync()
    contents = []
    while not conn.queue.empty():
        frame = orjson.loads(conn.queue.get_nowait())
        if frame["event"] == "notification":
            contents.append(orjson.loads(frame["payload"])["status"]["content"])
    assert len(contents) == 1 and "cześć" in contents[0]
    hub.close(conn)
