"""The home page's caches (cards per reader and post, the page frame) never show anything a
fresh render would not: every cached page is compared with the same page drawn from scratch
(empty caches, and the plain template path without frame or card memo)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.web.conftest import Browser, new_browser


def _fresh_home_render(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make /home take the plain path: the whole template rendered, caches emptied first."""
    from szpak.web import render
    from szpak.web.pages import timelines

    def plain(request: Any, v: Any, template: str, **context: Any) -> Any:
        render._frames.clear()
        render.environment.cache_clear()
        return render.render_for(request, v, template, **context)

    monkeypatch.setattr(timelines, "render_timeline", plain)


async def _cached_and_fresh(b: Browser, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """(/home through the caches, warmed; /home drawn from scratch) for one reader."""
    await b.page("/home")
    cached = (await b.page("/home")).text
    with monkeypatch.context() as m:
        _fresh_home_render(m)
        fresh = (await b.page("/home")).text
    return cached, fresh


def _cards(html: str) -> list[str]:
    return re.findall(r'<article class="status.*?</article>', html, re.S)


async def test_cached_home_equals_a_fresh_render(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app = client.app
    bob = await client.make_user("bob")
    readers: dict[str, Browser] = {}
    for name, lang in (("alice", "pl"), ("carol", "en"), ("dave", "pl")):
        b = new_browser(app, **{"accept-language": lang})
        await b.sign_up(name)
        readers[name] = b
    tokens = {n: b.token((await b.page("/home")).text) for n, b in readers.items()}
    auth = {n: {"Authorization": f"Bearer {t}"} for n, t in tokens.items()}
    for name in readers:
        r = await readers[name].post(f"/api/v1/accounts/{bob.id}/follow", headers=auth[name])
        assert r.status_code == 200, r.text
    # A variety of posts: plain, with a content warning, unlisted, a reply, a poll, the
    # reader's own, a boost, one a filter folds; with links, mentions and markup.
    plain = await bob.post_status("Zwykły wpis z #tagiem i https://example.com <b>x</b> & \"cytat\"")
    await bob.post_status("Pod ostrzeżeniem", spoiler_text="Spojler <i>")
    await bob.post_status("Niepubliczny", visibility="unlisted")
    await bob.post_status("Odpowiedź", in_reply_to_id=plain["id"])
    await bob.post_status("Ankieta", poll={"options": ["tak", "nie"], "expires_in": 3600})
    await bob.post_status("Ale finał serialu!")
    await readers["alice"].post_status("Mój własny wpis")
    r = await readers["alice"].post(f"/api/v1/statuses/{plain['id']}/reblog", headers=auth["alice"])
    assert r.status_code == 200, r.text
    await readers["dave"].post(f"/api/v1/accounts/{(await _id(readers['alice'], auth['dave'], 'alice'))}/follow",
                               headers=auth["dave"])
    r = await readers["carol"].post("/api/v2/filters", headers=auth["carol"], json={
        "title": "Spoilery", "context": ["home"], "filter_action": "warn",
        "keywords_attributes": [{"keyword": "finał", "whole_word": False}],
    })
    assert r.status_code == 200, r.text

    async def check() -> dict[str, str]:
        pages = {}
        for name, b in readers.items():
            cached, fresh = await _cached_and_fresh(b, monkeypatch)
            assert cached == fresh, name
            assert len(_cards(cached)) >= 6, name
            pages[name] = cached
        return pages

    before = await check()
    assert 'class="filtered"' in before["carol"] and 'class="filtered"' not in before["alice"]
    assert 'action="/statuses/' in before["dave"] and "Mój własny wpis" in before["dave"]
    assert before["alice"].count("/delete") > before["dave"].count("/delete")

    # An edit shows at once, on every reader's page.
    r = await bob.put(f"/api/v1/statuses/{plain['id']}", json={"status": "Poprawiony wpis"})
    assert r.status_code == 200, r.text
    after_edit = await check()
    for name in readers:
        assert "Poprawiony wpis" in after_edit[name] and "Zwykły wpis z" not in after_edit[name]

    # The reader's favourite changes their card (and the count everybody sees), not others' state.
    sid = plain["id"]
    r = await readers["carol"].post(f"/api/v1/statuses/{sid}/favourite", headers=auth["carol"])
    assert r.status_code == 200, r.text
    after_fav = await check()
    assert f'action="/statuses/{sid}/unfavourite"' in after_fav["carol"]
    assert f'action="/statuses/{sid}/unfavourite"' not in after_fav["dave"]
    assert after_fav["dave"] != after_edit["dave"]  # the favourites count moved

    # Counts changed by someone else show on the next page.
    r = await bob.post(f"/api/v1/statuses/{sid}/favourite")
    assert r.status_code == 200, r.text
    after_count = await check()
    assert after_count["dave"] != after_fav["dave"]

    # A vote changes only the voter's poll.
    poll_card = next(c for c in _cards(after_count["dave"]) if "Ankieta" in c)
    assert 'class="poll-form"' in poll_card
    form = re.search(r'action="(/polls/\d+/votes)"', poll_card).group(1)  # type: ignore[union-attr]
    r = await readers["dave"].submit("/home", form, {"choices": "0", "next": "/home"})
    assert r.status_code == 303, r.text
    after_vote = await check()
    assert 'class="poll-form"' not in next(c for c in _cards(after_vote["dave"]) if "Ankieta" in c)
    assert 'class="poll-form"' in next(c for c in _cards(after_vote["alice"]) if "Ankieta" in c)

    # Readers never see each other's CSRF token or page token.
    for name, html in after_vote.items():
        found = set(re.findall(r'name="csrf_token" value="([^"]+)"', html))
        assert len(found) == 1, name
        assert f'data-token="{tokens[name]}"' in html
    assert len({next(iter(set(re.findall(r'name="csrf_token" value="([^"]+)"', h)))) for h in after_vote.values()}) == 3

    # A language switch and a new display name change the frame.
    r = await readers["alice"].patch("/api/v1/accounts/update_credentials", headers=auth["alice"],
                                     data={"display_name": "Alicja Nowa"})
    assert r.status_code == 200, r.text
    r = await readers["alice"].submit("/home", "/language", {"lang": "en", "next": "/home"})
    assert r.status_code == 303
    final = await check()
    assert 'lang="en"' in final["alice"] and 'lang="pl"' in after_vote["alice"]
    assert "Alicja Nowa" in final["alice"]
    for b in readers.values():
        await b.aclose()


async def _id(b: Browser, auth: dict[str, str], username: str) -> str:
    r = await b.get("/api/v1/accounts/lookup", params={"acct": username}, headers=auth)
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


async def test_the_card_memo_matches_a_fresh_render_across_readers(client: Any) -> None:
    """Cards.timeline (memo and all) against each card drawn alone with a new environment."""
    from datetime import datetime, timezone

    from szpak.web.cards import Cards, CSRF_MARK, NEXT_MARK, card_view
    from szpak.web.i18n import Formatter
    from szpak.web.render import KIND_LABELS, VISIBILITY_LABELS, make_env

    bob = await client.make_user("bob")
    amy = await client.make_user("amy")
    s1 = await bob.post_status("Pierwszy <b>wpis</b>")
    s2 = await bob.post_status("Drugi", spoiler_text="CW", sensitive=True)
    await amy.post(f"/api/v1/statuses/{s1['id']}/favourite")
    boosted = (await amy.post(f"/api/v1/statuses/{s2['id']}/reblog")).json()
    presenter = client.app.state.presenter
    base = client.app.state.ctx.settings.base_url

    def local(url: str | None) -> str:
        return url[len(base):] if url and url.startswith(base + "/") else (url or "#")

    async with client.app.state.ctx.read() as s:
        for viewer in (None, int(amy.id), int(bob.id)):
            items = await presenter.statuses(s, [int(boosted["id"]), int(s2["id"]), int(s1["id"])], viewer, "home")
            for lang, tz in (("pl", "Europe/Warsaw"), ("en", "America/New_York")):
                env = make_env(lang)
                cards: Cards = env.globals["card"]
                now = datetime.now(timezone.utc)
                reader = (Formatter(lang, tz), local, str(viewer) if viewer else None, "home", now)
                args = (base, KIND_LABELS, VISIBILITY_LABELS, "tok&en", "/home?x=<1>")
                first = cards.timeline(reader, items, *args)
                again = cards.timeline(reader, [dict(i) for i in items], *args)
                assert first == again
                expected = "".join(
                    make_env(lang).get_template("parts/card.html").render(
                        c=card_view(reader, item, False, 0), csrf=CSRF_MARK, full_path=NEXT_MARK,
                        kind_labels=KIND_LABELS, visibility_labels=VISIBILITY_LABELS,
                    ).replace(CSRF_MARK, "tok&en").replace(NEXT_MARK, "/home?x=&lt;1&gt;")
                    for item in items
                )
                assert first == expected
                # A changed count is a different card, never the remembered one.
                changed = [dict(items[2], favourites_count=items[2]["favourites_count"] + 1)]
                assert cards.timeline(reader, changed, *args) != cards.timeline(reader, items[2:], *args)
                # Another reader (another CSRF token) never gets this reader's text.
                other = cards.timeline(reader, items, base, KIND_LABELS, VISIBILITY_LABELS, "other", "/home")
                assert "tok&en" not in other
