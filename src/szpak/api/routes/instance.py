"""Instance information: /api/v1/instance, /api/v2/instance, health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import func, select

from szpak import __version__
from szpak.api.deps import get_ctx
from szpak.domain.context import Context
from szpak.storage.models import Account, Status, User

router = APIRouter()
MASTODON_COMPAT = "4.3.0"


def configuration(ctx: Context) -> dict[str, Any]:
    return {
        "urls": {"streaming": ctx.settings.streaming_url},
        "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
        "statuses": {
            "max_characters": ctx.settings.max_status_chars,
            "max_media_attachments": 4,
            "characters_reserved_per_url": 23,
        },
        "media_attachments": {
            "supported_mime_types": ["image/jpeg", "image/png", "image/gif", "image/webp"],
            "image_size_limit": 16 * 1024 * 1024,
            "image_matrix_limit": 33177600,
            "video_size_limit": 99 * 1024 * 1024,
            "video_frame_rate_limit": 120,
            "video_matrix_limit": 8294400,
        },
        "polls": {"max_options": 4, "max_characters_per_option": 50, "min_expiration": 300, "max_expiration": 2629746},
        "translation": {"enabled": False},
    }


async def _counts(ctx: Context) -> tuple[int, int]:
    async with ctx.read() as s:
        users = await s.scalar(select(func.count()).select_from(User)) or 0
        statuses = await s.scalar(select(func.count()).select_from(Status).where(Status.local.is_(True))) or 0
    return users, statuses


async def _contact(ctx: Context, request: Request) -> dict[str, Any] | None:
    async with ctx.read() as s:
        owner = await s.scalar(
            select(Account).join(User, User.account_id == Account.id).where(User.role.in_(("owner", "admin"))).order_by(Account.id).limit(1)
        )
    return request.app.state.renderer.account(owner) if owner else None


def _description(ctx: Context) -> str:
    return (
        "Szpak: mikroblog w czasie rzeczywistym dla mówiących po polsku i angielsku. "
        "A real-time microblog for Polish and English speakers."
    )


@router.get("/api/v2/instance")
async def instance_v2(request: Request, ctx: Context = Depends(get_ctx)) -> Any:
    s = ctx.settings
    users, _ = await _counts(ctx)
    return {
        "domain": s.domain,
        "title": s.title,
        "version": f"{MASTODON_COMPAT} (compatible; Szpak {__version__})",
        "source_url": "https://example.invalid/szpak",
        "description": _description(ctx),
        "usage": {"users": {"active_month": users}},
        "thumbnail": {"url": f"{s.base_url}/static/szpak.png"},
        "icon": [],
        "languages": ["pl", "en"],
        "configuration": configuration(ctx),
        "registrations": {
            "enabled": s.registrations != "closed",
            "approval_required": s.registrations == "approval",
            "message": None,
            "url": None,
        },
        "api_versions": {"mastodon": 2},
        "contact": {"email": s.contact_email, "account": await _contact(ctx, request)},
        "rules": [],
    }


@router.get("/api/v1/instance")
async def instance_v1(request: Request, ctx: Context = Depends(get_ctx)) -> Any:
    s = ctx.settings
    users, statuses = await _counts(ctx)
    conf = configuration(ctx)
    return {
        "uri": s.domain,
        "title": s.title,
        "short_description": _description(ctx),
        "description": _description(ctx),
        "email": s.contact_email,
        "version": f"{MASTODON_COMPAT} (compatible; Szpak {__version__})",
        "urls": {"streaming_api": s.streaming_url},
        "stats": {"user_count": users, "status_count": statuses, "domain_count": 0},
        "thumbnail": f"{s.base_url}/static/szpak.png",
        "languages": ["pl", "en"],
        "registrations": s.registrations != "closed",
        "approval_required": s.registrations == "approval",
        "invites_enabled": False,
        "configuration": {k: v for k, v in conf.items() if k != "urls"},
        "contact_account": await _contact(ctx, request),
        "rules": [],
    }


@router.get("/health")
async def health(ctx: Context = Depends(get_ctx)) -> Any:
    async with ctx.read() as s:
        await s.execute(select(1))
    return PlainTextResponse("OK")
