"""Images attached from the plain compose form (no script).

With the page script the browser uploads through ``POST /api/v2/media`` and posts
``media_ids`` to ``POST /api/v1/statuses`` like any Mastodon client. Without it, the
form posts up to four files (``media``, each with a ``media_description``) to
``POST /statuses``; they become attachments here, through the domain's media actions:
processed before the transaction (``prepare_upload``), written inside it
(``create_media``), then claimed by the post like any ``media_ids``.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData, UploadFile

from szpak.config import Settings
from szpak.domain import media as media_actions
from szpak.domain.context import Tx
from szpak.domain.errors import Invalid

#: At most this many images on one post (as the API: ``MAX_ATTACHMENTS``).
MAX_IMAGES = media_actions.MAX_ATTACHMENTS
#: What the compose form may attach (video and audio go through the API).
IMAGE_TYPES = ("image", "gifv")


def chosen_files(form: FormData) -> list[tuple[UploadFile, str]]:
    """The files picked in the form, each with its description (same position), empty
    file fields left out. More than four is refused."""
    files = form.getlist("media")
    descriptions = [d if isinstance(d, str) else "" for d in form.getlist("media_description")]
    chosen: list[tuple[UploadFile, str]] = []
    for i, upload in enumerate(files):
        if isinstance(upload, UploadFile) and upload.filename:
            chosen.append((upload, descriptions[i].strip() if i < len(descriptions) else ""))
    if len(chosen) > MAX_IMAGES:
        raise Invalid(f"Validation failed: Too many images (at most {MAX_IMAGES})")
    return chosen


async def prepare_images(settings: Settings, chosen: list[tuple[UploadFile, str]]) -> list[tuple[Any, str]]:
    """Each file processed (outside any transaction); anything but an image is refused."""
    prepared: list[tuple[Any, str]] = []
    for upload, description in chosen:
        media_actions.check_description(settings, description)
        item = await media_actions.prepare_upload(settings, upload)
        if item.type not in IMAGE_TYPES:
            raise Invalid("Validation failed: File must be a PNG, JPEG, GIF or WebP image")
        prepared.append((item, description))
    return prepared


async def store_images(tx: Tx, account_id: int, prepared: list[tuple[Any, str]]) -> list[int]:
    """The ids of new attachments for ``account_id`` (claimed by the post created next)."""
    ids: list[int] = []
    for item, description in prepared:
        media = await media_actions.create_media(tx, account_id, item, description=description or None)
        ids.append(media.id)
    return ids
