"""The listening page of the web UI: an organisation's mentions as they arrive (coloured
by sentiment, filtered by query, sentiment and period), a chart of volume and sentiment
over time (server-drawn SVG), recent alerts, and sentiment corrections from plain forms.

Members only (the session's own account must belong to the organisation). The page
works without JavaScript; ``listening.js`` (served here, CSP-clean: no inline script or
style) keeps the list live from the listening stream (server-sent events) and fetches
each new mention as an HTML fragment drawn by this module.

Its words come from the shared catalogs like every other page's (``MESSAGES``).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from markupsafe import Markup, escape
from sqlalchemy import select
from starlette.responses import FileResponse, Response

from szpak.api.routes.listening import render_alerts, render_mentions
from szpak.domain import organisations as orgs
from szpak.domain.errors import NotFound
from szpak.listening import mentions as mention_reads
from szpak.listening import queries as query_actions
from szpak.storage.models.listening import SENTIMENTS, ListeningAlert, Mention
from szpak.web.i18n import N_, translations
from szpak.web.forms import login_redirect, posted_form, safe_next, see_other, text
from szpak.web.render import page
from szpak.web.session import Visitor, get_ctx, visitor

router = APIRouter(include_in_schema=False)

ASSETS = Path(__file__).parent / "templates" / "listening"
PERIODS = {"24h": (timedelta(hours=24), "hour"), "7d": (timedelta(days=7), "hour"), "30d": (timedelta(days=30), "day")}
PAGE_SIZE = 40
COLOURS = {"negative": "#c0392b", "neutral": "#8a8f98", "positive": "#2e8b57", "unknown": "#c8ccd2"}

#: The page's words, translated through the shared catalogs (web/locale; `python -m
#: szpak.web.catalog`). Counts go through ``Texts.plural`` for Polish plural forms.
MESSAGES: dict[str, str] = {
    'listening': N_('Listening'),
    'organisations': N_('Your organisations'),
    'no_organisations': N_('You are not a member of any organisation. An owner can add you, or you can create one through the API.'),
    'role_owner': N_('owner'),
    'role_agent': N_('agent'),
    'role_analyst': N_('analyst'),
    'you_are': N_('You are'),
    'filters': N_('Filters'),
    'query': N_('Query'),
    'all_queries': N_('All queries'),
    'sentiment': N_('Sentiment'),
    'any_sentiment': N_('Any sentiment'),
    'negative': N_('negative'),
    'neutral': N_('neutral'),
    'positive': N_('positive'),
    'unknown': N_('not labelled yet'),
    'period': N_('Period'),
    '24h': N_('last 24 hours'),
    '7d': N_('last 7 days'),
    '30d': N_('last 30 days'),
    'show': N_('Show'),
    'chart': N_('Mentions and sentiment over time'),
    'mentions': N_('Mentions'),
    'no_mentions': N_('No mentions yet. New ones appear here as they are posted.'),
    'alerts': N_('Alerts'),
    'no_alerts': N_('No alerts.'),
    'alert_volume': N_('Spike in mentions'),
    'alert_negative': N_('Spike in negative mentions'),
    'reach': N_('reach'),
    'followers': N_('followers'),
    'correct': N_('Correct the sentiment'),
    'corrected': N_('corrected by the team'),
    'pending': N_('labelling…'),
    'older': N_('Older'),
    'saved': N_('The sentiment has been corrected.'),
    'tracked': N_('Tracked queries'),
    'no_queries': N_('This organisation tracks nothing yet.'),
    'live': N_('Live: new mentions appear at the top.'),
}


class Texts(dict[str, str]):
    """The page's messages in one language, and counted phrases with its plural rules."""

    def __init__(self, lang: str) -> None:
        self.translations = translations(lang)
        super().__init__({key: self.translations.gettext(message) for key, message in MESSAGES.items()})

    def mentions_in_bucket(self, total: int, negative: int, neutral: int, positive: int) -> str:
        return self.translations.ngettext(
            "%(num)s mention: %(negative)s negative, %(neutral)s neutral, %(positive)s positive",
            "%(num)s mentions: %(negative)s negative, %(neutral)s neutral, %(positive)s positive",
            total,
        ) % {"num": total, "negative": negative, "neutral": neutral, "positive": positive}

    def alert_facts(self, observed: int, negative: int) -> str:
        return self.translations.ngettext(
            "%(num)s mention in the window (%(negative)s negative)",
            "%(num)s mentions in the window (%(negative)s negative)",
            observed,
        ) % {"num": observed, "negative": negative}


@cache
def _texts(lang: str) -> Texts:
    return Texts(lang)


def texts(v: Visitor) -> Texts:
    return _texts(v.lang)


def _id(raw: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 2**63:
        raise NotFound()
    return int(raw)


async def _acting(request: Request, v: Visitor, organisation_id: int) -> orgs.Acting:
    async with get_ctx(request).read() as s:
        return await orgs.acting_for(s, organisation_id, account_id=v.account_id)


# --- the chart ---------------------------------------------------------------------------------


def chart_svg(buckets: list[mention_reads.Bucket], t: Texts, *, width: int = 720, height: int = 180) -> Markup:
    """Stacked bars (negative, neutral, positive, not yet labelled) per time bucket, with
    a title per bar for screen readers and hover. Presentation attributes only (the CSP
    forbids inline styles)."""
    top = max((b.total for b in buckets), default=0) or 1
    left, bottom = 36, 22
    plot_w, plot_h = width - left - 4, height - bottom - 6
    n = max(1, len(buckets))
    bar_w = plot_w / n
    parts = [
        f'<svg class="listening-chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(t["chart"])}" xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{left}" y1="{6 + plot_h}" x2="{width - 4}" y2="{6 + plot_h}" stroke="currentColor" stroke-opacity="0.3"/>',
        f'<text x="{left - 4}" y="14" text-anchor="end" font-size="11" fill="currentColor">{top}</text>',
        f'<text x="{left - 4}" y="{6 + plot_h}" text-anchor="end" font-size="11" fill="currentColor">0</text>',
    ]
    for i, b in enumerate(buckets):
        x = left + i * bar_w
        y = 6 + plot_h
        label = t.mentions_in_bucket(b.total, b.counts["negative"], b.counts["neutral"], b.counts["positive"])
        parts.append(f'<g><title>{escape(b.start.strftime("%Y-%m-%d %H:%M"))} UTC: {escape(label)}</title>')
        for key in ("negative", "neutral", "positive", "unknown"):
            value = b.counts.get(key, 0)
            if not value:
                continue
            h = value / top * plot_h
            y -= h
            parts.append(
                f'<rect x="{x + 0.5:.1f}" y="{y:.1f}" width="{max(bar_w - 1, 1):.1f}" height="{h:.1f}" fill="{COLOURS[key]}"/>'
            )
        parts.append("</g>")
    if buckets:
        for b, anchor, x in ((buckets[0], "start", left), (buckets[-1], "end", width - 4)):
            parts.append(
                f'<text x="{x}" y="{height - 6}" text-anchor="{anchor}" font-size="11" fill="currentColor">'
                f'{escape(b.start.strftime("%d.%m %H:%M"))}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


# --- pages -------------------------------------------------------------------------------------


@router.get("/listening")
async def organisations_page(request: Request) -> Response:
    v = await visitor(request)
    if v.account_id is None:
        return login_redirect(request)
    async with get_ctx(request).read() as s:
        rows = await orgs.memberships(s, v.account_id)
    if len(rows) == 1:
        return see_other(f"/listening/{rows[0][0].id}")
    renderer = request.app.state.renderer
    items = [{"account": renderer.account(a), "role": role} for a, _o, role in rows]
    return await page(request, "listening/index.html", page_name="listening", t=texts(v), items=items)


def _filters(request: Request) -> dict[str, str]:
    q = request.query_params
    period = q.get("period", "24h")
    sentiment = q.get("sentiment", "")
    return {
        "query_id": q.get("query_id", "") if q.get("query_id", "").isdigit() else "",
        "sentiment": sentiment if sentiment in (*SENTIMENTS, mention_reads.UNKNOWN) else "",
        "period": period if period in PERIODS else "24h",
    }


@router.get("/listening/{organisation_id}")
async def listening_page(request: Request, organisation_id: str) -> Response:
    v = await visitor(request)
    if v.account_id is None:
        return login_redirect(request)
    oid = _id(organisation_id)
    acting = await _acting(request, v, oid)
    t = texts(v)
    chosen = _filters(request)
    span, bucket = PERIODS[chosen["period"]]
    now = datetime.now(timezone.utc)
    f = mention_reads.MentionFilter(
        query_id=int(chosen["query_id"]) if chosen["query_id"] else None,
        sentiment=chosen["sentiment"] or None,
        since=now - span,
    )
    max_id = request.query_params.get("max_id", "")
    renderer = request.app.state.renderer
    async with get_ctx(request).read() as s:
        _org, account = await orgs.get_organisation(s, oid)
        queries = await query_actions.list_queries(s, acting)
        buckets = await mention_reads.stats(s, acting, f, bucket, now=now)
        q = mention_reads.mentions_query(acting, f)
        if max_id.isdigit():
            q = q.where(Mention.id < int(max_id))
        rows = (await s.execute(q.order_by(Mention.id.desc()).limit(PAGE_SIZE))).all()
        items = await render_mentions(request, s, rows, v.account_id)
        recent = list(await s.scalars(
            select(ListeningAlert).where(ListeningAlert.organisation_id == oid).order_by(ListeningAlert.id.desc()).limit(10)
        ))
        alerts = await render_alerts(s, recent, get_ctx(request).settings.base_url)
    stream = f"/api/szpak/v1/organisations/{oid}/listening/stream"
    if chosen["query_id"]:
        stream += "?" + urlencode({"query_id": chosen["query_id"]})
    kept = {k: v_ for k, v_ in chosen.items() if v_}
    return await page(
        request, "listening/page.html", page_name="listening", t=t, org=renderer.account(account), acting=acting,
        queries=queries, chosen=chosen, periods=list(PERIODS), sentiments=[*SENTIMENTS, mention_reads.UNKNOWN],
        chart=chart_svg(buckets, t), totals=_totals(buckets), items=items, alerts=alerts,
        can_correct=acting.can(orgs.CAN_WRITE), stream_url=stream,
        live=not max_id, older=f"?{urlencode({**kept, 'max_id': items[-1]['id']})}" if len(items) == PAGE_SIZE else None,
        saved=request.query_params.get("saved") == "1", here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    )


def _totals(buckets: list[mention_reads.Bucket]) -> dict[str, int]:
    totals = {k: 0 for k in (*SENTIMENTS, mention_reads.UNKNOWN)}
    for b in buckets:
        for k, n in b.counts.items():
            totals[k] += n
    totals["total"] = sum(totals.values())
    return totals


@router.get("/_web/listening/{organisation_id}/mentions/{mention_id}")
async def mention_fragment(request: Request, organisation_id: str, mention_id: str) -> Response:
    """One mention as the page draws it (for the page script)."""
    v = await visitor(request)
    if v.account_id is None:
        raise NotFound()
    acting = await _acting(request, v, _id(organisation_id))
    async with get_ctx(request).read() as s:
        row = await mention_reads.get_mention(s, acting, _id(mention_id))
        [item] = await render_mentions(request, s, [row], v.account_id)
    return await page(
        request, "listening/fragment.html", t=texts(v), item=item, can_correct=acting.can(orgs.CAN_WRITE),
        sentiments=list(SENTIMENTS), here=f"/listening/{acting.organisation_id}",
    )


@router.post("/listening/{organisation_id}/mentions/{mention_id}/sentiment")
async def correct_sentiment(request: Request, organisation_id: str, mention_id: str) -> Response:
    form = await posted_form(request)
    v = await visitor(request)
    if v.account_id is None:
        return login_redirect(request)
    oid = _id(organisation_id)
    back = safe_next(text(form, "next"), f"/listening/{oid}")
    acting = await _acting(request, v, oid)
    # A refusal (an analyst, an unknown label) is a DomainError: the error page explains it.
    async with get_ctx(request).tx() as tx:
        await mention_reads.correct_sentiment(tx, acting, _id(mention_id), text(form, "sentiment"))
    sep = "&" if "?" in back else "?"
    return see_other(f"{back}{sep}saved=1#m-{_id(mention_id)}")


@router.get("/_web/listening/assets/{name}")
async def asset(name: str) -> Response:
    """The page's own script and styles (same origin, so the CSP allows them)."""
    types = {"listening.js": "text/javascript; charset=utf-8", "listening.css": "text/css; charset=utf-8"}
    if name not in types:
        raise NotFound()
    return FileResponse(ASSETS / name, media_type=types[name], headers={"Cache-Control": "public, max-age=300"})

