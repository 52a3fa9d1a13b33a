"""Post cards: the hottest thing a page draws (twenty on a home page), drawn once and reused.

A card is drawn by ``templates/parts/card.html`` from a *view*: a named tuple of
exactly the values the template shows, built here from the status entity (as the
API's ``Presenter`` renders it for this reader) and the reader's language, time
zone and identity. The template reads nothing else, so the view's values are a
complete cache key: an edit, a new count, a vote, a favourite, a new display name,
a filter, the next minute of a relative time, each is simply another key, and
nothing is ever stale (old entries age out of a bounded LRU).

The CSRF token and the page address the card's forms return to differ per reader
and page; cards are drawn with process-random marks in their place, and the marks
are replaced on the way out. So two readers whose view of a post is the same (most
readers of a popular post: not favourited, not theirs) share one drawn card.

On top of that, ``Cards.timeline`` remembers each reader's finished card per post with
the entity it came from, and reuses it while the entity is equal and its relative time
reads the same: a reloaded timeline builds no views at all (render.py's page frame
takes the cards as they are).
"""

from __future__ import annotations

import secrets
from collections import OrderedDict, namedtuple
from datetime import datetime, timezone
from typing import Any

from jinja2 import Environment, pass_context
from jinja2.runtime import Context as JinjaContext
from markupsafe import Markup, escape

from szpak.web.i18n import Formatter, parse_time

#: Stand-ins for the per-reader values of a drawn card (letters and digits: escaping keeps them).
CSRF_MARK = "csrf" + secrets.token_hex(12)
NEXT_MARK = "next" + secrets.token_hex(12)

#: Where a page frame (``render.py``) takes its timeline's cards.
CARDS_MARK = "cards" + secrets.token_hex(12)

EMPTY = Markup("")


class FrameItems(list):  # type: ignore[type-arg]
    """Stands for a listing's items while a page frame is drawn: ``cards()`` answers ``CARDS_MARK``."""


def _filters(s: dict[str, Any], context: str | None) -> tuple[list[str], bool]:
    """(titles of ``warn`` filters, whether a ``hide`` filter matches) for this page's context.

    ``filtered`` (Mastodon's FilterResult list) is the reader's, filled in by the API's
    Presenter; a boost is judged by the post it carries."""
    results = list(s.get("filtered") or ())
    inner = s.get("reblog")
    if inner:
        results += inner.get("filtered") or ()
    titles: list[str] = []
    hide = False
    for result in results:
        f = result.get("filter") or {}
        contexts = f.get("context")
        if context and contexts and context not in contexts:
            continue
        if f.get("filter_action") == "hide":
            hide = True
        elif f.get("title") not in titles:
            titles.append(str(f.get("title") or ""))
    return titles, hide


def _percent(count: int, total: int) -> int:
    return round(100 * count / total) if total else 0


PollView = namedtuple(
    "PollView",
    "id multiple expired can_vote show_results options votes_text people_text closes",
)


def poll_view(poll: dict[str, Any], fmt: Formatter, *, signed_in: bool, mine: bool, now: datetime) -> PollView:
    """What the card shows of a Mastodon Poll entity (hashable: part of the card's key).

    Results are shown once the poll is closed, to whoever voted, to its author and to
    readers who cannot vote; the vote form to a signed-in reader who has not voted yet.
    With ``hide_totals`` the API gives no per-option counts until the poll closes, and
    then none are shown."""
    expires = parse_time(poll.get("expires_at"))
    expired = bool(poll.get("expired")) or (expires is not None and expires <= now)
    voted = bool(poll.get("voted"))
    can_vote = signed_in and not expired and not voted
    multiple = bool(poll.get("multiple"))
    votes = poll.get("votes_count") or 0
    voters = poll.get("voters_count")
    total = voters if multiple and voters else votes
    own = set(poll.get("own_votes") or ())
    options = poll.get("options") or []
    totals_known = all(o.get("votes_count") is not None for o in options)
    show_results = totals_known and (expired or voted or mine or not signed_in)
    opts = tuple(
        (
            i, str(o.get("title") or ""), i in own,
            fmt.number(o.get("votes_count") or 0) if show_results else "",
            _percent(o.get("votes_count") or 0, total) if show_results else 0,
        )
        for i, o in enumerate(options)
    )
    people = voters if voters is not None else votes
    return PollView(
        str(poll.get("id") or ""), multiple, expired, can_vote, show_results, opts,
        (votes, fmt.number(votes)), (people or 0, fmt.number(people or 0)),
        fmt.full(expires) if expires is not None else "",
    )


def _count(fmt: Formatter, value: int | None) -> str:
    """A count as the card shows it: nothing for none."""
    return fmt.number(value) if value else ""


def _media(st: dict[str, Any], local: Any) -> tuple[tuple[str, str, str, str], ...]:
    if not st.get("media_attachments"):
        return ()
    return tuple(
        (
            str(a.get("type") or "unknown"), local(a.get("url") or a.get("remote_url")),
            local(a.get("preview_url") or a.get("url")), str(a.get("description") or ""),
        )
        for a in st.get("media_attachments") or ()
    )


#: The names of a card view's values, in order (the template reads ``c.<name>``).
VIEW_FIELDS = (
    "id", "sid", "focused", "depth", "booster_url", "booster_name", "author_id", "author_url", "avatar", "name",
    "acct", "kind", "url", "visibility", "created_at", "ago", "full", "edited", "reply_line", "content", "spoiler",
    "language", "sensitive", "media", "poll", "filtered", "replies", "reblogs", "favourites", "reblogged",
    "favourited", "signed_in", "mine", "can_boost",
)
CardView = namedtuple("CardView", VIEW_FIELDS)  # type: ignore[misc]


def _reader(ctx: JinjaContext) -> tuple[Formatter, Any, str | None, str | None, datetime]:
    """What of the page's reader a card depends on, looked up once per call."""
    me = ctx["me"]
    return ctx["v"].fmt, ctx["local"], me["id"] if me is not None else None, ctx.get("filter_context"), datetime.now(timezone.utc)


def card_view(
    reader: tuple[Formatter, Any, str | None, str | None, datetime], s: dict[str, Any], focused: bool, depth: int
) -> CardView | None:
    """Every value the card template shows (None: a ``hide`` filter matches, show nothing)."""
    fmt, local, me_id, context, now = reader
    filtered, hide = _filters(s, context)
    if hide:
        return None
    inner = s["reblog"]
    st = inner or s
    author = st["account"]
    booster = s["account"] if inner else None
    poll = st.get("poll")
    signed_in = me_id is not None
    mine = signed_in and author["id"] == me_id
    created = st["created_at"]
    visibility = st["visibility"]
    return CardView(
        s["id"], st["id"], focused, min(depth, 3),
        local(booster["url"]) if booster else "",
        (booster.get("display_name") or booster["username"]) if booster else "",
        author["id"], local(author["url"]), local(author["avatar"]),
        author.get("display_name") or author["username"], author["acct"], author.get("szpak_kind") or "",
        local(st["url"]), visibility,
        created, fmt.relative(created, now), fmt.full(created),
        fmt.full(st["edited_at"]) if focused and st.get("edited_at") else "",
        bool(st.get("in_reply_to_id")) and not focused and depth == 0,
        st["content"], st.get("spoiler_text") or "", st.get("language") or "",
        bool(st.get("sensitive")), _media(st, local),
        poll_view(poll, fmt, signed_in=signed_in, mine=mine, now=now) if poll else None,
        tuple(filtered),
        _count(fmt, st.get("replies_count")), _count(fmt, st.get("reblogs_count")),
        _count(fmt, st.get("favourites_count")),
        bool(st.get("reblogged")), bool(st.get("favourited")), signed_in, mine,
        visibility in ("public", "unlisted") or (visibility == "private" and mine),
    )


class Cards:
    """Draws post cards for one language's environment: ``card(s, focused=, depth=)`` for
    one, ``cards(items)`` for a timeline (one call for the page, marks replaced once)."""

    def __init__(self, env: Environment, capacity: int = 4096, memo_capacity: int = 4096) -> None:
        self.env = env
        self.capacity = capacity
        self.memo_capacity = memo_capacity
        self._cards: OrderedDict[CardView, str] = OrderedDict()
        #: (reader's language, zone, site, filter context, id, CSRF token, page; post id) -> (entity, relative time, card)
        self._memo: dict[tuple[Any, ...], tuple[dict[str, Any], str, str, bytes]] = {}

    def draw(self, ctx: JinjaContext, view: CardView) -> str:
        """The card for ``view``, with the marks still in (the view is the key)."""
        return self.draw_view(view, ctx["kind_labels"], ctx["visibility_labels"])

    def draw_view(self, view: CardView, kind_labels: Any, visibility_labels: Any) -> str:
        html = self._cards.get(view)
        if html is None:
            html = self.env.get_template("parts/card.html").render(
                c=view, csrf=CSRF_MARK, full_path=NEXT_MARK, kind_labels=kind_labels,
                visibility_labels=visibility_labels,
            )
            self._cards[view] = html
            if len(self._cards) > self.capacity:
                self._cards.popitem(last=False)
        else:
            self._cards.move_to_end(view)
        return html

    @staticmethod
    def _personal(ctx: JinjaContext, html: str) -> Markup:
        return Markup(html.replace(CSRF_MARK, ctx["csrf"]).replace(NEXT_MARK, str(escape(ctx["full_path"]))))

    @pass_context
    def __call__(self, ctx: JinjaContext, s: dict[str, Any], focused: bool = False, depth: int = 0) -> Markup:
        view = card_view(_reader(ctx), s, focused, depth)
        return EMPTY if view is None else self._personal(ctx, self.draw(ctx, view))

    @pass_context
    def many(self, ctx: JinjaContext, items: list[dict[str, Any]]) -> Markup:
        if type(items) is FrameItems:  # the page frame is being drawn: the cards go in later
            return Markup(CARDS_MARK)
        return Markup(self.timeline(
            _reader(ctx), items, ctx["base_url"], ctx["kind_labels"], ctx["visibility_labels"], ctx["csrf"],
            ctx["full_path"],
        ))

    def timeline(
        self, reader: tuple[Formatter, Any, str | None, str | None, datetime], items: list[dict[str, Any]],
        base_url: str, kind_labels: Any, visibility_labels: Any, csrf: str, full_path: str, *, as_bytes: bool = False,
    ) -> Any:
        """A timeline's cards, with the reader's CSRF token and page address in.

        Each post's card is remembered, per reader, page and post, with the entity it was
        drawn from (``s``, as the Presenter composed it for this reader) and its relative
        time: when the page shows an equal entity at an equal relative time, the card is
        the same and no view is built (misses go through the view cache, shared by all
        readers). Equality of the whole entity (not an id or a version number) is the
        test, so an edit, a count, a favourite, a new display name, a filter always draw
        anew; comparing costs little, as the composed entity shares its values with the
        entity cache's. A poll depends on the clock (it may close), so cards with one
        always take the view path. ``as_bytes``: the UTF-8 text, kept encoded too, so a
        page need not encode its cards every time."""
        fmt, _local, me_id, context, now = reader
        memo = self._memo
        index = 3 if as_bytes else 2
        next_path = str(escape(full_path))
        prefix = (fmt.lang, fmt.tz_name, base_url, context, me_id, csrf, full_path)
        out = []
        for s in items:
            st = s["reblog"] or s
            key = None
            if st.get("poll") is None:
                ago = fmt.relative(st["created_at"], now)
                key = (prefix, s["id"])
                hit = memo.get(key)
                if hit is not None and hit[1] == ago and hit[0] == s:
                    out.append(hit[index])
                    continue
            view = card_view(reader, s, False, 0)
            html = "" if view is None else self.draw_view(view, kind_labels, visibility_labels)
            html = html.replace(CSRF_MARK, csrf).replace(NEXT_MARK, next_path)
            encoded = html.encode()
            if key is not None:
                if key not in memo and len(memo) >= self.memo_capacity:
                    del memo[next(iter(memo))]
                memo[key] = (s, ago, html, encoded)
            out.append(encoded if as_bytes else html)
        return (b"" if as_bytes else "").join(out)  # type: ignore[attr-defined]


class Composer:
    """The compose box (``templates/parts/compose.html``), drawn once per distinct set of
    the values it shows and reused, the reader's CSRF token put in on the way out: the
    box is the largest part of the home page around the posts."""

    def __init__(self, env: Environment, capacity: int = 1024) -> None:
        self.env = env
        self.capacity = capacity
        self._boxes: OrderedDict[tuple[Any, ...], str] = OrderedDict()

    @pass_context
    def __call__(
        self, ctx: JinjaContext, reply_to: Any = None, text: str = "", visibility: str = "public", next: str | None = None,
    ) -> Markup:
        values = {
            "reply_to": str(reply_to) if reply_to else "", "text": text or "", "visibility": visibility,
            "next": next or ctx["full_path"], "max_chars": ctx["max_chars"], "max_image_bytes": ctx["max_image_bytes"],
            "media_uploads": bool(ctx["media_uploads"]),
        }
        key = tuple(values.values())
        html = self._boxes.get(key)
        if html is None:
            html = self.env.get_template("parts/compose.html").render(
                csrf=CSRF_MARK, visibility_labels=ctx["visibility_labels"], **values
            )
            self._boxes[key] = html
            if len(self._boxes) > self.capacity:
                self._boxes.popitem(last=False)
        else:
            self._boxes.move_to_end(key)
        return Markup(html.replace(CSRF_MARK, ctx["csrf"]))


class Parts:
    """Other parts every page repeats (``templates/parts/<name>.html``: the header, the
    footer), drawn once per distinct set of the values the page passes and reused, with
    the reader's CSRF token put in on the way out. A part template reads nothing but
    those values (and labels), so they are its complete cache key."""

    def __init__(self, env: Environment, capacity: int = 2048) -> None:
        self.env = env
        self.capacity = capacity
        self._parts: OrderedDict[tuple[Any, ...], str] = OrderedDict()

    @pass_context
    def __call__(self, ctx: JinjaContext, name: str, **values: Any) -> Markup:
        key = (name, *values.items())
        html = self._parts.get(key)
        if html is None:
            html = self.env.get_template(f"parts/{name}.html").render(csrf=CSRF_MARK, **values)
            self._parts[key] = html
            if len(self._parts) > self.capacity:
                self._parts.popitem(last=False)
        else:
            self._parts.move_to_end(key)
        return Markup(html.replace(CSRF_MARK, ctx["csrf"]))
