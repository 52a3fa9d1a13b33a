"""The landing page and the timelines: home (live, with the compose box), explore, hashtags."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from szpak.web import reads
from szpak.web.forms import login_redirect, parse_max_id, see_other
from szpak.web.render import page, render_timeline
from szpak.web.session import get_ctx, visitor

router = APIRouter()


@router.get("/")
async def landing(request: Request) -> Response:
    v = await visitor(request)
    if v.signed_in:
        return see_other("/home")
    async with get_ctx(request).read() as s:
        recent = await reads.public(s, request.app.state.presenter, None, limit=5)
        trending = await reads.trending_tags(s, request.app.state.renderer, limit=8)
    return await page(request, "landing.html", page_name="landing", recent=recent, trending=trending)


@router.get("/home")
async def home(request: Request) -> Response:
    v = await visitor(request)
    if v.account_id is None:
        return login_redirect(request)
    async with get_ctx(request).read() as s:
        listing = await reads.home(s, request.app.state.presenter, v.account_id, parse_max_id(request))
    return render_timeline(
        request, v, "home.html", page_name="home", listing=listing, live="home", filter_context="home",
        default_visibility=v.user.default_visibility if v.user else "public",
    )


@router.get("/explore")
async def explore(request: Request) -> Response:
    v = await visitor(request)
    async with get_ctx(request).read() as s:
        listing = await reads.public(s, request.app.state.presenter, v.account_id, parse_max_id(request))
        trending = await reads.trending_tags(s, request.app.state.renderer)
    return await page(
        request, "explore.html", page_name="explore", listing=listing, trending=trending, live="public",
        filter_context="public",
    )


@router.get("/tags/{name}")
async def tag(request: Request, name: str) -> Response:
    v = await visitor(request)
    key = name.lower().lstrip("#")[:255]
    async with get_ctx(request).read() as s:
        listing = await reads.tagged(s, request.app.state.presenter, key, v.account_id, parse_max_id(request))
        trending = await reads.trending_tags(s, request.app.state.renderer)
    return await page(
        request, "tag.html", page_name="tag", tag=key, listing=listing, trending=trending, live=f"hashtag:{key}",
        filter_context="public",
    )
