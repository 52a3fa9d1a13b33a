"""``/api/v1/media``, ``/api/v2/media`` and the media files themselves (docs/api/media.md).

Routes parse and authorise; ``domain/media.py`` writes; ``szpak.media`` processes.
Processing is synchronous (an image takes milliseconds), so uploads answer 200 with
``url`` set, never 202. An upload is visible only to its uploader, and only until a
post uses it; anything else is 404, as if it did not exist.

Files are served at ``/system/media_attachments/<key>`` from the media directory,
with their real content type, ``X-Content-Type-Options: nosniff`` and a year of
caching (a key is never reused, so a cached file is never stale).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.responses import FileResponse
from starlette.routing import Route

from szpak.api.deps import Viewer, current_ctx, own_id, parse_id, require
from szpak.api.errors import error_response
from szpak.api.params import Params, body
from szpak.domain import media as actions
from szpak.domain.context import Context
from szpak.domain.errors import Invalid
from szpak.media.storage import URL_PATH, content_type_for, storage_for

router = APIRouter()

FILE_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}


class UploadParams(Params):
    file: Any = None
    thumbnail: Any = None
    description: Any = None
    focus: Any = None


def _given(value: Any) -> Any:
    """A part the client really sent (some send an empty field for "none")."""
    return None if value is None or value == "" else value


async def _upload(request: Request, params: UploadParams, viewer: Viewer, ctx: Context) -> Any:
    upload = _given(params.file)
    if upload is None:
        raise Invalid("Validation failed: File can't be blank")
    description = actions.check_description(ctx.settings, params.description)
    focus = actions.parse_focus(params.focus)
    prepared = await actions.prepare_upload(ctx.settings, upload, _given(params.thumbnail))
    async with ctx.tx() as tx:
        media = await actions.create_media(tx, own_id(viewer), prepared, description=description, focus=focus)
    return request.app.state.renderer.media_attachment(media)


@router.post("/api/v2/media")
async def upload_v2(
    request: Request, params: UploadParams = body(UploadParams), viewer: Viewer = require("write:media"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """Upload a file; processed at once, so 200 (Mastodon answers 202 while it processes)."""
    return await _upload(request, params, viewer, ctx)


@router.post("/api/v1/media")
async def upload_v1(
    request: Request, params: UploadParams = body(UploadParams), viewer: Viewer = require("write:media"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """The older upload endpoint (deprecated in Mastodon, still used by clients)."""
    return await _upload(request, params, viewer, ctx)


@router.get("/api/v1/media/{media_id}")
async def show(
    request: Request, media_id: str, viewer: Viewer = require("write:media"), ctx: Context = Depends(current_ctx)
) -> Any:
    mid = parse_id(media_id)
    async with ctx.read() as session:
        media = await actions.own_unattached(session, own_id(viewer), mid)
    return request.app.state.renderer.media_attachment(media)


@router.put("/api/v1/media/{media_id}")
async def update(
    request: Request, media_id: str, params: UploadParams = body(UploadParams), viewer: Viewer = require("write:media"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """Change description, focal point or preview of an upload not yet posted."""
    mid = parse_id(media_id)
    description = actions.check_description(ctx.settings, params.description)
    focus = actions.parse_focus(params.focus)
    thumbnail = _given(params.thumbnail)
    preview = await actions.prepare_thumbnail(ctx.settings, thumbnail) if thumbnail is not None else None
    async with ctx.tx() as tx:
        media = await actions.update_media(
            tx, own_id(viewer), mid, description=description, focus=focus, thumbnail=preview
        )
    return request.app.state.renderer.media_attachment(media)


@router.delete("/api/v1/media/{media_id}")
async def delete(media_id: str, viewer: Viewer = require("write:media"), ctx: Context = Depends(current_ctx)) -> Any:
    """Delete an upload no post uses (422 while one does)."""
    mid = parse_id(media_id)
    async with ctx.tx() as tx:
        await actions.delete_media(tx, own_id(viewer), mid)
    return {}


# -- the files -------------------------------------------------------------------------------


async def serve_file(request: Request) -> Any:
    key = str(request.path_params.get("key", ""))
    store = storage_for(request.app.state.settings)
    path = store.path(key) if key and not key.startswith(".") and "/." not in key else None
    if path is None or not path.is_file():
        return error_response(404, "Record not found")
    return FileResponse(path, media_type=content_type_for(key), headers=FILE_HEADERS)


def setup(app: FastAPI) -> None:
    """Serve the media directory. The route goes first: ``/system`` is also mounted (for
    avatars, api/routes/accounts.py) and a mount would otherwise answer for it."""
    app.router.routes.insert(0, Route(f"{URL_PATH}/{{key:path}}", serve_file, methods=["GET", "HEAD"]))
