"""Turn a post's plain text into Mastodon-style HTML, finding mentions, hashtags and links.

The text is escaped first and only our own markup is added, then the result is
passed through nh3 with an allow-list, so stored HTML is always safe to render.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import nh3

MENTION_RE = re.compile(r"(?<![\w/@.])@([A-Za-z0-9_]{1,64})(?:@([A-Za-z0-9.-]+\.[A-Za-z]{2,}|localhost(?::\d+)?))?")
HASHTAG_RE = re.compile(r"(?<![\w/#&])#(\w*[^\W\d_]\w*)")
URL_RE = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""

ALLOWED_TAGS = {"p", "br", "a", "span"}
ALLOWED_ATTRS = {"a": {"href", "class", "rel", "target", "translate"}, "span": {"class", "translate"}}


@dataclass
class Parsed:
    html: str
    #: usernames (lower-cased, local) or ``user@domain`` handles, in order, unique
    mentions: list[str] = field(default_factory=list)
    #: (lower-cased name, name as written)
    tags: list[tuple[str, str]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


def sanitize(fragment: str) -> str:
    return nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRS,
        link_rel=None,
        url_schemes={"http", "https", "mailto"},
    )


def _trim_url(url: str) -> tuple[str, str]:
    trailing = ""
    while url and url[-1] in _TRAILING:
        # Keep a closing parenthesis that closes one opened inside the URL.
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        trailing = url[-1] + trailing
        url = url[:-1]
    return url, trailing


def render_text(
    text: str,
    *,
    base_url: str,
    local_domain: str,
    mention_url: Callable[[str], str | None],
) -> Parsed:
    """Render ``text``. ``mention_url(handle)`` returns a profile URL for a known account, else None."""
    parsed = Parsed(html="")
    tokens: list[tuple[int, int, str]] = []  # (start, end, replacement html)
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    for m in URL_RE.finditer(text):
        url, trailing = _trim_url(m.group(0))
        start, end = m.start(), m.start() + len(url)
        shown = re.sub(r"^https?://(www\.)?", "", url)
        display = shown if len(shown) <= 40 else shown[:39] + "…"
        tokens.append(
            (
                start,
                end,
                f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="nofollow noopener noreferrer" '
                f'translate="no">{html.escape(display)}</a>',
            )
        )
        taken.append((start, end))
        parsed.links.append(url)

    for m in MENTION_RE.finditer(text):
        if not free(m.start(), m.end()):
            continue
        username, domain = m.group(1), m.group(2)
        if domain and domain.lower() == local_domain.lower():
            domain = None
        handle = username.lower() if not domain else f"{username.lower()}@{domain.lower()}"
        url = mention_url(handle)
        if url is None:
            continue
        if handle not in parsed.mentions:
            parsed.mentions.append(handle)
        tokens.append(
            (
                m.start(),
                m.end(),
                f'<span class="h-card" translate="no"><a href="{html.escape(url, quote=True)}" '
                f'class="u-url mention">@<span>{html.escape(username)}</span></a></span>',
            )
        )
        taken.append((m.start(), m.end()))

    for m in HASHTAG_RE.finditer(text):
        if not free(m.start(), m.end()):
            continue
        name = m.group(1)
        key = name.lower()
        if key not in {t for t, _ in parsed.tags}:
            parsed.tags.append((key, name))
        tokens.append(
            (
                m.start(),
                m.end(),
                f'<a href="{base_url}/tags/{html.escape(key, quote=True)}" class="mention hashtag" rel="tag">'
                f"#<span>{html.escape(name)}</span></a>",
            )
        )
        taken.append((m.start(), m.end()))

    tokens.sort()
    out: list[str] = []
    pos = 0
    for start, end, replacement in tokens:
        out.append(html.escape(text[pos:start], quote=False))
        out.append(replacement)
        pos = end
    out.append(html.escape(text[pos:], quote=False))
    body = "".join(out).replace("\r\n", "\n")
    paragraphs = [p for p in re.split(r"\n{2,}", body.strip()) if p.strip()]
    rendered = "".join(f"<p>{p.replace(chr(10), '<br />')}</p>" for p in paragraphs)
    parsed.html = sanitize(rendered)
    return parsed


def render_plain(text: str) -> str:
    """Bio text and field values: escaped, links made clickable, paragraphs kept."""
    return render_text(text, base_url="", local_domain="", mention_url=lambda _h: None).html
