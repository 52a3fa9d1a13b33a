"""Notifications: the page (which the page script keeps growing live) and one-item fragments."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from szpak.domain.errors import NotFound
from szpak.web import reads
from szpak.web.forms import fragment_home, login_redirect, parse_max_id
from szpak.web.render import page
from szpak.web.session import get_ctx, visitor

router = APIRouter()


@router.get("/notifications")
async def notifications(request: Request) -> Response:
    v = await visitor(request)
    if v.account_id is None:
        return login_redirect(request)
    async with get_ctx(request).read() as s:
        listing = await reads.notifications(s, request.app.state.presenter, v.account_id, max_id=parse_max_id(request))
    return await page(
        request, "notifications.html", page_name="notifications", listing=listing, live="notifications",
        filter_context="notifications",
    )


@router.get("/_web/notifications/{notification_id}")
async def notification_fragment(request: Request, notification_id: str) -> Response:
    v = await visitor(request)
    if v.account_id is None or not notification_id.isdigit() or not 0 < int(notification_id) < 2**63:
        raise NotFound()
    async with get_ctx(request).read() as s:
        listing = await reads.notifications(
            s, request.app.state.presenter, v.account_id, only_id=int(notification_id), limit=1
        )
    if not listing.items:
        raise NotFound()
    return await page(
        request, "fragments/notification.html", n=listing.items[0], full_path=fragment_home(request),
        filter_context="notifications",
    )
