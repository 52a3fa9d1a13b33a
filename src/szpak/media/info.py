"""What the instance document says about media (``configuration.media_attachments``),
derived from the settings and from whether ffmpeg is installed, so it stays true."""

from __future__ import annotations

from typing import Any

from szpak.config import Settings
from szpak.media import av, images

#: Types ``av.sniff`` recognises and ffmpeg converts; offered only when ffmpeg is there.
AV_MIME_TYPES = [
    "video/mp4", "video/quicktime", "video/webm", "video/x-matroska", "video/ogg", "video/x-msvideo", "video/3gpp",
    "audio/mpeg", "audio/mp3", "audio/mp4", "audio/wav", "audio/x-wav", "audio/ogg", "audio/flac", "audio/webm",
]


def media_configuration(settings: Settings) -> dict[str, Any]:
    return {
        "supported_mime_types": images.SUPPORTED_MIME_TYPES + (AV_MIME_TYPES if av.available() else []),
        "description_limit": settings.media_description_limit,
        "image_size_limit": settings.media_image_size_limit,
        "image_matrix_limit": settings.media_image_matrix_limit,
        "video_size_limit": settings.media_video_size_limit,
        "video_frame_rate_limit": settings.media_video_frame_rate_limit,
        "video_matrix_limit": settings.media_video_matrix_limit,
    }
