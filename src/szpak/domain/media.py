"""Media attachments on statuses.

Uploads (``POST /api/v2/media``) are not built yet: any ``media_ids`` given to a
status are unknown and rejected with a clear 422.
"""

from __future__ import annotations

from typing import Any

from szpak.domain.context import Tx
from szpak.domain.errors import Invalid
from szpak.storage.models import Account, Status


async def claim_for_status(tx: Tx, author: Account, media_ids: list[int], *, status_id: int | None = None) -> list[Any]:
    if media_ids:
        raise Invalid("Validation failed: Media attachments not found")
    return []


async def attach(tx: Tx, status: Status, media: list[Any]) -> None:
    return None


async def replace(tx: Tx, status: Status, media: list[Any]) -> None:
    return None
