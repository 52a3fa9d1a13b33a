"""Search: people, hashtags and posts, posts matched in any Polish inflection."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from szpak.web import reads
from szpak.web.render import page
from szpak.web.session import get_ctx, visitor

router = APIRouter()


@router.get("/search")
async def search(request: Request) -> Response:
    v = await visitor(request)
    q = request.query_params.get("q", "").strip()[:500]
    ctx = get_ctx(request)
    results = reads.SearchResults()
    if q:
        async with ctx.read() as s:
            results = await reads.search(
                s, request.app.state.presenter, q, v.account_id, local_domain=ctx.settings.domain
            )
    return await page(request, "search.html", page_name="search", q=q, results=results)
