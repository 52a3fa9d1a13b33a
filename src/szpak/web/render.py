"""Rendering pages: one Jinja2 environment per language, filters, and the page response.

Templates receive Mastodon entities as the API renders them (``app.state.presenter``
and ``renderer``), so the web UI and every other client show the same data.
Autoescaping is on; the only HTML inserted unescaped is post and bio HTML, which
``safe_html`` passes through the same nh3 allow-list the domain uses when it stores
it (a second line of defence for rows written by other paths, e.g. imports).

A home page draws twenty post cards, so the per-card work is kept small: Babel
results and sanitised HTML are cached (``i18n.py``, ``_sanitized``), whole cards are
drawn once per distinct view and reused (``cards.py``), and dict entities are read
key-first (``_Environment``). bench/web_home.py measures the result.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context as JinjaContext
from markupsafe import Markup
from starlette.responses import HTMLResponse
from starlette.routing import Match

from szpak.domain.formatting import sanitize
from szpak.web.cards import CARDS_MARK, Cards, Composer, FrameItems, Parts
from szpak.web.i18n import LANGUAGE_NAMES, LANGUAGES, N_, Formatter, translations
from szpak.web.icons import SPRITE, icon
from szpak.web.session import Visitor, apply_cookies, get_ctx, visitor, web_state

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
HTML_HEADERS = {"Cache-Control": "no-store", "Vary": "Cookie, Accept-Language"}


@cache
def static_version(name: str) -> str:
    """A content hash for cache-busting ``/static/<name>?v=...`` (files change only on deploy)."""
    try:
        return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:10]
    except OSError:
        return "0"


def static_url(name: str) -> str:
    return f"/static/{name}?v={static_version(name)}"


@pass_context
def _number(ctx: JinjaContext, value: int | float) -> str:
    return ctx["v"].fmt.number(value or 0)  # type: ignore[no-any-return]


@pass_context
def _relative(ctx: JinjaContext, value: str | None) -> str:
    return ctx["v"].fmt.relative(value)  # type: ignore[no-any-return]


@pass_context
def _datetime(ctx: JinjaContext, value: str | None, fmt: str = "medium") -> str:
    return ctx["v"].fmt.datetime(value, fmt)  # type: ignore[no-any-return]


@pass_context
def _full(ctx: JinjaContext, value: str | None) -> str:
    return ctx["v"].fmt.full(value)  # type: ignore[no-any-return]


@pass_context
def _date(ctx: JinjaContext, value: str | None, fmt: str = "medium") -> str:
    return ctx["v"].fmt.date(value, fmt)  # type: ignore[no-any-return]


@lru_cache(maxsize=4096)
def _sanitized(value: str) -> Markup:
    return Markup(sanitize(value))


def _safe_html(value: str | None) -> Markup:
    """Post and bio HTML through the allow-list again (cached: popular posts repeat on every page)."""
    return _sanitized(value or "")


def _name(account: dict[str, Any]) -> str:
    return account.get("display_name") or account["username"]  # type: ignore[no-any-return]


def _local_path(url: str | None, base: str) -> str:
    """Our own absolute URLs as paths, so links work under whatever host the page was loaded."""
    if url and url.startswith(base + "/"):
        return url[len(base):]
    return url or "#"


def _translator(lang: str) -> Callable[[str | None], str]:
    gettext = translations(lang).gettext

    def tr(message: str | None) -> str:
        return gettext(message) if message else ""  # gettext("") would be the catalog header

    return tr


class _Environment(Environment):
    """Looks keys up before attributes on plain dicts: pages are drawn from the API's
    entity dicts, and Jinja's default (attribute first) raises and catches an
    AttributeError for every ``status.account`` on a page."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


def _fast_gettext(lang: str) -> tuple[Callable[..., Markup], Callable[..., Markup]]:
    """``_`` and ``ngettext`` with jinja2.ext.i18n's "newstyle" meaning (the message is
    trusted markup, the variables are escaped into it), minus its cost: a page asks for
    some forty literal messages, and each went through two context calls, a Markup and a
    ``%``. A message without variables is looked up once and kept."""
    catalog = translations(lang)
    plain: dict[str, Markup] = {}

    def gettext(message: str, /, **variables: Any) -> Markup:
        if not variables:
            hit = plain.get(message)
            if hit is None:
                hit = plain[message] = Markup(catalog.gettext(message)) % {}
            return hit
        return Markup(catalog.gettext(message)) % variables

    def ngettext(singular: str, plural: str, n: int, /, **variables: Any) -> Markup:
        variables.setdefault("num", n)
        return Markup(catalog.ngettext(singular, plural, n)) % variables

    return gettext, ngettext


def make_env(lang: str) -> Environment:
    """The environment for one language. ``_``/``ngettext`` (from jinja2.ext.i18n) are for
    literal messages: their result is trusted markup. Messages chosen at run time (errors,
    labels) go through ``tr``, whose result is escaped like any other value, because a
    domain error text may quote what a user typed."""
    env = _Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
        auto_reload=False,  # templates change only with a deploy: no stat() per page
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    gettext, ngettext = _fast_gettext(lang)
    env.globals.update(_=gettext, gettext=gettext, ngettext=ngettext)
    env.filters.update(
        number=_number, reltime=_relative, datetime=_datetime, date=_date, full=_full, safe_html=_safe_html, name=_name,
    )
    env.globals.update(
        static=static_url, icon=icon, icon_sprite=SPRITE, languages=LANGUAGES, language_names=LANGUAGE_NAMES, tr=_translator(lang),
        card=(cards := Cards(env)),
        cards=cards.many,
        compose_box=Composer(env),
        part=Parts(env),
    )
    return env


@cache
def environment(lang: str) -> Environment:
    return make_env(lang)


KIND_LABELS = {"brand": N_("Brand"), "media": N_("Media"), "institution": N_("Institution")}
VISIBILITY_LABELS = {
    "public": N_("Public"), "unlisted": N_("Unlisted"), "private": N_("Followers only"), "direct": N_("Mentioned only"),
}


@cache
def js_messages(lang: str) -> str:
    """Strings the page script shows, in the reader's language (as a data attribute)."""
    gettext = translations(lang).gettext
    fmt = Formatter(lang)
    return json.dumps(
        {
            "justNow": gettext("just now"),
            "newPosts": fmt.plural_samples("Show %(num)s new post", "Show %(num)s new posts"),
            "newNotifications": fmt.plural_samples("%(num)s new notification", "%(num)s new notifications"),
            "sending": gettext("Sending…"),
            "failed": gettext("Something went wrong. Please try again."),
            "live": gettext("Live updates are on"),
            "offline": gettext("Live updates are off; reconnecting…"),
            "imageInvalid": gettext("That file is not an image we can use (PNG, JPEG, GIF or WebP)."),
            "imageTooLarge": gettext("That image is too large."),
        },
        ensure_ascii=False,
    )


def serves(app: Any, method: str, path: str) -> bool:
    """Whether some route of ``app`` answers ``method path`` (asked once, then remembered)."""
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": [], "app": app}
    return any(route.matches(scope)[0] == Match.FULL for route in app.router.routes)


def media_uploads(request: Request) -> bool:
    """The compose box offers an image only where the server takes uploads."""
    state = web_state(request)
    if state.media_uploads is None:
        state.media_uploads = serves(request.app, "POST", "/api/v2/media")
    return state.media_uploads


def _me(request: Request, v: Visitor) -> dict[str, Any] | None:
    """The reader's Account entity, rendered once per loaded account object: the session
    cache hands out the same object until it reloads it (at most 30 s, or at once when the
    account changes), so the rendering is reused exactly as long as its source is."""
    account = v.account
    if account is None:
        return None
    renderer = request.app.state.renderer
    memo = web_state(request).me
    hit = memo.get(account.id)
    if hit is not None and hit[0] is account and hit[1] is renderer:
        return hit[2]  # type: ignore[no-any-return]
    if len(memo) >= 10_000:
        memo.clear()
    data = renderer.account(account)
    memo[account.id] = (account, renderer, data)
    return data  # type: ignore[no-any-return]


def base_context(request: Request, v: Visitor) -> dict[str, Any]:
    settings = get_ctx(request).settings
    path = request.scope["path"]
    if request.scope.get("query_string") or "?" in path or "#" in path or "\\" in path:
        path = request.url.path  # quoting as Starlette's URL does it (building one costs ~15 us)
        full_path = path + (f"?{request.url.query}" if request.url.query else "")
    else:
        full_path = path
    return {
        "v": v,
        "me": _me(request, v),
        "csrf": v.csrf,
        "lang": v.lang,
        "path": path,
        "full_path": full_path,
        #: Where log-in and the language switch return to (pages may narrow it).
        "return_path": full_path,
        "instance_title": settings.title,
        "max_chars": settings.max_status_chars,
        "max_image_bytes": settings.media_image_size_limit,
        "streaming_url": settings.streaming_url,
        "base_url": settings.base_url,
        "kind_labels": KIND_LABELS,
        "visibility_labels": VISIBILITY_LABELS,
        "local": lambda url: _local_path(url, settings.base_url),
        "js_messages": js_messages(v.lang),
        "registrations": settings.registrations,
        "media_uploads": media_uploads(request),
    }


async def page(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """Render a full page (or a fragment) for this request's reader."""
    v = await visitor(request)
    return render_for(request, v, template, status=status, **context)


def render_for(request: Request, v: Visitor, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """Synchronous rendering for a reader already loaded (the OAuth hook is synchronous)."""
    html = environment(v.lang).get_template(template).render({**base_context(request, v), **context})
    response = HTMLResponse(html, status_code=status, headers=HTML_HEADERS)
    apply_cookies(request, response, v)
    return response


#: Context values a frame's key leaves out: the reader (its parts that show are added by
#: ``_frame_key``), the listing (its cards are spliced in), and per-process constants.
_FRAME_SKIP = frozenset({"v", "me", "local", "listing", "kind_labels", "visibility_labels"})
_SCALARS = (str, int, bool, float, type(None))
FRAME_CAPACITY = 2048
_frames: dict[tuple[Any, ...], tuple[bytes, bytes]] = {}


def _frame_key(template: str, ctx: dict[str, Any]) -> tuple[Any, ...] | None:
    """Everything a timeline page's frame shows, as a key (None: a value that cannot be one).

    The frame is the page around the cards: ``base.html``, the header, compose box and
    footer. It reads the scalar context values (the reader's CSRF token, language, path,
    settings...), of the reader's account its id, URL, avatar and handle, and of the
    visitor the page token and membership (base.html); of the listing only whether it has
    items and the next page. All of that is the key, so the frame is reused exactly while
    nothing it shows changes: per reader and language, and a new avatar or handle, a new
    session or a language switch is simply another key."""
    parts: list[Any] = [template]
    for name, value in ctx.items():
        if name in _FRAME_SKIP:
            continue
        if type(value) not in _SCALARS:
            return None
        parts.append((name, value))
    v, me, listing = ctx["v"], ctx["me"], ctx["listing"]
    signed_in = v.signed_in
    parts.append((
        v.lang, v.fmt.tz_name, signed_in.token if signed_in else None, signed_in.member if signed_in else None,
        (me["id"], me["url"], me["avatar"], me["acct"]) if me is not None else None,
        bool(listing.items), listing.next_max_id,
    ))
    return tuple(parts)


def render_timeline(request: Request, v: Visitor, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A timeline page (``context["listing"]``) as a cached frame with its cards spliced in.

    The frame is drawn once per ``_frame_key`` with ``cards()`` answering a mark, and kept
    split at it; each request then only adds the cards (``Cards.timeline``: cached per post
    and reader) with the reader's CSRF token and page address. The result is the same
    text a full render gives (tests/web/test_card_cache.py)."""
    ctx = {**base_context(request, v), **context}
    key = _frame_key(template, ctx)
    env = environment(v.lang)
    html: str | bytes
    if key is None:
        html = env.get_template(template).render(ctx)
    else:
        frame = _frames.get(key)
        listing = ctx["listing"]
        if frame is None:
            stand_in = type(listing)(FrameItems([None] if listing.items else []), listing.next_max_id)
            head, mark, tail = env.get_template(template).render({**ctx, "listing": stand_in}).partition(CARDS_MARK)
            frame = (head.encode(), tail.encode()) if mark else None
            if frame is not None:
                if len(_frames) >= FRAME_CAPACITY:
                    del _frames[next(iter(_frames))]
                _frames[key] = frame
        if frame is None:
            html = env.get_template(template).render(ctx)
        else:
            me = ctx["me"]
            cards: Cards = env.globals["card"]  # type: ignore[assignment]
            body = cards.timeline(
                (v.fmt, ctx["local"], me["id"] if me is not None else None, ctx.get("filter_context"), datetime.now(timezone.utc)),
                listing.items, ctx["base_url"], KIND_LABELS, VISIBILITY_LABELS, ctx["csrf"], ctx["full_path"],
                as_bytes=True,
            )
            html = b"".join((frame[0], body, frame[1]))
    response = HTMLResponse(html, status_code=status, headers=HTML_HEADERS)
    apply_cookies(request, response, v)
    return response
