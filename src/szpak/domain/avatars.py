"""Profile pictures: avatars and headers.

An upload is never stored as sent. It is decoded with Pillow (so a broken file, or
something else dressed up as an image, is refused with 422), turned upright by its
EXIF orientation, cropped to fill the target size (avatar 400x400, header 1500x500)
and encoded afresh, which drops EXIF and every other metadata block (GPS positions
from phones included). Images with transparency become PNG, the rest JPEG.

Files live under ``settings.data_dir / "system"`` and are served at ``/system/...``;
``Account.avatar_path``/``header_path`` hold the path below ``system/``. A new
upload gets a new name (its content hash), so caches never show a stale picture;
the replaced file is deleted by a durable job after the change commits, so a
rolled-back update never loses the picture still in use.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import or_, select

from szpak.domain.context import Context, Tx
from szpak.domain.errors import Invalid
from szpak.jobs.runner import handler
from szpak.storage.models import Account

log = logging.getLogger(__name__)

Kind = Literal["avatar", "header"]
SIZES: dict[str, tuple[int, int]] = {"avatar": (400, 400), "header": (1500, 500)}
#: Largest upload accepted, in bytes.
MAX_UPLOAD_BYTES = 8 * 1024 * 1024
#: Largest decoded image, in pixels: refuses decompression bombs before decoding them.
MAX_PIXELS = 40_000_000
ACCEPTED_FORMATS = {"PNG", "JPEG", "GIF", "WEBP"}
DELETE_JOB = "avatars.delete_file"


@dataclass(frozen=True)
class ProcessedImage:
    """A re-encoded picture ready to be written: its bytes and file extension."""

    kind: str
    data: bytes
    extension: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()[:16]


def _invalid(kind: str, why: str) -> Invalid:
    return Invalid(f"Validation failed: {kind.capitalize()} {why}")


def process_image(raw: bytes, kind: Kind) -> ProcessedImage:
    """Decode, check, orient, crop and re-encode ``raw``. Raises ``Invalid`` on anything
    that is not a well-formed PNG, JPEG, GIF or WebP image. CPU-bound: call it through
    ``prepare_image`` from async code."""
    if kind not in SIZES:
        raise ValueError(kind)
    if not raw:
        raise _invalid(kind, "is empty")
    if len(raw) > MAX_UPLOAD_BYTES:
        raise _invalid(kind, f"file size must be less than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            if probe.format not in ACCEPTED_FORMATS:
                raise _invalid(kind, "must be a PNG, JPEG, GIF or WebP image")
            width, height = probe.size
            if width < 1 or height < 1 or width * height > MAX_PIXELS:
                raise _invalid(kind, "dimensions are too large")
            probe.seek(0)  # the first frame of an animation
            if probe.format == "JPEG":
                # Decode at the smallest scale that still covers the target in either
                # orientation (several times faster for photos from phones).
                side = max(SIZES[kind])
                probe.draft("RGB", (side, side))
            probe.load()
            image = ImageOps.exif_transpose(probe)
            has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
            image = image.convert("RGBA" if has_alpha else "RGB")
    except Invalid:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError, EOFError) as exc:
        raise _invalid(kind, "is not a valid image") from exc
    fitted = ImageOps.fit(image, SIZES[kind], method=Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if has_alpha:
        fitted.save(out, format="PNG", optimize=True)
        return ProcessedImage(kind, out.getvalue(), "png")
    fitted.save(out, format="JPEG", quality=88, optimize=True, progressive=True)
    return ProcessedImage(kind, out.getvalue(), "jpg")


async def prepare_image(upload: Any, kind: Kind) -> ProcessedImage:
    """Read an uploaded file (a Starlette ``UploadFile`` or bytes) and process it off the
    event loop. Anything that is not a file part (a plain text field) is refused."""
    if isinstance(upload, (bytes, bytearray)):
        raw = bytes(upload)
    elif hasattr(upload, "read"):
        raw = await upload.read(MAX_UPLOAD_BYTES + 1)
    else:
        raise _invalid(kind, "must be sent as a file (multipart/form-data)")
    return await asyncio.to_thread(process_image, raw, kind)


def system_dir(data_dir: Path) -> Path:
    return data_dir / "system"


def relative_path(account_id: int, image: ProcessedImage) -> str:
    """``accounts/avatars/000/012/345/<id>-<hash>.png``: spread over directories so that
    none grows huge, named by content so a new picture is a new URL."""
    digits = f"{account_id:09d}"[-9:]
    shard = "/".join((digits[0:3], digits[3:6], digits[6:9]))
    return f"accounts/{image.kind}s/{shard}/{account_id}-{image.digest}.{image.extension}"


def write_image(data_dir: Path, account_id: int, image: ProcessedImage) -> str:
    """Write ``image`` atomically (temp file + rename); returns its path below ``system/``."""
    rel = relative_path(account_id, image)
    target = system_dir(data_dir) / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(image.data)
    os.replace(tmp, target)
    return rel


def schedule_delete(tx: Tx, rel_path: str | None) -> None:
    """Delete a replaced picture once the change that replaced it has committed."""
    if rel_path:
        tx.enqueue(DELETE_JOB, {"path": rel_path})


def safe_target(data_dir: Path, rel_path: str) -> Path | None:
    """The file for ``rel_path`` if it lies inside ``system/``; None for anything else."""
    root = system_dir(data_dir).resolve()
    target = (root / rel_path).resolve()
    return target if target.is_relative_to(root) and target != root else None


@handler(DELETE_JOB)
async def _delete_file(ctx: Context, payload: dict[str, Any]) -> None:
    rel = str(payload.get("path", ""))
    target = safe_target(ctx.settings.data_dir, rel)
    if target is None:
        log.warning("refusing to delete %r: outside the system directory", rel)
        return
    async with ctx.read() as s:
        in_use = await s.scalar(
            select(Account.id).where(or_(Account.avatar_path == rel, Account.header_path == rel)).limit(1)
        )
    if in_use is None:  # the same picture may have been uploaded again meanwhile
        target.unlink(missing_ok=True)
