"""Languages of the web UI: catalogs, choosing the reader's language, and formatting
dates, numbers and relative times the way that reader expects.

Catalogs are gettext files under ``web/locale/<lang>/LC_MESSAGES/messages.po``
(source strings are English). The compiled ``.mo`` files are committed so that a
fresh clone needs no build step; when one is missing or older than its ``.po``
the ``.po`` is compiled in memory at startup instead, so an edited translation is
never silently ignored. ``python -m szpak.web.catalog`` extracts, updates and compiles.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_datetime, format_time, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("pl", "en")
#: Names shown in the language switcher, each in its own language.
LANGUAGE_NAMES = {"pl": "Polski", "en": "English"}
DEFAULT_TIMEZONE = "Europe/Warsaw"
#: Past this age a post shows its date instead of "3 days ago".
RELATIVE_LIMIT = timedelta(days=7)


def N_(message: str) -> str:
    """Marks a string in Python code for extraction; it is translated where it is shown."""
    return message


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"


def compile_po(po: Path) -> bytes:
    """The .mo bytes for a .po file (the same bytes ``catalog compile`` writes)."""
    with po.open("rb") as fh:
        catalog = read_po(fh)
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


@cache
def translations(lang: str) -> Translations:
    po = po_path(lang)
    mo = po.with_suffix(".mo")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        data = mo.read_bytes()
    else:
        data = compile_po(po)
    return Translations(io.BytesIO(data), domain="messages")


def negotiate(accept_language: str | None, default: str) -> str:
    """The best of our languages for an ``Accept-Language`` header (q-values honoured)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and q > 0:
            ranked.append((-q, index, primary))
    return sorted(ranked)[0][2] if ranked else default


def valid_timezone(name: str | None) -> str:
    """``name`` if it is a known IANA zone, else the default (cookies are user input)."""
    if name and len(name) < 64:
        try:
            ZoneInfo(name)
            return name
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return DEFAULT_TIMEZONE


# Babel formats a value in tens of microseconds; a page shows the same few dozen timestamps,
# counts and ages to every reader, so the results are cached (bounded, keyed by everything
# they depend on). Dates are cached per minute of the time zone, the most a page shows.


@lru_cache(maxsize=4096)
def _number(lang: str, value: int | float) -> str:
    return format_decimal(value, locale=lang)


@lru_cache(maxsize=4096)
def _full(lang: str, tz: str, minute: datetime) -> str:
    local = minute.astimezone(ZoneInfo(tz))
    return f"{format_date(local, 'long', locale=lang)}, {format_time(local, 'short', locale=lang)}"


@lru_cache(maxsize=4096)
def _date(lang: str, tz: str, moment: datetime, fmt: str) -> str:
    return format_date(moment.astimezone(ZoneInfo(tz)), fmt, locale=lang)


@lru_cache(maxsize=512)
def _ago(lang: str, unit: str, count: int, seconds: int) -> str:
    return format_timedelta(
        timedelta(seconds=-count * seconds), granularity=unit, threshold=1, add_direction=True, locale=lang,
    )


class Formatter:
    """Numbers, dates and relative times for one reader (language and time zone)."""

    def __init__(self, lang: str, tz: str = DEFAULT_TIMEZONE) -> None:
        self.lang = lang
        self.tz_name = valid_timezone(tz)
        self.tz = ZoneInfo(self.tz_name)
        self.gettext: Callable[[str], str] = translations(lang).gettext

    def number(self, value: int | float) -> str:
        return _number(self.lang, value)

    def datetime(self, value: datetime | str | None, fmt: str = "medium") -> str:
        moment = parse_time(value)
        return "" if moment is None else format_datetime(moment, fmt, tzinfo=self.tz, locale=self.lang)

    def date(self, value: datetime | str | None, fmt: str = "medium") -> str:
        moment = parse_time(value)
        if moment is None:
            return ""
        return _date(self.lang, self.tz_name, moment.replace(second=0, microsecond=0), fmt)

    def full(self, value: datetime | str | None) -> str:
        """Date and time to the minute: "14 marca 2026, 16:30", "March 14, 2026, 4:30 PM"."""
        moment = parse_time(value)
        return "" if moment is None else _full(self.lang, self.tz_name, moment.replace(second=0, microsecond=0))

    def relative(self, value: datetime | str | None, now: datetime | None = None) -> str:
        """"przed chwilą", "5 minut temu", "3 godziny temu", then the date after a week.

        The page script (static/szpak.js) uses the same thresholds with ``Intl`` so that the
        text it refreshes reads the same as the text the server wrote."""
        moment = parse_time(value)
        if moment is None:
            return ""
        age = ((now or datetime.now(timezone.utc)) - moment).total_seconds()
        if age < 45:
            return self.gettext("just now")
        if age >= RELATIVE_LIMIT.total_seconds():
            return self.date(moment)
        for unit, seconds, limit in (("minute", 60, 45 * 60), ("hour", 3600, 22 * 3600), ("day", 86400, None)):
            if limit is None or age < limit:
                count = max(1, int(age / seconds + 0.5))  # half up, as the script's Math.floor(x + .5)
                return _ago(self.lang, unit, count, seconds)
        return self.date(moment)  # pragma: no cover - the loop always returns

    def plural_samples(self, singular: str, plural: str) -> dict[str, str]:
        """The message in every CLDR plural category of this language, for the page script
        (``Intl.PluralRules`` picks the category, so the script needs no plural rules)."""
        locale = Locale.parse(self.lang)
        out: dict[str, str] = {}
        for n in (1, 2, 5, 0, 22, 100):
            category = locale.plural_form(n)
            if category not in out:
                out[category] = translations(self.lang).ngettext(singular, plural, n)
        return out


@lru_cache(maxsize=1024)
def formatter(lang: str, tz: str = DEFAULT_TIMEZONE) -> Formatter:
    """The Formatter for a language and zone, made once (it holds no per-request state)."""
    return Formatter(lang, tz)


def parse_time(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return _parse_iso(value)


@lru_cache(maxsize=8192)
def _parse_iso(value: str) -> datetime:
    """An ISO time from an entity (the same few hundred timestamps come back on every page)."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
