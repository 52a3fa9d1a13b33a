"""Instance information and small server-wide endpoints: ``/api/v1/instance``,
``/api/v2/instance``, ``/api/v1/custom_emojis``, ``/api/v1/preferences``, NodeInfo and
``/health``.

Clients fetch the instance document on every start, so the usage counts in it (and in
NodeInfo) are cached per process for :data:`USAGE_TTL` seconds instead of counting
every table on every call. "Active" means posted in the period: Szpak keeps no
record of logins.

``uri`` (v1) and ``domain`` (v2) are the host the request reached the server at
(:func:`reached_at`); ``rules`` come from ``SZPAK_RULES``. The smaller documents
(``/api/v1/instance/rules``, ``activity``, ...) are in ``instance_extra.py``
(docs/api/instance.md).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import func, select

from szpak import __version__
from szpak.api.deps import current_ctx, Viewer, require
from szpak.api.routes.instance_extra import rules
from szpak.api.responses import JSON
from szpak.domain import polls
from szpak.domain.context import Context
from szpak.domain.errors import NotFound
from szpak.media.info import media_configuration
from szpak.storage.models import Account, Status, User

router = APIRouter()
MASTODON_COMPAT = "4.3.0"
#: The Mastodon API version of MASTODON_COMPAT (``api_versions.mastodon``).
MASTODON_API_VERSION = 2
SOURCE_URL = "https://example.invalid/szpak"
USAGE_TTL = 60.0
NODEINFO_VERSIONS = ("2.0", "2.1")
NODEINFO_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/{}"
LANGUAGES = ["pl", "en"]
#: What a Host header may look like to be echoed as the instance's ``uri``/``domain``.
_HOST_RE = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")


def reached_at(request: Request, ctx: Context) -> str:
    """The ``host:port`` this request reached the server at (its Host header), which is
    what clients (toot, Mastodon.py) take as the instance's name; ``SZPAK_DOMAIN`` when
    the header is missing or malformed. With ``szpak serve`` and no ``SZPAK_DOMAIN`` the
    two agree (``localhost:PORT``), and behind a proxy the proxy passes the public host."""
    host = request.headers.get("host", "")
    return host.lower() if _HOST_RE.match(host) else ctx.settings.domain


def configuration(ctx: Context) -> dict[str, Any]:
    """The limits clients shape their compose screens by (v2 shape; v1 drops ``urls``)."""
    return {
        "urls": {"streaming": ctx.settings.streaming_url},
        "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
        "statuses": {
            "max_characters": ctx.settings.max_status_chars,
            "max_media_attachments": 4,
            "characters_reserved_per_url": 23,
        },
        "media_attachments": media_configuration(ctx.settings),
        "polls": {
            "max_options": polls.MAX_OPTIONS,
            "max_characters_per_option": polls.MAX_OPTION_CHARS,
            "min_expiration": polls.MIN_EXPIRATION,
            "max_expiration": polls.MAX_EXPIRATION,
        },
        "translation": {"enabled": False},
    }


@dataclass(frozen=True)
class Usage:
    users: int
    active_month: int
    active_halfyear: int
    local_posts: int


async def _count_usage(ctx: Context) -> Usage:
    now = datetime.now(timezone.utc)
    users = (
        select(func.count())
        .select_from(User)
        .join(Account, Account.id == User.account_id)
        .where(User.approved.is_(True), User.disabled.is_(False), Account.suspended_at.is_(None))
    )

    def active(days: int) -> Any:
        return users.where(Account.last_status_at >= now - timedelta(days=days))

    posts = (
        select(func.count())
        .select_from(Status)
        .where(Status.local.is_(True), Status.reblog_of_id.is_(None), Status.visibility.in_(("public", "unlisted")))
    )
    async with ctx.read() as s:
        counts = [int(await s.scalar(q) or 0) for q in (users, active(30), active(180), posts)]
    return Usage(*counts)


async def usage(request: Request, ctx: Context) -> Usage:
    """Usage counts, recounted at most every :data:`USAGE_TTL` seconds per process."""
    cached: tuple[float, Usage] | None = getattr(request.app.state, "instance_usage", None)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    fresh = await _count_usage(ctx)
    request.app.state.instance_usage = (time.monotonic() + USAGE_TTL, fresh)
    return fresh


async def _contact(ctx: Context, request: Request) -> dict[str, Any] | None:
    async with ctx.read() as s:
        owner = await s.scalar(
            select(Account)
            .join(User, User.account_id == Account.id)
            .where(User.role.in_(("owner", "admin")), Account.suspended_at.is_(None))
            .order_by(Account.id)
            .limit(1)
        )
    return request.app.state.renderer.account(owner) if owner else None


def _description(ctx: Context) -> str:
    return (
        "Szpak: mikroblog w czasie rzeczywistym dla mówiących po polsku i angielsku. "
        "A real-time microblog for Polish and English speakers."
    )


def _version() -> str:
    """Clients read features off the Mastodon version, so it comes first."""
    return f"{MASTODON_COMPAT} (compatible; Szpak {__version__})"


@router.get("/api/v2/instance")
async def instance_v2(request: Request, ctx: Context = Depends(current_ctx)) -> Any:
    s = ctx.settings
    counts = await usage(request, ctx)
    return {
        "domain": reached_at(request, ctx),
        "title": s.title,
        "version": _version(),
        "source_url": SOURCE_URL,
        "description": _description(ctx),
        "usage": {"users": {"active_month": counts.active_month}},
        "thumbnail": {"url": f"{s.base_url}/static/szpak.png"},
        "icon": [],
        "languages": LANGUAGES,
        "configuration": configuration(ctx),
        "registrations": {
            "enabled": s.registrations != "closed",
            "approval_required": s.registrations == "approval",
            "reason_required": s.registrations == "approval",
            "message": None,
            "url": None,
        },
        "api_versions": {"mastodon": MASTODON_API_VERSION},
        "contact": {"email": s.contact_email, "account": await _contact(ctx, request)},
        "rules": rules(s),
    }


@router.get("/api/v1/instance")
async def instance_v1(request: Request, ctx: Context = Depends(current_ctx)) -> Any:
    s = ctx.settings
    counts = await usage(request, ctx)
    conf = configuration(ctx)
    return {
        "uri": reached_at(request, ctx),
        "title": s.title,
        "short_description": _description(ctx),
        "description": _description(ctx),
        "email": s.contact_email,
        "version": _version(),
        "urls": {"streaming_api": s.streaming_url},
        "stats": {"user_count": counts.users, "status_count": counts.local_posts, "domain_count": 0},
        "thumbnail": f"{s.base_url}/static/szpak.png",
        "languages": LANGUAGES,
        "registrations": s.registrations != "closed",
        "approval_required": s.registrations == "approval",
        "invites_enabled": False,
        "configuration": {k: v for k, v in conf.items() if k != "urls"},
        "contact_account": await _contact(ctx, request),
        "rules": rules(s),
    }


@router.get("/api/v1/custom_emojis")
async def custom_emojis() -> Any:
    """Szpak has no custom emoji (yet); clients expect a list all the same."""
    return []


@router.get("/api/v1/preferences")
async def preferences(viewer: Viewer = require("read:accounts"), ctx: Context = Depends(current_ctx)) -> Any:
    async with ctx.read() as s:
        user = await s.get(User, viewer.user_id) if viewer.user_id is not None else None
    if user is None:
        raise NotFound()
    return {
        "posting:default:visibility": user.default_visibility,
        "posting:default:sensitive": user.default_sensitive,
        "posting:default:language": user.default_language,
        "reading:expand:media": "default",
        "reading:expand:spoilers": False,
        "reading:autoplay:gifs": False,
    }


# -- NodeInfo (https://nodeinfo.diaspora.software) ------------------------------------------


@router.get("/.well-known/nodeinfo")
async def nodeinfo_links(ctx: Context = Depends(current_ctx)) -> Any:
    base = ctx.settings.base_url
    return {
        "links": [{"rel": NODEINFO_SCHEMA.format(v), "href": f"{base}/nodeinfo/{v}"} for v in NODEINFO_VERSIONS]
    }


@router.get("/nodeinfo/{version}")
async def nodeinfo(request: Request, version: str, ctx: Context = Depends(current_ctx)) -> Any:
    """NodeInfo 2.0/2.1. ``protocols`` is empty: Szpak does not federate yet, and saying
    ``activitypub`` would send other servers to endpoints that do not exist."""
    if version not in NODEINFO_VERSIONS:
        raise NotFound()
    s = ctx.settings
    counts = await usage(request, ctx)
    software: dict[str, Any] = {"name": "szpak", "version": __version__}
    if version == "2.1":
        software |= {"repository": SOURCE_URL, "homepage": s.base_url}
    doc = {
        "version": version,
        "software": software,
        "protocols": [],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": s.registrations == "open",
        "usage": {
            "users": {
                "total": counts.users,
                "activeMonth": counts.active_month,
                "activeHalfyear": counts.active_halfyear,
            },
            "localPosts": counts.local_posts,
        },
        "metadata": {"nodeName": s.title, "nodeDescription": _description(ctx)},
    }
    profile = NODEINFO_SCHEMA.format(version) + "#"
    return JSON(doc, headers={"Content-Type": f'application/json; profile="{profile}"'})


@router.get("/health")
async def health(ctx: Context = Depends(current_ctx)) -> Any:
    """Liveness and database reachability, for load balancers and ``szpak`` checks."""
    async with ctx.read() as s:
        await s.execute(select(1))
    return PlainTextResponse("OK")
