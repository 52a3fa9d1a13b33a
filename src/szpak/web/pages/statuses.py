"""A post's page with its thread; posting, replying, boosting, favouriting and deleting
from plain forms (the page script posts through the REST API instead, without a reload)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from szpak.domain import interactions, polls, statuses as status_actions
from szpak.domain.errors import DomainError, NotFound
from szpak.domain.visibility import can_see
from szpak.storage.models import Account, Status
from szpak.web import reads
from szpak.web.forms import (
    FormTooLarge, domain_message, fragment_home, login_redirect, posted_form, safe_next, see_other, text,
)
from szpak.web.i18n import N_
from szpak.web.media import chosen_files, prepare_images, store_images
from szpak.web.render import page
from szpak.web.session import Visitor, acting_account, get_ctx, visitor

router = APIRouter()

#: Where a post is shown, as Mastodon's filters name it (``/_web/statuses/:id?context=``).
FILTER_CONTEXTS = ("home", "public", "thread", "account", "notifications")


def _status_id(raw: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 2**63:
        raise NotFound()
    return int(raw)


def reply_prefix(status: dict[str, Any], me: Account | None) -> str:
    """``@author @others `` for a reply box: everyone in the conversation but the replier."""
    handles: list[str] = []
    for acct in [status["account"]["acct"], *(m["acct"] for m in status["mentions"])]:
        if (me is None or acct != me.acct) and acct not in handles:
            handles.append(acct)
    return "".join(f"@{h} " for h in handles)


def reply_visibility(status: dict[str, Any], v: Visitor) -> str:
    """A reply is never more public than what it answers."""
    order = ["public", "unlisted", "private", "direct"]
    mine = v.user.default_visibility if v.user else "public"
    return max(mine, str(status["visibility"]), key=lambda x: order.index(x) if x in order else 0)


@router.get("/@{username}/{status_id}")
async def status_page(request: Request, username: str, status_id: str) -> Response:
    v = await visitor(request)
    sid = _status_id(status_id)
    async with get_ctx(request).read() as s:
        st = await s.get(Status, sid)
        if st is None or not await can_see(s, st, v.account_id):
            raise NotFound()
        author = await s.get(Account, st.account_id)
        if author is None or author.username_lower != username.lower():
            raise NotFound()
        if st.reblog_of_id is not None:
            original = await s.get(Status, st.reblog_of_id)
            owner = await s.get(Account, original.account_id) if original else None
            if original is None or owner is None:
                raise NotFound()
            return see_other(f"/@{owner.username}/{original.id}")
        thread = await reads.thread(s, request.app.state.presenter, st, v.account_id)
    return await page(
        request, "status.html", page_name="status", thread=thread, filter_context="thread",
        reply_text=reply_prefix(thread.status, v.account), reply_visibility=reply_visibility(thread.status, v),
    )


@router.get("/_web/statuses/{status_id}")
async def status_fragment(request: Request, status_id: str) -> Response:
    """One post as the timelines draw it, for the page script to insert live."""
    v = await visitor(request)
    sid = _status_id(status_id)
    async with get_ctx(request).read() as s:
        st = await s.get(Status, sid)
        if st is None or not await can_see(s, st, v.account_id):
            raise NotFound()
        context = request.query_params.get("context")
        context = context if context in FILTER_CONTEXTS else None
        rendered = await reads.one_status(s, request.app.state.presenter, st.id, v.account_id, context)
    if rendered is None:
        raise NotFound()
    return await page(
        request, "fragments/status.html", s=rendered, full_path=fragment_home(request), filter_context=context
    )


def _draft(form: FormData) -> status_actions.StatusDraft:
    reply_to = text(form, "in_reply_to_id")
    return status_actions.StatusDraft(
        text=text(form, "status"),
        spoiler_text=text(form, "spoiler_text").strip(),
        visibility=text(form, "visibility") or "public",
        sensitive=text(form, "sensitive") == "1",
        in_reply_to_id=int(reply_to) if reply_to.isdigit() and 0 < int(reply_to) < 2**63 else None,
    )


@router.post("/statuses")
async def post_status(request: Request) -> Response:
    settings = get_ctx(request).settings
    try:
        form = await posted_form(request, max_part_size=settings.media_image_size_limit + 64 * 1024)
    except FormTooLarge:
        return await page(
            request, "compose_error.html", page_name="compose", error=N_("That image is too large."),
            draft=status_actions.StatusDraft(text=""), back="/home", status=413,
        )
    v = await visitor(request)
    if v.account is None:
        return login_redirect(request)
    draft = _draft(form)
    back = safe_next(text(form, "next"), "/home")
    try:
        images = await prepare_images(settings, chosen_files(form))
        async with get_ctx(request).tx() as tx:
            author = await acting_account(tx, v)
            if images:
                draft.media_ids = await store_images(tx, author.id, images)
            status = await status_actions.create_status(tx, author, draft)
    except DomainError as exc:
        return await page(
            request, "compose_error.html", page_name="compose", error=domain_message(exc), draft=draft,
            back=back, status=422,
        )
    if draft.in_reply_to_id is not None:
        return see_other(f"{back.split('#')[0]}#s-{status.id}")
    return see_other(back)


async def _act(request: Request, status_id: str, action: str) -> Response:
    form = await posted_form(request)
    v = await visitor(request)
    if v.account is None:
        return login_redirect(request)
    sid = _status_id(status_id)
    actions = {
        "favourite": interactions.favourite, "unfavourite": interactions.unfavourite,
        "reblog": status_actions.reblog, "unreblog": status_actions.unreblog,
        "delete": status_actions.delete_status,
    }
    async with get_ctx(request).tx() as tx:
        await actions[action](tx, await acting_account(tx, v), sid)
    return see_other(safe_next(text(form, "next"), "/home"))


@router.post("/statuses/{status_id}/favourite")
async def favourite(request: Request, status_id: str) -> Response:
    return await _act(request, status_id, "favourite")


@router.post("/statuses/{status_id}/unfavourite")
async def unfavourite(request: Request, status_id: str) -> Response:
    return await _act(request, status_id, "unfavourite")


@router.post("/statuses/{status_id}/reblog")
async def reblog(request: Request, status_id: str) -> Response:
    return await _act(request, status_id, "reblog")


@router.post("/statuses/{status_id}/unreblog")
async def unreblog(request: Request, status_id: str) -> Response:
    return await _act(request, status_id, "unreblog")


@router.post("/statuses/{status_id}/delete")
async def delete(request: Request, status_id: str) -> Response:
    return await _act(request, status_id, "delete")




@router.post("/polls/{poll_id}/votes")
async def vote(request: Request, poll_id: str) -> Response:
    """Vote from the card's form (``choices``: one radio, or several checkboxes)."""
    form = await posted_form(request)
    v = await visitor(request)
    if v.account is None:
        return login_redirect(request)
    pid = _status_id(poll_id)
    back = safe_next(text(form, "next"), "/home")
    choices = [c for c in form.getlist("choices") if isinstance(c, str)]
    try:
        async with get_ctx(request).tx() as tx:
            await polls.vote(tx, (await acting_account(tx, v)).id, pid, choices)
    except NotFound:
        raise
    except DomainError as exc:
        return await page(
            request, "error.html", page_name="error", code=422, title=N_("Your vote was not counted"),
            explanation=domain_message(exc), back=back, status=422,
        )
    return see_other(back)
