"""The smaller instance documents: ``/api/v1/instance/peers``, ``activity``, ``rules``,
``languages``, ``extended_description``, ``privacy_policy``, ``terms_of_service`` and
``translation_languages`` (docs/api/instance.md).

All public information, as in Mastodon: no token is looked at. The rules come from
``SZPAK_RULES`` (:func:`rules`); they are also part of ``/api/v1/instance`` and
``/api/v2/instance``.
"""

from __future__ import annotations

import html
import time
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from sqlalchemy import case, func, select, union_all

from szpak.api.deps import current_ctx
from szpak.api.serializers import iso
from szpak.config import Settings
from szpak.domain.context import Context
from szpak.storage.ids import id_for_time
from szpak.storage.models import AccessToken, Status, User, WebSession

router = APIRouter()

#: Weeks in /api/v1/instance/activity, newest first.
ACTIVITY_WEEKS = 12
ACTIVITY_TTL = 60.0
WEEK = timedelta(days=7)
#: When the built-in texts below were last changed (``updated_at`` of the documents).
TEXTS_UPDATED = datetime(2026, 11, 27, tzinfo=timezone.utc)

#: The built-in rules: Polish text, English hint (the instance's two languages).
DEFAULT_RULES: list[dict[str, str]] = [
    {
        "text": "Szanuj innych: bez nękania, gróźb i mowy nienawiści.",
        "hint": "Be respectful: no harassment, threats or hate speech.",
    },
    {
        "text": "Bez spamu i masowej, niezamówionej reklamy.",
        "hint": "No spam and no mass unsolicited advertising.",
    },
    {
        "text": "Treści drastyczne i dla dorosłych oznaczaj ostrzeżeniem.",
        "hint": "Put a content warning on graphic and adult content.",
    },
    {
        "text": "Nie podszywaj się pod inne osoby, firmy ani instytucje.",
        "hint": "Do not impersonate other people, companies or institutions.",
    },
    {
        "text": "Przestrzegaj polskiego prawa.",
        "hint": "Follow Polish law.",
    },
]


def parse_rules(raw: str) -> list[dict[str, str]]:
    """``SZPAK_RULES``: a JSON list of strings or ``{"text", "hint"}`` objects, or plain
    text with one rule per line; empty means :data:`DEFAULT_RULES`."""
    raw = raw.strip()
    if not raw:
        return DEFAULT_RULES
    items: list[Any]
    if raw.startswith("["):
        try:
            loaded = orjson.loads(raw)
        except orjson.JSONDecodeError:
            loaded = None
        items = loaded if isinstance(loaded, list) else raw.splitlines()
    else:
        items = raw.splitlines()
    out = []
    for item in items:
        if isinstance(item, dict):
            text, hint = str(item.get("text", "")).strip(), str(item.get("hint", "") or "").strip()
        else:
            text, hint = str(item).strip(), ""
        if text:
            out.append({"text": text, "hint": hint})
    return out


def rules(settings: Settings) -> list[dict[str, Any]]:
    """The Rule entities, ids counting from 1 in the configured order."""
    return [
        {"id": str(i), "text": r["text"], "hint": r["hint"], "translations": {}}
        for i, r in enumerate(parse_rules(settings.rules), start=1)
    ]


@lru_cache(maxsize=1)
def languages() -> list[dict[str, str]]:
    """Every ISO 639-1 language with its English name (from Babel's CLDR data)."""
    from babel import Locale

    names = Locale("en").languages
    return [{"code": code, "name": names[code]} for code in sorted(names) if len(code) == 2 and code.isalpha()]


@router.get("/api/v1/instance/peers")
async def peers() -> Any:
    """Szpak does not federate (yet), so it knows no other servers."""
    return []


@router.get("/api/v1/instance/domain_blocks")
async def instance_domain_blocks() -> Any:
    """The servers this one moderates (Mastodon's DomainBlock list). Szpak does not federate,
    so it blocks none. Public: Mastodon documents the route as public unless the admin limits
    the list to users or hides it; Szpak has no such setting, and an empty list hides nothing."""
    return []


@router.get("/api/v1/instance/rules")
async def instance_rules(ctx: Context = Depends(current_ctx)) -> Any:
    return rules(ctx.settings)


@router.get("/api/v1/instance/languages")
async def instance_languages() -> Any:
    return languages()


@router.get("/api/v1/instance/translation_languages")
async def translation_languages() -> Any:
    """No translation service is configured, so there are no language pairs."""
    return {}


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the week ``moment`` falls in."""
    day = moment.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


async def weekly_activity(ctx: Context, now: datetime | None = None) -> list[dict[str, str]]:
    """12 weeks, newest first: local statuses created (posts and reblogs, every
    visibility: these are totals, nothing about any post is shown), sign-ins (distinct
    users who got a new access token or a web session that week; Szpak does not record
    each use of a token) and registrations. Three grouped queries."""
    starts = [week_start(now or datetime.now(timezone.utc)) - i * WEEK for i in range(ACTIVITY_WEEKS)]
    out = [{"week": str(int(s.timestamp())), "statuses": "0", "logins": "0", "registrations": "0"} for s in starts]

    def by_time(column: Any) -> Any:
        return case(*[(column >= s, i) for i, s in enumerate(starts)])

    status_bucket = case(*[(Status.id >= id_for_time(s), i) for i, s in enumerate(starts)])
    statuses = (
        select(status_bucket, func.count())
        .where(Status.local.is_(True), Status.id >= id_for_time(starts[-1]))
        .group_by(status_bucket)
    )
    user_bucket = by_time(User.created_at)
    registrations = (
        select(user_bucket, func.count()).where(User.created_at >= starts[-1]).group_by(user_bucket)
    )
    sign_ins = union_all(
        select(AccessToken.user_id.label("user_id"), by_time(AccessToken.created_at).label("bucket")).where(
            AccessToken.user_id.is_not(None), AccessToken.created_at >= starts[-1]
        ),
        select(WebSession.user_id.label("user_id"), by_time(WebSession.created_at).label("bucket")).where(
            WebSession.created_at >= starts[-1]
        ),
    ).subquery()
    logins = select(sign_ins.c.bucket, func.count(func.distinct(sign_ins.c.user_id))).group_by(sign_ins.c.bucket)
    async with ctx.read() as s:
        for key, query in (("statuses", statuses), ("registrations", registrations), ("logins", logins)):
            for index, count in (await s.execute(query)).all():
                if index is not None:
                    out[int(index)][key] = str(int(count))
    return out


@router.get("/api/v1/instance/activity")
async def activity(request: Request, ctx: Context = Depends(current_ctx)) -> Any:
    """Recounted at most once a minute per process."""
    cached: tuple[float, list[dict[str, str]]] | None = getattr(request.app.state, "instance_activity", None)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    fresh = await weekly_activity(ctx)
    request.app.state.instance_activity = (time.monotonic() + ACTIVITY_TTL, fresh)
    return fresh


def _rules_html(settings: Settings) -> str:
    items = "".join(
        f"<li>{html.escape(r['text'])}" + (f" <em>{html.escape(r['hint'])}</em>" if r["hint"] else "") + "</li>"
        for r in parse_rules(settings.rules)
    )
    return f"<ol>{items}</ol>" if items else ""


def extended_description_html(settings: Settings) -> str:
    title = html.escape(settings.title)
    contact = (
        f'<p>Kontakt / Contact: <a href="mailto:{html.escape(settings.contact_email)}">'
        f"{html.escape(settings.contact_email)}</a></p>"
        if settings.contact_email
        else ""
    )
    return (
        f"<p>{title} to serwer Szpaka: mikroblogu w czasie rzeczywistym dla mówiących po polsku "
        f"i angielsku, zgodnego z aplikacjami Mastodona.</p>"
        f"<p>{title} is a Szpak server: a real-time microblog for Polish and English speakers "
        f"that works with Mastodon apps.</p>"
        f"<h2>Zasady / Rules</h2>{_rules_html(settings)}{contact}"
    )


PRIVACY_POLICY_HTML = (
    "<h1>Polityka prywatności</h1>"
    "<p>Serwer przechowuje to, co podajesz przy rejestracji (nazwę użytkownika, adres e-mail, "
    "skrót hasła), twoje wpisy i profil oraz tokeny dostępu aplikacji. Wpisy publiczne widzi każdy; "
    "wpisy dla obserwujących i bezpośrednie widzą tylko ich odbiorcy, ale administrator serwera ma "
    "dostęp do bazy danych. Serwer nie pobiera stron, do których linkujesz, i nie wysyła danych "
    "do innych serwerów.</p>"
    "<h1>Privacy policy</h1>"
    "<p>The server stores what you give when signing up (user name, e-mail address, a hash of "
    "the password), your posts and profile, and the access tokens of your apps. Public posts are "
    "visible to everyone; followers-only and direct posts only to their audience, but the server's "
    "administrator has access to the database. The server does not fetch the pages you link to "
    "and sends no data to other servers.</p>"
)

TERMS_HTML = (
    "<h1>Warunki korzystania</h1>"
    "<p>Korzystając z serwera, przestrzegasz jego zasad (<code>/api/v1/instance/rules</code>). "
    "Moderatorzy mogą usuwać wpisy i zawieszać konta, które je łamią.</p>"
    "<h1>Terms of service</h1>"
    "<p>By using this server you follow its rules (<code>/api/v1/instance/rules</code>). "
    "Moderators may remove posts and suspend accounts that break them.</p>"
)


@router.get("/api/v1/instance/extended_description")
async def extended_description(ctx: Context = Depends(current_ctx)) -> Any:
    return {"updated_at": iso(TEXTS_UPDATED), "content": extended_description_html(ctx.settings)}


@router.get("/api/v1/instance/privacy_policy")
async def privacy_policy() -> Any:
    return {"updated_at": iso(TEXTS_UPDATED), "content": PRIVACY_POLICY_HTML}


@router.get("/api/v1/instance/terms_of_service")
async def terms_of_service() -> Any:
    return {
        "effective_date": TEXTS_UPDATED.strftime("%Y-%m-%d"),
        "effective": True,
        "content": TERMS_HTML,
        "succeeded_by": None,
    }
