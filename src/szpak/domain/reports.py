"""Reports: an account tells the moderators about another account (docs/api/moderation.md).

``file_report`` is ``POST /api/v1/reports``; the rest are the moderators' handling of a
report (``/api/v1/admin/reports``), each logged in the moderation log.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.domain.context import Tx
from szpak.domain.errors import Invalid, NotFound
from szpak.domain.moderation import Actor, record
from szpak.domain.visibility import can_see
from szpak.storage.models import REPORT_CATEGORIES, Account, Report, Status

MAX_COMMENT = 1000
MAX_STATUSES = 100
#: The server's rules (``GET /api/v1/instance/rules``): none are defined yet.
RULE_IDS: tuple[str, ...] = ()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _ids(raw: Any, label: str) -> list[int]:
    if raw is None or raw == "":
        return []
    items = raw if isinstance(raw, list) else [raw]
    out: list[int] = []
    for item in items:
        text = str(item).strip()
        if isinstance(item, bool) or not text.isdigit() or not 0 < int(text) < 2**63:
            raise Invalid(f"Validation failed: {label} must be ids")
        if int(text) not in out:
            out.append(int(text))
    return out


async def file_report(
    tx: Tx, reporter: Account, *, account_id: Any, status_ids: Any = None, comment: Any = None, forward: bool = False,
    category: Any = None, rule_ids: Any = None,
) -> Report:
    """Report ``account_id``, optionally with some of its statuses the reporter can see."""
    s = tx.session
    if account_id is None or account_id == "":
        raise Invalid("Validation failed: Account can't be blank")
    try:
        (target_id,) = _ids(account_id, "Account")
    except ValueError:
        raise Invalid("Validation failed: Account must be one id") from None
    target = await s.get(Account, target_id)
    if target is None or (target.suspended_at is not None and target.id != reporter.id):
        raise NotFound()
    if target.id == reporter.id:
        raise Invalid("Validation failed: You cannot report yourself")
    if comment is None:
        comment = ""
    if not isinstance(comment, str):
        raise Invalid("Validation failed: Comment must be a string")
    if len(comment) > MAX_COMMENT:
        raise Invalid(f"Validation failed: Comment is too long (maximum is {MAX_COMMENT} characters)")
    if "\x00" in comment:
        raise Invalid("Validation failed: Comment contains invalid characters")
    sids = _ids(status_ids, "Status ids")
    if len(sids) > MAX_STATUSES:
        raise Invalid(f"Validation failed: at most {MAX_STATUSES} statuses")
    for sid in sids:
        st = await s.get(Status, sid)
        if st is None or st.account_id != target.id or not await can_see(s, st, reporter.id):
            raise NotFound()
    rules = [str(r) for r in _ids(rule_ids, "Rule ids")]
    if category in (None, ""):
        category = "violation" if rules else "other"
    if category not in REPORT_CATEGORIES:
        raise Invalid(f"Validation failed: Category must be one of {', '.join(REPORT_CATEGORIES)}")
    if rules and (category != "violation" or any(r not in RULE_IDS for r in rules)):
        raise Invalid("Validation failed: Rule ids must name rules of this server, with the category violation")
    report = Report(
        account_id=reporter.id, target_account_id=target.id, status_ids=[str(i) for i in sids],
        rule_ids=rules, comment=comment.strip(), category=category,
        # Nothing to forward to: Szpak does not federate yet.
        forwarded=bool(forward) and target.domain is not None,
    )
    s.add(report)
    await s.flush()
    return report


async def get_report(session: AsyncSession, report_id: int) -> Report:
    report = await session.get(Report, report_id)
    if report is None:
        raise NotFound()
    return report


def reports_query(
    *, resolved: bool | None = None, account_id: int | None = None, target_account_id: int | None = None
) -> Any:
    q = select(Report)
    if resolved is True:
        q = q.where(Report.action_taken_at.is_not(None))
    elif resolved is False:
        q = q.where(Report.action_taken_at.is_(None))
    if account_id is not None:
        q = q.where(Report.account_id == account_id)
    if target_account_id is not None:
        q = q.where(Report.target_account_id == target_account_id)
    return q


async def _touch(tx: Tx, actor: Actor, report_id: int, action: str) -> Report:
    report = await get_report(tx.session, report_id)
    now = utcnow()
    if action == "assign_to_self":
        if actor.account_id is None:
            raise Invalid("Validation failed: the command line cannot be assigned a report")
        report.assigned_account_id = actor.account_id
    elif action == "unassign":
        report.assigned_account_id = None
    elif action == "resolve":
        report.action_taken_at = report.action_taken_at or now
        report.action_taken_by_account_id = actor.account_id
    elif action == "reopen":
        report.action_taken_at = None
        report.action_taken_by_account_id = None
    report.updated_at = now
    await tx.session.flush()
    await record(tx, actor, f"{action}_report" if action in ("resolve", "reopen") else action, "report", report.id,
                 f"report {report.id}")
    return report


async def assign_to_self(tx: Tx, actor: Actor, report_id: int) -> Report:
    return await _touch(tx, actor, report_id, "assign_to_self")


async def unassign(tx: Tx, actor: Actor, report_id: int) -> Report:
    return await _touch(tx, actor, report_id, "unassign")


async def resolve(tx: Tx, actor: Actor, report_id: int) -> Report:
    return await _touch(tx, actor, report_id, "resolve")


async def reopen(tx: Tx, actor: Actor, report_id: int) -> Report:
    return await _touch(tx, actor, report_id, "reopen")
