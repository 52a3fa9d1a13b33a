"""Signing up, logging in and out, and picking the interface language."""

from __future__ import annotations

import math

from fastapi import APIRouter, Request
from starlette.responses import Response

from szpak.domain import web_sessions
from szpak.domain.accounts import create_user
from szpak.domain.errors import DomainError
from szpak.web.forms import domain_message, field_errors, posted_form, safe_next, see_other, text
from szpak.web.i18n import LANGUAGES, N_
from szpak.web.render import page
from szpak.web.session import (
    LANG_COOKIE, YEAR, client_address, get_ctx, log_in, log_out, remember, visitor, web_state,
)

router = APIRouter()


async def _sign_in_page(request: Request, *, error: str | None = None, login: str = "", status: int = 200,
                        retry_after: int | None = None) -> Response:
    response = await page(
        request, "sign_in.html", error=error, login=login, next=safe_next(request.query_params.get("next"), ""),
        retry_minutes=math.ceil(retry_after / 60) if retry_after else None, status=status,
    )
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


@router.get("/auth/sign_in")
async def sign_in_form(request: Request) -> Response:
    v = await visitor(request)
    if v.signed_in:
        return see_other("/home")
    return await _sign_in_page(request)


@router.post("/auth/sign_in")
async def sign_in(request: Request) -> Response:
    form = await posted_form(request)
    login, password = text(form, "login").strip(), text(form, "password")
    guard = web_state(request).guard
    address = client_address(request)
    wait = guard.retry_after(address, login)
    if wait > 0:
        return await _sign_in_page(request, error="too_many", login=login, status=429, retry_after=math.ceil(wait))
    async with get_ctx(request).read() as s:
        user = await web_sessions.authenticate(s, login, password)
    if user is None:
        guard.failed(address, login)
        return await _sign_in_page(request, error="invalid", login=login, status=401)
    guard.succeeded(address, login)
    if not user.approved:
        return await page(request, "pending.html", status=403)
    key = await log_in(request, user)
    response = see_other(safe_next(text(form, "next"), "/home"))
    remember(request, response, key)
    return response


@router.get("/auth/sign_up")
async def sign_up_form(request: Request) -> Response:
    v = await visitor(request)
    if v.signed_in:
        return see_other("/home")
    return await page(request, "sign_up.html", error=None, errors={}, values={})


@router.post("/auth/sign_up")
async def sign_up(request: Request) -> Response:
    form = await posted_form(request)
    v = await visitor(request)
    ctx = get_ctx(request)
    values = {k: text(form, k) for k in ("username", "email", "reason")}
    mode = ctx.settings.registrations
    guard = web_state(request).guard
    address = client_address(request)

    async def again(error: str | None, errors: dict[str, list[str]], status: int = 422) -> Response:
        return await page(request, "sign_up.html", error=error, errors=errors, values=values, status=status)

    if mode == "closed":
        return await again(N_("Registrations are closed on this server."), {}, 403)
    if guard.signups.retry_after(address) > 0:
        return await again(N_("Too many sign-ups from your network. Please try again later."), {}, 429)
    try:
        async with ctx.tx() as tx:
            user = await create_user(
                tx, username=values["username"].strip(), email=values["email"].strip(), password=text(form, "password"),
                locale=v.lang, approved=mode == "open", reason=values["reason"].strip(),
                agreement=bool(form.get("agreement")), require_reason=mode == "approval",
            )
    except DomainError as exc:
        errors = field_errors(exc)
        return await again(None if errors else domain_message(exc), errors)
    guard.signups.hit(address)
    if not user.approved:
        return await page(request, "pending.html")
    key = await log_in(request, user)
    response = see_other("/home")
    remember(request, response, key)
    return response


@router.post("/auth/sign_out")
async def sign_out(request: Request) -> Response:
    await posted_form(request)
    response = see_other("/")
    await log_out(request, response)
    return response


@router.post("/language")
async def switch_language(request: Request) -> Response:
    """Remembered in a cookie, and on the account so that it follows the user to other browsers."""
    form = await posted_form(request)
    v = await visitor(request)
    lang = text(form, "lang")
    response = see_other(safe_next(text(form, "next")))
    if lang not in LANGUAGES:
        return response
    if v.signed_in is not None:
        async with get_ctx(request).tx() as tx:
            await web_sessions.set_locale(tx, v.signed_in.user.id, lang)
        web_state(request).sessions.drop(v.signed_in.key_hash)
    response.set_cookie(
        LANG_COOKIE, lang, max_age=YEAR, path="/", httponly=True, samesite="lax",
        secure=get_ctx(request).settings.scheme == "https",
    )
    return response
