"""The admin and moderation API (docs/api/moderation.md).

- ``/api/v1/admin/accounts`` (and the v2 listing), ``/api/v1/admin/reports``: Mastodon's,
  for the admin and owner roles (``admin:*`` scopes).
- ``DELETE /api/szpak/v1/admin/statuses/:id``: a moderator removes a post (moderator,
  admin or owner; a reason is required).
- ``GET /api/szpak/v1/admin/log``: the moderation log (admin and owner).

Scopes are checked first (403 with the scope message), then the role (403 "This action is
not allowed"). Every change goes through ``domain/moderation.py`` or ``domain/reports.py``,
which log it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.api.deps import Viewer, current_ctx, parse_id, require
from szpak.api.errors import APIError
from szpak.api.pagination import Page, link_header, page_params
from szpak.api.params import Params, body
from szpak.api.serializers import ROLE_IDS, role_entity
from szpak.domain import moderation
from szpak.domain.moderation import accounts_query
from szpak.domain import reports as report_actions
from szpak.domain.context import Context
from szpak.domain.errors import Forbidden, Invalid
from szpak.domain.filters import iso
from szpak.storage.models import Account, Report, Status, User
from szpak.storage.queries import load_bundle

router = APIRouter()



def staff(*scopes: str, moderators: bool = False) -> Any:
    """A token with one of ``scopes`` whose user is an admin or owner (or a moderator)."""

    async def dependency(viewer: Viewer = require(*scopes)) -> Viewer:
        if not (viewer.is_moderator if moderators else viewer.is_admin):
            raise Forbidden()
        return viewer

    return Depends(dependency)


READ_ACCOUNTS = staff("admin:read:accounts")
WRITE_ACCOUNTS = staff("admin:write:accounts")
READ_REPORTS = staff("admin:read:reports")
WRITE_REPORTS = staff("admin:write:reports")


async def _actor(session: AsyncSession, viewer: Viewer) -> moderation.Actor:
    assert viewer.account_id is not None
    return await moderation.actor_for(session, viewer.account_id)


# -- entities ------------------------------------------------------------------------------



async def admin_accounts(request: Request, session: AsyncSession, accounts: list[Account]) -> dict[int, dict[str, Any]]:
    """Mastodon's ``Admin::Account`` for each account, loaded in two queries."""
    ids = [a.id for a in accounts]
    users = {u.account_id: u for u in await session.scalars(select(User).where(User.account_id.in_(ids)))} if ids else {}
    sensitized = await moderation.is_sensitized(session, ids)
    renderer = request.app.state.renderer
    out = {}
    for a in accounts:
        u = users.get(a.id)
        out[a.id] = {
            "id": str(a.id),
            "username": a.username,
            "domain": a.domain,
            "created_at": iso(a.created_at),
            "email": u.email if u is not None else None,
            # Szpak records no sign-in addresses.
            "ip": None,
            "ips": [],
            "locale": u.locale if u is not None else None,
            "invite_request": (u.registration_reason or None) if u is not None else None,
            "role": role_entity(u.role if u is not None else "user"),
            "confirmed": u is not None,
            "approved": bool(u.approved) if u is not None else True,
            "disabled": bool(u.disabled) if u is not None else False,
            "silenced": a.silenced_at is not None,
            "suspended": a.suspended_at is not None,
            "sensitized": a.id in sensitized,
            "account": renderer.account(a),
            "created_by_application_id": None,
            "invited_by_account_id": None,
        }
    return out


async def admin_account(request: Request, session: AsyncSession, account: Account) -> dict[str, Any]:
    return (await admin_accounts(request, session, [account]))[account.id]


async def admin_reports(request: Request, session: AsyncSession, reports: list[Report]) -> list[dict[str, Any]]:
    """Mastodon's ``Admin::Report``: with the accounts as ``Admin::Account`` and the statuses."""
    account_ids = {
        i for r in reports
        for i in (r.account_id, r.target_account_id, r.assigned_account_id, r.action_taken_by_account_id)
        if i is not None
    }
    accounts = list(await session.scalars(select(Account).where(Account.id.in_(account_ids)))) if account_ids else []
    rendered = await admin_accounts(request, session, accounts)
    status_ids = {int(i) for r in reports for i in r.status_ids}
    statuses = list(await session.scalars(select(Status).where(Status.id.in_(status_ids)))) if status_ids else []
    bundle = await load_bundle(session, statuses, None)
    renderer = request.app.state.renderer
    by_id = {st.id: st for st in statuses}
    out = []
    for r in reports:
        shown = [by_id[int(i)] for i in r.status_ids if int(i) in by_id]
        out.append({
            "id": str(r.id),
            "action_taken": r.action_taken_at is not None,
            "action_taken_at": iso(r.action_taken_at),
            "category": r.category,
            "comment": r.comment,
            "forwarded": r.forwarded,
            "created_at": iso(r.created_at),
            "updated_at": iso(r.updated_at),
            "account": rendered.get(r.account_id),
            "target_account": rendered.get(r.target_account_id),
            "assigned_account": rendered.get(r.assigned_account_id) if r.assigned_account_id else None,
            "action_taken_by_account": (
                rendered.get(r.action_taken_by_account_id) if r.action_taken_by_account_id else None
            ),
            "statuses": renderer.statuses(shown, bundle) if shown else [],
            "rules": [],
        })
    return out


# -- account listings ----------------------------------------------------------------------

def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    if len(value) > 255 or "\x00" in value:
        raise APIError(422, "Validation failed: search text is too long or invalid")
    return value or None


async def _current(request: Request, ctx: Context, account_id: int) -> dict[str, Any]:
    """The account's ``Admin::Account`` as it stands now (404 when there is no such account)."""
    async with ctx.read() as s:
        account, _ = await moderation.target_account(s, account_id)
        return await admin_account(request, s, account)


async def _account_page(
    request: Request, response: Response, ctx: Context, q: Select[Any], page: Page
) -> list[dict[str, Any]]:
    async with ctx.read() as s:
        rows = page.finish(list(await s.scalars(page.apply(q, Account.id))))
        rendered = await admin_accounts(request, s, rows)
    link_header(request, response, [a.id for a in rows])
    return [rendered[a.id] for a in rows]


@router.get("/api/v1/admin/accounts")
async def accounts_v1(
    request: Request,
    response: Response,
    local: str | None = None,
    remote: str | None = None,
    by_domain: str | None = None,
    active: str | None = None,
    pending: str | None = None,
    disabled: str | None = None,
    silenced: str | None = None,
    suspended: str | None = None,
    sensitized: str | None = None,
    username: str | None = None,
    display_name: str | None = None,
    email: str | None = None,
    ip: str | None = None,
    staff: str | None = None,
    page: Page = Depends(page_params(100, 200)),
    viewer: Viewer = READ_ACCOUNTS,
    ctx: Context = Depends(current_ctx),
) -> Any:
    origin = "local" if _flag(local) else "remote" if _flag(remote) else None
    status = None
    for name, value in (("active", active), ("pending", pending), ("disabled", disabled), ("silenced", silenced),
                        ("suspended", suspended), ("sensitized", sensitized)):
        if _flag(value):
            status = name
    q = accounts_query(
        origin=origin, status=status, staff_only=_flag(staff), username=_text(username),
        display_name=_text(display_name), email=_text(email), ip=_text(ip), by_domain=_text(by_domain),
    )
    return await _account_page(request, response, ctx, q, page)


@router.get("/api/v2/admin/accounts")
async def accounts_v2(
    request: Request,
    response: Response,
    origin: str | None = None,
    status: str | None = None,
    permissions: str | None = None,
    by_domain: str | None = None,
    username: str | None = None,
    display_name: str | None = None,
    email: str | None = None,
    ip: str | None = None,
    page: Page = Depends(page_params(100, 200)),
    viewer: Viewer = READ_ACCOUNTS,
    ctx: Context = Depends(current_ctx),
) -> Any:
    if permissions not in (None, "", "staff"):
        raise APIError(422, "Validation failed: permissions must be staff")
    role_ids = [v for k, v in request.query_params.multi_items() if k in ("role_ids", "role_ids[]")]
    q = accounts_query(
        origin=origin or None, status=status or None, staff_only=permissions == "staff", username=_text(username),
        display_name=_text(display_name), email=_text(email), ip=_text(ip), by_domain=_text(by_domain),
    )
    if role_ids:
        roles = [name for name, rid in ROLE_IDS.items() if rid in role_ids]
        q = q.where(User.role.in_(roles))
    return await _account_page(request, response, ctx, q, page)


@router.get("/api/v1/admin/accounts/{account_id}")
async def account_show(
    request: Request, account_id: str, viewer: Viewer = READ_ACCOUNTS, ctx: Context = Depends(current_ctx)
) -> Any:
    return await _current(request, ctx, parse_id(account_id))


# -- account actions -----------------------------------------------------------------------

class ActionFields(Params):
    type: Any = None
    text: Any = None
    report_id: Any = None
    warning_preset_id: Any = None
    send_email_notification: Any = None


class ReasonFields(Params):
    text: Any = None
    reason: Any = None


async def _after(request: Request, ctx: Context, account_id: int) -> Any:
    async with ctx.read() as s:
        account = await s.get(Account, account_id)
        if account is None:
            return {}
        return await admin_account(request, s, account)


@router.post("/api/v1/admin/accounts/{account_id}/action")
async def account_action(
    account_id: str,
    params: ActionFields = body(ActionFields),
    viewer: Viewer = WRITE_ACCOUNTS,
    ctx: Context = Depends(current_ctx),
) -> Any:
    aid = parse_id(account_id)
    report_id = None
    if params.report_id not in (None, ""):
        try:
            report_id = parse_id(params.report_id)
        except Exception:
            raise Invalid("Validation failed: report_id must be a report id") from None
    async with ctx.tx() as tx:
        await moderation.take_action(
            tx, await _actor(tx.session, viewer), aid, params.type or "none", text=params.text, report_id=report_id
        )
    return {}


def _undo(what: str) -> Any:
    async def route(
        request: Request,
        account_id: str,
        params: ReasonFields = body(ReasonFields),
        viewer: Viewer = WRITE_ACCOUNTS,
        ctx: Context = Depends(current_ctx),
    ) -> Any:
        aid = parse_id(account_id)
        async with ctx.tx() as tx:
            await moderation.undo(tx, await _actor(tx.session, viewer), aid, what, text=params.text or params.reason)
        return await _after(request, ctx, aid)

    route.__name__ = f"account_{what}"
    return route


for _what in ("enable", "unsilence", "unsuspend", "unsensitive"):
    router.add_api_route(f"/api/v1/admin/accounts/{{account_id}}/{_what}", _undo(_what), methods=["POST"])


@router.post("/api/v1/admin/accounts/{account_id}/approve")
async def account_approve(
    request: Request, account_id: str, viewer: Viewer = WRITE_ACCOUNTS, ctx: Context = Depends(current_ctx)
) -> Any:
    aid = parse_id(account_id)
    async with ctx.tx() as tx:
        await moderation.approve(tx, await _actor(tx.session, viewer), aid)
    return await _after(request, ctx, aid)


@router.post("/api/v1/admin/accounts/{account_id}/reject")
async def account_reject(
    request: Request, account_id: str, viewer: Viewer = WRITE_ACCOUNTS, ctx: Context = Depends(current_ctx)
) -> Any:
    aid = parse_id(account_id)
    before = await _current(request, ctx, aid)
    async with ctx.tx() as tx:
        await moderation.reject(tx, await _actor(tx.session, viewer), aid)
    return before


@router.delete("/api/v1/admin/accounts/{account_id}")
async def account_delete(
    request: Request,
    account_id: str,
    params: ReasonFields = body(ReasonFields),
    viewer: Viewer = WRITE_ACCOUNTS,
    ctx: Context = Depends(current_ctx),
) -> Any:
    aid = parse_id(account_id)
    before = await _current(request, ctx, aid)
    async with ctx.tx() as tx:
        await moderation.delete_account(tx, await _actor(tx.session, viewer), aid, text=params.text or params.reason)
    return before


# -- reports -------------------------------------------------------------------------------

@router.get("/api/v1/admin/reports")
async def reports_index(
    request: Request,
    response: Response,
    resolved: str | None = None,
    account_id: str | None = None,
    target_account_id: str | None = None,
    page: Page = Depends(page_params(100, 200)),
    viewer: Viewer = READ_REPORTS,
    ctx: Context = Depends(current_ctx),
) -> Any:
    def optional_id(raw: str | None) -> int | None:
        if raw in (None, ""):
            return None
        text = str(raw).strip()
        if not text.isdigit() or not 0 < int(text) < 2**63:
            raise APIError(422, "Validation failed: account ids must be ids")
        return int(text)

    q = report_actions.reports_query(
        # As Mastodon: unresolved reports unless ``resolved=true``.
        resolved=_flag(resolved),
        account_id=optional_id(account_id), target_account_id=optional_id(target_account_id),
    )
    async with ctx.read() as s:
        rows = page.finish(list(await s.scalars(page.apply(q, Report.id))))
        data = await admin_reports(request, s, rows)
    link_header(request, response, [r.id for r in rows])
    return data


@router.get("/api/v1/admin/reports/{report_id}")
async def report_show(
    request: Request, report_id: str, viewer: Viewer = READ_REPORTS, ctx: Context = Depends(current_ctx)
) -> Any:
    async with ctx.read() as s:
        report = await report_actions.get_report(s, parse_id(report_id))
        return (await admin_reports(request, s, [report]))[0]


def _report_action(name: str) -> Any:
    action = getattr(report_actions, name)

    async def route(
        request: Request, report_id: str, viewer: Viewer = WRITE_REPORTS, ctx: Context = Depends(current_ctx)
    ) -> Any:
        rid = parse_id(report_id)
        async with ctx.tx() as tx:
            report = await action(tx, await _actor(tx.session, viewer), rid)
            return (await admin_reports(request, tx.session, [report]))[0]

    route.__name__ = f"report_{name}"
    return route


for _name in ("assign_to_self", "unassign", "resolve", "reopen"):
    router.add_api_route(f"/api/v1/admin/reports/{{report_id}}/{_name}", _report_action(_name), methods=["POST"])


# -- Szpak's own: post removal and the log -------------------------------------------------

@router.delete("/api/szpak/v1/admin/statuses/{status_id}")
async def remove_status(
    request: Request,
    status_id: str,
    params: ReasonFields = body(ReasonFields),
    viewer: Viewer = staff("admin:write", moderators=True),
    ctx: Context = Depends(current_ctx),
) -> Any:
    sid = parse_id(status_id)
    async with ctx.tx() as tx:
        st = await moderation.remove_post(
            tx, await _actor(tx.session, viewer), sid, reason=params.reason if params.reason is not None else params.text
        )
    return {"id": str(st.id), "removed": True}


@router.get("/api/szpak/v1/admin/log")
async def log(
    request: Request,
    response: Response,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    page: Page = Depends(page_params(40, 200)),
    viewer: Viewer = staff("admin:read"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    tid = None
    if target_id not in (None, ""):
        tid = parse_id(target_id)
    async with ctx.read() as s:
        rows = await moderation.log_entries(
            s, limit=page.limit, max_id=page.max_id, since_id=page.since_id, min_id=page.min_id,
            action=_text(action), target_type=_text(target_type), target_id=tid,
        )
    link_header(request, response, [e.id for e in rows])
    return [moderation.log_entity(e) for e in rows]
