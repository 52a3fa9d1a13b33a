"""Profiles: an account's posts, followers and following, and following or unfollowing it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from szpak.domain import relationships
from szpak.domain.accounts import get_local_account
from szpak.domain.errors import NotFound
from szpak.storage.graph import load_relations
from szpak.storage.models import Account
from szpak.web import reads
from szpak.web.forms import login_redirect, parse_max_id, posted_form, safe_next, see_other, text
from szpak.web.render import page
from szpak.web.session import Visitor, acting_account, get_ctx, visitor

router = APIRouter()


async def _account(session: AsyncSession, username: str, v: Visitor) -> Account:
    account = await get_local_account(session, username)
    if account.suspended_at is not None and account.id != v.account_id:
        raise NotFound()
    return account


async def _relation(session: AsyncSession, v: Visitor, account: Account) -> dict[str, bool]:
    """How the reader stands to the profile's account (what the follow button says)."""
    keys = ("following", "requested", "followed_by", "blocking", "blocked_by")
    if v.account_id is None or v.account_id == account.id:
        return dict.fromkeys(keys, False)
    rel = await load_relations(session, v.account_id, [account.id])
    return {
        "following": account.id in rel.following,
        "requested": account.id in rel.requested,
        "followed_by": account.id in rel.followed_by,
        "blocking": account.id in rel.blocking,
        "blocked_by": account.id in rel.blocked_by,
    }


@router.get("/@{username}")
async def profile(request: Request, username: str) -> Response:
    v = await visitor(request)
    with_replies = request.query_params.get("tab") == "replies"
    renderer = request.app.state.renderer
    async with get_ctx(request).read() as s:
        account = await _account(s, username, v)
        relation = await _relation(s, v, account)
        listing = reads.Listing()
        if not relation["blocked_by"]:
            listing = await reads.by_account(
                s, request.app.state.presenter, account.id, v.account_id, with_replies=with_replies,
                max_id=parse_max_id(request),
            )
    return await page(
        request, "profile.html", page_name="profile", account=renderer.account(account), relation=relation,
        listing=listing, tab="replies" if with_replies else "posts", filter_context="account",
    )


async def _follow_page(request: Request, username: str, *, followers: bool) -> Response:
    v = await visitor(request)
    renderer = request.app.state.renderer
    async with get_ctx(request).read() as s:
        account = await _account(s, username, v)
        hidden = account.hide_collections and account.id != v.account_id
        listing = reads.Listing()
        if not hidden:
            listing = await reads.follows(s, renderer, account, followers=followers, max_id=parse_max_id(request))
    return await page(
        request, "follows.html", page_name="follows", account=renderer.account(account), listing=listing,
        followers=followers, hidden=hidden,
    )


@router.get("/@{username}/followers")
async def followers(request: Request, username: str) -> Response:
    return await _follow_page(request, username, followers=True)


@router.get("/@{username}/following")
async def following(request: Request, username: str) -> Response:
    return await _follow_page(request, username, followers=False)


async def _change(request: Request, username: str, *, follow: bool) -> Response:
    form = await posted_form(request)
    v = await visitor(request)
    if v.account is None:
        return login_redirect(request)
    ctx = get_ctx(request)
    async with ctx.read() as s:
        target = await _account(s, username, v)
    async with ctx.tx() as tx:
        actor = await acting_account(tx, v)
        if follow:
            await relationships.follow(tx, actor, target.id)
        else:
            await relationships.unfollow(tx, actor, target.id)
    return see_other(safe_next(text(form, "next"), f"/@{target.username}"))


@router.post("/@{username}/follow")
async def follow(request: Request, username: str) -> Response:
    return await _change(request, username, follow=True)


@router.post("/@{username}/unfollow")
async def unfollow(request: Request, username: str) -> Response:
    return await _change(request, username, follow=False)
