"""/api/v1/media, /api/v2/media, media on statuses, and the media files (docs/api/media.md)."""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import sys
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select, update

from szpak.domain import media as media_actions
from szpak.media import av
from szpak.storage.models import Job, MediaAttachment

from .helpers import error, ok
from .mastodon_schema import assert_entity


def image_bytes(size: tuple[int, int] = (800, 600), fmt: str = "PNG", color: Any = (20, 120, 220), **save: Any) -> bytes:
    im = Image.new("RGBA" if fmt == "PNG" and len(color) == 4 else "RGB", size, color)
    # Some structure, so the blurhash is not flat.
    for x in range(0, size[0], max(1, size[0] // 8)):
        for y in range(size[1]):
            im.putpixel((x, y), (250, 250, 0))
    out = io.BytesIO()
    im.save(out, format=fmt, **save)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims huge dimensions (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 4096)) + chunk(b"IEND", b"")


async def upload(user: Any, data: bytes, name: str = "photo.png", *, version: int = 2, **fields: Any) -> Any:
    files: dict[str, Any] = {"file": (name, data, "application/octet-stream")}
    if "thumbnail" in fields:
        files["thumbnail"] = ("thumb.png", fields.pop("thumbnail"), "image/png")
    return await user.post(f"/api/v{version}/media", files=files, data=fields)


async def uploaded(user: Any, data: bytes | None = None, **fields: Any) -> dict[str, Any]:
    return ok(await upload(user, data if data is not None else image_bytes(), **fields))  # type: ignore[no-any-return]


def stored_path(client: Any, url: str) -> Path:
    prefix = "http://testserver/system/media_attachments/"
    assert url.startswith(prefix), url
    return client.app.state.settings.effective_media_dir / url[len(prefix):]


async def fetch(client: Any, url: str) -> Any:
    r = await client.get(url.removeprefix("http://testserver"))
    assert r.status_code == 200, r.text
    return r


# -- uploading -------------------------------------------------------------------------------


async def test_upload_image(client: Any) -> None:
    alice = await client.make_user("alice")
    media = await uploaded(alice, description="Rynek w Krakowie", focus="0.5,-0.25")
    assert_entity(media, "MediaAttachment")
    assert media["type"] == "image"
    assert media["description"] == "Rynek w Krakowie"
    assert media["remote_url"] is None and media["preview_remote_url"] is None and media["text_url"] is None
    assert media["url"].endswith(".png") and media["preview_url"].endswith(".png")
    original, small = media["meta"]["original"], media["meta"]["small"]
    assert (original["width"], original["height"], original["size"]) == (800, 600, "800x600")
    assert original["aspect"] == pytest.approx(800 / 600)
    # The preview fits in 230 400 pixels and keeps the aspect ratio.
    assert small["width"] * small["height"] <= 230_400 and small["width"] < 800
    assert small["width"] / small["height"] == pytest.approx(4 / 3, rel=0.01)
    assert media["meta"]["focus"] == {"x": 0.5, "y": -0.25}
    assert isinstance(media["blurhash"], str) and len(media["blurhash"]) >= 20

    r = await fetch(client, media["url"])
    assert r.headers["content-type"] == "image/png"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "max-age=31536000" in r.headers["cache-control"]
    assert Image.open(io.BytesIO(r.content)).size == (800, 600)
    preview = await fetch(client, media["preview_url"])
    assert Image.open(io.BytesIO(preview.content)).size == (small["width"], small["height"])

    # Only the uploader sees it, and the v1 endpoint uploads too.
    assert ok(await alice.get(f"/api/v1/media/{media['id']}"))["id"] == media["id"]
    v1 = ok(await upload(alice, image_bytes((50, 50), "JPEG"), "x.jpg", version=1))
    assert v1["url"].endswith(".jpg") and v1["meta"]["original"]["size"] == "50x50"
    bob = await client.make_user("bob")
    error(await bob.get(f"/api/v1/media/{media['id']}"), 404)
    error(await bob.put(f"/api/v1/media/{media['id']}", json={"description": "nie moje"}), 404)
    error(await bob.delete(f"/api/v1/media/{media['id']}"), 404)


async def test_media_file_404s(client: Any) -> None:
    for path in ("/system/media_attachments/files/nothing.png", "/system/media_attachments/../secret_key",
                 "/system/media_attachments/"):
        r = await client.get(path)
        assert r.status_code == 404, (path, r.status_code)


async def test_upload_needs_token_and_scope(client: Any) -> None:
    alice = await client.make_user("alice", scopes="read write:statuses")
    r = await client.post("/api/v2/media", files={"file": ("a.png", image_bytes(), "image/png")})
    error(r, 401)
    error(await upload(alice, image_bytes()), 403)
    writer = await client.make_user("writer", scopes="write:media")
    assert ok(await upload(writer, image_bytes()))["type"] == "image"


async def test_bad_uploads_are_422(client: Any) -> None:
    alice = await client.make_user("alice")
    png = image_bytes((200, 200))
    assert "not a supported" in error(await upload(alice, b"Zwykly tekst, nie obrazek.\n", "x.png"), 422)
    assert "truncated" in error(await upload(alice, png[: len(png) // 2], "half.png"), 422)
    assert "dimensions are too large" in error(await upload(alice, png_header_only(30_000, 30_000), "bomb.png"), 422)
    assert "dimensions are too large" in error(await upload(alice, png_header_only(100_000, 100_000), "bomb.png"), 422)
    bmp = io.BytesIO()
    Image.new("RGB", (10, 10)).save(bmp, "BMP")
    assert error(await upload(alice, bmp.getvalue(), "x.bmp"), 422)
    assert "blank" in error(await alice.post("/api/v2/media", data={"description": "bez pliku"}), 422)
    assert "as a file" in error(await alice.post("/api/v2/media", data={"file": "tekst"}), 422)
    assert "Focus" in error(await upload(alice, png, focus="2,0"), 422)
    assert "Focus" in error(await upload(alice, png, focus="lewo"), 422)
    assert "too long" in error(await upload(alice, png, description="x" * 1501), 422)
    assert "Thumbnail" in error(await upload(alice, png, thumbnail=b"not an image"), 422)
    error(await alice.post("/api/v2/media", json={"file": 5}), 422)
    async with client.app.state.ctx.read() as s:
        assert list(await s.scalars(select(MediaAttachment))) == []


async def test_limits_come_from_settings(client: Any) -> None:
    settings = client.app.state.settings
    alice = await client.make_user("alice")
    settings.media_image_size_limit = 2048
    noise = io.BytesIO()
    Image.effect_noise((300, 300), 64).convert("RGB").save(noise, "PNG")
    big = noise.getvalue()
    assert len(big) > 2048
    assert "file size must be less than 2048 bytes" in error(await upload(alice, big), 422)
    settings.media_image_size_limit = 16 * 1024 * 1024
    settings.media_image_matrix_limit = 10_000
    assert "dimensions are too large (300x300" in error(await upload(alice, big), 422)
    ok(await upload(alice, image_bytes((100, 100))))
    conf = ok(await client.get("/api/v2/instance"))["configuration"]["media_attachments"]
    assert conf["image_matrix_limit"] == 10_000
    assert conf["image_size_limit"] == 16 * 1024 * 1024
    assert "image/webp" in conf["supported_mime_types"]
    assert ("video/mp4" in conf["supported_mime_types"]) == av.available()


async def test_exif_and_gps_are_stripped_and_orientation_applied(client: Any) -> None:
    alice = await client.make_user("alice")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    exif[0x010F] = "SzpakCam"
    exif[0x8825] = {1: "N", 2: (50.0, 3.0, 42.0), 3: "E", 4: (19.0, 56.0, 12.0)}
    raw = image_bytes((300, 200), "JPEG", exif=exif.tobytes(), comment=b"tajny komentarz")
    assert Image.open(io.BytesIO(raw)).getexif().get_ifd(0x8825)  # the upload does carry GPS
    media = await uploaded(alice, raw, name="gps.jpg")
    assert media["meta"]["original"]["size"] == "200x300"  # turned upright
    for url in (media["url"], media["preview_url"]):
        path = stored_path(client, url)
        data = path.read_bytes()
        with Image.open(path) as stored:
            assert dict(stored.getexif()) == {}
            assert "exif" not in stored.info and "comment" not in stored.info
        assert b"Exif" not in data and b"SzpakCam" not in data and b"tajny" not in data


async def test_webp_and_animated_gif(client: Any) -> None:
    alice = await client.make_user("alice")
    webp = await uploaded(alice, image_bytes((120, 80), "WEBP"), name="a.webp")
    assert webp["url"].endswith(".webp") and webp["meta"]["original"]["size"] == "120x80"
    frames = [Image.new("RGB", (40, 30), (i * 80, 0, 0)) for i in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0, comment=b"komentarz")
    gif = await uploaded(alice, out.getvalue(), name="anim.gif")
    if av.available():
        assert gif["type"] == "gifv" and gif["url"].endswith(".mp4")
    else:
        assert gif["type"] == "image" and gif["url"].endswith(".gif")
        stored = stored_path(client, gif["url"])
        assert b"komentarz" not in stored.read_bytes()
        with Image.open(stored) as im:
            assert im.n_frames == 3


async def test_update_and_delete_unattached(client: Any) -> None:
    alice = await client.make_user("alice")
    media = await uploaded(alice)
    old_preview = stored_path(client, media["preview_url"])
    thumb = image_bytes((50, 40), "PNG", color=(0, 0, 0))
    r = await alice.put(
        f"/api/v1/media/{media['id']}", files={"thumbnail": ("t.png", thumb, "image/png")},
        data={"description": "Nowy opis", "focus": "-1,1"},
    )
    changed = ok(r)
    assert changed["description"] == "Nowy opis"
    assert changed["meta"]["focus"] == {"x": -1.0, "y": 1.0}
    assert changed["meta"]["small"]["size"] == "50x40"
    assert changed["preview_url"] != media["preview_url"]
    assert changed["blurhash"] != media["blurhash"]
    await client.run_jobs()
    assert not old_preview.exists()
    assert "too long" in error(await alice.put(f"/api/v1/media/{media['id']}", json={"description": "y" * 2000}), 422)

    original = stored_path(client, media["url"])
    assert original.exists()
    assert ok(await alice.delete(f"/api/v1/media/{media['id']}")) == {}
    await client.run_jobs()
    assert not original.exists()
    error(await alice.get(f"/api/v1/media/{media['id']}"), 404)
    error(await alice.delete(f"/api/v1/media/{media['id']}"), 404)
    error(await alice.get("/api/v1/media/not-a-number"), 404)


# -- on statuses -----------------------------------------------------------------------------


async def test_post_with_media(client: Any) -> None:
    alice = await client.make_user("alice")
    first = await uploaded(alice, image_bytes((50, 60)), description="Pierwsze")
    second = await uploaded(alice, image_bytes((50, 70)), description="Drugie")
    # Text may be empty when there is media; order is the order of media_ids.
    status = await alice.post_status("", media_ids=[second["id"], first["id"]])
    assert_entity(status, "Status")
    assert [m["id"] for m in status["media_attachments"]] == [second["id"], first["id"]]
    assert [m["description"] for m in status["media_attachments"]] == ["Drugie", "Pierwsze"]
    assert status["media_attachments"][0] == second | {"meta": status["media_attachments"][0]["meta"]}
    shown = ok(await client.get(f"/api/v1/statuses/{status['id']}"))
    assert shown["media_attachments"] == status["media_attachments"]
    # Once posted, an attachment is the status's: no longer shown or changed on its own.
    error(await alice.get(f"/api/v1/media/{first['id']}"), 404)
    error(await alice.put(f"/api/v1/media/{first['id']}", json={"description": "x"}), 404)
    assert "used by a status" in error(await alice.delete(f"/api/v1/media/{first['id']}"), 422)
    # ... nor claimed by another post.
    assert "Validation failed" in error(await alice.post("/api/v1/statuses", json={"status": "znowu", "media_ids": [first["id"]]}), 422)
    # Without media, empty text is still refused.
    error(await alice.post("/api/v1/statuses", json={"status": ""}), 422)

    # Everywhere statuses render: timelines, context, account statuses, reblogs.
    plain = await alice.post_status("Bez zdjęć", in_reply_to_id=status["id"])
    public = ok(await client.get("/api/v1/timelines/public"))
    by_id = {s["id"]: s for s in public}
    assert by_id[status["id"]]["media_attachments"] == status["media_attachments"]
    assert by_id[plain["id"]]["media_attachments"] == []
    only = ok(await client.get("/api/v1/timelines/public?only_media=true"))
    assert [s["id"] for s in only] == [status["id"]]
    acc = ok(await client.get(f"/api/v1/accounts/{alice.id}/statuses?only_media=true"))
    assert [s["id"] for s in acc] == [status["id"]]
    context = ok(await client.get(f"/api/v1/statuses/{plain['id']}/context"))
    assert context["ancestors"][0]["media_attachments"] == status["media_attachments"]
    bob = await client.make_user("bob")
    await bob.follow(alice)
    boost = ok(await bob.post(f"/api/v1/statuses/{status['id']}/reblog"))
    assert boost["reblog"]["media_attachments"] == status["media_attachments"]
    home = ok(await bob.get("/api/v1/timelines/home"))
    assert home[0]["reblog"]["media_attachments"] == status["media_attachments"]


async def test_media_ids_rules(client: Any) -> None:
    alice, bob = await client.make_user("alice"), await client.make_user("bob")
    mine = [(await uploaded(alice, image_bytes((20 + i, 20))))["id"] for i in range(5)]
    five = await alice.post("/api/v1/statuses", json={"status": "pięć", "media_ids": mine})
    assert error(five, 422).startswith("Validation failed")
    theirs = await uploaded(bob)
    r = await alice.post("/api/v1/statuses", json={"status": "cudze", "media_ids": [theirs["id"]]})
    assert error(r, 422).startswith("Validation failed")
    for bogus in (["abc"], ["99999999999999999999999"], ["0"], [str(2**63 + 5)]):
        r = await alice.post("/api/v1/statuses", json={"status": "zmyślone", "media_ids": bogus})
        assert error(r, 422).startswith("Validation failed"), bogus
    # Form-encoded media_ids[] as clients send them.
    r = await alice.post("/api/v1/statuses", data={"status": "formularz", "media_ids[]": mine[:4]})
    assert [m["id"] for m in ok(r)["media_attachments"]] == mine[:4]
    # A failed post claims nothing.
    ok(await bob.post("/api/v1/statuses", json={"status": "moje", "media_ids": [theirs["id"]]}))


async def test_history_shows_each_revisions_media(client: Any) -> None:
    alice = await client.make_user("alice")
    a, b = [await uploaded(alice, image_bytes((30 + i, 30)), description=f"opis {i}") for i in range(2)]
    status = await alice.post_status("Zdjęcia", media_ids=[a["id"], b["id"]])
    url = f"/api/v1/statuses/{status['id']}"

    def shown(revision: dict[str, Any]) -> list[tuple[str, str | None, dict[str, float]]]:
        return [(m["id"], m["description"], m["meta"]["focus"]) for m in revision["media_attachments"]]

    centre = {"x": 0.0, "y": 0.0}
    (only,) = ok(await client.get(f"{url}/history"))
    assert shown(only) == [(a["id"], "opis 0", centre), (b["id"], "opis 1", centre)]
    assert only["media_attachments"][0]["url"] == a["url"]

    # media_attributes[] changes the attached media's description and focus: a new revision.
    edited = ok(await alice.put(url, json={
        "status": "Zdjęcia", "media_attributes": [{"id": b["id"], "description": "nowy opis", "focus": "0.5,-0.25"}],
    }))
    assert [(m["id"], m["description"]) for m in edited["media_attachments"]] == [(a["id"], "opis 0"), (b["id"], "nowy opis")]
    assert edited["media_attachments"][1]["meta"]["focus"] == {"x": 0.5, "y": -0.25}
    assert edited["edited_at"] is not None
    # Then one is taken off (form-encoded, as clients send it).
    ok(await alice.put(url, data={"status": "Jedno", "media_ids[]": [b["id"]]}))
    history = ok(await client.get(f"{url}/history"))
    assert [shown(h) for h in history] == [
        [(a["id"], "opis 0", centre), (b["id"], "opis 1", centre)],
        [(a["id"], "opis 0", centre), (b["id"], "nowy opis", {"x": 0.5, "y": -0.25})],
        [(b["id"], "nowy opis", {"x": 0.5, "y": -0.25})],
    ]
    # Form-encoded media_attributes[][...] too; an id not on the post is 422 and changes nothing.
    ok(await alice.put(url, data={"status": "Jedno", "media_attributes[][id]": b["id"], "media_attributes[][description]": "z formularza"}))
    assert ok(await client.get(url))["media_attachments"][0]["description"] == "z formularza"
    error(await alice.put(url, json={"status": "Jedno", "media_attributes": [{"id": a["id"], "description": "x"}]}), 422)
    error(await alice.put(url, json={"status": "Jedno", "media_attributes": [{"id": b["id"], "focus": "3,3"}]}), 422)
    assert len(ok(await client.get(f"{url}/history"))) == 4
    # The same description again changes nothing: no new revision.
    ok(await alice.put(url, json={"status": "Jedno", "media_attributes": [{"id": b["id"], "description": "z formularza"}]}))
    assert len(ok(await client.get(f"{url}/history"))) == 4


async def test_edit_replaces_media(client: Any) -> None:
    alice = await client.make_user("alice")
    a, b, c = [await uploaded(alice, image_bytes((30 + i, 30))) for i in range(3)]
    status = await alice.post_status("Zdjęcia", media_ids=[a["id"], b["id"]])
    # The public timeline caches the rendered status; an edit must show through it.
    ok(await client.get("/api/v1/timelines/public"))
    edited = ok(await alice.put(f"/api/v1/statuses/{status['id']}", json={"status": "Zdjęcia", "media_ids": [c["id"], a["id"]]}))
    assert [m["id"] for m in edited["media_attachments"]] == [c["id"], a["id"]]
    public = ok(await client.get("/api/v1/timelines/public"))
    assert [m["id"] for m in public[0]["media_attachments"]] == [c["id"], a["id"]]
    history = ok(await client.get(f"/api/v1/statuses/{status['id']}/history"))
    assert len(history) == 2
    # The same media again, same text: nothing changed, no new revision.
    ok(await alice.put(f"/api/v1/statuses/{status['id']}", json={"status": "Zdjęcia", "media_ids": [c["id"], a["id"]]}))
    assert len(ok(await client.get(f"/api/v1/statuses/{status['id']}/history"))) == 2
    # The one taken off is the uploader's again, unattached.
    assert ok(await alice.get(f"/api/v1/media/{b['id']}"))["id"] == b["id"]
    # Editing without media_ids keeps the media; an empty list removes them all.
    kept = ok(await alice.put(f"/api/v1/statuses/{status['id']}", json={"status": "Inny tekst"}))
    assert len(kept["media_attachments"]) == 2
    cleared = ok(await alice.put(f"/api/v1/statuses/{status['id']}", json={"status": "Bez zdjęć", "media_ids": []}))
    assert cleared["media_attachments"] == []
    assert ok(await client.get("/api/v1/timelines/public?only_media=true")) == []
    # Media only, no text, via an edit.
    error(await alice.put(f"/api/v1/statuses/{status['id']}", json={"status": "", "media_ids": []}), 422)
    only_media = ok(await alice.put(f"/api/v1/statuses/{status['id']}", json={"status": "", "media_ids": [b["id"]]}))
    assert [m["id"] for m in only_media["media_attachments"]] == [b["id"]]


async def test_delete_and_redraft_keeps_media_then_expiry_removes_it(client: Any) -> None:
    alice = await client.make_user("alice")
    media = await uploaded(alice)
    status = await alice.post_status("Do przerobienia", media_ids=[media["id"]])
    deleted = ok(await alice.delete(f"/api/v1/statuses/{status['id']}"))
    assert [m["id"] for m in deleted["media_attachments"]] == [media["id"]]
    await client.run_jobs()
    assert stored_path(client, media["url"]).exists()
    redraft = await alice.post_status("Poprawione", media_ids=[media["id"]])
    assert [m["id"] for m in redraft["media_attachments"]] == [media["id"]]
    ok(await alice.delete(f"/api/v1/statuses/{redraft['id']}"))

    # A day later the expiry job finds it still unused and deletes it, files too.
    ctx = client.app.state.ctx
    async with ctx.tx() as tx:
        jobs = list(await tx.session.scalars(select(Job).where(Job.kind == media_actions.EXPIRE_JOB)))
        assert jobs and all(j.run_at > datetime.now(timezone.utc) + timedelta(hours=23) for j in jobs)
        await tx.session.execute(
            update(Job).where(Job.kind == media_actions.EXPIRE_JOB).values(run_at=datetime.now(timezone.utc))
        )
    await client.run_jobs()
    async with ctx.read() as s:
        assert await s.get(MediaAttachment, int(media["id"])) is not None  # let go only just now
        await s.rollback()
    async with ctx.tx() as tx:
        await tx.session.execute(
            update(MediaAttachment).values(detached_at=datetime.now(timezone.utc) - timedelta(days=2))
        )
        tx.enqueue(media_actions.EXPIRE_JOB, {"media_id": int(media["id"])})
    await client.run_jobs()
    async with ctx.read() as s:
        assert await s.get(MediaAttachment, int(media["id"])) is None
    assert not stored_path(client, media["url"]).exists()
    assert not stored_path(client, media["preview_url"]).exists()


async def test_expiry_spares_attached_media(client: Any) -> None:
    alice = await client.make_user("alice")
    media = await uploaded(alice)
    await alice.post_status("Zostaje", media_ids=[media["id"]])
    ctx = client.app.state.ctx
    async with ctx.tx() as tx:
        await tx.session.execute(update(MediaAttachment).values(created_at=datetime.now(timezone.utc) - timedelta(days=3)))
        await tx.session.execute(update(Job).where(Job.kind == media_actions.EXPIRE_JOB).values(run_at=datetime.now(timezone.utc)))
    await client.run_jobs()
    assert stored_path(client, media["url"]).exists()
    assert await media_actions.sweep_unattached(ctx) == 0
    orphan = await uploaded(alice)
    async with ctx.tx() as tx:
        await tx.session.execute(
            update(MediaAttachment).where(MediaAttachment.id == int(orphan["id"]))
            .values(created_at=datetime.now(timezone.utc) - timedelta(days=3))
        )
    assert await media_actions.sweep_unattached(ctx) == 1
    await client.run_jobs()
    assert not stored_path(client, orphan["url"]).exists()
    assert stored_path(client, media["url"]).exists()


# -- video and audio -------------------------------------------------------------------------

WEBM_HEAD = b"\x1a\x45\xdf\xa3" + b"\x00" * 60


async def test_video_without_ffmpeg_is_a_clear_422(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(av, "available", lambda: False)
    alice = await client.make_user("alice")
    for name, data in (("a.webm", WEBM_HEAD), ("a.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 40),
                       ("a.mp3", b"ID3\x03\x00" + b"\x00" * 40), ("a.ogg", b"OggS" + b"\x00" * 40)):
        assert error(await upload(alice, data, name), 422) == av.NEEDS_FFMPEG
    conf = ok(await client.get("/api/v2/instance"))["configuration"]["media_attachments"]
    assert not any(t.startswith(("video/", "audio/")) for t in conf["supported_mime_types"])


FAKE_FFPROBE = """#!{python}
import json, os, sys
print(json.dumps(json.loads(os.environ["FAKE_PROBE"])))
"""

FAKE_FFMPEG = """#!{python}
import os, sys
from PIL import Image
out = sys.argv[-1]
with open(os.environ["FAKE_FFMPEG_LOG"], "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
if out.endswith(".png"):
    Image.new("RGB", (560, 320), (10, 200, 10)).save(out)
else:
    with open(out, "wb") as f:
        f.write(b"transcoded:" + open(sys.argv[sys.argv.index("-i") + 1], "rb").read()[:4])
"""


@pytest.fixture
def fake_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Stand-ins for ffprobe and ffmpeg on PATH: they answer with a canned probe and write
    placeholder outputs, so Szpak's side of the conversation is tested where ffmpeg is not."""
    bindir = tmp_path / "fakebin"
    bindir.mkdir()
    for name, script in (("ffprobe", FAKE_FFPROBE), ("ffmpeg", FAKE_FFMPEG)):
        path = bindir / name
        path.write_text(script.format(python=sys.executable))
        path.chmod(0o755)
    log = tmp_path / "ffmpeg.log"
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_FFMPEG_LOG", str(log))
    return log


def probe_json(width: int = 560, height: int = 320, fps: str = "30/1", duration: str = "5.0") -> str:
    import json

    return json.dumps({
        "streams": [
            {"codec_type": "video", "width": width, "height": height, "avg_frame_rate": fps, "r_frame_rate": fps},
            {"codec_type": "audio"},
        ],
        "format": {"duration": duration, "bit_rate": "360000"},
    })


async def test_video_through_ffmpeg(client: Any, fake_ffmpeg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_PROBE", probe_json())
    alice = await client.make_user("alice")
    media = ok(await upload(alice, WEBM_HEAD, "small.webm", description="foo", thumbnail=image_bytes((50, 50))))
    assert media["type"] == "video"
    assert media["url"].endswith(".mp4") and media["preview_url"].endswith(".png")
    assert media["meta"]["original"]["width"] == 560 and media["meta"]["original"]["height"] == 320
    assert int(media["meta"]["original"]["duration"]) == 5
    assert media["meta"]["small"]["size"] == "50x50"  # the thumbnail sent
    r = await fetch(client, media["url"])
    assert r.headers["content-type"] == "video/mp4" and r.content.startswith(b"transcoded:")
    commands = fake_ffmpeg.read_text()
    assert "-map_metadata -1" in commands and "libx264" in commands
    # Without a thumbnail the first frame is the preview.
    framed = ok(await upload(alice, WEBM_HEAD, "small.webm"))
    assert framed["meta"]["small"]["width"] * framed["meta"]["small"]["height"] <= 230_400
    assert framed["blurhash"]
    # A post with a video has no other attachments.
    photo = await uploaded(alice)
    r = await alice.post("/api/v1/statuses", json={"status": "mix", "media_ids": [media["id"], photo["id"]]})
    assert "video" in error(r, 422)
    # Limits from the probe.
    monkeypatch.setenv("FAKE_PROBE", probe_json(4000, 3000))
    assert "dimensions are too large" in error(await upload(alice, WEBM_HEAD, "big.webm"), 422)
    monkeypatch.setenv("FAKE_PROBE", probe_json(fps="240/1"))
    assert "frame rate" in error(await upload(alice, WEBM_HEAD, "fast.webm"), 422)
    client.app.state.settings.media_video_size_limit = 1024
    assert "file size" in error(await upload(alice, WEBM_HEAD + b"\x00" * 2048, "long.webm"), 422)


async def test_audio_through_ffmpeg(client: Any, fake_ffmpeg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    monkeypatch.setenv("FAKE_PROBE", json.dumps({"streams": [{"codec_type": "audio"}], "format": {"duration": "61.5"}}))
    alice = await client.make_user("alice")
    media = ok(await upload(alice, b"ID3\x03\x00" + b"\x00" * 40, "song.mp3"))
    assert media["type"] == "audio" and media["url"].endswith(".mp3") and media["preview_url"] is None
    assert media["meta"]["original"]["duration"] == 61.5
    assert "libmp3lame" in fake_ffmpeg.read_text()


@pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None, reason="ffmpeg is not installed")
async def test_real_ffmpeg_video(client: Any, tmp_path: Path) -> None:
    src = tmp_path / "clip.webm"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "2", str(src)], check=True
    )
    alice = await client.make_user("alice")
    media = ok(await upload(alice, src.read_bytes(), "clip.webm"))
    assert media["type"] == "video" and media["url"].endswith(".mp4")
    assert (media["meta"]["original"]["width"], media["meta"]["original"]["height"]) == (320, 240)
    assert round(media["meta"]["original"]["duration"]) == 2
    assert media["preview_url"] and media["blurhash"]
