"""Accounts: credentials, profile updates and pictures, reading, finding, and profile statuses."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from typing import Any

from PIL import Image
from sqlalchemy import update

from szpak.domain import statuses as status_actions
from szpak.storage.models import Account, Status

from .mastodon_schema import assert_entity

READ_ONLY_STATUSES = "read:statuses"


def image_bytes(
    fmt: str = "PNG", size: tuple[int, int] = (800, 600), *, exif: bool = False, mode: str = "RGB", red: int = 200
) -> bytes:
    img = Image.new(mode, size, (red, 40, 40) if mode == "RGB" else (red, 40, 40, 128))
    out = io.BytesIO()
    if exif:
        ex = Image.Exif()
        ex[0x010F] = "Phone maker"  # Make
        ex[0x0110] = "Secret phone"  # Model
        img.save(out, format=fmt, exif=ex.tobytes())
    else:
        img.save(out, format=fmt)
    return out.getvalue()


async def suspend(client: Any, account_id: str) -> None:
    async with client.app.state.ctx.tx() as tx:
        await tx.session.execute(
            update(Account).where(Account.id == int(account_id)).values(suspended_at=datetime.now(timezone.utc))
        )


# -- verify_credentials -------------------------------------------------------------------

async def test_verify_credentials(client):
    alice = await client.make_user("alice", locked=True)
    bob = await client.make_user("bob")
    await bob.follow(alice)
    r = await alice.get("/api/v1/accounts/verify_credentials")
    assert r.status_code == 200
    me = r.json()
    assert_entity(me, "CredentialAccount")
    assert me["username"] == "alice" and me["locked"] is True
    assert me["source"]["follow_requests_count"] == 1
    assert me["source"]["privacy"] == "public"
    assert me["szpak_kind"] == "person"
    assert (await client.get("/api/v1/accounts/verify_credentials")).status_code == 401
    other = await client.make_user("carol", scopes="write:statuses")
    assert (await other.get("/api/v1/accounts/verify_credentials")).status_code == 403
    profile_only = await client.make_user("dave", scopes="profile")
    assert (await profile_only.get("/api/v1/accounts/verify_credentials")).status_code == 200


# -- update_credentials --------------------------------------------------------------------

async def test_update_credentials_json(client):
    alice = await client.make_user("alice")
    r = await alice.patch(
        "/api/v1/accounts/update_credentials",
        json={
            "display_name": "Alicja Żółć",
            "note": "Piszę o <b>Krakowie</b>",
            "locked": True,
            "bot": True,
            "discoverable": False,
            "indexable": False,
            "hide_collections": True,
            "kind": "brand",
            "fields_attributes": {"0": {"name": "WWW", "value": "https://example.com"}, "1": {"name": "x<y", "value": "<script>"}},
            "source": {"privacy": "private", "sensitive": True, "language": "pl"},
        },
    )
    assert r.status_code == 200, r.text
    me = r.json()
    assert_entity(me, "CredentialAccount")
    assert me["display_name"] == "Alicja Żółć"
    assert "<b>" not in me["note"] and "Krakowie" in me["note"]
    assert me["source"]["note"] == "Piszę o <b>Krakowie</b>"
    assert (me["locked"], me["bot"], me["discoverable"], me["indexable"], me["hide_collections"]) == (True, True, False, False, True)
    assert me["noindex"] is True
    assert me["szpak_kind"] == "brand"
    assert me["source"]["privacy"] == "private" and me["source"]["sensitive"] is True and me["source"]["language"] == "pl"
    names = [f["name"] for f in me["fields"]]
    assert names == ["WWW", "x<y"]
    assert 'href="https://example.com"' in me["fields"][0]["value"]
    assert "<script>" not in me["fields"][1]["value"]
    assert me["source"]["fields"][1]["value"] == "<script>"
    # What others see matches.
    r = await client.get(f"/api/v1/accounts/{alice.id}")
    assert r.json()["szpak_kind"] == "brand" and r.json()["display_name"] == "Alicja Żółć"
    # The new default visibility is used for new posts.
    st = await alice.post_status("domyślnie prywatny")
    assert st["visibility"] == "private"


async def test_update_credentials_form_fields(client):
    alice = await client.make_user("alice")
    r = await alice.patch(
        "/api/v1/accounts/update_credentials",
        data={
            "display_name": "Ala",
            "locked": "true",
            "fields_attributes[0][name]": "Miasto",
            "fields_attributes[0][value]": "Łódź",
            "source[privacy]": "unlisted",
        },
    )
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["display_name"] == "Ala" and me["locked"] is True
    assert me["fields"][0]["name"] == "Miasto" and me["fields"][0]["value"] == "Łódź"
    assert me["source"]["privacy"] == "unlisted"


async def test_update_credentials_rejects_bad_input(client):
    alice = await client.make_user("alice")
    bad: list[dict[str, Any]] = [
        {"kind": "alien"},
        {"display_name": "x" * 500},
        {"note": "y" * 501},
        {"locked": "maybe"},
        {"fields_attributes": [{"name": str(i), "value": "v"} for i in range(5)]},
        {"fields_attributes": [{"name": "n", "value": "v" * 300}]},
        {"fields_attributes": "nope"},
        {"source": {"privacy": "direct"}},
        {"source": {"language": "polish!"}},
        {"avatar": "not a file"},
        {"display_name": "nul\x00byte"},
        {"note": "bell\x07"},
        {"fields_attributes": [{"name": "n", "value": "a\x00b"}]},
    ]
    for change in bad:
        r = await alice.patch("/api/v1/accounts/update_credentials", json=change)
        assert r.status_code == 422, (change, r.text)
        assert "error" in r.json()
    r = await alice.get("/api/v1/accounts/verify_credentials")
    assert r.json()["szpak_kind"] == "person" and r.json()["locked"] is False


async def test_update_credentials_auth(client):
    r = await client.patch("/api/v1/accounts/update_credentials", json={"display_name": "x"})
    assert r.status_code == 401
    reader = await client.make_user("reader", scopes="read")
    r = await reader.patch("/api/v1/accounts/update_credentials", json={"display_name": "x"})
    assert r.status_code == 403


async def test_avatar_and_header_upload(client):
    alice = await client.make_user("alice")
    r = await alice.patch(
        "/api/v1/accounts/update_credentials",
        files={
            "avatar": ("me.jpg", image_bytes("JPEG", (900, 700), exif=True), "image/jpeg"),
            "header": ("top.png", image_bytes("PNG", (3000, 600), mode="RGBA"), "image/png"),
        },
        data={"display_name": "Z obrazkiem"},
    )
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["display_name"] == "Z obrazkiem"
    assert me["avatar"].startswith("http://testserver/system/accounts/avatars/")
    assert me["avatar_static"] == me["avatar"]
    assert me["header"].startswith("http://testserver/system/accounts/headers/")
    avatar = await client.get(me["avatar"].removeprefix("http://testserver"))
    assert avatar.status_code == 200
    img = Image.open(io.BytesIO(avatar.content))
    assert img.format == "JPEG" and img.size == (400, 400)
    assert not img.getexif(), "EXIF must be stripped"
    assert b"Secret phone" not in avatar.content
    header = await client.get(me["header"].removeprefix("http://testserver"))
    himg = Image.open(io.BytesIO(header.content))
    assert himg.format == "PNG" and himg.size == (1500, 500)
    # The file lives under data_dir/system.
    rel = me["avatar"].split("/system/", 1)[1]
    assert (client.app.state.settings.data_dir / "system" / rel).is_file()


async def test_pictures_are_served_with_media_headers(client):
    alice = await client.make_user("alice")
    r = await alice.patch(
        "/api/v1/accounts/update_credentials",
        files={
            "avatar": ("me.jpg", image_bytes("JPEG", (500, 500)), "image/jpeg"),
            "header": ("top.png", image_bytes("PNG", (1600, 600), mode="RGBA"), "image/png"),
        },
    )
    me = r.json()
    for key, kind in (("avatar", "image/jpeg"), ("header", "image/png")):
        path = me[key].removeprefix("http://testserver")
        for method in (client.get, client.head):
            got = await method(path)
            assert got.status_code == 200, (key, method)
            assert got.headers["content-type"] == kind
            assert got.headers["x-content-type-options"] == "nosniff"
            assert "max-age=31536000" in got.headers["cache-control"] and "immutable" in got.headers["cache-control"]
            assert "sandbox" in got.headers["content-security-policy"]
    # Nothing outside the pictures: missing files, other directories, escapes, hidden files.
    folder = me["avatar"].removeprefix("http://testserver").rsplit("/", 1)[0]
    system = client.app.state.settings.data_dir / "system"
    (system / "secret.txt").write_text("nie")
    hidden = system / folder.removeprefix("/system/") / ".x.jpg.tmp"
    hidden.write_bytes(b"x")
    for path in (f"{folder}/missing.jpg", folder, "/system/secret.txt", "/system/accounts/../secret.txt",
                 "/system/accounts/%2e%2e/secret.txt", f"{folder}/.x.jpg.tmp"):
        assert (await client.get(path)).status_code == 404, path


async def test_avatar_is_turned_upright_by_its_exif_orientation(client):
    alice = await client.make_user("alice")
    # Stored landscape, top half red and bottom half blue, tagged "rotate 90° clockwise to show".
    img = Image.new("RGB", (600, 300), (255, 0, 0))
    img.paste((0, 0, 255), (0, 150, 600, 300))
    ex = Image.Exif()
    ex[0x0112] = 6
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=ex.tobytes(), quality=95)
    r = await alice.patch("/api/v1/accounts/update_credentials", files={"avatar": ("p.jpg", out.getvalue(), "image/jpeg")})
    assert r.status_code == 200, r.text
    shown = Image.open(io.BytesIO((await client.get(r.json()["avatar"].removeprefix("http://testserver"))).content))
    # Shown upright the red half is on the right, the blue half on the left.
    left, right = shown.getpixel((50, 200)), shown.getpixel((350, 200))
    assert left[2] > 200 and left[0] < 60, left
    assert right[0] > 200 and right[2] < 60, right


async def test_replaced_avatar_is_deleted_after_commit(client):
    alice = await client.make_user("alice")
    first = await alice.patch(
        "/api/v1/accounts/update_credentials", files={"avatar": ("a.png", image_bytes("PNG", (50, 50)), "image/png")}
    )
    old_rel = first.json()["avatar"].split("/system/", 1)[1]
    old_file = client.app.state.settings.data_dir / "system" / old_rel
    assert old_file.is_file()
    second = await alice.patch(
        "/api/v1/accounts/update_credentials", files={"avatar": ("b.png", image_bytes("PNG", (60, 80), red=10), "image/png")}
    )
    assert second.json()["avatar"] != first.json()["avatar"]
    assert old_file.is_file(), "kept until the job runs"
    await client.run_jobs()
    assert not old_file.exists()
    new_rel = second.json()["avatar"].split("/system/", 1)[1]
    assert (client.app.state.settings.data_dir / "system" / new_rel).is_file()
    # Back to the default picture.
    r = await alice.delete("/api/v1/profile/avatar")
    assert r.status_code == 200
    assert r.json()["avatar"] == "http://testserver/static/avatar-missing.png"
    await client.run_jobs()
    assert not (client.app.state.settings.data_dir / "system" / new_rel).exists()
    assert (await client.delete("/api/v1/profile/avatar")).status_code == 401
    reader = await client.make_user("reader", scopes="read")
    assert (await reader.delete("/api/v1/profile/header")).status_code == 403


async def test_broken_or_disguised_images_are_refused(client):
    alice = await client.make_user("alice")
    png = image_bytes("PNG")
    uploads = [
        ("fake.png", b"this is plain text, not a picture", "image/png"),
        ("truncated.png", png[: len(png) // 2], "image/png"),
        ("doc.png", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "image/png"),
        ("empty.png", b"", "image/png"),
        ("anim.bmp", image_bytes("BMP", (20, 20)), "image/bmp"),
    ]
    for name, content, ctype in uploads:
        r = await alice.patch("/api/v1/accounts/update_credentials", files={"avatar": (name, content, ctype)})
        assert r.status_code == 422, (name, r.text)
        assert "Avatar" in r.json()["error"]
    r = await alice.get("/api/v1/accounts/verify_credentials")
    assert r.json()["avatar"] == "http://testserver/static/avatar-missing.png"


async def test_no_file_is_written_when_the_update_is_refused(client):
    alice = await client.make_user("alice")
    r = await alice.patch(
        "/api/v1/accounts/update_credentials",
        files={"avatar": ("a.png", image_bytes("PNG"), "image/png")},
        data={"kind": "alien"},
    )
    assert r.status_code == 422
    system = client.app.state.settings.data_dir / "system"
    assert [p for p in system.rglob("*") if p.is_file()] == []


async def test_default_pictures_are_served(client):
    alice = await client.make_user("alice")
    me = (await alice.get("/api/v1/accounts/verify_credentials")).json()
    for url, size in ((me["avatar"], (400, 400)), (me["header"], (1500, 500))):
        r = await client.get(url.removeprefix("http://testserver"))
        assert r.status_code == 200, url
        assert Image.open(io.BytesIO(r.content)).size == size


# -- reading accounts ----------------------------------------------------------------------

async def test_get_account(client):
    alice = await client.make_user("alice", kind="institution")
    r = await client.get(f"/api/v1/accounts/{alice.id}")
    assert r.status_code == 200
    data = r.json()
    assert_entity(data, "Account")
    assert data["id"] == alice.id and data["acct"] == "alice" and data["szpak_kind"] == "institution"
    assert "source" not in data
    for bad in ("999999", "abc", "-1", "99999999999999999999"):
        assert (await client.get(f"/api/v1/accounts/{bad}")).status_code == 404
    writer = await client.make_user("writer", scopes="write")
    assert (await writer.get(f"/api/v1/accounts/{alice.id}")).status_code == 403
    await suspend(client, alice.id)
    assert (await client.get(f"/api/v1/accounts/{alice.id}")).status_code == 404


async def test_get_many_accounts(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    carol = await client.make_user("carol")
    await suspend(client, carol.id)
    r = await client.get(f"/api/v1/accounts?id[]={bob.id}&id[]=12345&id[]={alice.id}&id[]=x&id[]={carol.id}")
    assert r.status_code == 200
    assert [a["id"] for a in r.json()] == [bob.id, alice.id]
    r = await client.get("/api/v1/accounts", params={"id": alice.id})
    assert [a["id"] for a in r.json()] == [alice.id]
    r = await client.get("/api/v1/accounts", params=[("id[]", str(i)) for i in range(1, 150)])
    assert r.status_code == 422


async def test_lookup(client):
    alice = await client.make_user("Alice")
    for acct in ("alice", "@Alice", "alice@testserver", "ALICE@TESTSERVER"):
        r = await client.get("/api/v1/accounts/lookup", params={"acct": acct})
        assert r.status_code == 200, acct
        assert r.json()["id"] == alice.id
    assert (await client.get("/api/v1/accounts/lookup", params={"acct": "nobody"})).status_code == 404
    assert (await client.get("/api/v1/accounts/lookup", params={"acct": "alice@elsewhere.example"})).status_code == 404
    assert (await client.get("/api/v1/accounts/lookup")).status_code == 422
    assert (await client.get("/api/v1/accounts/lookup", params={"acct": "ali\x00ce"})).status_code == 404
    writer = await client.make_user("writer", scopes="write")
    assert (await writer.get("/api/v1/accounts/lookup", params={"acct": "alice"})).status_code == 403
    await suspend(client, alice.id)
    assert (await client.get("/api/v1/accounts/lookup", params={"acct": "alice"})).status_code == 404


async def test_lists_and_featured_tags_are_empty_for_now(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    r = await alice.get(f"/api/v1/accounts/{bob.id}/lists")
    assert r.status_code == 200 and r.json() == []
    assert (await client.get(f"/api/v1/accounts/{bob.id}/lists")).status_code == 401
    assert (await alice.get("/api/v1/accounts/424242/lists")).status_code == 404
    r = await client.get(f"/api/v1/accounts/{bob.id}/featured_tags")
    assert r.status_code == 200 and r.json() == []
    assert (await client.get("/api/v1/accounts/424242/featured_tags")).status_code == 404


# -- search --------------------------------------------------------------------------------

async def test_search_is_diacritic_insensitive_and_ranked(client):
    me = await client.make_user("me")
    zolw = await client.make_user("zolw")
    kowalski = await client.make_user("jan_kowalski")
    popular = await client.make_user("zolwik")
    lodz = await client.make_user("miasto")
    await zolw.patch("/api/v1/accounts/update_credentials", json={"display_name": "Żółw Ninja"})
    await lodz.patch("/api/v1/accounts/update_credentials", json={"display_name": "Urząd Miasta Łodzi"})
    for name in ("f1", "f2"):
        fan = await client.make_user(name)
        await fan.follow(popular)

    async def found(q: str, **params: Any) -> list[str]:
        r = await me.get("/api/v1/accounts/search", params={"q": q, **params})
        assert r.status_code == 200, r.text
        return [a["username"] for a in r.json()]

    assert await found("zolw") == ["zolw", "zolwik"]  # exact username first, though less followed
    assert await found("Żółw") == ["zolw", "zolwik"]
    assert await found("zol") == ["zolwik", "zolw"]  # no exact match: more followers first
    assert await found("ninja") == ["zolw"]
    assert await found("lodzi") == ["miasto"]
    assert await found("urzad miasta") == ["miasto"]
    assert await found("urzad krakowa") == []
    assert await found("kowal") == ["jan_kowalski"]
    assert await found("@jan_kowalski") == ["jan_kowalski"]
    assert await found("jan_kowalski@testserver") == ["jan_kowalski"]
    assert await found("100%_") == []
    assert await found("zol", limit=1) == ["zolwik"]
    assert await found("zol", limit=1, offset=1) == ["zolw"]
    assert await found("") == []
    await me.follow(zolw)
    assert await found("zol", following="true") == ["zolw"]
    await suspend(client, popular.id)
    assert await found("zol") == ["zolw"]
    _ = kowalski


async def test_search_respects_discoverable(client):
    me = await client.make_user("me")
    hidden = await client.make_user("ukryty")
    await hidden.patch("/api/v1/accounts/update_credentials", json={"discoverable": False, "display_name": "Ukryty Ktoś"})
    r = await me.get("/api/v1/accounts/search", params={"q": "ukr"})
    assert r.json() == []
    r = await me.get("/api/v1/accounts/search", params={"q": "ukryty"})
    assert [a["username"] for a in r.json()] == ["ukryty"]
    await me.follow(hidden)
    r = await me.get("/api/v1/accounts/search", params={"q": "ukr"})
    assert [a["username"] for a in r.json()] == ["ukryty"]


async def test_search_auth_and_bad_input(client):
    assert (await client.get("/api/v1/accounts/search", params={"q": "a"})).status_code == 401
    writer = await client.make_user("writer", scopes="write")
    assert (await writer.get("/api/v1/accounts/search", params={"q": "a"})).status_code == 403
    me = await client.make_user("me")
    assert (await me.get("/api/v1/accounts/search")).status_code == 422
    # limit and offset are never refused, as in Mastodon (tests/api/test_limits.py).
    r = await me.get("/api/v1/accounts/search", params={"q": "me", "limit": "many", "offset": "-1"})
    assert r.status_code == 200 and [a["username"] for a in r.json()] == ["me"]
    for q in ("a\x00b", "x@ex\x00ample.com", "\x00"):
        assert (await me.get("/api/v1/accounts/search", params={"q": q})).status_code == 200, q
    r = await me.get("/api/v1/accounts/search", params={"q": "me", "limit": "1000", "resolve": "true"})
    assert r.status_code == 200 and [a["username"] for a in r.json()] == ["me"]


# -- profile statuses ----------------------------------------------------------------------

async def test_account_statuses_filters(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    other = await bob.post_status("Coś od Boba")
    first = await alice.post_status("Wątek część 1 #Kraków")
    self_reply = await alice.post_status("Wątek część 2", in_reply_to_id=first["id"])
    reply = await alice.post_status("@bob odpowiedź", in_reply_to_id=other["id"])
    photo = await alice.post_status("Ze zdjęciem")
    # Reblog, pin and media through the domain actions (their endpoints belong elsewhere).
    async with client.app.state.ctx.tx() as tx:
        actor = await tx.session.get(Account, int(alice.id))
        reblog = await status_actions.reblog(tx, actor, int(other["id"]))
        await status_actions.pin(tx, actor, int(first["id"]))
        await tx.session.execute(update(Status).where(Status.id == int(photo["id"])).values(has_media=True))

    async def ids(**params: Any) -> list[str]:
        r = await client.get(f"/api/v1/accounts/{alice.id}/statuses", params=params)
        assert r.status_code == 200, r.text
        return [s["id"] for s in r.json()]

    boost = str(reblog.id)
    assert await ids() == [boost, photo["id"], reply["id"], self_reply["id"], first["id"]]
    # Replies to others go; a reply to oneself (a thread) stays.
    assert await ids(exclude_replies="true") == [boost, photo["id"], self_reply["id"], first["id"]]
    assert await ids(exclude_reblogs="true") == [photo["id"], reply["id"], self_reply["id"], first["id"]]
    assert await ids(only_media="true") == [photo["id"]]
    assert await ids(pinned="true") == [first["id"]]
    assert await ids(tagged="kraków") == [first["id"]]
    assert await ids(tagged="#Kraków") == [first["id"]]
    assert await ids(tagged="nic") == []
    r = await client.get(f"/api/v1/accounts/{alice.id}/statuses", params={"pinned": "perhaps"})
    assert r.status_code == 422
    r = await client.get(f"/api/v1/accounts/{alice.id}/statuses", params={"tagged": "a\x00"})
    assert r.status_code == 422


async def test_account_statuses_pagination_and_visibility(client):
    alice = await client.make_user("alice")
    bob = await client.make_user("bob")
    stranger = await client.make_user("stranger")
    public = [await alice.post_status(f"wpis {i}") for i in range(5)]
    private = await alice.post_status("tylko dla obserwujących", visibility="private")
    await bob.follow(alice)
    r = await bob.get(f"/api/v1/accounts/{alice.id}/statuses")
    assert [s["id"] for s in r.json()][0] == private["id"]
    r = await stranger.get(f"/api/v1/accounts/{alice.id}/statuses")
    assert private["id"] not in [s["id"] for s in r.json()]
    r = await client.get(f"/api/v1/accounts/{alice.id}/statuses", params={"limit": 2})
    page1 = [s["id"] for s in r.json()]
    assert page1 == [public[4]["id"], public[3]["id"]]
    assert 'rel="next"' in r.headers["link"]
    next_url = r.headers["link"].split(";")[0].strip("<>")
    r = await client.get(next_url.removeprefix("http://testserver"))
    assert [s["id"] for s in r.json()] == [public[2]["id"], public[1]["id"]]
    assert (await client.get("/api/v1/accounts/777/statuses")).status_code == 404
    writer = await client.make_user("writer", scopes="write")
    assert (await writer.get(f"/api/v1/accounts/{alice.id}/statuses")).status_code == 403
    # Blocking hides the profile's statuses from the blocked account.
    await alice.post(f"/api/v1/accounts/{stranger.id}/block")
    r = await stranger.get(f"/api/v1/accounts/{alice.id}/statuses")
    assert r.json() == []
