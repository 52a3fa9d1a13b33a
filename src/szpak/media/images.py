"""Image uploads with Pillow: check, orient, strip, re-encode, preview, blurhash.

An image is never stored as sent. It must decode as a JPEG, PNG, GIF or WebP
(so a text file named ``x.png``, a truncated file or anything else dressed up as
an image is refused with 422); its dimensions are checked against the pixel limit
*before* it is decoded (a decompression bomb is refused without being expanded);
it is turned upright by its EXIF orientation and then encoded afresh from bare
pixels, which drops EXIF (GPS positions from phones included), XMP, IPTC, ICC
profiles and comments. Originals larger than :data:`ORIGINAL_MAX_PIXELS` are
scaled down; previews fit in :data:`SMALL_MAX_PIXELS`. The blurhash is computed on
a copy at most 32 pixels wide, so it costs next to nothing.

Everything here is CPU-bound and synchronous: call it through ``asyncio.to_thread``.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import blurhash as _blurhash
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from szpak.config import Settings
from szpak.domain.errors import Invalid

#: Formats accepted, and the MIME type each is stored as.
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
SUPPORTED_MIME_TYPES = list(FORMATS.values())
#: Stored originals are scaled down to this many pixels at most (3840x2160).
ORIGINAL_MAX_PIXELS = 8_294_400
#: Previews (``small``) hold at most this many pixels (640x360, 480x480).
SMALL_MAX_PIXELS = 230_400
#: Frames times pixels allowed in an animation, as a multiple of the image pixel limit.
ANIMATION_BUDGET = 4
BLURHASH_SIDE = 32
_DECODE_ERRORS = (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError,
                  KeyError, ZeroDivisionError, MemoryError, Image.DecompressionBombError)


@dataclass(frozen=True)
class Limits:
    image_size: int
    image_matrix: int
    video_size: int
    video_matrix: int
    video_frame_rate: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            image_size=settings.media_image_size_limit,
            image_matrix=settings.media_image_matrix_limit,
            video_size=settings.media_video_size_limit,
            video_matrix=settings.media_video_matrix_limit,
            video_frame_rate=settings.media_video_frame_rate_limit,
        )


@dataclass(frozen=True)
class Encoded:
    """One file ready to be stored."""

    data: bytes
    extension: str
    width: int
    height: int

    def meta(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "size": f"{self.width}x{self.height}",
            "aspect": self.width / self.height if self.height else 0,
        }


@dataclass(frozen=True)
class Preview:
    small: Encoded
    blurhash: str


@dataclass(frozen=True)
class ProcessedImage:
    original: Encoded
    preview: Preview
    content_type: str
    animated: bool = False


def invalid(what: str, why: str) -> Invalid:
    return Invalid(f"Validation failed: {what} {why}")


def size_text(n: int) -> str:
    """``16 MB`` for whole mebibytes, else bytes."""
    mib = 1024 * 1024
    return f"{n // mib} MB" if n >= mib and n % mib == 0 else f"{n} bytes"


def looks_like_image(raw: bytes) -> bool:
    """Whether the first bytes are those of a format Szpak takes as an image."""
    head = raw[:16]
    return (
        head.startswith(b"\xff\xd8\xff")
        or head.startswith(b"\x89PNG\r\n\x1a\n")
        or head[:6] in (b"GIF87a", b"GIF89a")
        or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
    )


def _open(raw: bytes, limits: Limits, what: str) -> Image.Image:
    """Open (not decode) and check format and dimensions."""
    if not raw:
        raise invalid(what, "is empty")
    if len(raw) > limits.image_size:
        raise invalid(what, f"file size must be less than {size_text(limits.image_size)}")
    try:
        im = Image.open(io.BytesIO(raw))
    except Image.DecompressionBombError as exc:
        raise invalid(what, f"dimensions are too large (the limit is {limits.image_matrix} pixels)") from exc
    except _DECODE_ERRORS as exc:
        raise invalid(what, "is not a valid image (JPEG, PNG, GIF or WebP)") from exc
    if im.format not in FORMATS:
        im.close()
        raise invalid(what, "must be a JPEG, PNG, GIF or WebP image")
    width, height = im.size
    if width < 1 or height < 1:
        im.close()
        raise invalid(what, "is not a valid image (JPEG, PNG, GIF or WebP)")
    if width * height > limits.image_matrix:
        im.close()
        raise invalid(
            what, f"dimensions are too large ({width}x{height} pixels; the limit is {limits.image_matrix} pixels)"
        )
    return im


def _fit(size: tuple[int, int], max_pixels: int) -> tuple[int, int]:
    width, height = size
    if width * height <= max_pixels:
        return width, height
    scale = math.sqrt(max_pixels / (width * height))
    return max(1, int(width * scale)), max(1, int(height * scale))


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (im.mode == "P" and "transparency" in im.info)


def _bare(im: Image.Image, alpha: bool) -> Image.Image:
    """Pixels only: the right mode and no metadata riding along in ``info``."""
    out = im.convert("RGBA" if alpha else "RGB")
    if out is im:
        out = im.copy()
    out.info = {}
    return out


def _encode(im: Image.Image, fmt: str) -> Encoded:
    out = io.BytesIO()
    if fmt == "JPEG":
        im.save(out, format="JPEG", quality=88, progressive=True)
        ext = "jpg"
    elif fmt == "WEBP":
        im.save(out, format="WEBP", quality=88, method=4)
        ext = "webp"
    else:
        im.save(out, format="PNG", compress_level=6)
        ext = "png"
    return Encoded(out.getvalue(), ext, im.width, im.height)


def blurhash_of(im: Image.Image) -> str:
    tiny = im.convert("RGB")
    tiny.thumbnail((BLURHASH_SIDE, BLURHASH_SIDE), Image.Resampling.BILINEAR)
    width, height = tiny.size
    raw = tiny.tobytes()
    rows = [
        [(raw[i], raw[i + 1], raw[i + 2]) for i in range(y * width * 3, (y + 1) * width * 3, 3)] for y in range(height)
    ]
    x_comp = 4 if width >= height else 3
    y_comp = 4 if height >= width else 3
    return str(_blurhash.encode(rows, components_x=x_comp, components_y=y_comp))


def _preview_of(im: Image.Image, alpha: bool, source_format: str) -> Preview:
    small = im.copy()
    small.info = {}
    size = _fit(small.size, SMALL_MAX_PIXELS)
    if size != small.size:
        small = small.resize(size, Image.Resampling.LANCZOS)
    fmt = "PNG" if alpha or source_format in ("PNG", "GIF") else ("WEBP" if source_format == "WEBP" else "JPEG")
    return Preview(_encode(small, fmt), blurhash_of(small))


def _decoded_upright(im: Image.Image, limits: Limits, what: str, max_pixels: int) -> tuple[Image.Image, bool]:
    """The first frame, decoded, turned upright, metadata-free; and whether it has alpha."""
    try:
        if im.format == "JPEG":
            target = _fit(im.size, max_pixels)
            if target != im.size:
                im.draft("RGB", target)  # decode at a reduced scale: much faster for photos
        im.seek(0)
        im.load()
        alpha = _has_alpha(im)
        upright = ImageOps.exif_transpose(im)
        bare = _bare(upright if upright is not None else im, alpha)
    except _DECODE_ERRORS as exc:
        raise invalid(what, "is not a valid image (it may be truncated or damaged)") from exc
    size = _fit(bare.size, max_pixels)
    if size != bare.size:
        bare = bare.resize(size, Image.Resampling.LANCZOS)
    return bare, alpha


def _animation(im: Image.Image, limits: Limits, what: str) -> Encoded | None:
    """A GIF or WebP animation re-encoded frame by frame (no metadata); None if still."""
    if not getattr(im, "is_animated", False):
        return None
    try:
        frames_n = int(getattr(im, "n_frames", 1))
    except _DECODE_ERRORS as exc:
        raise invalid(what, "is not a valid image (it may be truncated or damaged)") from exc
    width, height = im.size
    if frames_n * width * height > limits.image_matrix * ANIMATION_BUDGET or width * height > ORIGINAL_MAX_PIXELS:
        raise invalid(what, f"animation is too large ({frames_n} frames of {width}x{height} pixels)")
    frames: list[Image.Image] = []
    durations: list[int] = []
    try:
        for frame in ImageSequence.Iterator(im):
            durations.append(int(frame.info.get("duration", 100) or 100))
            frames.append(_bare(frame, True))
        out = io.BytesIO()
        fmt = "GIF" if im.format == "GIF" else "WEBP"
        extra: dict[str, Any] = {"disposal": 2} if fmt == "GIF" else {"quality": 88}
        frames[0].save(out, format=fmt, save_all=True, append_images=frames[1:], duration=durations, loop=0, **extra)
    except _DECODE_ERRORS as exc:
        raise invalid(what, "is not a valid image (it may be truncated or damaged)") from exc
    return Encoded(out.getvalue(), "gif" if fmt == "GIF" else "webp", width, height)


def process_image(raw: bytes, limits: Limits, *, what: str = "File") -> ProcessedImage:
    """Check and re-encode an uploaded image, with its preview and blurhash. Raises
    ``Invalid`` for anything that is not a well-formed, small enough image."""
    im = _open(raw, limits, what)
    with im:
        source_format = str(im.format)
        animated = _animation(im, limits, what)
        first, alpha = _decoded_upright(im, limits, what, ORIGINAL_MAX_PIXELS)
    if animated is not None:
        original = animated
        content_type = FORMATS[source_format]
    else:
        fmt = source_format if source_format in ("JPEG", "WEBP") else "PNG"
        if fmt == "JPEG" and alpha:
            fmt = "PNG"
        original = _encode(first, fmt)
        content_type = {"JPEG": "image/jpeg", "WEBP": "image/webp", "PNG": "image/png"}[fmt]
    return ProcessedImage(original, _preview_of(first, alpha, source_format), content_type, animated is not None)


def process_thumbnail(raw: bytes, limits: Limits) -> Preview:
    """A client-sent preview (``thumbnail``) for a video or audio upload, or to replace
    the one made from an image."""
    im = _open(raw, limits, "Thumbnail")
    with im:
        source_format = str(im.format)
        first, alpha = _decoded_upright(im, limits, "Thumbnail", SMALL_MAX_PIXELS)
    return _preview_of(first, alpha, source_format)


def preview_from_frame(raw: bytes, limits: Limits) -> Preview:
    """The preview of a video, from a frame ffmpeg extracted (a PNG)."""
    return process_thumbnail(raw, limits)
