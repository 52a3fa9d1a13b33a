"""``POST /api/v1/reports``: tell the moderators about an account (docs/api/moderation.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from szpak.api.deps import Viewer, current_ctx, require
from szpak.api.params import Params, body
from szpak.domain import reports as actions
from szpak.domain.context import Context
from szpak.domain.filters import as_bool, iso
from szpak.storage.models import Account, Report

router = APIRouter()


class ReportFields(Params):
    account_id: Any = None
    status_ids: Any = None
    comment: Any = None
    forward: Any = None
    category: Any = None
    rule_ids: Any = None


def report_entity(request: Request, report: Report, target: Account) -> dict[str, Any]:
    """Mastodon's ``Report``, as its reporter sees it."""
    return {
        "id": str(report.id),
        "action_taken": report.action_taken_at is not None,
        "action_taken_at": iso(report.action_taken_at),
        "category": report.category,
        "comment": report.comment,
        "forwarded": report.forwarded,
        "created_at": iso(report.created_at),
        "status_ids": list(report.status_ids) or None,
        "rule_ids": list(report.rule_ids) or None,
        "target_account": request.app.state.renderer.account(target),
    }


@router.post("/api/v1/reports")
async def create(
    request: Request,
    params: ReportFields = body(ReportFields),
    viewer: Viewer = require("write:reports"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    async with ctx.tx() as tx:
        reporter = await viewer.account(tx.session)
        report = await actions.file_report(
            tx, reporter, account_id=params.account_id, status_ids=params.status_ids, comment=params.comment,
            forward=as_bool(params.forward, False), category=params.category, rule_ids=params.rule_ids,
        )
        target = await tx.session.get(Account, report.target_account_id)
        assert target is not None
        return report_entity(request, report, target)
