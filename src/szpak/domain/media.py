"""Media attachments: uploads, their changes, and their life on statuses (docs/api/media.md).

An upload is processed before its transaction (``prepare_upload``: Pillow for
images, ffmpeg for video and audio, see ``szpak.media``), then ``create_media``
writes the files and the row. It belongs to its uploader and to no status until a
post claims it through ``media_ids`` (at most four, the author's own, not used by
another post). Only the uploader sees or changes an upload, and only until it is
attached (as Mastodon: after that it changes with its status).

Deleting a status lets its media go rather than deleting them (Mastodon's
delete-and-redraft: the answer to DELETE lists them and a new post may claim them
again). Every upload and every let-go attachment gets a durable ``media.expire``
job a day later, which deletes it (row and files) if it is still unattached then;
so unused uploads never pile up and no sweep has to scan the table. File deletion
always runs as a job after the commit, so a rolled-back change never loses a file
still in use.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from szpak.config import Settings
from szpak.domain.context import Context, Tx
from szpak.domain.errors import Invalid, NotFound
from szpak.jobs.runner import handler
from szpak.media import av, images
from szpak.media.storage import new_key, storage_for
from szpak.storage.models import Account, MediaAttachment, Status

log = logging.getLogger(__name__)

MAX_ATTACHMENTS = 4
#: How long an unattached upload (or one let go by its deleted status) is kept.
UNATTACHED_TTL = timedelta(days=1)
EXPIRE_JOB = "media.expire"
DELETE_FILES_JOB = "media.delete_files"


# -- processing (outside the transaction) -------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """A processed upload, ready to be written."""

    type: str
    data: bytes
    extension: str
    content_type: str
    meta: dict[str, Any]
    preview: images.Preview | None
    thumbnail_custom: bool = False


async def read_upload(upload: Any, limit: int, what: str) -> bytes:
    """The bytes of a multipart file part (at most ``limit`` + 1); a plain text field is refused."""
    if isinstance(upload, (bytes, bytearray)):
        return bytes(upload[: limit + 1])
    if hasattr(upload, "read") and hasattr(upload, "filename"):
        data = await upload.read(limit + 1)
        return data if isinstance(data, bytes) else bytes(data)
    raise Invalid(f"Validation failed: {what} must be sent as a file (multipart/form-data)")


async def prepare_thumbnail(settings: Settings, upload: Any) -> images.Preview:
    limits = images.Limits.from_settings(settings)
    raw = await read_upload(upload, limits.image_size, "Thumbnail")
    return await asyncio.to_thread(images.process_thumbnail, raw, limits)


async def prepare_upload(settings: Settings, upload: Any, thumbnail: Any = None) -> Prepared:
    """Read and process an upload (and an optional custom preview) off the event loop."""
    limits = images.Limits.from_settings(settings)
    raw = await read_upload(upload, max(limits.image_size, limits.video_size), "File")
    if not raw:
        raise Invalid("Validation failed: File is empty")
    custom = await prepare_thumbnail(settings, thumbnail) if thumbnail is not None else None
    kind = av.sniff(raw)
    if kind is None and not images.looks_like_image(raw):
        raise Invalid("Validation failed: File is not a supported image, video or audio file")
    if kind is not None:
        result = await av.process_av(raw, limits)
        return Prepared(
            result.type, result.data, result.extension, result.content_type, result.meta,
            custom or result.preview, custom is not None,
        )
    if raw[:6] in (b"GIF87a", b"GIF89a") and av.available() and len(raw) <= limits.image_size and _is_animated_gif(raw):
        result = await av.process_av(raw, limits, gifv=True)
        return Prepared(result.type, result.data, "mp4", result.content_type, result.meta, custom or result.preview, custom is not None)
    image = await asyncio.to_thread(images.process_image, raw, limits)
    meta = {"original": image.original.meta()}
    return Prepared("image", image.original.data, image.original.extension, image.content_type, meta,
                    custom or image.preview, custom is not None)


def _is_animated_gif(raw: bytes) -> bool:
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(raw)) as im:
            return bool(getattr(im, "is_animated", False))
    except Exception:  # noqa: BLE001 - not decodable: process_image will say why
        return False


# -- parameters ------------------------------------------------------------------------------


def parse_focus(raw: Any) -> tuple[float, float] | None:
    """``"x,y"`` with both in -1.0..1.0 (Mastodon's focal point); None when not given."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, dict):
        parts = [raw.get("x"), raw.get("y")]
    else:
        parts = str(raw).split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        x, y = (float(str(p).strip()) for p in parts)
    except (TypeError, ValueError):
        raise Invalid("Validation failed: Focus must be two numbers: x,y") from None
    if not (math.isfinite(x) and math.isfinite(y) and -1.0 <= x <= 1.0 and -1.0 <= y <= 1.0):
        raise Invalid("Validation failed: Focus must be two numbers between -1.0 and 1.0")
    return x, y


def check_description(settings: Settings, description: Any) -> str | None:
    if description is None:
        return None
    if not isinstance(description, str):
        raise Invalid("Validation failed: Description must be text")
    limit = settings.media_description_limit
    if len(description) > limit:
        raise Invalid(f"Validation failed: Description is too long (maximum is {limit} characters)")
    return description


# -- writes ----------------------------------------------------------------------------------


def _write_preview(tx: Tx, account_id: int, preview: images.Preview | None, media: MediaAttachment) -> None:
    if preview is None:
        return
    key = new_key(account_id, "small", preview.small.extension)
    storage_for(tx.settings).put(key, preview.small.data)
    media.small_key = key
    media.blurhash = preview.blurhash
    meta = dict(media.meta or {})
    meta["small"] = preview.small.meta()
    media.meta = meta


def _schedule_file_delete(tx: Tx, *keys: str | None) -> None:
    wanted = [k for k in keys if k]
    if wanted:
        tx.enqueue(DELETE_FILES_JOB, {"keys": wanted})


async def schedule_account_files_delete(tx: Tx, account_id: int) -> None:
    """An account is being deleted: every file of its uploads (attached or not) goes once
    the deletion commits (a durable job: a rolled-back deletion keeps them, a crash does not
    forget them)."""
    rows = await tx.session.execute(
        select(MediaAttachment.file_key, MediaAttachment.small_key).where(MediaAttachment.account_id == account_id)
    )
    _schedule_file_delete(tx, *(key for row in rows for key in row))


def _schedule_expiry(tx: Tx, media_id: int) -> None:
    tx.enqueue(EXPIRE_JOB, {"media_id": media_id}, run_at=datetime.now(timezone.utc) + UNATTACHED_TTL)


async def create_media(
    tx: Tx, account_id: int, prepared: Prepared, *, description: str | None = None,
    focus: tuple[float, float] | None = None,
) -> MediaAttachment:
    """Store a processed upload for ``account_id``; unattached until a post claims it."""
    description = check_description(tx.settings, description)
    key = new_key(account_id, "original", prepared.extension)
    storage_for(tx.settings).put(key, prepared.data)
    media = MediaAttachment(
        account_id=account_id, type=prepared.type, file_key=key, content_type=prepared.content_type,
        file_size=len(prepared.data), description=description or None, meta=dict(prepared.meta),
        thumbnail_custom=prepared.thumbnail_custom,
    )
    if focus is not None:
        media.focus_x, media.focus_y = focus
    _write_preview(tx, account_id, prepared.preview, media)
    tx.session.add(media)
    await tx.session.flush()
    _schedule_expiry(tx, media.id)
    return media


async def own_unattached(session: Any, account_id: int, media_id: int) -> MediaAttachment:
    """The caller's own upload, while no post uses it (else 404, as Mastodon)."""
    media = await session.get(MediaAttachment, media_id)
    if media is None or media.account_id != account_id or media.status_id is not None:
        raise NotFound()
    return media


async def update_media(
    tx: Tx, account_id: int, media_id: int, *, description: Any = None, focus: tuple[float, float] | None = None,
    thumbnail: images.Preview | None = None,
) -> MediaAttachment:
    """Change an unattached upload's description, focal point or preview."""
    media = await own_unattached(tx.session, account_id, media_id)
    description = check_description(tx.settings, description)
    if description is not None:
        media.description = description or None
    if focus is not None:
        media.focus_x, media.focus_y = focus
    if thumbnail is not None:
        old = media.small_key
        _write_preview(tx, account_id, thumbnail, media)
        media.thumbnail_custom = True
        _schedule_file_delete(tx, old)
    await tx.session.flush()
    return media


async def delete_media(tx: Tx, account_id: int, media_id: int) -> None:
    """Delete an upload that no post uses (Mastodon: 422 while a post uses it)."""
    media = await tx.session.get(MediaAttachment, media_id)
    if media is None or media.account_id != account_id:
        raise NotFound()
    if media.status_id is not None:
        raise Invalid("Media attachment is currently used by a status")
    _schedule_file_delete(tx, media.file_key, media.small_key)
    await tx.session.delete(media)
    await tx.session.flush()


# -- on statuses -----------------------------------------------------------------------------


async def claim_for_status(
    tx: Tx, author: Account, media_ids: list[int], *, status_id: int | None = None
) -> list[MediaAttachment]:
    """The uploads named by ``media_ids``, in that order: at most four, all the author's,
    none used by another post (``status_id``: the post being edited may keep its own)."""
    wanted = list(dict.fromkeys(media_ids))
    if not wanted:
        return []
    if len(wanted) > MAX_ATTACHMENTS:
        raise Invalid(f"Validation failed: Media attachments can't be more than {MAX_ATTACHMENTS}")
    if any(not 0 < mid < 2**63 for mid in wanted):
        raise Invalid("Validation failed: Media attachments not found or already attached to another post")
    rows = {
        m.id: m
        for m in await tx.session.scalars(
            select(MediaAttachment)
            .where(MediaAttachment.id.in_(wanted), MediaAttachment.account_id == author.id)
            # Two posts claiming one upload at once: the second waits here, then sees it taken
            # (PostgreSQL; SQLite writers are serialised anyway).
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    found = []
    for mid in wanted:
        media = rows.get(mid)
        if media is None or (media.status_id is not None and media.status_id != status_id):
            raise Invalid("Validation failed: Media attachments not found or already attached to another post")
        found.append(media)
    if len(found) > 1 and any(m.type in ("video", "gifv", "audio") for m in found):
        raise Invalid("Validation failed: A post with a video or audio attachment can't have other attachments")
    return found


async def attach(tx: Tx, status: Status, media: list[MediaAttachment]) -> None:
    for position, m in enumerate(media):
        m.status_id = status.id
        m.position = position
        m.detached_at = None
    await tx.session.flush()


async def replace(tx: Tx, status: Status, media: list[MediaAttachment]) -> None:
    """An edit's ``media_ids``: attach these, in this order; let go of the rest."""
    keep = {m.id for m in media}
    current = list(await tx.session.scalars(select(MediaAttachment).where(MediaAttachment.status_id == status.id)))
    for m in current:
        if m.id not in keep:
            _let_go(tx, m)
    await attach(tx, status, media)


async def attached(session: Any, status_id: int) -> list[MediaAttachment]:
    """A post's media, in order."""
    return list(
        await session.scalars(
            select(MediaAttachment)
            .where(MediaAttachment.status_id == status_id)
            .order_by(MediaAttachment.position, MediaAttachment.id)
        )
    )


def revision_media(media: list[MediaAttachment]) -> list[dict[str, Any]]:
    """What a revision (``StatusEdit.media``) keeps of a post's media."""
    return [{"id": m.id, "description": m.description, "focus": [m.focus_x, m.focus_y]} for m in media]


async def apply_attributes(tx: Tx, media: list[MediaAttachment], attributes: Any) -> bool:
    """An edit's ``media_attributes[]`` (``id``, ``description``, ``focus``) on the post's
    media as the edit leaves them; True if a description or focal point changed. An id not
    among them is 422."""
    if attributes in (None, "", [], {}):
        return False
    items = list(attributes.values()) if isinstance(attributes, dict) else attributes
    if not isinstance(items, list) or not all(isinstance(a, dict) for a in items):
        raise Invalid("Validation failed: media_attributes must be a list of {id, description, focus}")
    by_id = {m.id: m for m in media}
    changed = False
    for attrs in items:
        try:
            target = by_id[int(attrs.get("id"))]
        except (KeyError, TypeError, ValueError):
            raise Invalid("Validation failed: Media attachments not found") from None
        description = check_description(tx.settings, attrs.get("description"))
        if description is not None and (description or None) != target.description:
            target.description = description or None
            changed = True
        focus = parse_focus(attrs.get("focus"))
        if focus is not None and focus != (target.focus_x, target.focus_y):
            target.focus_x, target.focus_y = focus
            changed = True
    return changed


async def changed(tx: Tx, status: Status, media: list[MediaAttachment]) -> bool:
    """Whether attaching ``media`` (in order) would change what ``status`` shows."""
    current = list(
        await tx.session.scalars(
            select(MediaAttachment.id)
            .where(MediaAttachment.status_id == status.id)
            .order_by(MediaAttachment.position, MediaAttachment.id)
        )
    )
    return current != [m.id for m in media]


def _let_go(tx: Tx, media: MediaAttachment) -> None:
    media.status_id = None
    media.detached_at = datetime.now(timezone.utc)
    _schedule_expiry(tx, media.id)


async def detach(tx: Tx, status: Status) -> None:
    """A status is being deleted: its media become unattached (reusable for a redraft,
    deleted a day later if nothing claims them)."""
    for m in await tx.session.scalars(select(MediaAttachment).where(MediaAttachment.status_id == status.id)):
        _let_go(tx, m)
    await tx.session.flush()


# -- jobs ------------------------------------------------------------------------------------


@handler(DELETE_FILES_JOB)
async def _delete_files(ctx: Context, payload: dict[str, Any]) -> None:
    store = storage_for(ctx.settings)
    for key in payload.get("keys", []):
        if isinstance(key, str) and key:
            store.delete(key)


@handler(EXPIRE_JOB)
async def _expire(ctx: Context, payload: dict[str, Any]) -> None:
    """Delete an upload still unattached a day after it was uploaded or let go."""
    try:
        media_id = int(payload.get("media_id", 0))
    except (TypeError, ValueError):
        return
    cutoff = datetime.now(timezone.utc) - UNATTACHED_TTL + timedelta(minutes=1)
    async with ctx.tx() as tx:
        media = await tx.session.get(MediaAttachment, media_id)
        if media is None or media.status_id is not None:
            return
        if (media.detached_at or media.created_at) > cutoff:
            return  # let go again later: that later job decides
        _schedule_file_delete(tx, media.file_key, media.small_key)
        await tx.session.delete(media)


async def sweep_unattached(ctx: Context, *, older_than: timedelta = UNATTACHED_TTL) -> int:
    """Delete every unattached upload older than ``older_than`` (for maintenance; the
    ``media.expire`` jobs normally do this one by one). Returns how many went."""
    cutoff = datetime.now(timezone.utc) - older_than
    async with ctx.tx() as tx:
        rows = list(
            await tx.session.scalars(select(MediaAttachment).where(MediaAttachment.status_id.is_(None)).limit(10_000))
        )
        gone = [m for m in rows if (m.detached_at or m.created_at) <= cutoff]
        for m in gone:
            _schedule_file_delete(tx, m.file_key, m.small_key)
            await tx.session.delete(m)
    return len(gone)


__all__ = [
    "MAX_ATTACHMENTS", "Prepared", "attach", "changed", "check_description", "claim_for_status",
    "create_media", "delete_media", "detach", "parse_focus", "prepare_thumbnail", "prepare_upload", "replace",
    "sweep_unattached", "update_media",
]
