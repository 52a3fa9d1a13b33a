"""Filters: what an account asked not to see, or to be warned about (docs/api/filters.md).

Writes (each emits ``FiltersChanged`` for the owner, so caches and streams change at once):
``create_filter``, ``update_filter`` (with Rails-style ``keywords_attributes``),
``delete_filter``, ``add_keyword``/``update_keyword``/``delete_keyword``,
``add_status``/``delete_filter_status``.

Matching, as Mastodon: a keyword matches case-insensitively; a ``whole_word`` keyword
only between word boundaries (where the keyword itself begins or ends with a word
character), any other as a substring. Here both sides are first folded by
``szpak.text.fold``, so matching also ignores diacritics (``zolw`` finds ``Żółw``). The
text matched is a status's content (as text), its content warning, its media
descriptions and its poll options; for a boost, those of the boosted post. A filter
applies only in its contexts and until it expires.

``FilterSet`` is one account's active filters, compiled; ``FilterCache`` keeps them per
process, dropped on ``FiltersChanged``. ``apply`` works on rendered statuses: a match
adds a ``FilterResult`` to ``filtered``; a ``hide`` match removes the status.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.domain.context import Tx
from szpak.domain.errors import Invalid, NotFound
from szpak.domain.events import Event, FiltersChanged
from szpak.domain.visibility import can_see
from szpak.storage.models import FILTER_ACTIONS, FILTER_CONTEXTS, Filter, FilterKeyword, FilterStatus, Status
from szpak.text import fold, html_to_text

MAX_TITLE = 256
MAX_KEYWORD = 512
MAX_FILTERS = 300
MAX_KEYWORDS = 500
MAX_STATUSES = 1000
#: ``expires_in`` at most ten years.
MAX_EXPIRES_IN = 10 * 365 * 24 * 3600
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WORD_RE = re.compile(r"\w")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# -- entities ------------------------------------------------------------------------------

def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def keyword_entity(k: FilterKeyword) -> dict[str, Any]:
    return {"id": str(k.id), "keyword": k.keyword, "whole_word": bool(k.whole_word)}


def status_entity(fs: FilterStatus) -> dict[str, Any]:
    return {"id": str(fs.id), "status_id": str(fs.status_id)}


def filter_entity(
    f: Filter, keywords: Iterable[FilterKeyword] | None = None, statuses: Iterable[FilterStatus] | None = None
) -> dict[str, Any]:
    """Mastodon's v2 ``Filter``; without ``keywords``/``statuses`` when they are not given
    (as inside a ``FilterResult``)."""
    data: dict[str, Any] = {
        "id": str(f.id),
        "title": f.title,
        "context": list(f.context),
        "expires_at": iso(f.expires_at),
        "filter_action": f.action,
    }
    if keywords is not None:
        data["keywords"] = [keyword_entity(k) for k in keywords]
    if statuses is not None:
        data["statuses"] = [status_entity(s) for s in statuses]
    return data


def v1_entity(f: Filter, k: FilterKeyword) -> dict[str, Any]:
    """Mastodon's v1 ``Filter``: one keyword of a filter (its id is the keyword's)."""
    return {
        "id": str(k.id),
        "phrase": k.keyword,
        "context": list(f.context),
        "whole_word": bool(k.whole_word),
        "expires_at": iso(f.expires_at),
        "irreversible": f.action == "hide",
    }


# -- validation ----------------------------------------------------------------------------

def _text(value: Any, label: str, limit: int) -> str:
    if not isinstance(value, str):
        raise Invalid(f"Validation failed: {label} must be a string")
    value = value.strip()
    if not value:
        raise Invalid(f"Validation failed: {label} can't be blank")
    if len(value) > limit:
        raise Invalid(f"Validation failed: {label} is too long (maximum is {limit} characters)")
    if _CONTROL_RE.search(value):
        raise Invalid(f"Validation failed: {label} contains invalid characters")
    return value


def check_context(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        if not isinstance(item, str) or item not in FILTER_CONTEXTS:
            raise Invalid(f"Validation failed: Context must be some of {', '.join(FILTER_CONTEXTS)}")
        if item not in out:
            out.append(item)
    if not out:
        raise Invalid("Validation failed: Context can't be blank")
    return out


def check_action(value: Any) -> str:
    if value not in FILTER_ACTIONS:
        raise Invalid(f"Validation failed: Filter action must be one of {', '.join(FILTER_ACTIONS)}")
    return str(value)


_UNSET: Any = object()


def expiry(expires_in: Any) -> datetime | None:
    """``expires_in`` seconds from now; None, "" or 0: never."""
    if expires_in is None or expires_in == "":
        return None
    if isinstance(expires_in, bool):
        raise Invalid("Validation failed: Expires in must be a number of seconds")
    try:
        seconds = int(str(expires_in).strip())
    except ValueError:
        raise Invalid("Validation failed: Expires in must be a number of seconds") from None
    if seconds == 0:
        return None
    if seconds < 0 or seconds > MAX_EXPIRES_IN:
        raise Invalid("Validation failed: Expires in must be a positive number of seconds (at most ten years)")
    return utcnow() + timedelta(seconds=seconds)


def as_bool(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "t", "yes", "on"):
        return True
    if text in ("0", "false", "f", "no", "off"):
        return False
    raise Invalid("Validation failed: expected a boolean")


def _as_id(value: Any) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or not 0 < int(text) < 2**63:
        raise NotFound()
    return int(text)


def _keyword_items(raw: Any) -> list[Mapping[str, Any]]:
    if raw is None:
        return []
    if isinstance(raw, Mapping):  # {"0": {...}} from Rails-style indices
        raw = [raw[k] for k in sorted(raw, key=str)]
    if not isinstance(raw, list) or not all(isinstance(item, Mapping) for item in raw):
        raise Invalid("Validation failed: Keywords attributes must be a list of keywords")
    return raw


# -- reading -------------------------------------------------------------------------------

async def filters_of(session: AsyncSession, account_id: int) -> list[Filter]:
    return list(await session.scalars(select(Filter).where(Filter.account_id == account_id).order_by(Filter.id)))


async def owned_filter(session: AsyncSession, account_id: int, filter_id: int) -> Filter:
    row = await session.get(Filter, filter_id)
    if row is None or row.account_id != account_id:
        raise NotFound()
    return row


async def keywords_of(session: AsyncSession, filter_ids: Iterable[int]) -> dict[int, list[FilterKeyword]]:
    ids = list(filter_ids)
    out: dict[int, list[FilterKeyword]] = {i: [] for i in ids}
    if ids:
        for k in await session.scalars(select(FilterKeyword).where(FilterKeyword.filter_id.in_(ids)).order_by(FilterKeyword.id)):
            out[k.filter_id].append(k)
    return out


async def statuses_of(session: AsyncSession, filter_ids: Iterable[int]) -> dict[int, list[FilterStatus]]:
    ids = list(filter_ids)
    out: dict[int, list[FilterStatus]] = {i: [] for i in ids}
    if ids:
        for s in await session.scalars(select(FilterStatus).where(FilterStatus.filter_id.in_(ids)).order_by(FilterStatus.id)):
            out[s.filter_id].append(s)
    return out


async def full_entity(session: AsyncSession, f: Filter) -> dict[str, Any]:
    return filter_entity(f, (await keywords_of(session, [f.id]))[f.id], (await statuses_of(session, [f.id]))[f.id])


async def owned_keyword(session: AsyncSession, account_id: int, keyword_id: int) -> tuple[Filter, FilterKeyword]:
    row = (
        await session.execute(
            select(Filter, FilterKeyword).join(FilterKeyword, FilterKeyword.filter_id == Filter.id)
            .where(FilterKeyword.id == keyword_id, Filter.account_id == account_id)
        )
    ).first()
    if row is None:
        raise NotFound()
    return row[0], row[1]


async def owned_filter_status(session: AsyncSession, account_id: int, fs_id: int) -> tuple[Filter, FilterStatus]:
    row = (
        await session.execute(
            select(Filter, FilterStatus).join(FilterStatus, FilterStatus.filter_id == Filter.id)
            .where(FilterStatus.id == fs_id, Filter.account_id == account_id)
        )
    ).first()
    if row is None:
        raise NotFound()
    return row[0], row[1]


# -- writing -------------------------------------------------------------------------------

def _changed(tx: Tx, account_id: int) -> None:
    if not any(isinstance(e, FiltersChanged) and e.account_id == account_id for e in tx.events):
        tx.emit(FiltersChanged(account_id=account_id))


async def _count(tx: Tx, model: Any, column: Any, value: int) -> int:
    return int(await tx.session.scalar(select(func.count()).select_from(model).where(column == value)) or 0)


async def _apply_keywords(tx: Tx, f: Filter, items: list[Mapping[str, Any]]) -> None:
    """``keywords_attributes``: an item with ``id`` changes (or with ``_destroy`` removes)
    that keyword of this filter; one without adds a keyword."""
    s = tx.session
    for item in items:
        destroy = as_bool(item.get("_destroy"), False)
        if item.get("id") not in (None, ""):
            kid = _as_id(item["id"])
            row = await s.get(FilterKeyword, kid)
            if row is None or row.filter_id != f.id:
                raise NotFound()
            if destroy:
                await s.delete(row)
                continue
            if "keyword" in item:
                row.keyword = _text(item["keyword"], "Keyword", MAX_KEYWORD)
            if "whole_word" in item:
                row.whole_word = as_bool(item["whole_word"], row.whole_word)
        elif not destroy:
            s.add(FilterKeyword(
                filter_id=f.id, keyword=_text(item.get("keyword"), "Keyword", MAX_KEYWORD),
                whole_word=as_bool(item.get("whole_word"), True),
            ))
    await s.flush()
    if await _count(tx, FilterKeyword, FilterKeyword.filter_id, f.id) > MAX_KEYWORDS:
        raise Invalid(f"Validation failed: Too many keywords (maximum is {MAX_KEYWORDS})")


async def create_filter(
    tx: Tx, account_id: int, *, title: Any, context: Any, action: Any = None, expires_in: Any = None,
    keywords: Any = None,
) -> Filter:
    f = Filter(
        account_id=account_id,
        title=_text(title, "Title", MAX_TITLE),
        context=check_context(context),
        action=check_action(action or "warn"),
        expires_at=expiry(expires_in),
    )
    items = _keyword_items(keywords)
    if await _count(tx, Filter, Filter.account_id, account_id) >= MAX_FILTERS:
        raise Invalid(f"Validation failed: Too many filters (maximum is {MAX_FILTERS})")
    tx.session.add(f)
    await tx.session.flush()
    await _apply_keywords(tx, f, items)
    _changed(tx, account_id)
    return f


async def update_filter(
    tx: Tx, account_id: int, filter_id: int, *, title: Any = _UNSET, context: Any = _UNSET, action: Any = _UNSET,
    expires_in: Any = _UNSET, keywords: Any = None,
) -> Filter:
    """Change what is given (``_UNSET`` leaves a field; ``expires_in`` "" or null: never expires)."""
    f = await owned_filter(tx.session, account_id, filter_id)
    if title is not _UNSET and title is not None:
        f.title = _text(title, "Title", MAX_TITLE)
    if context is not _UNSET and context is not None:
        f.context = check_context(context)
    if action is not _UNSET and action is not None:
        f.action = check_action(action)
    if expires_in is not _UNSET:
        f.expires_at = expiry(expires_in)
    await _apply_keywords(tx, f, _keyword_items(keywords))
    await tx.session.flush()
    _changed(tx, account_id)
    return f


async def delete_filter(tx: Tx, account_id: int, filter_id: int) -> None:
    f = await owned_filter(tx.session, account_id, filter_id)
    await tx.session.execute(delete(FilterKeyword).where(FilterKeyword.filter_id == f.id))
    await tx.session.execute(delete(FilterStatus).where(FilterStatus.filter_id == f.id))
    await tx.session.delete(f)
    await tx.session.flush()
    _changed(tx, account_id)


async def add_keyword(tx: Tx, account_id: int, filter_id: int, *, keyword: Any, whole_word: Any) -> FilterKeyword:
    f = await owned_filter(tx.session, account_id, filter_id)
    row = FilterKeyword(filter_id=f.id, keyword=_text(keyword, "Keyword", MAX_KEYWORD), whole_word=as_bool(whole_word, True))
    if await _count(tx, FilterKeyword, FilterKeyword.filter_id, f.id) >= MAX_KEYWORDS:
        raise Invalid(f"Validation failed: Too many keywords (maximum is {MAX_KEYWORDS})")
    tx.session.add(row)
    await tx.session.flush()
    _changed(tx, account_id)
    return row


async def update_keyword(tx: Tx, account_id: int, keyword_id: int, *, keyword: Any, whole_word: Any) -> FilterKeyword:
    _, row = await owned_keyword(tx.session, account_id, keyword_id)
    if keyword is not None:
        row.keyword = _text(keyword, "Keyword", MAX_KEYWORD)
    if whole_word is not None:
        row.whole_word = as_bool(whole_word, row.whole_word)
    await tx.session.flush()
    _changed(tx, account_id)
    return row


async def delete_keyword(tx: Tx, account_id: int, keyword_id: int) -> None:
    _, row = await owned_keyword(tx.session, account_id, keyword_id)
    await tx.session.delete(row)
    await tx.session.flush()
    _changed(tx, account_id)


async def add_status(tx: Tx, account_id: int, filter_id: int, status_id: Any) -> FilterStatus:
    """Filter one status the owner can see (once per filter)."""
    f = await owned_filter(tx.session, account_id, filter_id)
    if status_id is None or status_id == "":
        raise Invalid("Validation failed: Status can't be blank")
    try:
        sid = _as_id(status_id)
    except NotFound:
        raise Invalid("Validation failed: Status must be a status id") from None
    st = await tx.session.get(Status, sid)
    if st is None or not await can_see(tx.session, st, account_id):
        raise NotFound()
    existing = await tx.session.scalar(
        select(FilterStatus).where(FilterStatus.filter_id == f.id, FilterStatus.status_id == sid)
    )
    if existing is not None:
        raise Invalid("Validation failed: Status has already been taken")
    if await _count(tx, FilterStatus, FilterStatus.filter_id, f.id) >= MAX_STATUSES:
        raise Invalid(f"Validation failed: Too many statuses (maximum is {MAX_STATUSES})")
    row = FilterStatus(filter_id=f.id, status_id=sid)
    tx.session.add(row)
    await tx.session.flush()
    _changed(tx, account_id)
    return row


async def delete_filter_status(tx: Tx, account_id: int, fs_id: int) -> None:
    _, row = await owned_filter_status(tx.session, account_id, fs_id)
    await tx.session.delete(row)
    await tx.session.flush()
    _changed(tx, account_id)


# -- v1 ------------------------------------------------------------------------------------

async def v1_create(
    tx: Tx, account_id: int, *, phrase: Any, context: Any, irreversible: Any, whole_word: Any, expires_in: Any,
) -> tuple[Filter, FilterKeyword]:
    """A v1 filter is a v2 filter titled by its one keyword."""
    keyword = _text(phrase, "Phrase", MAX_KEYWORD)
    f = await create_filter(
        tx, account_id, title=keyword[:MAX_TITLE], context=context,
        action="hide" if as_bool(irreversible, False) else "warn", expires_in=expires_in,
        keywords=[{"keyword": keyword, "whole_word": whole_word}],
    )
    k = await tx.session.scalar(select(FilterKeyword).where(FilterKeyword.filter_id == f.id))
    assert k is not None
    return f, k


async def v1_update(
    tx: Tx, account_id: int, keyword_id: int, *, phrase: Any, context: Any, irreversible: Any, whole_word: Any,
    expires_in: Any,
) -> tuple[Filter, FilterKeyword]:
    f, k = await owned_keyword(tx.session, account_id, keyword_id)
    if phrase is not None:
        k.keyword = _text(phrase, "Phrase", MAX_KEYWORD)
    if whole_word is not None:
        k.whole_word = as_bool(whole_word, k.whole_word)
    if context is not None:
        f.context = check_context(context)
    if irreversible is not None:
        f.action = "hide" if as_bool(irreversible, False) else "warn"
    if expires_in is not _UNSET:
        f.expires_at = expiry(expires_in)
    await tx.session.flush()
    _changed(tx, account_id)
    return f, k


async def v1_delete(tx: Tx, account_id: int, keyword_id: int) -> None:
    """Remove the keyword; a filter left with nothing to match goes too."""
    f, k = await owned_keyword(tx.session, account_id, keyword_id)
    await tx.session.delete(k)
    await tx.session.flush()
    left = await _count(tx, FilterKeyword, FilterKeyword.filter_id, f.id) + await _count(
        tx, FilterStatus, FilterStatus.filter_id, f.id
    )
    if not left:
        await tx.session.delete(f)
        await tx.session.flush()
    _changed(tx, account_id)


# -- matching ------------------------------------------------------------------------------

def keyword_pattern(keyword: str, whole_word: bool) -> str:
    """The regular expression (over folded text) of one keyword."""
    folded = fold(keyword).strip()
    body = re.escape(folded)
    if not whole_word or not folded:
        return body
    start = r"(?<!\w)" if _WORD_RE.match(folded[0]) else ""
    end = r"(?!\w)" if _WORD_RE.match(folded[-1]) else ""
    return start + body + end


@dataclass
class CompiledFilter:
    id: int
    action: str
    contexts: frozenset[str]
    expires_at: datetime | None
    entity: dict[str, Any]
    keywords: list[tuple[str, re.Pattern[str]]]
    status_ids: frozenset[int]

    def active(self, context: str, now: datetime) -> bool:
        return context in self.contexts and (self.expires_at is None or self.expires_at > now)

    def result(self, folded: str, status_ids: Iterable[int]) -> dict[str, Any] | None:
        words = [kw for kw, pattern in self.keywords if pattern.search(folded)]
        statuses = [str(i) for i in status_ids if i in self.status_ids]
        if not words and not statuses:
            return None
        return {"filter": self.entity, "keyword_matches": words or None, "status_matches": statuses or None}


@dataclass
class FilterSet:
    """One account's filters, compiled (expired ones included: expiry is checked on use)."""

    filters: list[CompiledFilter] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.filters)

    def active(self, context: str, now: datetime | None = None) -> list[CompiledFilter]:
        now = now or utcnow()
        return [f for f in self.filters if f.active(context, now)]

    def results(self, context: str, folded: str, status_ids: Iterable[int], now: datetime | None = None) -> list[dict[str, Any]]:
        ids = list(status_ids)
        return [r for f in self.active(context, now) if (r := f.result(folded, ids)) is not None]

    def hides(self, context: str, folded: str, status_ids: Iterable[int], now: datetime | None = None) -> bool:
        ids = list(status_ids)
        return any(f.action == "hide" and f.result(folded, ids) is not None for f in self.active(context, now))


async def load_filter_set(session: AsyncSession, account_id: int) -> FilterSet:
    rows = await filters_of(session, account_id)
    if not rows:
        return FilterSet()
    keywords = await keywords_of(session, [f.id for f in rows])
    statuses = await statuses_of(session, [f.id for f in rows])
    out = FilterSet()
    for f in rows:
        out.filters.append(CompiledFilter(
            id=f.id, action=f.action, contexts=frozenset(f.context), expires_at=f.expires_at,
            entity=filter_entity(f),
            keywords=[(k.keyword, re.compile(keyword_pattern(k.keyword, k.whole_word))) for k in keywords[f.id]],
            status_ids=frozenset(s.status_id for s in statuses[f.id]),
        ))
    return out


def status_text(*, content_html: str = "", spoiler: str = "", extra: Iterable[str] = ()) -> str:
    """The folded text a filter is matched against (parts joined by newlines, so that
    no keyword matches across two of them)."""
    parts = [spoiler, html_to_text(content_html) if content_html else "", *extra]
    return fold("\n".join(p for p in parts if p))


def rendered_text(data: Mapping[str, Any]) -> str:
    """``status_text`` of a rendered Status entity (the boosted post for a boost)."""
    inner = data.get("reblog") or data
    extra: list[str] = []
    for media in inner.get("media_attachments") or ():
        if isinstance(media, Mapping) and isinstance(media.get("description"), str):
            extra.append(media["description"])
    poll = inner.get("poll")
    if isinstance(poll, Mapping):
        for option in poll.get("options") or ():
            if isinstance(option, Mapping) and isinstance(option.get("title"), str):
                extra.append(option["title"])
    return status_text(content_html=inner.get("content") or "", spoiler=inner.get("spoiler_text") or "", extra=extra)


def _rendered_ids(data: Mapping[str, Any]) -> list[int]:
    ids = []
    for item in (data, data.get("reblog")):
        if isinstance(item, Mapping) and str(item.get("id", "")).isdigit():
            ids.append(int(item["id"]))
    return ids


def apply(
    filters: FilterSet, context: str, items: list[dict[str, Any]], now: datetime | None = None, *,
    owner: int | None = None, drop_hidden: bool = True,
) -> list[dict[str, Any]]:
    """Rendered statuses for the filters' ``owner`` in ``context``: ``filtered`` filled in
    (on the boost and on the boosted post), those a ``hide`` filter matches left out (with
    ``drop_hidden=False``, for posts asked for by id, kept with the hide result in ``filtered``,
    as Mastodon answers them). The owner's own posts are never filtered (as in Mastodon)."""
    active = filters.active(context, now)
    if not active:
        return items
    mine = str(owner) if owner is not None else None
    out = []
    for data in items:
        inner = data.get("reblog") or data
        if mine is not None and isinstance(inner.get("account"), Mapping) and inner["account"].get("id") == mine:
            out.append(data)
            continue
        folded = rendered_text(data)
        ids = _rendered_ids(data)
        results = [r for f in active if (r := f.result(folded, ids)) is not None]
        if drop_hidden and any(r["filter"]["filter_action"] == "hide" for r in results):
            continue
        if results:
            data = dict(data)
            data["filtered"] = results
            if isinstance(data.get("reblog"), dict):
                data["reblog"] = {**data["reblog"], "filtered": results}
        out.append(data)
    return out


class FilterCache:
    """Per-process compiled filters by account, dropped on ``FiltersChanged`` (every process
    gets it through the bus). With ``enabled=False`` (several processes, no Redis) every
    request reads them."""

    TTL = 60.0

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._entries: dict[int, tuple[float, FilterSet]] = {}
        self._generations: dict[int, int] = {}

    async def get(self, session: AsyncSession, account_id: int) -> FilterSet:
        hit = self._entries.get(account_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        generation = self._generations.get(account_id, 0)
        found = await load_filter_set(session, account_id)
        if self.enabled and self._generations.get(account_id, 0) == generation:
            if len(self._entries) > 50_000:
                self._entries.clear()
            self._entries[account_id] = (time.monotonic() + self.TTL, found)
        return found

    def drop(self, account_id: int) -> None:
        self._entries.pop(account_id, None)
        self._generations[account_id] = self._generations.get(account_id, 0) + 1

    async def on_event(self, event: Event) -> None:
        if isinstance(event, FiltersChanged):
            self.drop(event.account_id)

    async def apply(
        self, session: AsyncSession, viewer_id: int | None, context: str | None, items: list[dict[str, Any]],
        *, drop_hidden: bool = True,
    ) -> list[dict[str, Any]]:
        if viewer_id is None or context is None or not items:
            return items
        return apply(await self.get(session, viewer_id), context, items, owner=viewer_id, drop_hidden=drop_hidden)


def apply_to_notifications(
    filters: FilterSet, items: list[dict[str, Any]], owner: int, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Rendered notifications: the viewer's ``notifications`` filters over their statuses
    (a ``hide`` match drops the notification, a ``warn`` match fills ``filtered``)."""
    if not filters.active("notifications", now):
        return items
    out = []
    for n in items:
        status = n.get("status")
        if not isinstance(status, dict):
            out.append(n)
            continue
        kept = apply(filters, "notifications", [status], now, owner=owner)
        if kept:
            out.append({**n, "status": kept[0]} if kept[0] is not status else n)
    return out


async def filter_notifications(
    cache: FilterCache | None, session: AsyncSession, viewer_id: int, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    if cache is None or not items:
        return items
    return apply_to_notifications(await cache.get(session, viewer_id), items, viewer_id)
