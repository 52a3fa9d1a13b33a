"""/api/v1/timelines: home, public and tag; Mastodon pagination and Link headers; a fixed
number of SQL statements per page of the home timeline."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import update

from szpak.domain import relationships
from szpak.storage.models import Mute

from .domain_steps import act
from .helpers import links, read_statements
from .mastodon_schema import assert_entity


async def follow(client: Any, who: Any, whom: Any, **kw: Any) -> None:
    await act(client, who, relationships.follow, int(whom.id), **kw)


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()]


# -- home -----------------------------------------------------------------------------------


async def test_home_shows_own_and_followed_posts_newest_first(client):
    me = await client.make_user("me")
    friend = await client.make_user("friend")
    stranger = await client.make_user("stranger")
    await follow(client, me, friend)
    a = await friend.post_status("od przyjaciela")
    await stranger.post_status("od obcego")
    b = await me.post_status("moje")
    c = await friend.post_status("dla obserwujących", visibility="private")
    d = await friend.post_status("niepubliczne", visibility="unlisted")
    r = await me.get("/api/v1/timelines/home")
    assert ids(r) == [d["id"], c["id"], b["id"], a["id"]]
    for status in r.json():
        assert_entity(status, "Status")
    assert ids(await friend.get("/api/v1/timelines/home")) == [d["id"], c["id"], a["id"]]


async def test_home_reply_rules(client):
    me = await client.make_user("me")
    friend = await client.make_user("friend")
    other_friend = await client.make_user("other")
    stranger = await client.make_user("stranger")
    await follow(client, me, friend)
    await follow(client, me, other_friend)
    to_stranger_root = await stranger.post_status("obcy")
    mine = await me.post_status("moje")
    friends = await other_friend.post_status("drugi")
    thread = await friend.post_status("wątek 1/2")

    hidden = await friend.post_status("@stranger do obcego", in_reply_to_id=to_stranger_root["id"])
    to_me = await friend.post_status("@me do mnie", in_reply_to_id=mine["id"])
    to_friend = await friend.post_status("@other do znajomego", in_reply_to_id=friends["id"])
    self_reply = await friend.post_status("wątek 2/2", in_reply_to_id=thread["id"])
    my_reply = await me.post_status("@stranger ja do obcego", in_reply_to_id=to_stranger_root["id"])

    home = ids(await me.get("/api/v1/timelines/home"))
    assert hidden["id"] not in home
    for wanted in (to_me, to_friend, self_reply, my_reply, mine, friends, thread):
        assert wanted["id"] in home


async def test_home_reblogs_and_show_reblogs_false(client):
    me = await client.make_user("me")
    booster = await client.make_user("booster")
    quiet = await client.make_user("quiet")
    author = await client.make_user("author")
    await follow(client, me, booster)
    await follow(client, me, quiet, reblogs=False)
    post = await author.post_status("warte podania")
    rb = (await booster.post(f"/api/v1/statuses/{post['id']}/reblog")).json()
    await quiet.post(f"/api/v1/statuses/{post['id']}/reblog")
    r = await me.get("/api/v1/timelines/home")
    assert ids(r) == [rb["id"]]
    assert r.json()[0]["reblog"]["id"] == post["id"]
    assert r.json()[0]["reblog"]["account"]["id"] == author.id


async def test_home_hides_muted_accounts_and_their_boosted_posts(client):
    me = await client.make_user("me")
    friend = await client.make_user("friend")
    muted = await client.make_user("muted")
    await follow(client, me, friend)
    await follow(client, me, muted)
    own = await muted.post_status("od wyciszonego")
    boosted = await muted.post_status("podbijany")
    rb = (await friend.post(f"/api/v1/statuses/{boosted['id']}/reblog")).json()
    assert set(ids(await me.get("/api/v1/timelines/home"))) == {own["id"], boosted["id"], rb["id"]}
    await act(client, me, relationships.mute, int(muted.id))
    assert ids(await me.get("/api/v1/timelines/home")) == []
    # Still readable on its own: a mute is not a block.
    assert (await me.get(f"/api/v1/statuses/{own['id']}")).status_code == 200
    async with client.app.state.ctx.tx() as tx:
        await tx.session.execute(update(Mute).values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    assert set(ids(await me.get("/api/v1/timelines/home"))) == {own["id"], boosted["id"], rb["id"]}


async def test_home_hides_boosts_of_posts_the_viewer_may_not_see(client):
    me = await client.make_user("me")
    friend = await client.make_user("friend")
    blocker = await client.make_user("blocker")
    blocked = await client.make_user("blocked")
    await follow(client, me, friend)
    by_blocker = await blocker.post_status("od blokującego")
    by_blocked = await blocked.post_status("od zablokowanego")
    fine = await friend.post_status("zwykły")
    for post in (by_blocker, by_blocked):
        assert (await friend.post(f"/api/v1/statuses/{post['id']}/reblog")).status_code == 200
    assert len(ids(await me.get("/api/v1/timelines/home"))) == 3
    await act(client, blocker, relationships.block, int(me.id))
    await act(client, me, relationships.block, int(blocked.id))
    assert ids(await me.get("/api/v1/timelines/home")) == [fine["id"]]


async def test_home_carries_direct_posts_to_recipients_who_follow_the_author(client):
    me = await client.make_user("me")
    friend = await client.make_user("friend")
    stranger = await client.make_user("stranger")
    await follow(client, me, friend)
    dm = await friend.post_status("@me tylko do ciebie", visibility="direct")
    other_dm = await friend.post_status("@stranger nie do ciebie", visibility="direct")
    await stranger.post_status("@me od obcego", visibility="direct")
    assert ids(await me.get("/api/v1/timelines/home")) == [dm["id"]]
    assert other_dm["id"] in ids(await friend.get("/api/v1/timelines/home"))


async def test_home_needs_a_user_token_with_read_statuses(client):
    assert (await client.get("/api/v1/timelines/home")).status_code == 401
    r = await client.get("/api/v1/timelines/home", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and "error" in r.json()
    writer = await client.make_user("writer", scopes="write")
    assert (await writer.get("/api/v1/timelines/home")).status_code == 403
    reader = await client.make_user("reader", scopes="read:statuses")
    assert (await reader.get("/api/v1/timelines/home")).status_code == 200


# -- pagination -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/timelines/home", "/api/v1/timelines/public", "/api/v1/timelines/tag/seria"])
async def test_pagination_and_link_headers(client, path):
    me = await client.make_user("me")
    posts = [await me.post_status(f"wpis {i} #seria") for i in range(7)]
    newest_first = [p["id"] for p in reversed(posts)]

    first = await me.get(f"{path}?limit=3")
    assert ids(first) == newest_first[:3]
    rel = links(first)
    assert f"max_id={newest_first[2]}" in rel["next"] and f"min_id={newest_first[0]}" in rel["prev"]
    assert "limit=3" in rel["next"]
    second = await me.get(rel["next"].removeprefix("http://testserver"))
    assert ids(second) == newest_first[3:6]
    third = await me.get(links(second)["next"].removeprefix("http://testserver"))
    assert ids(third) == newest_first[6:]
    assert ids(await me.get(links(third)["next"].removeprefix("http://testserver"))) == []

    # min_id: the page immediately above, still newest first; since_id: the newest above.
    assert ids(await me.get(f"{path}?min_id={posts[1]['id']}&limit=2")) == [posts[3]["id"], posts[2]["id"]]
    assert ids(await me.get(f"{path}?since_id={posts[1]['id']}&limit=2")) == [posts[6]["id"], posts[5]["id"]]
    assert ids(await me.get(f"{path}?max_id={posts[5]['id']}&min_id={posts[2]['id']}")) == [
        posts[4]["id"], posts[3]["id"]
    ]
    prev = await me.get(links(second)["prev"].removeprefix("http://testserver"))
    assert ids(prev) == newest_first[:3]
    # Limits are clamped, nonsense is ignored; nothing is a 500.
    assert len(ids(await me.get(f"{path}?limit=1000"))) == 7
    assert len(ids(await me.get(f"{path}?limit=0"))) == 1
    assert len(ids(await me.get(f"{path}?limit=abc&max_id=xyz&since_id=-5&min_id=1e9"))) == 7
    assert ids(await me.get(f"{path}?max_id={posts[0]['id']}")) == []


# -- public -----------------------------------------------------------------------------------


async def test_public_timeline_shows_public_posts_that_start_something(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    pub = await alice.post_status("publiczny")
    await alice.post_status("niepubliczny", visibility="unlisted")
    await alice.post_status("prywatny", visibility="private")
    await alice.post_status("@bob bezpośredni", visibility="direct")
    reply = await bob.post_status("@alice odpowiedź", in_reply_to_id=pub["id"])
    cont = await alice.post_status("ciąg dalszy", in_reply_to_id=pub["id"])
    await bob.post(f"/api/v1/statuses/{pub['id']}/reblog")
    r = await client.get("/api/v1/timelines/public")
    assert ids(r) == [cont["id"], pub["id"]]
    assert reply["id"] not in ids(r)
    assert "favourited" not in r.json()[0]
    assert ids(await client.get("/api/v1/timelines/public?local=true")) == [cont["id"], pub["id"]]
    assert ids(await client.get("/api/v1/timelines/public?remote=true")) == []
    assert ids(await client.get("/api/v1/timelines/public?only_media=true")) == []
    assert ids(await bob.get("/api/v1/timelines/public?local=1")) == [cont["id"], pub["id"]]


async def test_public_timeline_errors_and_scopes(client):
    r = await client.get("/api/v1/timelines/public", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    writer = await client.make_user("writer", scopes="write")
    assert (await writer.get("/api/v1/timelines/public")).status_code == 403
    assert (await client.get("/api/v1/timelines/public?local=perhaps&limit=-3")).status_code == 200


async def test_public_and_tag_timelines_hide_muted_and_blocked_for_the_viewer(client):
    me = await client.make_user("me")
    muted = await client.make_user("muted")
    blocked = await client.make_user("blocked")
    blocker = await client.make_user("blocker")
    fine = await client.make_user("fine")
    posts = {u.username: await u.post_status(f"od {u.username} #wspólny") for u in (muted, blocked, blocker, fine)}
    await act(client, me, relationships.mute, int(muted.id))
    await act(client, me, relationships.block, int(blocked.id))
    await act(client, blocker, relationships.block, int(me.id))
    for path in ("/api/v1/timelines/public", "/api/v1/timelines/tag/wspólny"):
        assert ids(await me.get(path)) == [posts["fine"]["id"]]
        assert len(ids(await client.get(path))) == 4


# -- tag --------------------------------------------------------------------------------------


async def test_tag_timeline_matching(client):
    alice = await client.make_user("alice")
    a = await alice.post_status("#Kraków nocą")
    b = await alice.post_status("#krakÓw i #tramwaj")
    c = await alice.post_status("tylko #tramwaj")
    await alice.post_status("#kraków po cichu", visibility="unlisted")
    await alice.post_status("#kraków dla swoich", visibility="private")
    reply = await alice.post_status("#kraków w odpowiedzi", in_reply_to_id=c["id"])
    r = await client.get("/api/v1/timelines/tag/Kraków")
    assert ids(r) == [reply["id"], b["id"], a["id"]]
    assert ids(await client.get("/api/v1/timelines/tag/kraków?any[]=tramwaj")) == [reply["id"], c["id"], b["id"], a["id"]]
    assert ids(await client.get("/api/v1/timelines/tag/kraków?all[]=tramwaj")) == [b["id"]]
    assert ids(await client.get("/api/v1/timelines/tag/kraków?none[]=tramwaj")) == [reply["id"], a["id"]]
    assert ids(await client.get("/api/v1/timelines/tag/nieznany")) == []
    for nul in ("/api/v1/timelines/tag/krak%00ów", "/api/v1/timelines/tag/kraków?any[]=tram%00waj"):
        r = await client.get(nul)
        assert (r.status_code, r.json()) == (200, []), nul
    assert ids(await client.get("/api/v1/timelines/tag/kraków?only_media=true")) == []
    assert ids(await client.get("/api/v1/timelines/tag/kraków?local=true&limit=1")) == [reply["id"]]


async def test_tag_timeline_errors_and_scopes(client):
    r = await client.get("/api/v1/timelines/tag/x", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    writer = await client.make_user("writer", scopes="write")
    assert (await writer.get("/api/v1/timelines/tag/x")).status_code == 403
    long_name = "a" * 2000
    assert (await client.get(f"/api/v1/timelines/tag/{long_name}?any[]=&all[]=%23&none[]=b")).status_code == 200


# -- query counts ---------------------------------------------------------------------------------


async def test_home_timeline_runs_a_fixed_number_of_statements(client):
    me = await client.make_user("me")
    authors = [await client.make_user(f"author{i}") for i in range(20)]
    for author in authors:
        await follow(client, me, author)
        st = await author.post_status(f"@me cześć od {author.username} #liczenie https://example.com/{author.username}")
        await me.post(f"/api/v1/statuses/{st['id']}/favourite")
    mine = await me.post_status("mój własny, przypięty")
    await me.post(f"/api/v1/statuses/{mine['id']}/pin")
    assert len(ids(await me.get("/api/v1/timelines/home?limit=40"))) == 21  # warms the token cache

    counts = {}
    for limit in (2, 5, 20, 40):
        with read_statements(client) as seen:
            r = await me.get(f"/api/v1/timelines/home?limit={limit}")
        assert len(ids(r)) == min(limit, 21)
        counts[limit] = len(seen)
    assert len(set(counts.values())) == 1, counts
    # The page, mentions, tags, accounts, favourites, bookmarks, reblogs, pins (+ BEGIN on SQLite).
    assert counts[20] <= 10, counts


async def test_public_and_tag_timelines_run_a_fixed_number_of_statements(client):
    authors = [await client.make_user(f"author{i}") for i in range(20)]
    for author in authors:
        await author.post_status(f"wpis {author.username} #liczenie")
    for path in ("/api/v1/timelines/public", "/api/v1/timelines/tag/liczenie"):
        counts = []
        for limit in (1, 10, 20):
            with read_statements(client) as seen:
                assert len(ids(await client.get(f"{path}?limit={limit}"))) == limit
            counts.append(len(seen))
        assert len(set(counts)) == 1, (path, counts)
