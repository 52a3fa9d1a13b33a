"""``/api/v1/tags/:name``: a hashtag with its usage over the last seven days.

A tag becomes public the first time a public or unlisted post uses it; until then
(only private or direct posts used it) it is not found, here as in search, so that
a tag's existence does not leak what followers-only posts talk about.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from szpak.api.deps import current_ctx, Viewer, maybe
from szpak.domain.context import Context
from szpak.domain.errors import NotFound
from szpak.storage.models import Tag
from szpak.storage.search import tag_histories

router = APIRouter()


def tag_key(name: str) -> str:
    """The stored form of a tag name: without ``#``, lower-cased, diacritics kept."""
    return name.strip().lstrip("#").lower()


@router.get("/api/v1/tags/{name}")
async def get_tag(
    request: Request, name: str, viewer: Viewer | None = maybe(), ctx: Context = Depends(current_ctx)
) -> Any:
    key = tag_key(name)
    if not key or len(key) > 255:
        raise NotFound()
    async with ctx.read() as s:
        tag = await s.scalar(select(Tag).where(Tag.name == key, Tag.last_status_at.is_not(None)))
        if tag is None:
            raise NotFound()
        history = await tag_histories(s, [tag.id])
    return request.app.state.renderer.tag(tag, history=history[tag.id])
