"""``/api/v1/trends/tags`` (and its old name ``/api/v1/trends``), ``/api/v1/trends/statuses``,
``/api/v1/trends/links``: computed by ``domain/trends.py``, cached per process for a
minute, paged with ``limit`` and ``offset`` (docs/api/trends.md).

Public, as in Mastodon: anonymous callers are served; a token, if sent, must be valid,
and then trending posts carry the viewer's own flags and leave out authors the viewer
blocked or muted (and posts the viewer may not see, which an eligible post never is).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from szpak.api.deps import current_ctx, Viewer, maybe, viewer_account_id
from szpak.api.pagination import limit_value, offset_value
from szpak.domain import trends
from szpak.domain.context import Context
from szpak.domain.visibility import not_muted_clause, visible_clause
from szpak.storage.models import Status, Tag
from szpak.storage.queries import load_bundle
from szpak.storage.search import tag_histories

router = APIRouter()

#: (default, maximum) of ``limit`` per kind, as Mastodon.
TAG_LIMITS = (10, 20)
STATUS_LIMITS = (20, 40)
LINK_LIMITS = (10, 20)


def paging(limit: str | None, offset: str | None, limits: tuple[int, int]) -> tuple[int, int]:
    """``limit`` and ``offset`` read as on every list (``api/pagination.py``); no ranking
    holds more than ``trends.KEEP`` entries, so a deeper offset is an empty page."""
    return limit_value(limit, *limits), min(offset_value(offset), trends.KEEP)


def cache(request: Request) -> trends.TrendsCache:
    found: trends.TrendsCache | None = getattr(request.app.state, "trends", None)
    if found is None:
        found = request.app.state.trends = trends.TrendsCache()
    return found


def next_link(request: Request, response: Response, offset: int, limit: int, total: int) -> None:
    """``Link: <...offset=N>; rel="next"`` while more entries remain (as Mastodon)."""
    if offset + limit >= total:
        return
    base = str(request.url.replace(query=""))
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("offset", "limit")]
    query = urlencode(kept + [("limit", str(limit)), ("offset", str(offset + limit))])
    response.headers["Link"] = f'<{base}?{query}>; rel="next"'


async def _tags(request: Request, response: Response, limit: str | None, offset: str | None, ctx: Context) -> Any:
    n, skip = paging(limit, offset, TAG_LIMITS)

    async def compute() -> list[trends.RankedTag]:
        return await trends.rank_tags(trends.fetcher(ctx))

    ranked = await cache(request).get("tags", compute)
    chosen = trends.page_of(ranked, skip, n)
    next_link(request, response, skip, n, len(ranked))
    if not chosen:
        return []
    ids = [r.tag_id for r in chosen]
    async with ctx.read() as s:
        tags = {t.id: t for t in await s.scalars(select(Tag).where(Tag.id.in_(ids)))}
        history = await tag_histories(s, ids)
    render = request.app.state.renderer.tag
    return [render(tags[i], history=history[i]) for i in ids if i in tags]


@router.get("/api/v1/trends/tags")
async def trending_tags(
    request: Request,
    response: Response,
    limit: str | None = None,
    offset: str | None = None,
    viewer: Viewer | None = maybe(),
    ctx: Context = Depends(current_ctx),
) -> Any:
    return await _tags(request, response, limit, offset, ctx)


@router.get("/api/v1/trends")
async def trends_alias(
    request: Request,
    response: Response,
    limit: str | None = None,
    offset: str | None = None,
    viewer: Viewer | None = maybe(),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """The name of ``/api/v1/trends/tags`` before Mastodon 3.5."""
    return await _tags(request, response, limit, offset, ctx)


@router.get("/api/v1/trends/statuses")
async def trending_statuses(
    request: Request,
    response: Response,
    limit: str | None = None,
    offset: str | None = None,
    viewer: Viewer | None = maybe(),
    ctx: Context = Depends(current_ctx),
) -> Any:
    n, skip = paging(limit, offset, STATUS_LIMITS)

    async def compute() -> list[trends.RankedStatus]:
        return await trends.rank_statuses(trends.fetcher(ctx))

    ranked = await cache(request).get("statuses", compute)
    if not ranked:
        return []
    vid = viewer_account_id(viewer)
    order = [r.status_id for r in ranked]
    async with ctx.read() as s:
        # Checked again at read time: the ranking is up to a minute old, and the viewer's
        # blocks and mutes are the viewer's own.
        query = select(Status).where(
            Status.id.in_(order), *trends.eligible_status(), visible_clause(vid), not_muted_clause(vid)
        )
        found = {st.id: st for st in await s.scalars(query)}
        shown = [found[i] for i in order if i in found]
        chosen = trends.page_of(shown, skip, n)
        bundle = await load_bundle(s, chosen, vid)
    next_link(request, response, skip, n, len(shown))
    return request.app.state.renderer.statuses(chosen, bundle)


def link_card(link: trends.RankedLink) -> dict[str, Any]:
    """A PreviewCard (Trends::Link) for a URL. Szpak fetches no remote pages, so what is
    known is the URL itself: the title is the URL without its scheme, the provider is
    its host, and there is no image, author or description."""
    parts = urlsplit(link.url)
    host = parts.hostname or ""
    title = link.url.split("://", 1)[-1]
    if len(title) > 100:
        title = title[:99] + "…"
    return {
        "url": link.url,
        "title": title,
        "description": "",
        "type": "link",
        "author_name": "",
        "author_url": "",
        "authors": [],
        "provider_name": host,
        "provider_url": f"{parts.scheme}://{parts.netloc}",
        "html": "",
        "width": 0,
        "height": 0,
        "image": None,
        "image_description": "",
        "embed_url": "",
        "blurhash": None,
        "published_at": None,
        "language": None,
        "history": link.history,
    }


@router.get("/api/v1/trends/links")
async def trending_links(
    request: Request,
    response: Response,
    limit: str | None = None,
    offset: str | None = None,
    viewer: Viewer | None = maybe(),
    ctx: Context = Depends(current_ctx),
) -> Any:
    n, skip = paging(limit, offset, LINK_LIMITS)

    async def compute() -> list[trends.RankedLink]:
        return await trends.rank_links(trends.fetcher(ctx), ctx.settings.domain)

    ranked = await cache(request).get("links", compute)
    next_link(request, response, skip, n, len(ranked))
    return [link_card(link) for link in trends.page_of(ranked, skip, n)]
