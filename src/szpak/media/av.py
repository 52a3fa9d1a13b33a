"""Video and audio uploads through ffmpeg, when the server has it.

Szpak does not decode video or audio itself. With ``ffprobe`` and ``ffmpeg`` on
``PATH`` (``shutil.which``), an upload is probed (streams, dimensions, frame rate,
duration), checked against the limits, and transcoded, with every metadata block
dropped (``-map_metadata -1``): video (and animated GIFs, as ``gifv``) to H.264 MP4,
audio to MP3. A video's preview is its first frame unless the client sent a
``thumbnail``. Without ffmpeg such uploads are refused with a clear 422.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from szpak.domain.errors import Invalid
from szpak.media.images import Limits, Preview, invalid, preview_from_frame, size_text

NEEDS_FFMPEG = "Validation failed: Video and audio uploads need ffmpeg on the server"
#: Seconds one ffprobe or ffmpeg run may take.
TIMEOUT = 300.0


def available() -> bool:
    return shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


def sniff(raw: bytes) -> str | None:
    """``"video"`` or ``"audio"`` when the first bytes look like a container Szpak would
    hand to ffmpeg; None otherwise."""
    head = raw[:64]
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # Matroska / WebM
        return "video"
    if head[4:8] == b"ftyp":  # MP4, MOV, M4A, 3GP
        brand = head[8:12]
        return "audio" if brand in (b"M4A ", b"M4B ") else "video"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio"
    if head.startswith(b"OggS"):
        return "video" if b"theora" in raw[:512] else "audio"
    if head.startswith((b"fLaC", b"ID3")) or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio"
    return None


@dataclass(frozen=True)
class ProcessedAV:
    type: str  # video | gifv | audio
    data: bytes
    extension: str
    content_type: str
    #: ``original`` meta and the top-level video facts Mastodon also shows.
    meta: dict[str, Any]
    #: The first frame of a video (None for audio).
    preview: Preview | None


async def _run(*argv: str) -> bytes:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise invalid("File", "took too long to process") from None
    if proc.returncode != 0:
        raise invalid("File", "could not be processed as video or audio") from RuntimeError(err.decode(errors="replace")[-500:])
    return out


def _rate(text: Any) -> float:
    try:
        value = Fraction(str(text))
    except (ValueError, ZeroDivisionError):
        return 0.0
    return float(value)


async def probe(path: Path) -> dict[str, Any]:
    out = await _run("ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path))
    try:
        data = json.loads(out)
    except ValueError as exc:
        raise invalid("File", "could not be processed as video or audio") from exc
    return data if isinstance(data, dict) else {}


async def process_av(raw: bytes, limits: Limits, *, gifv: bool = False) -> ProcessedAV:
    """Probe and transcode a video, audio file or (``gifv``) animated GIF. Raises
    ``Invalid`` when ffmpeg is missing or the file breaks a limit."""
    if not available():
        raise Invalid(NEEDS_FFMPEG)
    if len(raw) > limits.video_size:
        raise invalid("File", f"file size must be less than {size_text(limits.video_size)}")
    with tempfile.TemporaryDirectory(prefix="szpak-media-") as tmp:
        src = Path(tmp) / "upload"
        src.write_bytes(raw)
        info = await probe(src)
        streams = [s for s in info.get("streams", []) if isinstance(s, dict)]
        video = next(
            (s for s in streams if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")),
            None,
        )
        audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
        fmt = info.get("format") if isinstance(info.get("format"), dict) else {}
        try:
            duration = float(fmt.get("duration") or (video or audio or {}).get("duration") or 0)
        except (TypeError, ValueError):
            duration = 0.0
        try:
            bitrate = int(fmt.get("bit_rate") or 0)
        except (TypeError, ValueError):
            bitrate = 0
        if video is None and audio is None:
            raise invalid("File", "has no video or audio stream")
        if video is not None:
            width, height = int(video.get("width") or 0), int(video.get("height") or 0)
            fps = _rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate"))
            if width < 1 or height < 1:
                raise invalid("File", "has a video stream without dimensions")
            if width * height > limits.video_matrix:
                raise invalid(
                    "File", f"dimensions are too large ({width}x{height} pixels; the limit is {limits.video_matrix} pixels)"
                )
            if fps > limits.video_frame_rate:
                raise invalid("File", f"frame rate is too high ({fps:g}; the limit is {limits.video_frame_rate})")
            out = Path(tmp) / "out.mp4"
            args = [
                "ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(src), "-map_metadata", "-1",
                "-map", "0:v:0", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
                "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2", "-movflags", "+faststart",
            ]
            if audio is not None and not gifv:
                args += ["-map", "0:a:0", "-c:a", "aac", "-b:a", "128k"]
            else:
                args += ["-an"]
            await _run(*args, str(out))
            frame = Path(tmp) / "frame.png"
            await _run("ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(out), "-frames:v", "1", "-f", "image2", str(frame))
            preview = preview_from_frame(frame.read_bytes(), limits) if frame.exists() else None
            original = {
                "width": width, "height": height, "frame_rate": str(video.get("avg_frame_rate") or ""),
                "duration": duration, "bitrate": bitrate,
            }
            meta: dict[str, Any] = {
                "length": _length(duration), "duration": duration, "fps": round(fps) if fps else 0,
                "size": f"{width}x{height}", "width": width, "height": height, "aspect": width / height,
                "original": original,
            }
            return ProcessedAV("gifv" if gifv else "video", out.read_bytes(), "mp4", "video/mp4", meta, preview)
        out = Path(tmp) / "out.mp3"
        await _run(
            "ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(src), "-map_metadata", "-1", "-vn",
            "-map", "0:a:0", "-c:a", "libmp3lame", "-q:a", "2", str(out),
        )
        meta = {"length": _length(duration), "duration": duration, "original": {"duration": duration, "bitrate": bitrate}}
        return ProcessedAV("audio", out.read_bytes(), "mp3", "audio/mpeg", meta, None)


def _length(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}.{int(round((seconds - whole) * 100)) % 100:02d}"

