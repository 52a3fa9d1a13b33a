"""The listening page of the web UI: an organisation's mentions as they arrive (coloured
by sentiment, filtered by query, sentiment and period), a chart of volume and sentiment
over time (server-drawn SVG), recent alerts, and sentiment corrections from plain forms.

Members only (the session's own account must belong to the organisation). The page
works without JavaScript; ``listening.js`` (served here, CSP-clean: no inline script or
style) keeps the list live from the listening stream (server-sent events) and fetches
each new mention as an HTML fragment drawn by this module.

Strings are this page's own (``TEXTS``), in Polish and English, so the shared catalogs
need no entries for it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
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
from szpak.web.forms import login_redirect, posted_form, safe_next, see_other, text
from szpak.web.render import page
from szpak.web.session import Visitor, get_ctx, visitor

router = APIRouter(include_in_schema=False)

ASSETS = Path(__file__).parent / "templates" / "listening"
PERIODS = {"24h": (timedelta(hours=24), "hour"), "7d": (timedelta(days=7), "hour"), "30d": (timedelta(days=30), "day")}
PAGE_SIZE = 40
COLOURS = {"negative": "#c0392b", "neutral": "#8a8f98", "positive": "#2e8b57", "unknown": "#c8ccd2"}

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "listening": "Listening",
        "organisations": "Your organisations",
        "no_organisations": "You are not a member of any organisation. An owner can add you, or you can create one through the API.",
        "role_owner": "owner", "role_agent": "agent", "role_analyst": "analyst",
        "you_are": "You are",
        "filters": "Filters",
        "query": "Query", "all_queries": "All queries",
        "sentiment": "Sentiment", "any_sentiment": "Any sentiment",
        "negative": "negative", "neutral": "neutral", "positive": "positive", "unknown": "not labelled yet",
        "period": "Period", "24h": "last 24 hours", "7d": "last 7 days", "30d": "last 30 days",
        "show": "Show",
        "chart": "Mentions and sentiment over time",
        "chart_total": "%(total)s mentions: %(negative)s negative, %(neutral)s neutral, %(positive)s positive",
        "mentions": "Mentions",
        "no_mentions": "No mentions yet. New ones appear here as they are posted.",
        "alerts": "Alerts",
        "no_alerts": "No alerts.",
        "alert_volume": "Spike in mentions",
        "alert_negative": "Spike in negative mentions",
        "alert_facts": "%(observed)s mentions in the window (%(negative)s negative)",
        "reach": "reach", "followers": "followers",
        "correct": "Correct the sentiment", "corrected": "corrected by the team",
        "pending": "labelling…",
        "older": "Older",
        "saved": "The sentiment has been corrected.",
        "tracked": "Tracked queries",
        "no_queries": "This organisation tracks nothing yet.",
        "live": "Live: new mentions appear at the top.",
    },
    "pl": {
        "listening": "Nasłuch",
        "organisations": "Twoje organizacje",
        "no_organisations": "Nie należysz do żadnej organizacji. Może cię dodać jej właściciel; możesz też założyć organizację przez API.",
        "role_owner": "właściciel", "role_agent": "konsultant", "role_analyst": "analityk",
        "you_are": "Twoja rola",
        "filters": "Filtry",
        "query": "Zapytanie", "all_queries": "Wszystkie zapytania",
        "sentiment": "Wydźwięk", "any_sentiment": "Dowolny wydźwięk",
        "negative": "negatywny", "neutral": "neutralny", "positive": "pozytywny", "unknown": "jeszcze bez oceny",
        "period": "Okres", "24h": "ostatnie 24 godziny", "7d": "ostatnie 7 dni", "30d": "ostatnie 30 dni",
        "show": "Pokaż",
        "chart": "Wzmianki i wydźwięk w czasie",
        "chart_total": "%(total)s wzmianek: negatywne %(negative)s, neutralne %(neutral)s, pozytywne %(positive)s",
        "mentions": "Wzmianki",
        "no_mentions": "Na razie brak wzmianek. Nowe pojawią się tu od razu.",
        "alerts": "Alarmy",
        "no_alerts": "Brak alarmów.",
        "alert_volume": "Gwałtowny wzrost liczby wzmianek",
        "alert_negative": "Gwałtowny wzrost negatywnych wzmianek",
        "alert_facts": "%(observed)s wzmianek w oknie (negatywnych: %(negative)s)",
        "reach": "zasięg", "followers": "obserwujących",
        "correct": "Popraw wydźwięk", "corrected": "poprawione przez zespół",
        "pending": "ocenianie…",
        "older": "Starsze",
        "saved": "Wydźwięk poprawiony.",
        "tracked": "Śledzone zapytania",
        "no_queries": "Ta organizacja jeszcze niczego nie śledzi.",
        "live": "Na żywo: nowe wzmianki pojawiają się na górze.",
    },
}


def texts(v: Visitor) -> dict[str, str]:
    return TEXTS.get(v.lang, TEXTS["en"])


def _id(raw: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 2**63:
        raise NotFound()
    return int(raw)


async def _acting(request: Request, v: Visitor, organisation_id: int) -> orgs.Acting:
    async with get_ctx(request).read() as s:
        return await orgs.acting_for(s, organisation_id, account_id=v.account_id)


# --- the chart ---------------------------------------------------------------------------------


def chart_svg(buckets: list[mention_reads.Bucket], t: dict[str, str], *, width: int = 720, height: int = 180) -> Markup:
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
        label = t["chart_total"] % {
            "total": b.total, "negative": b.counts["negative"], "neutral": b.counts["neutral"],
            "positive": b.counts["positive"],
        }
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

