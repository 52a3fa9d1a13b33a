"""Settings: profile, pictures, language and password."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

from szpak.domain import avatars, web_sessions
from szpak.domain.accounts import DEFAULT_VISIBILITIES, Credentials, remove_picture, update_credentials
from szpak.domain.errors import DomainError
from szpak.web.forms import domain_message, login_redirect, posted_form, see_other, text
from szpak.web.i18n import N_
from szpak.web.render import page
from szpak.web.session import get_ctx, visitor

router = APIRouter()

SAVED = {
    "profile": N_("Your profile has been saved."),
    "pictures": N_("Your pictures have been saved."),
    "password": N_("Your password has been changed. Other browsers have been logged out."),
}


async def _settings_page(request: Request, *, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    v = await visitor(request)
    saved = SAVED.get(request.query_params.get("saved", ""))
    return await page(
        request, "settings.html", page_name="settings", errors=errors or {}, saved=saved,
        visibilities=DEFAULT_VISIBILITIES, user=v.user, status=status,
    )


@router.get("/settings")
async def settings(request: Request) -> Response:
    v = await visitor(request)
    if v.account is None:
        return login_redirect(request)
    return await _settings_page(request)


@router.post("/settings/profile")
async def save_profile(request: Request) -> Response:
    form = await posted_form(request)
    v = await visitor(request)
    if v.account is None or v.user is None:
        return login_redirect(request)
    privacy = text(form, "privacy")
    creds = Credentials(
        profile={
            "display_name": text(form, "display_name").strip(),
            "note": text(form, "note").strip(),
            "locked": bool(form.get("locked")),
        },
        privacy=privacy if privacy in DEFAULT_VISIBILITIES else None,
    )
    try:
        async with get_ctx(request).tx() as tx:
            await update_credentials(tx, v.account.id, v.user.id, creds)
    except DomainError as exc:
        return await _settings_page(request, errors={"profile": domain_message(exc)}, status=422)
    return see_other("/settings?saved=profile#profile")


@router.post("/settings/pictures")
async def save_pictures(request: Request) -> Response:
    """Pictures are decoded and re-encoded before the transaction opens (never under the write lock)."""
    form = await posted_form(request)
    v = await visitor(request)
    if v.account is None or v.user is None:
        return login_redirect(request)
    creds = Credentials()
    try:
        for kind in ("avatar", "header"):
            upload = form.get(kind)
            if isinstance(upload, UploadFile) and upload.filename:
                setattr(creds, kind, await avatars.prepare_image(upload, kind))  # type: ignore[arg-type]
        async with get_ctx(request).tx() as tx:
            if form.get("remove_avatar"):
                await remove_picture(tx, v.account.id, "avatar")
            if creds.avatar or creds.header:
                await update_credentials(tx, v.account.id, v.user.id, creds)
    except DomainError as exc:
        return await _settings_page(request, errors={"pictures": domain_message(exc)}, status=422)
    return see_other("/settings?saved=pictures#pictures")


@router.post("/settings/password")
async def change_password(request: Request) -> Response:
    form = await posted_form(request)
    v = await visitor(request)
    if v.signed_in is None:
        return login_redirect(request)
    new = text(form, "new_password")
    if new != text(form, "new_password_confirmation"):
        return await _settings_page(request, errors={"password": N_("The two new passwords differ.")}, status=422)
    try:
        async with get_ctx(request).tx() as tx:
            await web_sessions.change_password(
                tx, v.signed_in.user.id, current=text(form, "current_password"), new=new,
                keep_key_hash=v.signed_in.key_hash,
            )
    except DomainError as exc:
        return await _settings_page(request, errors={"password": domain_message(exc)}, status=422)
    return see_other("/settings?saved=password#password")
