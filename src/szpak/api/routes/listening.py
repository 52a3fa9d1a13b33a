"""``/api/szpak/v1/``: organisations, their members and delegated tokens, and brand
listening — tracked queries, mentions, statistics, alerts, webhooks, and the live
listening stream (server-sent events).

Routes parse and authorise; the actions live in ``domain/organisations.py`` and
``szpak.listening``. Who may do what inside an organisation is the member's role
(owner, agent, analyst); the token needs ``read`` for reads and ``write`` for
changes. Non-members get 403, unknown organisations 404.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timezone
from typing import Any, Literal

import orjson
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import select

from szpak.api.deps import Viewer, current_ctx, parse_id, require
from szpak.api.errors import APIError
from szpak.api.pagination import Page, link_header, page_params
from szpak.api.serializers import Renderer, iso
from szpak.domain import organisations as orgs
from szpak.domain.context import Context
from szpak.domain.errors import DomainError, NotFound
from szpak.domain.events import AlertRaised, Event, MentionCreated, MentionDeleted, MentionUpdated
from szpak.domain.oauth import parse_scopes
from szpak.listening import mentions as mention_reads
from szpak.listening import queries as query_actions
from szpak.listening import webhooks as webhook_actions
from szpak.listening.alerts import alert_payload
from szpak.listening.runtime import runtime_for
from szpak.storage.models import Account, Status
from szpak.storage.models.listening import (
    ListeningAlert,
    Mention,
    OrganisationMember,
    TrackedQuery,
    Webhook,
)
from szpak.storage.queries import load_accounts, load_bundle
from szpak.text import Matcher

router = APIRouter(tags=["listening"])
P = "/api/szpak/v1"

Role = Literal["owner", "agent", "analyst"]
Sentiment = Literal["negative", "neutral", "positive"]


# --- request bodies -------------------------------------------------------------------------


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CreateOrganisation(Body):
    username: str = Field(max_length=64)
    kind: Literal["brand", "media", "institution"] = "brand"
    display_name: str = Field("", max_length=120)
    note: str = Field("", max_length=500)


class UpdateOrganisation(Body):
    alert_emails: list[str] | None = Field(None, max_length=50)


class AddMember(Body):
    account_id: str | None = None
    username: str | None = Field(None, max_length=64)
    role: Role = "agent"


class UpdateMember(Body):
    role: Role


class CreateToken(Body):
    scopes: str | list[str] | None = None


def _no_nul(value: str | None) -> str | None:
    """Text that is stored must not hold a NUL byte (PostgreSQL refuses it): a 422 here."""
    if value is not None and "\x00" in value:
        raise PydanticCustomError("nul_byte", "must not contain a NUL byte")
    return value


class CreateQuery(Body):
    query: str = Field(max_length=200_000)
    name: str | None = Field(None, max_length=1000)
    category: str = "other"

    @field_validator("query", "name")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return _no_nul(value)


class UpdateQuery(Body):
    query: str | None = Field(None, max_length=200_000)
    name: str | None = Field(None, max_length=1000)
    category: str | None = None

    @field_validator("query", "name")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return _no_nul(value)


class TestQuery(Body):
    query: str = Field(max_length=200_000)
    text: str = Field(max_length=100_000)
    language: str | None = None


class SetSentiment(Body):
    sentiment: Sentiment


class CreateWebhook(Body):
    url: str = Field(max_length=4096)
    events: list[Literal["alert", "mention"]] = Field(default_factory=lambda: ["alert"])
    description: str = Field("", max_length=255)


class UpdateWebhook(Body):
    url: str | None = Field(None, max_length=4096)
    events: list[Literal["alert", "mention"]] | None = None
    active: bool | None = None
    description: str | None = Field(None, max_length=255)
    rotate_secret: bool = False


# --- responses ------------------------------------------------------------------------------


class OrganisationOut(BaseModel):
    id: str
    username: str
    display_name: str
    kind: str
    #: The caller's role.
    role: Role
    alert_emails: list[str]
    created_at: str | None
    account: dict[str, Any]


class MemberOut(BaseModel):
    account: dict[str, Any]
    role: Role
    added_by_id: str | None
    created_at: str | None


class DelegatedTokenOut(BaseModel):
    id: str
    access_token: str
    token_type: str = "Bearer"
    scope: str
    created_at: int
    organisation_id: str
    member_id: str
    role: Role


class TokenInfoOut(BaseModel):
    id: str
    member: dict[str, Any]
    role: Role
    scopes: list[str]
    application_id: str | None
    created_at: str | None


class QueryOut(BaseModel):
    id: str
    organisation_id: str
    name: str
    query: str
    category: str
    created_at: str | None
    updated_at: str | None


class QueryTestOut(BaseModel):
    matches: bool
    terms: list[str]
    forms: list[str]


class MentionQueryOut(BaseModel):
    id: str
    name: str
    category: str


class MentionOut(BaseModel):
    id: str
    organisation_id: str
    query: MentionQueryOut
    #: The post, as a Mastodon Status entity.
    status: dict[str, Any]
    sentiment: Sentiment | None
    confidence: float | None
    #: True until the sentiment model has labelled it (a ``mention.update`` follows).
    sentiment_pending: bool
    sentiment_corrected: bool
    #: The author's followers when the post was matched.
    reach: int
    language: str | None
    terms: list[str]
    forms: list[str]
    #: When the post was written, and when it was matched.
    created_at: str | None
    matched_at: str | None


class BucketOut(BaseModel):
    start: str | None
    total: int
    negative: int
    neutral: int
    positive: int
    unknown: int


class StatsOut(BaseModel):
    bucket: str
    since: str | None
    until: str | None
    query_id: str | None
    totals: BucketOut
    buckets: list[BucketOut]


class AlertQueryOut(BaseModel):
    id: str
    name: str
    query: str


class AlertOrganisationOut(BaseModel):
    id: str
    username: str


class AlertOut(BaseModel):
    id: str
    kind: Literal["volume", "negative"]
    organisation: AlertOrganisationOut
    query: AlertQueryOut
    window_start: str
    window_end: str
    #: Mentions in the window (and how many were negative).
    observed: int
    negative: int
    #: Mentions the baseline expected in the window (volume) or its negative share.
    expected: float
    #: Probability of at least what was observed under the baseline.
    score: float
    created_at: str
    url: str


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    active: bool
    description: str
    created_at: str | None
    failures: int
    last_attempt_at: str | None
    last_status: int | None
    last_error: str | None
    #: Only when created or rotated.
    secret: str | None = None


class DeliveryOut(BaseModel):
    id: str
    channel: str
    event: str
    attempts: int
    delivered_at: str | None
    failed_at: str | None
    next_attempt_at: str | None
    last_status: int | None
    last_error: str | None
    created_at: str | None


# --- helpers --------------------------------------------------------------------------------


async def _acting(ctx: Context, viewer: Viewer, organisation_id: str | int) -> orgs.Acting:
    oid = parse_id(organisation_id)
    async with ctx.read() as s:
        return await orgs.acting_for(s, oid, account_id=viewer.account_id, token_id=viewer.token_id)


def _renderer(request: Request) -> Renderer:
    return request.app.state.renderer  # type: ignore[no-any-return]


def _org_out(renderer: Renderer, account: Account, org: Any, role: str) -> dict[str, Any]:
    return {
        "id": str(account.id), "username": account.username, "display_name": account.display_name,
        "kind": account.kind, "role": role, "alert_emails": list(org.alert_emails or []),
        "created_at": iso(org.created_at), "account": renderer.account(account),
    }


def _member_out(renderer: Renderer, m: OrganisationMember, a: Account) -> dict[str, Any]:
    return {
        "account": renderer.account(a), "role": m.role,
        "added_by_id": str(m.added_by_id) if m.added_by_id else None, "created_at": iso(m.created_at),
    }


def _query_out(q: TrackedQuery) -> dict[str, Any]:
    return {
        "id": str(q.id), "organisation_id": str(q.organisation_id), "name": q.name, "query": q.query,
        "category": q.category, "created_at": iso(q.created_at), "updated_at": iso(q.updated_at),
    }


def _webhook_out(h: Webhook, *, secret: bool = False) -> dict[str, Any]:
    return {
        "id": str(h.id), "url": h.url, "events": list(h.events or []), "active": h.active,
        "description": h.description, "created_at": iso(h.created_at), "failures": h.failures,
        "last_attempt_at": iso(h.last_attempt_at), "last_status": h.last_status, "last_error": h.last_error,
        "secret": h.secret if secret else None,
    }


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _optional_id(raw: str | None, name: str) -> int | None:
    if raw in (None, ""):
        return None
    try:
        value = int(str(raw))
    except ValueError:
        raise APIError(422, f"Validation failed: {name} is not a valid id") from None
    if not 0 < value < 2**63:
        raise APIError(422, f"Validation failed: {name} is not a valid id")
    return value


async def render_mentions(
    request: Request, session: Any, rows: Sequence[tuple[Mention, Status, Account, TrackedQuery]], viewer_id: int | None
) -> list[dict[str, Any]]:
    """A page of mentions with their posts as Mastodon statuses (a fixed number of queries)."""
    renderer = _renderer(request)
    bundle = await load_bundle(session, [r[1] for r in rows], viewer_id)
    out = []
    for m, st, _author, q in rows:
        out.append({
            "id": str(m.id), "organisation_id": str(m.organisation_id),
            "query": {"id": str(q.id), "name": q.name, "category": q.category},
            "status": renderer.status(st, bundle),
            "sentiment": m.sentiment, "confidence": m.confidence, "sentiment_pending": not m.classified,
            "sentiment_corrected": m.corrected,
            "reach": m.reach, "language": m.language, "terms": list(m.terms or []), "forms": list(m.forms or []),
            "created_at": iso(m.posted_at), "matched_at": iso(m.created_at),
        })
    return out


async def render_alerts(session: Any, alerts: Sequence[ListeningAlert], base_url: str) -> list[dict[str, Any]]:
    queries = {q.id: q for q in await session.scalars(
        select(TrackedQuery).where(TrackedQuery.id.in_({a.query_id for a in alerts}))
    )} if alerts else {}
    accounts = await load_accounts(session, {a.organisation_id for a in alerts})
    return [
        alert_payload(a, queries[a.query_id], accounts[a.organisation_id], base_url)
        for a in alerts if a.query_id in queries and a.organisation_id in accounts
    ]


# --- organisations --------------------------------------------------------------------------


@router.get(f"{P}/organisations", response_model=list[OrganisationOut])
async def list_organisations(
    request: Request, viewer: Viewer = require("read"), ctx: Context = Depends(current_ctx)
) -> Any:
    """The organisations the caller belongs to, with the caller's role in each."""
    assert viewer.account_id is not None
    async with ctx.read() as s:
        rows = await orgs.memberships(s, viewer.account_id)
    renderer = _renderer(request)
    return [_org_out(renderer, a, o, role) for a, o, role in rows]


@router.post(f"{P}/organisations", response_model=OrganisationOut)
async def create_organisation(
    request: Request, params: CreateOrganisation, viewer: Viewer = require("write"), ctx: Context = Depends(current_ctx)
) -> Any:
    """Create an organisation account; the caller becomes its first owner."""
    assert viewer.account_id is not None
    async with ctx.tx() as tx:
        account = await orgs.create_organisation(
            tx, viewer.account_id, username=params.username, kind=params.kind, display_name=params.display_name,
            note=params.note, creator_is_admin=viewer.is_admin,
        )
        org, account = await orgs.get_organisation(tx, account.id)
    return _org_out(_renderer(request), account, org, "owner")


@router.get(f"{P}/organisations/{{organisation_id}}", response_model=OrganisationOut)
async def get_organisation(
    request: Request, organisation_id: str, viewer: Viewer = require("read"), ctx: Context = Depends(current_ctx)
) -> Any:
    acting = await _acting(ctx, viewer, organisation_id)
    async with ctx.read() as s:
        org, account = await orgs.get_organisation(s, acting.organisation_id)
    return _org_out(_renderer(request), account, org, acting.role)


@router.patch(f"{P}/organisations/{{organisation_id}}", response_model=OrganisationOut)
async def update_organisation(
    request: Request, organisation_id: str, params: UpdateOrganisation, viewer: Viewer = require("write"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """Listening settings (owners): where alert e-mails go."""
    acting = await _acting(ctx, viewer, organisation_id)
    async with ctx.tx() as tx:
        await orgs.update_settings(tx, acting, alert_emails=params.alert_emails)
        org, account = await orgs.get_organisation(tx, acting.organisation_id)
    return _org_out(_renderer(request), account, org, acting.role)


# --- members --------------------------------------------------------------------------------


@router.get(f"{P}/organisations/{{organisation_id}}/members", response_model=list[MemberOut])
async def list_members(
    request: Request, organisation_id: str, viewer: Viewer = require("read"), ctx: Context = Depends(current_ctx)
) -> Any:
    acting = await _acting(ctx, viewer, organisation_id)
    async with ctx.read() as s:
        rows = await orgs.list_members(s, acting.organisation_id)
    renderer = _renderer(request)
    return [_member_out(renderer, m, a) for m, a in rows]


@router.post(f"{P}/organisations/{{organisation_id}}/members", response_model=MemberOut)
async def add_member(
    request: Request, organisation_id: str, params: AddMember, viewer: Viewer = require("write"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """Add a person (by ``account_id`` or local ``username``) with a role (owners)."""
    acting = await _acting(ctx, viewer, organisation_id)
    async with ctx.tx() as tx:
        if params.account_id:
            member_id = parse_id(params.account_id)
        elif params.username:
            from szpak.domain.accounts import get_local_account

            member_id = (await get_local_account(tx, params.username.lstrip("@"))).id
        else:
            raise APIError(422, "Validation failed: account_id or username is required")
        member = await orgs.add_member(tx, acting, acting.organisation_id, member_id, params.role)
        account = await tx.session.get(Account, member_id)
    assert account is not None
    return _member_out(_renderer(request), member, account)


@router.patch(f"{P}/organisations/{{organisation_id}}/members/{{account_id}}", response_model=MemberOut)
async def change_member(
    request: Request, organisation_id: str, account_id: str, params: UpdateMember, viewer: Viewer = require("write"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """Change a member's role (owners); delegated tokens above the new role are revoked."""
    acting = await _acting(ctx, viewer, organisation_id)
    async with ctx.tx() as tx:
        member = await orgs.change_role(tx, acting, acting.organisation_id, parse_id(account_id), params.role)
        account = await tx.session.get(Account, member.member_id)
    assert account is not None
    return _member_out(_renderer(request), member, account)


@router.delete(f"{P}/organisations/{{organisation_id}}/members/{{account_id}}")
async def remove_member(
    organisation_id: str, account_id: str, viewer: Viewer = require("write"), ctx: Context = Depends(current_ctx)
) -> dict[str, Any]:
    """Remove a member (owners), or leave (anyone); their delegated tokens are revoked."""
    acting = await _acting(ctx, viewer, organisation_id)
    async with ctx.tx() as tx:
        await orgs.remove_member(tx, acting, acting.organisation_id, parse_id(account_id))
    return {}


# --- delegated tokens -----------------------------------------------------------------------


@router.post(f"{P}/organisations/{{organisation_id}}/tokens", response_model=DelegatedTokenOut)
async def create_token(
    organisation_id: str, params: CreateToken | None = None, viewer: Viewer = require("write"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """A token that acts as the organisation in any Mastodon client, for the caller
    (minting it is a change: the caller's own token needs ``write``).

    Scopes: ``owner`` up to read write follow push profile, ``agent`` read write,
    ``analyst`` read — and never more than the caller's own token holds.
    """
    acting = await _acting(ctx, viewer, organisation_id)
    requested = parse_scopes(params.scopes, default="") if params and params.scopes else None
    async with ctx.tx() as tx:
        token, row, scopes = await orgs.issue_delegated_token(
            tx, acting, caller_scopes=viewer.scopes, requested=requested, application_id=viewer.application_id
        )
    return {
        "id": str(row.id), "access_token": token, "token_type": "Bearer", "scope": " ".join(scopes),
        "created_at": int(row.created_at.timestamp()), "organisation_id": str(acting.organisation_id),
        "member_id": str(acting.member_id), "role": acting.role,
    }


@router.get(f"{P}/organisations/{{organisation_id}}/tokens", response_model=list[TokenInfoOut])
async def list_tokens(
    request: Request, organisation_id: str, viewer: Viewer = require("read"), ctx: Context = Depends(current_ctx)
) -> Any:
    """Live delegated tokens (owners see everyone's, others their own); never the secret."""
    acting = await _acting(ctx, viewer, organisation_id)
    async with ctx.read() as s:
        rows = await orgs.list_tokens(s, acting)
    renderer = _renderer(request)
    return [
        {
            "id": str(t.id), "member": renderer.account(a), "role": g.role, "scopes": t.scopes.split(),
            "application_id": str(t.application_id) if t.application_id else None, "created_at": iso(t.created_at),
        }
        for g, t, a in rows
    ]


@router.delete(f"{P}/organisations/{{organisation_id}}/tokens/{{token_id}}")
async def revoke_token(
    organisation_id: str, token_id: str, viewer: Viewer = require("write"), ctx: Context = Depends(current_ctx)
) -> dict[str, Any]:
    acting = await _acting(ctx, viewer, organisation_id)
    async with ctx.tx() as tx:
        await orgs.revoke_delegated_token(tx, acting, parse_id(token_id))
    return {}


# --- tracked queries ------------------------------------------------------------------------


@router.get(f"{P}/organisations/{{organisation_id}}/queries", response_model=list[QueryOut])
async def list_queries(organisation_id: str, viewer: Viewer = require("read"), ctx: Context = Depends(current_ctx)) -> Any:
    acting = await _acting(ctx, viewer, organisation_id)
    async with ctx.read() as s:
        return [_query_out(q) for q in await query_actions.list_queries(s, acting)]


@router.post(f"{P}/organisations/{{organisation_id}}/queries", response_model=QueryOut)
async def create_query(
    organisation_id: str, params: CreateQuery, viewer: Viewer = require("write"), ctx: Context = Depends(current_ctx)
) -> Any:
    """Track a query. A malformed one is a 422 saying what is wrong and where."""
    acting = await _acting(ctx, viewer, organisation_id)
    async with ctx.tx() as tx:
        q = await query_actions.create_query(
            tx, acting, query=params.query, name=params.name, category=params.category
        )
    return _query_out(q)


@router.post(f"{P}/organisations/{{organisation_id}}/queries/test", response_model=QueryTestOut)
async def test_query(
    organisation_id: str, params: TestQuery, viewer: Viewer = require("read"), ctx: Context = Depends(current_ctx)
) -> Any:
    """Try a query on a text without saving it (for query editors)."""
    await _acting(ctx, viewer, organisation_id)
    parsed = query_actions.check_query(params.query.strip())
    matches = Matcher.build([(0, parsed)]).match(params.text, params.language)
    return {
        "matches": bool(matches),
        "terms": list(matches[0].terms) if matches else [],
        "forms": list(matches[0].forms) if matches else [],
    }


@router.get(f"{P}/organisations/{{organisation_id}}/queries/{{query_id}}", response_model=QueryOut)
async def get_query(
    organisation_id: str, query_id: str, viewer: Viewer = require("read"), ctx: Context = Depends(current_ctx)
) -> Any:
    acting = await _acting(ctx, viewer, organisation_id)
    async with ctx.read() as s:
        return _query_out(await query_actions.get_query(s, acting, parse_id(query_id)))


@router.patch(f"{P}/organisations/{{organisation_id}}/queries/{{query_id}}", response_model=QueryOut)
@router.put(
    f"{P}/organisations/{{organisation_id}}/queries/{{query_id}}", response_model=QueryOut,
    operation_id="replace_query", include_in_schema=False,
)
async def update_query(
    organisation_id: str, query_id: str, params: UpdateQuery, viewer: Viewer = require("write"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    acting = await _acting(ctx, viewer, organisation_id)
    async with ctx.tx() as tx:
        q = await query_actions.update_query(
            tx, acting, parse_id(query_id), query=params.query, name=params.name, category=params.category
        )
    return _query_out(q)


@router.delete(f"{P}/organisations/{{organisation_id}}/queries/{{query_id}}")
async def delete_query(
    organisation_id: str, query_id: str, viewer: Viewer = require("write"), ctx: Context = Depends(current_ctx)
) -> dict[str, Any]:
    """Stop tracking a query; its mentions and alerts are deleted with it."""
    acting = await _acting(ctx, viewer, organisation_id)
    async with ctx.tx() as tx:
        await query_actions.delete_query(tx, acting, parse_id(query_id))
    return {}


# --- mentions -------------------------------------------------------------------------------


def _filter(
    query_id: str | None, sentiment: str | None, language: str | None, since: datetime | None, until: datetime | None
) -> mention_reads.MentionFilter:
    if language is not None and "\x00" in language:
        raise APIError(422, "Validation failed: language must not contain a NUL byte")
    return mention_reads.MentionFilter(
        query_id=_optional_id(query_id, "query_id"), sentiment=sentiment or None, language=language or None,
        since=_utc(since), until=_utc(until),
    )


@router.get(f"{P}/organisations/{{organisation_id}}/mentions", response_model=list[MentionOut])
async def list_mentions(
    request: Request,
    response: Response,
    organisation_id: str,
    query_id: str | None = Query(None, description="Only this tracked query's mentions."),
    sentiment: str | None = Query(None, description="negative, neutral, positive or unknown."),
    language: str | None = Query(None, max_length=8),
    since: datetime | None = Query(None, description="Posts written at or after this moment (ISO 8601)."),
    until: datetime | None = Query(None, description="Posts written before this moment (ISO 8601)."),
    page: Page = Depends(page_params(20, 80)),
    viewer: Viewer = require("read"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """Mentions, newest first; ``max_id``/``since_id``/``min_id`` pagination with a Link header."""
    acting = await _acting(ctx, viewer, organisation_id)
    q = mention_reads.mentions_query(acting, _filter(query_id, sentiment, language, since, until))
    async with ctx.read() as s:
        rows = page.finish((await s.execute(page.apply(q, Mention.id))).all())
        out = await render_mentions(request, s, rows, viewer.account_id)
    link_header(request, response, [r[0].id for r in rows])
    return out


@router.get(f"{P}/organisations/{{organisation_id}}/mentions/stats", response_model=StatsOut)
async def mention_stats(
    organisation_id: str,
    bucket: Literal["minute", "hour", "day"] = "hour",
    query_id: str | None = None,
    sentiment: str | None = None,
    language: str | None = Query(None, max_length=8),
    since: datetime | None = None,
    until: datetime | None = None,
    viewer: Viewer = require("read"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """Volume and sentiment per time bucket (default: the last 24 hours by hour)."""
    acting = await _acting(ctx, viewer, organisation_id)
    f = _filter(query_id, sentiment, language, since, until)
    async with ctx.read() as s:
        buckets = await mention_reads.stats(s, acting, f, bucket)

    def out(start: datetime | None, counts: dict[str, int]) -> dict[str, Any]:
        return {"start": iso(start) if start else None, "total": sum(counts.values()), **counts}

    totals: dict[str, int] = {k: 0 for k in ("negative", "neutral", "positive", "unknown")}
    for b in buckets:
        for k, v in b.counts.items():
            totals[k] += v
    return {
        "bucket": bucket,
        "since": iso(buckets[0].start) if buckets else None,
        "until": iso(f.until) if f.until else None,
        "query_id": str(f.query_id) if f.query_id else None,
        "totals": out(None, totals),
        "buckets": [out(b.start, b.counts) for b in buckets],
    }


async def _mention_acting(ctx: Context, viewer: Viewer, mention_id: int) -> orgs.Acting:
    async with ctx.read() as s:
        organisation_id = await s.scalar(select(Mention.organisation_id).where(Mention.id == mention_id))
        if organisation_id is None:
            raise NotFound()
        try:
            return await orgs.acting_for(s, organisation_id, account_id=viewer.account_id, token_id=viewer.token_id)
        except DomainError:
            raise NotFound() from None  # don't reveal other organisations' mentions


@router.get(f"{P}/mentions/{{mention_id}}", response_model=MentionOut)
async def get_mention(
    request: Request, mention_id: str, viewer: Viewer = require("read"), ctx: Context = Depends(current_ctx)
) -> Any:
    mid = parse_id(mention_id)
    acting = await _mention_acting(ctx, viewer, mid)
    async with ctx.read() as s:
        row = await mention_reads.get_mention(s, acting, mid)
        return (await render_mentions(request, s, [row], viewer.account_id))[0]


@router.put(f"{P}/mentions/{{mention_id}}/sentiment", response_model=MentionOut)
async def set_sentiment(
    request: Request, mention_id: str, params: SetSentiment, viewer: Viewer = require("write"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """Correct a mention's sentiment (owners and agents); kept as training data."""
    mid = parse_id(mention_id)
    acting = await _mention_acting(ctx, viewer, mid)
    async with ctx.tx() as tx:
        await mention_reads.correct_sentiment(tx, acting, mid, params.sentiment)
    async with ctx.read() as s:
        row = await mention_reads.get_mention(s, acting, mid)
        return (await render_mentions(request, s, [row], viewer.account_id))[0]


# --- alerts ---------------------------------------------------------------------------------


@router.get(f"{P}/organisations/{{organisation_id}}/alerts", response_model=list[AlertOut])
async def list_alerts(
    request: Request,
    response: Response,
    organisation_id: str,
    query_id: str | None = None,
    kind: Literal["volume", "negative"] | None = None,
    page: Page = Depends(page_params(20, 80)),
    viewer: Viewer = require("read"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    """Alerts raised for the organisation's queries, newest first (Link pagination)."""
    acting = await _acting(ctx, viewer, organisation_id)
    acting.require(orgs.CAN_READ)
    q = select(ListeningAlert).where(ListeningAlert.organisation_id == acting.organisation_id)
    qid = _optional_id(query_id, "query_id")
    if qid is not None:
        q = q.where(ListeningAlert.query_id == qid)
    if kind is not None:
        q = q.where(ListeningAlert.kind == kind)
    async with ctx.read() as s:
        alerts = page.finish(list(await s.scalars(page.apply(q, ListeningAlert.id))))
        out = await render_alerts(s, alerts, ctx.settings.base_url)
    link_header(request, response, [a.id for a in alerts])
    return out


# --- webhooks -------------------------------------------------------------------------------


@router.get(f"{P}/organisations/{{organisation_id}}/webhooks", response_model=list[WebhookOut])
async def list_webhooks(organisation_id: str, viewer: Viewer = require("read"), ctx: Context = Depends(current_ctx)) -> Any:
    acting = await _acting(ctx, viewer, organisation_id)
    async with ctx.read() as s:
        return [_webhook_out(h) for h in await webhook_actions.list_webhooks(s, acting)]


@router.post(f"{P}/organisations/{{organisation_id}}/webhooks", response_model=WebhookOut)
async def create_webhook(
    organisation_id: str, params: CreateWebhook, viewer: Viewer = require("write"), ctx: Context = Depends(current_ctx)
) -> Any:
    """Add a webhook (owners). The answer carries its signing ``secret``, shown only now."""
    acting = await _acting(ctx, viewer, organisation_id)
    async with ctx.tx() as tx:
        hook = await webhook_actions.create_webhook(
            tx, acting, url=params.url, events=list(params.events), description=params.description
        )
    return _webhook_out(hook, secret=True)


@router.get(f"{P}/organisations/{{organisation_id}}/webhooks/{{webhook_id}}", response_model=WebhookOut)
async def get_webhook(
    organisation_id: str, webhook_id: str, viewer: Viewer = require("read"), ctx: Context = Depends(current_ctx)
) -> Any:
    acting = await _acting(ctx, viewer, organisation_id)
    async with ctx.read() as s:
        return _webhook_out(await webhook_actions.get_webhook(s, acting, parse_id(webhook_id)))


@router.patch(f"{P}/organisations/{{organisation_id}}/webhooks/{{webhook_id}}", response_model=WebhookOut)
async def update_webhook(
    organisation_id: str, webhook_id: str, params: UpdateWebhook, viewer: Viewer = require("write"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    acting = await _acting(ctx, viewer, organisation_id)
    async with ctx.tx() as tx:
        hook = await webhook_actions.update_webhook(
            tx, acting, parse_id(webhook_id), url=params.url,
            events=list(params.events) if params.events is not None else None, active=params.active,
            description=params.description, rotate_secret=params.rotate_secret,
        )
    return _webhook_out(hook, secret=params.rotate_secret)


@router.delete(f"{P}/organisations/{{organisation_id}}/webhooks/{{webhook_id}}")
async def delete_webhook(
    organisation_id: str, webhook_id: str, viewer: Viewer = require("write"), ctx: Context = Depends(current_ctx)
) -> dict[str, Any]:
    acting = await _acting(ctx, viewer, organisation_id)
    async with ctx.tx() as tx:
        await webhook_actions.delete_webhook(tx, acting, parse_id(webhook_id))
    return {}


@router.post(f"{P}/organisations/{{organisation_id}}/webhooks/{{webhook_id}}/ping", response_model=DeliveryOut)
async def ping_webhook(
    organisation_id: str, webhook_id: str, viewer: Viewer = require("write"), ctx: Context = Depends(current_ctx)
) -> Any:
    """Queue a ``ping`` delivery to check the receiving end (one attempt)."""
    acting = await _acting(ctx, viewer, organisation_id)
    async with ctx.tx() as tx:
        delivery = await webhook_actions.ping(tx, acting, parse_id(webhook_id))
    runtime_for(ctx).deliverer.wake()
    return _delivery_out(delivery)


def _delivery_out(d: Any) -> dict[str, Any]:
    return {
        "id": str(d.id), "channel": d.channel, "event": d.event, "attempts": d.attempts or 0,
        "delivered_at": iso(d.delivered_at), "failed_at": iso(d.failed_at), "next_attempt_at": iso(d.next_attempt_at),
        "last_status": d.last_status, "last_error": d.last_error, "created_at": iso(d.created_at),
    }


@router.get(
    f"{P}/organisations/{{organisation_id}}/webhooks/{{webhook_id}}/deliveries", response_model=list[DeliveryOut]
)
async def webhook_deliveries(
    organisation_id: str, webhook_id: str, viewer: Viewer = require("read"), ctx: Context = Depends(current_ctx)
) -> Any:
    """The last 20 deliveries to this webhook, newest first."""
    acting = await _acting(ctx, viewer, organisation_id)
    async with ctx.read() as s:
        return [_delivery_out(d) for d in await webhook_actions.recent_deliveries(s, acting, parse_id(webhook_id))]


# --- the live listening stream ---------------------------------------------------------------

STREAM_EVENTS = (MentionCreated, MentionUpdated, MentionDeleted, AlertRaised)
#: Events rendered together at most, when they pile up on a connection.
STREAM_BATCH = 200


def sse(event: str, data: Any) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def render_stream_events(
    request: Request, ctx: Context, acting: orgs.Acting, events: Sequence[Event], viewer_id: int | None
) -> list[bytes]:
    """Bus events as SSE frames for this member, rendered together (a fixed number of
    queries however many there are: under load a connection renders what piled up in
    one go). A mention created and updated within one batch is sent once, as it is now."""
    mention_ids = {e.mention_id for e in events if isinstance(e, (MentionCreated, MentionUpdated))}
    alert_ids = {e.alert_id for e in events if isinstance(e, AlertRaised)}
    rendered: dict[int, dict[str, Any]] = {}
    alerts: dict[str, dict[str, Any]] = {}
    if mention_ids or alert_ids:
        async with ctx.read() as s:
            if mention_ids:
                rows = await mention_reads.get_mentions(s, acting, list(mention_ids))
                ordered = [rows[i] for i in sorted(rows)]
                for row, data in zip(ordered, await render_mentions(request, s, ordered, viewer_id)):
                    rendered[row[0].id] = data
            if alert_ids:
                found = list(await s.scalars(select(ListeningAlert).where(ListeningAlert.id.in_(alert_ids))))
                alerts = {a["id"]: a for a in await render_alerts(s, found, ctx.settings.base_url)}
    created = {e.mention_id for e in events if isinstance(e, MentionCreated)}
    frames: list[bytes] = []
    sent: set[int] = set()
    for event in events:
        if isinstance(event, MentionDeleted):
            frames.append(sse("mention.delete", {
                "id": str(event.mention_id), "status_id": str(event.status_id), "query_id": str(event.query_id),
            }))
        elif isinstance(event, (MentionCreated, MentionUpdated)):
            data = rendered.get(event.mention_id)
            if data is None or event.mention_id in sent:
                continue
            sent.add(event.mention_id)
            frames.append(sse("mention" if event.mention_id in created else "mention.update", data))
        elif isinstance(event, AlertRaised):
            alert = alerts.get(str(event.alert_id))
            if alert is not None:
                frames.append(sse("alert", alert))
    return frames


@router.get(
    f"{P}/organisations/{{organisation_id}}/listening/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events"}},
)
async def listening_stream(
    request: Request,
    organisation_id: str,
    query_id: str | None = Query(None, description="Only this tracked query's events."),
    viewer: Viewer = require("read"),
    ctx: Context = Depends(current_ctx),
) -> StreamingResponse:
    """Live mentions and alerts as server-sent events (members only).

    Events: ``mention`` (a Mention), ``mention.update`` (re-matched or corrected),
    ``mention.delete`` (``{id, status_id, query_id}``), ``alert`` (an Alert); a
    ``:thump`` comment every heartbeat. ``access_token`` may be given in the query
    string for browsers' EventSource.
    """
    acting = await _acting(ctx, viewer, organisation_id)
    only = _optional_id(query_id, "query_id")
    settings = ctx.settings
    queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=settings.stream_queue_size)

    def on_event(event: Event) -> None:
        if not isinstance(event, STREAM_EVENTS) or event.organisation_id != acting.organisation_id:
            return
        if only is not None and event.query_id != only:
            return
        try:
            queue.put_nowait(event)
        except asyncio.QueueFull:  # a consumer this slow is cut off; it reconnects and reloads
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(None)

    unsubscribe = ctx.bus.subscribe(on_event)

    async def frames() -> AsyncIterator[bytes]:
        try:
            yield b": szpak listening stream\n\n"
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=settings.heartbeat_seconds)
                except asyncio.TimeoutError:
                    # Still a member? (Removal ends the stream at the next heartbeat.)
                    await _acting(ctx, viewer, acting.organisation_id)
                    yield b":thump\n\n"
                    continue
                if event is None:
                    return
                batch = [event]
                while not queue.empty() and len(batch) < STREAM_BATCH:
                    more = queue.get_nowait()
                    if more is None:
                        return
                    batch.append(more)
                frames_ = await render_stream_events(request, ctx, acting, batch, viewer.account_id)
                if frames_:
                    yield b"".join(frames_)
        except DomainError:
            return
        finally:
            unsubscribe()

    return StreamingResponse(
        frames(), media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


# --- start-up -------------------------------------------------------------------------------


def setup(app: FastAPI) -> None:
    """Register the listening job handlers (imported above, before the worker starts)
    and run the listening runtime (matcher warm-up, deliveries) with the app."""
    import szpak.listening.pipeline  # noqa: F401  - @handler("status.*")

    async def start(app: FastAPI) -> None:
        ctx: Context = app.state.ctx
        rt = runtime_for(ctx)
        app.state.listening = rt
        if ctx.settings.run_workers:
            await rt.start()

    async def stop(app: FastAPI) -> None:
        rt = getattr(app.state, "listening", None)
        if rt is not None:
            await rt.stop()

    app.state.startup_hooks.append(start)
    app.state.shutdown_hooks.append(stop)
