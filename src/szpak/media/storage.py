"""Where media files live: one small interface, a local directory by default.

``put``/``open``/``delete``/``url`` by *key*, a relative path such as
``files/000/012/345/original/3f9c....jpg``. Keys are made by Szpak only (never taken
from a request), and carry a random part so URLs can't be guessed from ids.

The local backend writes under ``Settings.effective_media_dir`` (atomically: temp
file, then rename) and its URLs point at ``/system/media_attachments/<key>`` on this
server, or under ``Settings.media_url`` when another server or a CDN serves the
directory. Another backend (object storage) only has to implement ``MediaStorage``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import BinaryIO, Protocol

from szpak.config import Settings

#: Path under which Szpak itself serves the local media directory.
URL_PATH = "/system/media_attachments"

#: What each extension Szpak writes is served as.
CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "mp4": "video/mp4",
    "mp3": "audio/mpeg",
}


class MediaStorage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def open(self, key: str) -> BinaryIO: ...

    def delete(self, key: str) -> None: ...

    def url(self, key: str) -> str: ...


class LocalStorage:
    """Files in a local directory."""

    def __init__(self, root: Path, base_url: str) -> None:
        self.root = root
        self.base_url = base_url.rstrip("/")

    def path(self, key: str) -> Path | None:
        """The file for ``key`` if it lies inside the root; None for anything else."""
        root = self.root.resolve()
        target = (root / key).resolve()
        return target if target.is_relative_to(root) and target != root else None

    def put(self, key: str, data: bytes) -> None:
        target = self.path(key)
        if target is None:
            raise ValueError(f"bad media key {key!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)

    def open(self, key: str) -> BinaryIO:
        target = self.path(key)
        if target is None:
            raise FileNotFoundError(key)
        return target.open("rb")

    def delete(self, key: str) -> None:
        target = self.path(key)
        if target is not None:
            target.unlink(missing_ok=True)

    def url(self, key: str) -> str:
        return f"{self.base_url}/{key}"


def media_base_url(settings: Settings) -> str:
    return settings.media_url.rstrip("/") if settings.media_url else f"{settings.base_url}{URL_PATH}"


_STORES: dict[tuple[str, str], LocalStorage] = {}


def storage_for(settings: Settings) -> LocalStorage:
    """The storage for these settings (one object per directory and URL)."""
    key = (str(settings.effective_media_dir), media_base_url(settings))
    store = _STORES.get(key)
    if store is None:
        if len(_STORES) > 64:  # tests make many settings objects
            _STORES.clear()
        store = _STORES[key] = LocalStorage(settings.effective_media_dir, key[1])
    return store


def new_key(account_id: int, style: str, extension: str) -> str:
    """``files/000/012/345/<style>/<random>.<ext>``: spread over directories by uploader."""
    digits = f"{account_id:09d}"[-9:]
    shard = "/".join((digits[0:3], digits[3:6], digits[6:9]))
    return f"files/{shard}/{style}/{secrets.token_hex(12)}.{extension}"


def content_type_for(key: str) -> str:
    return CONTENT_TYPES.get(key.rsplit(".", 1)[-1].lower(), "application/octet-stream")
