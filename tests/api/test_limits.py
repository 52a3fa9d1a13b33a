"""``limit`` and ``offset`` on every list endpoint, read as Mastodon reads them
(``api/pagination.py``): a list request is never refused for either.

- ``limit=-5`` is ``limit=5`` (Mastodon: ``params[:limit].to_i.abs``);
- ``limit=100000`` is the endpoint's maximum; ``limit=abc`` its default; ``limit=0`` one item;
- ``offset=-3`` and ``offset=abc`` are ``offset=0``; an offset deeper than the endpoint pages
  is an empty page, not an error.

``ENDPOINTS`` is the table: path, each endpoint's default and maximum as Mastodon documents
them, and a seed that creates more items than the checks ask for (more than the maximum
for a few), so "at most 5" and "capped" are observed, not vacuous.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from szpak.api.pagination import HUGE, limit_value, offset_value, read_int

from .helpers import ok

ADMIN_SCOPES = "read write follow push admin:read admin:write"


@dataclass
class Seeded:
    """What a seed made: who asks, values for the path template, and how many items the
    endpoint then has (at least)."""

    viewer: Any
    values: dict[str, str]
    count: int


Seed = Callable[[Any], Awaitable[Seeded]]


async def people(client: Any, n: int, prefix: str = "u", **kw: Any) -> list[Any]:
    return [await client.make_user(f"{prefix}{i}", **kw) for i in range(n)]


def later(hours: int) -> str:
    return (datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=hours)).isoformat()


# -- seeds -------------------------------------------------------------------------------------

async def own_posts(client: Any) -> Seeded:
    """41 public posts by the viewer: more than any status list's maximum (40)."""
    alice = await client.make_user("alice")
    for i in range(41):
        await alice.post_status(f"Wpis {i} #kawa")
    return Seeded(alice, {"me": alice.id}, 41)


async def few_posts(client: Any) -> Seeded:
    alice = await client.make_user("alice")
    for i in range(7):
        await alice.post_status(f"Wpis {i} #kawa")
    return Seeded(alice, {"me": alice.id}, 7)


async def search_world(client: Any) -> Seeded:
    """Accounts kawa0..kawa6, each posting about coffee with its own tag: 7 of each kind."""
    alice = await client.make_user("alice")
    for p in await people(client, 7, "kawa"):
        await p.post_status(f"Dobra kawa #{p.username}")
    return Seeded(alice, {}, 7)


async def followers(client: Any) -> Seeded:
    """Six accounts follow the viewer and the viewer follows them."""
    alice = await client.make_user("alice")
    for p in await people(client, 6):
        await p.follow(alice)
        await alice.follow(p)
    return Seeded(alice, {"me": alice.id}, 6)


async def mentions(client: Any) -> Seeded:
    """Six mentions of the viewer: six notifications, six groups (mentions are not grouped)."""
    alice = await client.make_user("alice")
    for p in await people(client, 6):
        await p.post_status("@alice dzień dobry")
    await client.run_jobs()
    return Seeded(alice, {}, 6)


async def direct_messages(client: Any) -> Seeded:
    alice = await client.make_user("alice")
    for p in await people(client, 6):
        await p.post_status("@alice tylko do ciebie", visibility="direct")
    await client.run_jobs()
    return Seeded(alice, {}, 6)


def marked(action: str) -> Seed:
    async def seed(client: Any) -> Seeded:
        alice = await client.make_user("alice")
        for i in range(6):
            st = await alice.post_status(f"Wpis {i}")
            ok(await alice.post(f"/api/v1/statuses/{st['id']}/{action}"))
        return Seeded(alice, {}, 6)

    return seed


def on_others(action: str) -> Seed:
    async def seed(client: Any) -> Seeded:
        alice = await client.make_user("alice")
        others = await people(client, 6)
        for p in others:
            ok(await alice.post(f"/api/v1/accounts/{p.id}/{action}"))
        return Seeded(alice, {"me": alice.id}, 6)

    return seed


async def endorsed(client: Any) -> Seeded:
    alice = await client.make_user("alice")
    for p in await people(client, 6):
        await alice.follow(p)
        ok(await alice.post(f"/api/v1/accounts/{p.id}/pin"))
    return Seeded(alice, {"me": alice.id}, 6)


async def follow_requests(client: Any) -> Seeded:
    alice = await client.make_user("alice", locked=True)
    for p in await people(client, 6):
        await p.follow(alice)
    return Seeded(alice, {}, 6)


async def list_world(client: Any) -> Seeded:
    """A list of six members, each with one post (the list's timeline)."""
    alice = await client.make_user("alice")
    members = await people(client, 6)
    for p in members:
        await alice.follow(p)
        await p.post_status(f"Wpis {p.username}")
    lst = ok(await alice.post("/api/v1/lists", json={"title": "Znajomi"}))
    ok(await alice.post(f"/api/v1/lists/{lst['id']}/accounts", json={"account_ids": [p.id for p in members]}))
    return Seeded(alice, {"list": lst["id"]}, 6)


async def domain_blocks(client: Any) -> Seeded:
    alice = await client.make_user("alice")
    for i in range(6):
        ok(await alice.post("/api/v1/domain_blocks", data={"domain": f"d{i}.example"}))
    return Seeded(alice, {}, 6)


async def scheduled(client: Any) -> Seeded:
    alice = await client.make_user("alice")
    for i in range(6):
        ok(await alice.post("/api/v1/statuses", json={"status": f"Później {i}", "scheduled_at": later(i + 1)}))
    return Seeded(alice, {}, 6)


async def followed_tags(client: Any) -> Seeded:
    alice = await client.make_user("alice")
    for i in range(6):
        ok(await alice.post(f"/api/v1/tags/temat{i}/follow"))
    return Seeded(alice, {}, 6)


async def interactions(client: Any) -> Seeded:
    """Six accounts favourite and boost the viewer's post."""
    alice = await client.make_user("alice")
    st = await alice.post_status("Popularny wpis")
    for p in await people(client, 6):
        ok(await p.post(f"/api/v1/statuses/{st['id']}/favourite"))
        ok(await p.post(f"/api/v1/statuses/{st['id']}/reblog"))
    return Seeded(alice, {"status": st["id"]}, 6)


async def accounts(client: Any) -> Seeded:
    """Seven discoverable accounts besides the viewer (directory, suggestions)."""
    alice = await client.make_user("alice")
    for p in await people(client, 7):
        await p.post_status("Jestem")
    return Seeded(alice, {}, 7)


async def directory(client: Any) -> Seeded:
    """The same seven, and the viewer: eight in the directory."""
    seeded = await accounts(client)
    return Seeded(seeded.viewer, {}, 8)


async def trending_tags(client: Any) -> Seeded:
    """25 tags used today: more than the tag trends' maximum (20)."""
    alice = await client.make_user("alice")
    for part in range(5):
        await alice.post_status(" ".join(f"#temat{part}x{i}" for i in range(5)))
    return Seeded(alice, {}, 25)


async def trending_statuses(client: Any) -> Seeded:
    alice, bob = await client.make_user("alice"), await client.make_user("bob")
    for i in range(6):
        st = await bob.post_status(f"Ciekawy wpis {i}")
        ok(await alice.post(f"/api/v1/statuses/{st['id']}/favourite"))
    return Seeded(alice, {}, 6)


async def trending_links(client: Any) -> Seeded:
    alice = await client.make_user("alice")
    for i in range(6):
        await alice.post_status(f"Zobacz https://strona{i}.example/artykul")
    return Seeded(alice, {}, 6)


async def admin_accounts(client: Any) -> Seeded:
    admin = await client.make_user("szef", role="admin", scopes=ADMIN_SCOPES)
    await people(client, 6)
    return Seeded(admin, {}, 7)


async def admin_reports(client: Any) -> Seeded:
    admin = await client.make_user("szef", role="admin", scopes=ADMIN_SCOPES)
    spammer = await client.make_user("spamer")
    for p in await people(client, 6):
        ok(await p.post("/api/v1/reports", json={"account_id": spammer.id, "comment": "spam"}))
    return Seeded(admin, {}, 6)


async def admin_log(client: Any) -> Seeded:
    admin = await client.make_user("szef", role="admin", scopes=ADMIN_SCOPES)
    author = await client.make_user("autor")
    for i in range(6):
        st = await author.post_status(f"Do usunięcia {i}")
        ok(await admin.delete(f"/api/szpak/v1/admin/statuses/{st['id']}?reason=spam"))
    return Seeded(admin, {}, 6)


# -- the table ---------------------------------------------------------------------------------

def as_list(body: Any) -> list[Any]:
    return body  # type: ignore[no-any-return]


def key(name: str) -> Callable[[Any], list[Any]]:
    return lambda body: body[name]  # type: ignore[no-any-return]


def counted(body: Any) -> list[Any]:
    """``{"count": n}`` as n items, so counts are checked like lists."""
    return [None] * body["count"]


@dataclass(frozen=True)
class Endpoint:
    path: str
    default: int
    maximum: int
    seed: Seed
    items: Callable[[Any], list[Any]] = as_list
    #: Paged by ``offset`` too.
    offset: bool = False
    #: ``limit=0`` means "everything" here (Mastodon's list members).
    zero_is_all: bool = False
    #: Called without a token (public endpoints answer the same either way).
    anonymous: bool = False


ENDPOINTS = [
    # Timelines and statuses: 20, at most 40.
    Endpoint("/api/v1/timelines/home", 20, 40, own_posts),
    Endpoint("/api/v1/timelines/public", 20, 40, few_posts),
    Endpoint("/api/v1/timelines/tag/kawa", 20, 40, few_posts),
    Endpoint("/api/v1/timelines/list/{list}", 20, 40, list_world),
    Endpoint("/api/v1/accounts/{me}/statuses", 20, 40, own_posts),
    Endpoint("/api/v1/bookmarks", 20, 40, marked("bookmark")),
    Endpoint("/api/v1/favourites", 20, 40, marked("favourite")),
    Endpoint("/api/v1/scheduled_statuses", 20, 40, scheduled),
    Endpoint("/api/v1/conversations", 20, 40, direct_messages),
    # Search: 20, at most 40 per type, with offset; account search 40, at most 80.
    Endpoint("/api/v2/search?q=kawa&type=accounts", 20, 40, search_world, key("accounts"), offset=True),
    Endpoint("/api/v2/search?q=kawa&type=hashtags", 20, 40, search_world, key("hashtags"), offset=True),
    Endpoint("/api/v2/search?q=kawa&type=statuses", 20, 40, search_world, key("statuses"), offset=True),
    Endpoint("/api/v1/accounts/search?q=kawa", 40, 80, search_world, offset=True),
    # Accounts: 40, at most 80.
    Endpoint("/api/v1/accounts/{me}/followers", 40, 80, followers),
    Endpoint("/api/v1/accounts/{me}/following", 40, 80, followers),
    Endpoint("/api/v1/statuses/{status}/favourited_by", 40, 80, interactions),
    Endpoint("/api/v1/statuses/{status}/reblogged_by", 40, 80, interactions),
    Endpoint("/api/v1/blocks", 40, 80, on_others("block")),
    Endpoint("/api/v1/mutes", 40, 80, on_others("mute")),
    Endpoint("/api/v1/follow_requests", 40, 80, follow_requests),
    Endpoint("/api/v1/endorsements", 40, 80, endorsed),
    Endpoint("/api/v1/accounts/{me}/endorsements", 40, 80, endorsed),
    Endpoint("/api/v1/lists/{list}/accounts", 40, 80, list_world, zero_is_all=True),
    Endpoint("/api/v2/suggestions", 40, 80, accounts),
    Endpoint("/api/v1/suggestions", 40, 80, accounts),
    Endpoint("/api/v1/directory", 40, 80, directory, offset=True, anonymous=True),
    # Notifications: 40, at most 80; unread counts 100, at most 1000.
    Endpoint("/api/v1/notifications", 40, 80, mentions),
    Endpoint("/api/v2/notifications", 40, 80, mentions, key("notification_groups")),
    Endpoint("/api/v1/notifications/unread_count", 100, 1000, mentions, counted),
    Endpoint("/api/v2/notifications/unread_count", 100, 1000, mentions, counted),
    # 100, at most 200.
    Endpoint("/api/v1/domain_blocks", 100, 200, domain_blocks),
    Endpoint("/api/v1/followed_tags", 100, 200, followed_tags),
    Endpoint("/api/v1/admin/accounts", 100, 200, admin_accounts),
    Endpoint("/api/v2/admin/accounts", 100, 200, admin_accounts),
    Endpoint("/api/v1/admin/reports", 100, 200, admin_reports),
    Endpoint("/api/szpak/v1/admin/log", 40, 200, admin_log),  # Szpak's own
    # Trends, with offset: tags and links 10, at most 20; statuses 20, at most 40.
    Endpoint("/api/v1/trends/tags", 10, 20, trending_tags, offset=True, anonymous=True),
    Endpoint("/api/v1/trends", 10, 20, trending_tags, offset=True, anonymous=True),
    Endpoint("/api/v1/trends/statuses", 20, 40, trending_statuses, offset=True),
    Endpoint("/api/v1/trends/links", 10, 20, trending_links, offset=True, anonymous=True),
]


def with_query(path: str, **params: Any) -> str:
    extra = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{path}{'&' if '?' in path else '?'}{extra}" if extra else path


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.path)
async def test_limit_and_offset_are_read_as_mastodon_reads_them(client: Any, endpoint: Endpoint) -> None:
    seeded = await endpoint.seed(client)
    path = endpoint.path.format(**seeded.values)

    async def get(**params: Any) -> Any:
        url = with_query(path, **params)
        r = await (client.get(url) if endpoint.anonymous else seeded.viewer.get(url))
        assert r.status_code == 200, (url, r.status_code, r.text)
        return r.json()

    def n(body: Any) -> int:
        return len(endpoint.items(body))

    plain = await get()
    # The seed made enough items for the checks below to mean something.
    assert n(plain) == min(seeded.count, endpoint.default), plain

    # limit=-5 is limit=5.
    five = await get(limit=5)
    assert n(five) == 5
    assert await get(limit=-5) == five

    # A limit beyond the maximum is the maximum.
    capped = await get(limit=endpoint.maximum)
    assert n(capped) == min(seeded.count, endpoint.maximum)
    assert await get(limit=100000) == capped
    assert await get(limit=2**70) == capped

    # No number: the default; a leading number counts (Ruby's to_i).
    assert await get(limit="abc") == plain
    assert await get(limit="") == plain
    assert await get(limit="5abc") == five

    # limit=0: one item (or, on list members, all of them as Mastodon).
    zero = await get(limit=0)
    assert n(zero) == (min(seeded.count, endpoint.maximum) if endpoint.zero_is_all else 1)

    if endpoint.offset:
        assert await get(offset=-3) == plain
        assert await get(offset="abc") == plain
        assert await get(offset=0) == plain
        assert n(await get(offset=2, limit=5)) == min(5, seeded.count - 2)
        assert await get(offset=-3, limit=-5) == five
        # Deeper than the endpoint pages: an empty page, not an error.
        assert n(await get(offset=10**12)) == 0
        assert n(await get(offset=2**70)) == 0


async def test_limits_beyond_the_maximum_are_capped_where_there_are_more(client: Any) -> None:
    """41 posts: more than the maximum, so the cap shows as a count, for either sign."""
    seeded = await own_posts(client)
    for limit in ("100000", "-100000", "41", str(2**70)):
        r = await seeded.viewer.get(f"/api/v1/timelines/home?limit={limit}")
        assert r.status_code == 200 and len(r.json()) == 40, limit


async def test_anonymous_search_with_a_junk_offset_is_not_refused(client: Any) -> None:
    """Anonymous callers may not page search (401, as Mastodon); a negative or junk offset
    is no offset, so it is not refused."""
    await search_world(client)
    r = await client.get("/api/v2/search?q=kawa&type=accounts&offset=-3")
    assert r.status_code == 200 and len(r.json()["accounts"]) == 7
    r = await client.get("/api/v2/search?q=kawa&type=accounts&offset=abc")
    assert r.status_code == 200 and len(r.json()["accounts"]) == 7
    assert (await client.get("/api/v2/search?q=kawa&type=accounts&offset=1")).status_code == 401


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        (None, None), ("", None), ("abc", None), ("--3", None), ("٣", None), (["5"], None), ({"a": "1"}, None),
        (True, None), ("5", 5), (" 7", 7), ("+3", 3), ("-5", -5), ("12abc", 12), ("5.9", 5), ("1e9", 1),
        ("0", 0), ("-0", 0), (7, 7), (str(2**70), HUGE), ("-" + str(2**70), -HUGE), ("0" * 40 + "9", 9),
        ("9" * 5000, HUGE),
    ],
)
def test_read_int(raw: Any, number: int | None) -> None:
    assert read_int(raw) == number


def test_limit_and_offset_values() -> None:
    assert [limit_value(v, 20, 40) for v in (None, "", "abc", "-5", "5", "0", "40", "41", "100000", "-100000")] == [
        20, 20, 20, 5, 5, 1, 40, 40, 40, 40,
    ]
    assert limit_value(None, 100, 80) == 80  # a default above the maximum is capped too
    assert [offset_value(v) for v in (None, "", "x", "-3", "0", "7", str(2**70))] == [0, 0, 0, 0, 0, 7, HUGE]
