"""Post cards: the hottest thing a page draws (twenty on a home page), drawn once and reused.

A card is drawn by ``templates/parts/card.html`` from a *view*: a flat dict of
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

EMPTY = Markup("")


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
    return tuple(
        (
            str(a.get("type") or "unknown"), local(a.get("url") or a.get("remote_url")),
            local(a.get("preview_url") or a.get("url")), str(a.get("description") or ""),
        )
        for a in st.get("media_attachments") or ()
    )


class Cards:
    """Draws post cards for one language's environment; a template calls ``card(s, ...)``."""

    def __init__(self, env: Environment, capacity: int = 4096) -> None:
        self.env = env
        self.capacity = capacity
        self._cards: OrderedDict[tuple[Any, ...], str] = OrderedDict()

    def view(self, ctx: JinjaContext, s: dict[str, Any], focused: bool, depth: int) -> dict[str, Any] | None:
        """Every value the card template shows (None: a ``hide`` filter matches, show nothing)."""
        filtered, hide = _filters(s, ctx.get("filter_context"))
        if hide:
            return None
        v = ctx["v"]
        fmt: Formatter = v.fmt
        local = ctx["local"]
        me = ctx["me"]
        st = s["reblog"] or s
        author = st["account"]
        booster = s["account"] if s["reblog"] else None
        poll = st.get("poll")
        mine = me is not None and author["id"] == me["id"]
        created = st["created_at"]
        return {
            "id": s["id"], "sid": st["id"], "focused": focused, "depth": min(depth, 3),
            "booster_url": local(booster["url"]) if booster else "",
            "booster_name": (booster.get("display_name") or booster["username"]) if booster else "",
            "author_id": author["id"], "author_url": local(author["url"]), "avatar": local(author["avatar"]),
            "name": author.get("display_name") or author["username"], "acct": author["acct"],
            "kind": author.get("szpak_kind") or "",
            "url": local(st["url"]), "visibility": st["visibility"],
            "created_at": created, "ago": fmt.relative(created), "full": fmt.full(created),
            "edited": fmt.full(st["edited_at"]) if focused and st.get("edited_at") else "",
            "reply_line": bool(st.get("in_reply_to_id")) and not focused and depth == 0,
            "content": st["content"], "spoiler": st.get("spoiler_text") or "", "language": st.get("language") or "",
            "sensitive": bool(st.get("sensitive")), "media": _media(st, local),
            "poll": poll_view(poll, fmt, signed_in=me is not None, mine=mine, now=datetime.now(timezone.utc)) if poll else None,
            "filtered": tuple(filtered),
            "replies": _count(fmt, st.get("replies_count")), "reblogs": _count(fmt, st.get("reblogs_count")),
            "favourites": _count(fmt, st.get("favourites_count")),
            "reblogged": bool(st.get("reblogged")), "favourited": bool(st.get("favourited")),
            "signed_in": me is not None, "mine": mine,
            "can_boost": st["visibility"] in ("public", "unlisted") or (st["visibility"] == "private" and mine),
        }

    @pass_context
    def __call__(self, ctx: JinjaContext, s: dict[str, Any], focused: bool = False, depth: int = 0) -> Markup:
        view = self.view(ctx, s, focused, depth)
        if view is None:
            return EMPTY
        key = tuple(view.values())
        html = self._cards.get(key)
        if html is None:
            html = self.env.get_template("parts/card.html").render(
                c=view, csrf=CSRF_MARK, full_path=NEXT_MARK, kind_labels=ctx["kind_labels"],
                visibility_labels=ctx["visibility_labels"],
            )
            self._cards[key] = html
            if len(self._cards) > self.capacity:
                self._cards.popitem(last=False)
        else:
            self._cards.move_to_end(key)
        return Markup(html.replace(CSRF_MARK, ctx["csrf"]).replace(NEXT_MARK, str(escape(ctx["full_path"]))))
