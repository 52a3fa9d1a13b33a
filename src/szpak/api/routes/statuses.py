"""``/api/v1/statuses``: post, read, edit, delete, and the actions on a status."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from szpak.api.deps import Viewer, get_ctx, maybe, parse_id, require, viewer_account_id
from szpak.api.params import Params, body
from szpak.domain import statuses as status_actions
from szpak.domain.context import Context
from szpak.domain.errors import NotFound
from szpak.domain.visibility import can_see
from szpak.storage.models import Status
from szpak.storage.queries import load_bundle

router = APIRouter()


class CreateStatus(Params):
    status: str = Field("", max_length=100_000)
    media_ids: list[str] = Field(default_factory=list, max_length=4)
    in_reply_to_id: str | None = None
    sensitive: bool = False
    spoiler_text: str = Field("", max_length=10_000)
    visibility: str | None = None
    language: str | None = None
    scheduled_at: str | None = None


async def render_one(request: Request, ctx: Context, status_id: int, viewer_id: int | None) -> dict[str, Any]:
    async with ctx.read() as s:
        st = await s.get(Status, status_id)
        if st is None:
            raise NotFound()
        bundle = await load_bundle(s, [st], viewer_id)
    return request.app.state.renderer.status(st, bundle)  # type: ignore[no-any-return]


def draft_from(params: CreateStatus, default_visibility: str, application_id: int | None) -> status_actions.StatusDraft:
    reply_to = None
    if params.in_reply_to_id:
        reply_to = parse_id(params.in_reply_to_id)
    media: list[int] = []
    for raw in params.media_ids:
        try:
            media.append(int(raw))
        except ValueError:
            from szpak.domain.errors import Invalid

            raise Invalid("Validation failed: Media attachments not found") from None
    return status_actions.StatusDraft(
        text=params.status or "",
        spoiler_text=params.spoiler_text or "",
        visibility=params.visibility or default_visibility,
        sensitive=params.sensitive,
        language=(params.language or None),
        in_reply_to_id=reply_to,
        media_ids=media,
        application_id=application_id,
    )


@router.post("/api/v1/statuses")
async def create_status(
    request: Request,
    params: CreateStatus = body(CreateStatus),
    viewer: Viewer = require("write:statuses"),
    ctx: Context = Depends(get_ctx),
) -> Any:
    key = request.headers.get("idempotency-key")
    async with ctx.tx() as tx:
        author = await viewer.account(tx.session)
        from szpak.storage.models import User

        user = await tx.session.get(User, viewer.user_id)
        draft = draft_from(params, user.default_visibility if user else "public", viewer.application_id)
        status = await status_actions.create_status(tx, author, draft, idempotency_key=key)
    return await render_one(request, ctx, status.id, viewer.account_id)


@router.get("/api/v1/statuses/{status_id}")
async def get_status(
    request: Request, status_id: str, viewer: Viewer | None = maybe("read:statuses"), ctx: Context = Depends(get_ctx)
) -> Any:
    sid = parse_id(status_id)
    vid = viewer_account_id(viewer)
    async with ctx.read() as s:
        st = await s.get(Status, sid)
        if st is None or not await can_see(s, st, vid):
            raise NotFound()
        bundle = await load_bundle(s, [st], vid)
    return request.app.state.renderer.status(st, bundle)


@router.delete("/api/v1/statuses/{status_id}")
async def delete_status(
    request: Request, status_id: str, viewer: Viewer = require("write:statuses"), ctx: Context = Depends(get_ctx)
) -> Any:
    sid = parse_id(status_id)
    rendered = await render_one(request, ctx, sid, viewer.account_id)
    async with ctx.tx() as tx:
        actor = await viewer.account(tx.session)
        status = await status_actions.delete_status(tx, actor, sid)
    rendered["text"] = status.text
    return rendered
