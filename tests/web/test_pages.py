"""Every page renders, for anonymous readers and for users, and shows what it should."""

from __future__ import annotations

import re
from typing import Any

from .conftest import Browser, account_id, new_browser


async def test_landing_explains_and_offers_sign_up(browser: Browser) -> None:
    r = await browser.page("/")
    assert r.status_code == 200
    assert 'lang="pl"' in r.text and "Załóż konto" in r.text and 'href="/auth/sign_in"' in r.text
    assert r.headers["content-type"].startswith("text/html")


async def test_signed_in_landing_goes_home(browser: Browser) -> None:
    await browser.sign_up("alice")
    r = await browser.page("/")
    assert r.status_code == 303 and r.headers["location"] == "/home"


async def test_pages_that_need_an_account_send_to_log_in(browser: Browser) -> None:
    for path in ("/home", "/notifications", "/settings"):
        r = await browser.page(path)
        assert r.status_code == 303
        assert r.headers["location"] == f"/auth/sign_in?next={path}"


async def test_home_shows_own_and_followed_posts_but_not_others(client: Any, browser: Browser) -> None:
    bob = await client.make_user("bob")
    carol = await client.make_user("carol")
    await bob.post_status("Bob pisze o skarpetkach")
    await carol.post_status("Carol pisze o czymś innym")
    await browser.sign_up("alice")
    await browser.submit("/@bob", "/@bob/follow", {})
    await browser.post_status("Mój pierwszy wpis")
    r = await browser.page("/home")
    assert "Bob pisze o skarpetkach" in r.text and "Mój pierwszy wpis" in r.text
    assert "Carol pisze" not in r.text
    assert r.text.index("Mój pierwszy wpis") < r.text.index("Bob pisze")  # newest first


async def test_explore_and_tag_pages_list_public_posts(client: Any, browser: Browser) -> None:
    bob = await client.make_user("bob")
    await bob.post_status("Tramwaj stoi na #Kraków Rondo")
    await bob.post_status("Tylko dla obserwujących #kraków", visibility="private")
    r = await browser.page("/explore")
    assert "Tramwaj stoi" in r.text and "Tylko dla obserwujących" not in r.text
    assert 'href="/tags/krak%C3%B3w"' in r.text  # trending
    r = await browser.page("/tags/kraków")
    assert r.status_code == 200 and "Tramwaj stoi" in r.text and "Tylko dla obserwujących" not in r.text


async def test_status_page_shows_the_thread(client: Any, browser: Browser) -> None:
    bob = await client.make_user("bob")
    carol = await client.make_user("carol")
    root = await bob.post_status("Pytanie: gdzie kupić skarpetki?")
    reply = await carol.post_status("@bob W Skarpetkowie!", in_reply_to_id=root["id"])
    await bob.post_status("@carol Dzięki!", in_reply_to_id=reply["id"])
    r = await browser.page(f"/@carol/{reply['id']}")
    assert r.status_code == 200
    html = r.text
    assert html.index("Pytanie: gdzie") < html.index("W Skarpetkowie") < html.index("Dzięki!")
    assert 'class="status focused"' in html
    assert "Zaloguj się, aby odpowiedzieć" in html
    # The wrong username in the path is not found; a reblog redirects to the original.
    assert (await browser.page(f"/@bob/{reply['id']}")).status_code == 404
    await browser.sign_up("alice")
    r = await browser.page(f"/@carol/{reply['id']}")
    assert 'name="in_reply_to_id" value="%s"' % reply["id"] in r.text
    assert "@carol @bob " in r.text  # the reply box names the conversation


async def test_reply_through_the_form(client: Any, browser: Browser) -> None:
    bob = await client.make_user("bob")
    root = await bob.post_status("Kto idzie na kawę?")
    await browser.sign_up("alice")
    url = f"/@bob/{root['id']}"
    r = await browser.submit(url, "/statuses", {"status": "@bob Ja!", "in_reply_to_id": root["id"], "next": url, "visibility": "public"})
    assert r.status_code == 303 and r.headers["location"].startswith(url + "#s-")
    page = await browser.page(url)
    assert "Ja!" in page.text
    r = await bob.get(f"/api/v1/statuses/{root['id']}/context")
    assert [s["content"] for s in r.json()["descendants"]][0].endswith("Ja!</p>")


async def test_profile_shows_badge_counts_and_follow_button(client: Any, browser: Browser) -> None:
    shop = await client.make_user("skarpetkowo", kind="brand")
    await shop.post_status("Nowe skarpetki antyzapachowe!")
    await shop.post_status("Drugi wpis")
    r = await browser.page("/@skarpetkowo")
    assert r.status_code == 200
    assert 'class="kind-badge kind-brand"' in r.text and ">Marka<" in r.text
    assert "2 posty" in r.text and "0 obserwujących" in r.text
    await browser.sign_up("alice")
    r = await browser.page("/@skarpetkowo")
    assert 'action="/@skarpetkowo/follow"' in r.text
    r = await browser.submit("/@skarpetkowo", "/@skarpetkowo/follow", {})
    assert r.status_code == 303
    r = await browser.page("/@skarpetkowo")
    assert 'action="/@skarpetkowo/unfollow"' in r.text and "1 obserwujący" in r.text
    followers = await browser.page("/@skarpetkowo/followers")
    assert "@alice" in followers.text
    following = await browser.page("/@alice/following")
    assert "@skarpetkowo" in following.text
    await browser.submit("/@skarpetkowo", "/@skarpetkowo/unfollow", {})
    assert 'action="/@skarpetkowo/follow"' in (await browser.page("/@skarpetkowo")).text


async def test_people_kinds_have_their_badges(client: Any, browser: Browser) -> None:
    await client.make_user("gazeta", kind="media")
    await client.make_user("krakow", kind="institution")
    await client.make_user("jan")
    assert ">Media<" in (await browser.page("/@gazeta")).text
    assert ">Instytucja<" in (await browser.page("/@krakow")).text
    assert "kind-badge" not in (await browser.page("/@jan")).text


async def test_private_posts_stay_private_on_profiles(client: Any, browser: Browser) -> None:
    bob = await client.make_user("bob")
    await bob.post_status("Dla wszystkich")
    await bob.post_status("Tylko dla znajomych", visibility="private")
    r = await browser.page("/@bob")
    assert "Dla wszystkich" in r.text and "Tylko dla znajomych" not in r.text
    await browser.sign_up("alice")
    await browser.submit("/@bob", "/@bob/follow", {})
    assert "Tylko dla znajomych" in (await browser.page("/@bob")).text


async def test_profile_tabs_and_paging(client: Any, browser: Browser) -> None:
    bob = await client.make_user("bob")
    carol = await client.make_user("carol")
    other = await carol.post_status("Wpis Carol")
    for i in range(22):
        await bob.post_status(f"Wpis numer {i}")
    await bob.post_status("@carol odpowiedź", in_reply_to_id=other["id"])
    r = await browser.page("/@bob")
    assert "odpowiedź" not in r.text and "Wpis numer 21" in r.text and "Wpis numer 1<" not in r.text
    older = re.search(r'href="(/@bob\?max_id=\d+)" rel="next"', r.text)
    assert older
    r2 = await browser.page(older.group(1))
    assert "Wpis numer 1<" in r2.text and "Wpis numer 21" not in r2.text
    assert "odpowiedź" in (await browser.page("/@bob?tab=replies")).text


async def test_search_finds_polish_inflections_and_people(client: Any, browser: Browser) -> None:
    shop = await client.make_user("skarpetkowo", kind="brand")
    await shop.post_status("Testujemy skarpetki antyzapachowe #skarpetki")
    r = await browser.page("/search", params={"q": "skarpetek"})
    assert "Zaloguj się, aby przeszukiwać wpisy." in r.text  # posts need an account (as Mastodon)
    await browser.sign_up("alice")
    r = await browser.page("/search", params={"q": "skarpetek"})
    assert "Testujemy skarpetki" in r.text
    r = await browser.page("/search", params={"q": "skarpetkowo"})
    assert "@skarpetkowo" in r.text
    r = await browser.page("/search", params={"q": "#skarp"})
    assert 'href="/tags/skarpetki"' in r.text


async def test_notifications_page_lists_what_happened(client: Any, browser: Browser) -> None:
    await browser.sign_up("alice")
    bob = await client.make_user("bob")
    r = await bob.post(f"/api/v1/accounts/{await account_id(client.app, 'alice')}/follow")
    assert r.status_code == 200
    await bob.post_status("@alice cześć!")
    r = await browser.page("/notifications")
    assert r.status_code == 200
    assert "obserwuje Cię od teraz" in r.text and "wspomina o Tobie" in r.text and "cześć!" in r.text
    notification_id = re.search(r'id="n-(\d+)"', r.text).group(1)  # type: ignore[union-attr]
    fragment = await browser.page(f"/_web/notifications/{notification_id}")
    assert fragment.status_code == 200 and fragment.text.lstrip().startswith("<li")


async def test_status_fragment_checks_visibility(client: Any, browser: Browser) -> None:
    bob = await client.make_user("bob")
    hidden = await bob.post_status("sekret", visibility="private")
    shown = await bob.post_status("jawne")
    assert (await browser.page(f"/_web/statuses/{hidden['id']}")).status_code == 404
    r = await browser.page(f"/_web/statuses/{shown['id']}")
    assert r.status_code == 200 and r.text.lstrip().startswith("<article") and "<html" not in r.text


async def test_error_pages_are_html_for_browsers_and_json_for_the_api(browser: Browser) -> None:
    r = await browser.page("/no/such/page")
    assert r.status_code == 404 and "Nic tu nie ma" in r.text and r.headers["content-type"].startswith("text/html")
    r = await browser.page("/@nobody")
    assert r.status_code == 404 and "<html" in r.text
    r = await browser.get("/api/v1/statuses/1", headers={"accept": "text/html"})
    assert r.status_code == 404 and r.json() == {"error": "Record not found"}
    r = await browser.get("/no/such/page", headers={"accept": "application/json"})
    assert r.status_code == 404 and r.json()["error"]


async def test_pages_are_not_cached_and_vary(browser: Browser) -> None:
    r = await browser.page("/explore")
    assert r.headers["cache-control"] == "no-store"
    assert "Cookie" in r.headers["vary"] and "Accept-Language" in r.headers["vary"]


async def test_settings_profile_and_pictures(browser: Browser, app: Any) -> None:
    import io

    from PIL import Image

    await browser.sign_up("alice")
    r = await browser.submit("/settings", "/settings/profile", {"display_name": "Alicja <b>K</b>", "note": "Lubię #skarpetki", "privacy": "unlisted"})
    assert r.status_code == 303 and r.headers["location"] == "/settings?saved=profile#profile"
    page = await browser.page("/settings?saved=profile")
    assert "Profil został zapisany." in page.text
    profile = await browser.page("/@alice")
    assert "Alicja &lt;b&gt;K&lt;/b&gt;" in profile.text and 'href="/tags/skarpetki"' in profile.text
    assert '<option value="unlisted" selected>' in (await browser.page("/home")).text
    png = io.BytesIO()
    Image.new("RGB", (600, 300), (200, 30, 90)).save(png, format="PNG")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = await browser.post("/settings/pictures", data={"csrf_token": token}, files={"avatar": ("me.png", png.getvalue(), "image/png")})
    assert r.status_code == 303, r.text
    profile = await browser.page("/@alice")
    avatar = re.search(r'<img class="avatar" src="(/system/accounts/avatars/[^"]+)"', profile.text)
    assert avatar
    r = await browser.post("/settings/pictures", data={"csrf_token": token}, files={"avatar": ("x.png", b"not an image", "image/png")})
    assert r.status_code == 422 and "Tego pliku nie da się użyć jako obrazu" in r.text


async def test_sign_up_reports_every_problem_in_the_readers_language(other_browser: Browser) -> None:
    r = await other_browser.submit("/auth/sign_up", "/auth/sign_up", {"username": "bad name", "email": "nope", "password": "short"})
    assert r.status_code == 422
    assert "A username may only contain letters" in r.text
    assert "doesn&#39;t look right" in r.text and "at least 8 characters" in r.text
    assert "Please accept the rules" in r.text
    assert 'value="bad name"' in r.text  # what was typed is kept
    assert 'aria-invalid="true"' in r.text


async def test_sign_up_modes(app: Any) -> None:
    settings = app.state.settings
    for mode, expected in (("closed", 403), ("approval", 200)):
        settings.registrations = mode
        async with new_browser(app) as b:
            r = await b.submit("/auth/sign_up", "/auth/sign_up", {
                "username": f"u{mode}", "email": f"{mode}@example.com", "password": "sekretne-haslo", "agreement": "1",
                "reason": "Chcę pisać o skarpetkach",
            })
            assert r.status_code == expected, r.text
            if mode == "approval":
                assert "Czekamy na zatwierdzenie" in r.text
                r = await b.sign_in(f"u{mode}")
                assert r.status_code == 403 and "Czekamy na zatwierdzenie" in r.text
    settings.registrations = "open"


async def test_posting_through_the_form_and_acting_on_posts(client: Any, browser: Browser) -> None:
    bob = await client.make_user("bob")
    theirs = await bob.post_status("Polub mnie")
    await browser.sign_up("alice")
    await browser.submit("/@bob", "/@bob/follow", {})
    r = await browser.submit("/home", "/statuses", {"status": "x" * 501, "visibility": "public"})
    assert r.status_code == 422 and "Wpis jest za długi." in r.text and "x" * 501 in r.text  # text kept
    await browser.submit("/home", f"/statuses/{theirs['id']}/favourite", {"next": "/home"})
    await browser.submit("/home", f"/statuses/{theirs['id']}/reblog", {"next": "/home"})
    state = (await bob.get(f"/api/v1/statuses/{theirs['id']}")).json()
    assert state["favourites_count"] == 1 and state["reblogs_count"] == 1
    page = (await browser.page("/home")).text
    assert f'action="/statuses/{theirs["id"]}/unfavourite"' in page and f'action="/statuses/{theirs["id"]}/unreblog"' in page
    await browser.submit("/home", f"/statuses/{theirs['id']}/unfavourite", {"next": "/home"})
    await browser.submit("/home", f"/statuses/{theirs['id']}/unreblog", {"next": "/home"})
    state = (await bob.get(f"/api/v1/statuses/{theirs['id']}")).json()
    assert state["favourites_count"] == 0 and state["reblogs_count"] == 0
    await browser.post_status("Do usunięcia")
    mine = re.search(r'action="/statuses/(\d+)/delete"', (await browser.page("/home")).text).group(1)  # type: ignore[union-attr]
    r = await browser.submit("/home", f"/statuses/{mine}/delete", {"next": "/home"})
    assert r.status_code == 303 and "Do usunięcia" not in (await browser.page("/home")).text
    # Nobody deletes another account's post, from the web either.
    r = await browser.submit("/home", f"/statuses/{theirs['id']}/delete", {"next": "/home"})
    assert r.status_code == 403 and (await bob.get(f"/api/v1/statuses/{theirs['id']}")).status_code == 200


async def test_compose_offers_images_only_where_uploads_are_taken(app: Any, browser: Browser) -> None:
    await browser.sign_up("alice")
    assert 'name="media"' in (await browser.page("/home")).text  # POST /api/v2/media is served
    app.state.web.media_uploads = False  # as on a server without the media module
    try:
        html = (await browser.page("/home")).text
        assert 'name="media"' not in html and "Ostrzeżenie o treści</summary>" in html
    finally:
        app.state.web.media_uploads = None


async def test_cached_card_parts_follow_edits_and_profile_changes(client: Any, browser: Browser) -> None:
    bob = await client.make_user("bob")
    st = await bob.post_status("Pierwsza wersja")
    assert "Pierwsza wersja" in (await browser.page("/explore")).text
    r = await bob.put(f"/api/v1/statuses/{st['id']}", json={"status": "Poprawiona wersja", "spoiler_text": "uwaga"})
    assert r.status_code == 200, r.text
    html = (await browser.page("/explore")).text
    assert "Poprawiona wersja" in html and "Pierwsza wersja" not in html and 'class="cw-text">uwaga<' in html
    r = await bob.patch("/api/v1/accounts/update_credentials", data={"display_name": "Robert", "kind": "media"})
    assert r.status_code == 200, r.text
    html = (await browser.page("/explore")).text
    assert "<bdi>Robert</bdi>" in html and "kind-badge kind-media" in html
    # The same post in the other language is drawn in that language.
    async with new_browser(client.app, **{"accept-language": "en"}) as english:
        html = (await english.page("/explore")).text
        assert "Show content" in html and "Pokaż treść" not in html


async def test_fragment_forms_return_to_the_page_they_are_inserted_into(client: Any, browser: Browser) -> None:
    await browser.sign_up("alice")
    await browser.post_status("mój wpis")
    sid = re.search(r'action="/statuses/(\d+)/delete"', (await browser.page("/home")).text).group(1)  # type: ignore[union-attr]
    html = (await browser.page(f"/_web/statuses/{sid}", params={"next": "/tags/x?max_id=5"})).text
    assert 'name="next" value="/tags/x?max_id=5"' in html
    html = (await browser.page(f"/_web/statuses/{sid}", params={"next": "//evil.example"})).text
    assert 'name="next" value="/home"' in html
