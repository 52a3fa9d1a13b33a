"""``/api/v1/tags/:name``: a hashtag with its usage over the last seven days.

A tag becomes public the first time a public or unlisted post uses it; until then
(only private or direct posts used it) it is not found, here as in search, so that
a tag's existence does not leak what followers-only posts talk about. An account that
follows or features an unused tag (docs/api/social.md) sees it. Signed in, the Tag
carries ``following`` and ``featuring``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from szpak.api.deps import current_ctx, Viewer, maybe
from szpak.domain.context import Context
from szpak.domain.errors import NotFound
from szpak.storage.models import Tag
from szpak.api.routes.followed_tags import render_tags, viewer_knows_tag

router = APIRouter()


def tag_key(name: str) -> str:
    """The stored form of a tag name: without ``#``, lower-cased, diacritics kept."""
    return name.strip().lstrip("#").lower()


@router.get("/api/v1/tags/{name}")
async def get_tag(
    request: Request, name: str, viewer: Viewer | None = maybe(), ctx: Context = Depends(current_ctx)
) -> Any:
    key = tag_key(name)
    if not key or len(key) > 255 or "\x00" in key:
        raise NotFound()
    vid = viewer.account_id if viewer is not None else None
    async with ctx.read() as s:
        tag = await s.scalar(select(Tag).where(Tag.name == key))
        # An unused tag (see above) is shown only to whoever follows or features it.
        if tag is None or (tag.last_status_at is None and not await viewer_knows_tag(s, vid, tag.id)):
            raise NotFound()
        return (await render_tags(request, s, [tag], vid))[0]
