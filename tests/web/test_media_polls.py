"""Images in the compose box and in post cards, polls, filters, and the shared card cache."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone
from html import unescape
from typing import Any

from PIL import Image

from .conftest import Browser, csrf_of, new_browser


def png(colour: str = "red", size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


async def compose(browser: Browser, text: str, files: list[tuple[bytes, str, str]], **fields: str) -> Any:
    """Post the plain compose form (no script): (content, filename, description) per image."""
    token = csrf_of((await browser.page("/home")).text)
    data: dict[str, Any] = {
        "csrf_token": token, "status": text, "visibility": "public", "next": "/home",
        "media_description": [d for _, _, d in files], **fields,
    }
    parts = [("media", (name, content, "application/octet-stream")) for content, name, _ in files]
    return await browser.post("/statuses", data=data, files=parts)


async def test_compose_form_offers_four_images_with_descriptions(browser: Browser) -> None:
    await browser.sign_up("alice")
    html = (await browser.page("/home")).text
    assert 'enctype="multipart/form-data"' in html
    assert html.count('name="media" type="file"') == 4 and html.count('name="media_description"') == 4
    for i in range(1, 5):
        assert f'for="compose-media-{i}"' in html and f'for="compose-media-description-{i}"' in html
    assert 'name="sensitive"' in html


async def test_images_posted_without_script_show_as_thumbnails_with_alt_text(client: Any, browser: Browser) -> None:
    await browser.sign_up("alice")
    r = await compose(browser, "Dwa obrazki", [(png("red"), "a.png", "Czerwony <prostokąt>"), (png("blue"), "b.png", "")])
    assert r.status_code == 303, r.text
    html = (await browser.page("/home")).text
    card = html[html.index("Dwa obrazki"):]
    card = card[: card.index("</article>")]
    assert 'class="media media-2"' in card
    images = re.findall(r'<a href="([^"]+)"><img src="([^"]+)" alt="([^"]*)"', card)
    assert len(images) == 2
    (full, thumb, alt), (_, _, alt2) = images
    assert full.startswith("/system/media_attachments/") and thumb.startswith("/system/media_attachments/") and full != thumb
    assert unescape(alt) == "Czerwony <prostokąt>" and "&lt;prostokąt&gt;" in alt and alt2 == ""
    served = await browser.get(full)
    assert served.status_code == 200 and served.headers["x-content-type-options"] == "nosniff"
    # The API shows the same post with the same attachments.
    me = (await browser.page("/home")).text
    token = re.search(r'data-token="([^"]+)"', me).group(1)  # type: ignore[union-attr]
    api = await browser.get("/api/v1/timelines/home", headers={"Authorization": f"Bearer {token}"})
    attachments = api.json()[0]["media_attachments"]
    assert [a["description"] for a in attachments] == ["Czerwony <prostokąt>", None]


async def test_sensitive_images_are_behind_a_click(browser: Browser) -> None:
    await browser.sign_up("alice")
    r = await compose(browser, "Uwaga", [(png(), "a.png", "opis")], sensitive="1")
    assert r.status_code == 303, r.text
    html = (await browser.page("/home")).text
    details = html[html.index('<details class="sensitive-media">'):]
    assert "Drażliwe multimedia" in details[:300] and details.index("<img") < details.index("</details>")


async def test_image_errors_come_back_translated_with_the_draft_kept(browser: Browser, other_browser: Browser) -> None:
    await browser.sign_up("alice")
    r = await compose(browser, "nie obraz", [(b"just some text", "a.png", "")])
    assert r.status_code == 422 and "Tego pliku nie da się użyć jako obrazu" in r.text and "nie obraz" in r.text
    r = await compose(browser, "za dużo", [(png(), f"{i}.png", "") for i in range(5)])
    assert r.status_code == 422 and "najwyżej 4 obrazy" in r.text
    r = await compose(browser, "długi opis", [(png(), "a.png", "x" * 1501)])
    assert r.status_code == 422 and "Opis obrazu jest za długi." in r.text
    assert "nie obraz" not in (await browser.page("/home")).text  # nothing was posted
    await other_browser.sign_up("bob")
    r = await compose(other_browser, "broken", [(png()[:60], "a.png", "")])
    assert r.status_code == 422 and "That file is not an image we can use" in r.text


async def test_an_image_larger_than_the_limit_is_refused_clearly(app: Any, browser: Browser) -> None:
    await browser.sign_up("alice")
    limit = app.state.ctx.settings.media_image_size_limit
    r = await compose(browser, "wielki", [(b"\x89PNG" + b"\0" * (limit + 100 * 1024), "a.png", "")])
    assert r.status_code in (413, 422) and "Ten obraz jest za duży." in r.text


async def poll_status(client: Any, **poll: Any) -> tuple[Any, dict[str, Any]]:
    bob = await client.make_user("bob")
    st = await bob.post_status("Która pora roku?", poll={"options": ["Wiosna", "Lato", "Jesień"], "expires_in": 3600, **poll})
    return bob, st


async def test_vote_in_a_poll_from_the_page_and_see_the_results(client: Any, browser: Browser) -> None:
    bob, st = await poll_status(client)
    await browser.sign_up("alice")
    html = (await browser.page(f"/@bob/{st['id']}")).text
    assert f'action="/polls/{st["poll"]["id"]}/votes"' in html and 'type="radio" name="choices" value="1"' in html
    assert "Koniec:" in html and "0 głosów" in html
    r = await browser.submit(f"/@bob/{st['id']}", f"/polls/{st['poll']['id']}/votes", {"choices": "1", "next": f"/@bob/{st['id']}"})
    assert r.status_code == 303 and r.headers["location"] == f"/@bob/{st['id']}"
    html = (await browser.page(f"/@bob/{st['id']}")).text
    assert 'name="choices"' not in html and "1 głos" in html
    assert re.search(r'<span class="poll-pct">100%</span> <span class="poll-title">Lato</span> <span class="poll-mine">\(twój wybór\)</span>', html)
    assert '<progress max="100" value="0"' in html
    # Voting again is refused with a message, not an error 500.
    r = await browser.submit(f"/@bob/{st['id']}", f"/polls/{st['poll']['id']}/votes", {"choices": "0"})
    assert r.status_code == 422 and "Twój głos w tej ankiecie został już oddany." in r.text
    r = await browser.submit("/home", "/polls/999999/votes", {"choices": "0"})
    assert r.status_code == 404
    # No CSRF token, no vote.
    r = await browser.post(f"/polls/{st['poll']['id']}/votes", data={"choices": "0"})
    assert r.status_code == 403


async def test_multiple_choice_poll_with_hidden_totals(client: Any, browser: Browser) -> None:
    bob, st = await poll_status(client, multiple=True, hide_totals=True)
    await browser.sign_up("alice")
    html = (await browser.page(f"/@bob/{st['id']}")).text
    assert html.count('type="checkbox" name="choices"') == 3
    token = csrf_of(html)
    r = await browser.post(f"/polls/{st['poll']['id']}/votes", data={"csrf_token": token, "choices": ["0", "2"]})
    assert r.status_code == 303, r.text
    html = (await browser.page(f"/@bob/{st['id']}")).text
    assert "poll-pct" not in html and "Wyniki pojawią się po zakończeniu ankiety." in html
    assert html.count("(twój wybór)") == 2 and "1 osoba" in html


async def test_an_expired_poll_shows_results_and_no_form(app: Any, client: Any, browser: Browser) -> None:
    from sqlalchemy import update

    from szpak.domain import polls
    from szpak.storage.models.polls import Poll

    bob, st = await poll_status(client)
    async with app.state.ctx.tx() as tx:  # its time is up, and the expiry job runs
        await tx.session.execute(
            update(Poll).where(Poll.id == int(st["poll"]["id"])).values(expires_at=datetime.now(timezone.utc) - timedelta(minutes=1))
        )
        assert await polls.close(tx, int(st["poll"]["id"]))
    await browser.sign_up("alice")
    html = (await browser.page(f"/@bob/{st['id']}")).text
    assert 'name="choices"' not in html and "Zakończona" in html and 'class="poll expired"' in html


async def test_filters_warn_with_a_collapsed_wrapper_and_hide(client: Any, browser: Browser) -> None:
    await browser.sign_up("alice")
    html = (await browser.page("/home")).text
    token = re.search(r'data-token="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    auth = {"Authorization": f"Bearer {token}"}
    bob = await client.make_user("bob")
    await browser.post(f"/api/v1/accounts/{bob.id}/follow", headers=auth)
    for title, action, word in (("Spoilery", "warn", "finał"), ("Polityka", "hide", "wybory")):
        r = await browser.post("/api/v2/filters", headers=auth, json={
            "title": title, "context": ["home", "public"], "filter_action": action,
            "keywords_attributes": [{"keyword": word, "whole_word": False}],
        })
        assert r.status_code == 200, r.text
    await bob.post_status("Ale finał serialu!")
    await bob.post_status("Jutro wybory")
    await bob.post_status("Zwykły wpis")
    html = (await browser.page("/home")).text
    assert "Zwykły wpis" in html and "Jutro wybory" not in html
    wrapper = html[html.index('<details class="filtered">'):]
    assert "Odfiltrowano: Spoilery" in wrapper[:300] and wrapper.index("Ale finał serialu!") < wrapper.index("</details>")
    # Where no filter applies (a post's own page: context "thread"), the post shows plainly.
    assert "Jutro wybory" not in (await browser.page("/explore")).text


async def test_a_shared_card_carries_each_readers_own_csrf_token(client: Any, browser: Browser, other_browser: Browser) -> None:
    bob = await client.make_user("bob")
    await bob.post_status("Wspólny wpis")
    await browser.sign_up("alice")
    await other_browser.sign_up("carol")
    pages = [(await b.page("/explore")).text for b in (browser, other_browser)]
    tokens = [csrf_of(p) for p in pages]
    assert tokens[0] != tokens[1]
    for html, token in zip(pages, tokens):
        cards = html[html.index('<article class="status'):]
        found = set(re.findall(r'name="csrf_token" value="([^"]+)"', cards))
        assert found == {token}
        assert 'name="next" value="/explore"' in cards
    # The same card under another page address returns there.
    html = (await browser.page("/explore?max_id=99999999999999999")).text
    assert 'name="next" value="/explore?max_id=99999999999999999"' in html
    # Favouriting changes this reader's card only.
    sid = re.search(r'action="/statuses/(\d+)/favourite"', pages[0]).group(1)  # type: ignore[union-attr]
    r = await browser.submit("/explore", f"/statuses/{sid}/favourite", {"next": "/explore"})
    assert r.status_code == 303
    assert f'action="/statuses/{sid}/unfavourite"' in (await browser.page("/explore")).text
    assert f'action="/statuses/{sid}/favourite"' in (await other_browser.page("/explore")).text


async def test_pages_come_first_in_routing_yet_shadow_no_other_route(app: Any) -> None:
    from szpak.web.routes import _paths, router

    assert getattr(app.router.routes[0], "original_router", None) is router
    firsts = router.firsts()
    assert "*" not in firsts
    pages = set(_paths(router))
    for route in app.router.routes[1:]:
        inner = getattr(route, "original_router", None)
        for path in _paths(inner) if inner is not None else [getattr(route, "path", "")]:
            assert path not in pages, path
            first = path[1:].split("/", 1)[0]
            assert first not in firsts or first == "_web", path
    async with new_browser(app) as b:
        assert (await b.get("/api/v1/instance")).status_code == 200
        assert (await b.get("/api/v1/timelines/public")).status_code == 200


async def test_organisation_members_get_a_listening_link(app: Any, browser: Browser, other_browser: Browser) -> None:
    from szpak.domain import organisations

    from .conftest import account_id

    await browser.sign_up("alice")
    await other_browser.sign_up("bob")
    assert 'href="/listening"' not in (await browser.page("/home")).text
    async with app.state.ctx.tx() as tx:
        await organisations.create_organisation(tx, int(await account_id(app, "alice")), username="marka", kind="brand")
    app.state.web.sessions._entries.clear()  # the session is remembered for 30 s
    html = (await browser.page("/home")).text
    assert '<a href="/listening"><svg' in html and "<span>Nasłuch</span>" in html
    assert 'href="/listening"' not in (await other_browser.page("/home")).text
