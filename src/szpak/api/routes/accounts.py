"""``/api/v1/accounts``: registration, credentials, profiles."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from szpak.api.deps import Viewer, get_ctx, maybe, parse_id, require
from szpak.api.errors import APIError
from szpak.api.params import Params, body
from szpak.domain import accounts as account_actions
from szpak.domain import oauth
from szpak.domain.context import Context
from szpak.domain.errors import NotFound
from szpak.storage.models import Account, User

router = APIRouter()


class Register(Params):
    username: str
    email: str
    password: str
    agreement: bool = False
    locale: str = "pl"
    reason: str | None = None
    date_of_birth: str | None = None


@router.post("/api/v1/accounts")
async def register(
    request: Request,
    params: Register = body(Register),
    viewer: Viewer = require("write:accounts", user=False),
    ctx: Context = Depends(get_ctx),
) -> Any:
    settings = ctx.settings
    if settings.registrations == "closed":
        raise APIError(403, "Registrations are not open on this server")
    if not params.agreement:
        raise APIError(422, "Validation failed: Agreement must be accepted", details="{}")
    approval = settings.registrations == "approval"
    if approval and not (params.reason or "").strip():
        raise APIError(422, "Validation failed: Reason can't be blank")
    scopes = sorted(viewer.scopes) or ["read"]
    async with ctx.tx() as tx:
        user = await account_actions.create_user(
            tx, username=params.username, email=params.email, password=params.password,
            locale=params.locale, approved=not approval, reason=params.reason or "",
        )
        token, _ = await oauth.issue_token(tx, application_id=viewer.application_id, user_id=user.id, scopes=scopes)
    from datetime import datetime, timezone

    return {
        "access_token": token,
        "token_type": "Bearer",
        "scope": " ".join(scopes),
        "created_at": int(datetime.now(timezone.utc).timestamp()),
    }


@router.get("/api/v1/accounts/verify_credentials")
async def verify_credentials(
    request: Request, viewer: Viewer = require("read:accounts", "profile"), ctx: Context = Depends(get_ctx)
) -> Any:
    async with ctx.read() as s:
        row = (
            await s.execute(select(Account, User).join(User, User.account_id == Account.id).where(Account.id == viewer.account_id))
        ).first()
    if row is None:
        raise NotFound()
    return request.app.state.renderer.credential_account(row[0], user=row[1])


@router.get("/api/v1/accounts/{account_id}")
async def get_account(
    request: Request, account_id: str, viewer: Viewer | None = maybe("read:accounts"), ctx: Context = Depends(get_ctx)
) -> Any:
    async with ctx.read() as s:
        account = await s.get(Account, parse_id(account_id))
    if account is None or (account.suspended_at is not None and (viewer is None or viewer.account_id != account.id)):
        raise NotFound()
    return request.app.state.renderer.account(account)
