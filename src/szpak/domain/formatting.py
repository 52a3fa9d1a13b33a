"""Turn a post's plain text into Mastodon-style HTML, finding mentions, hashtags and links.

The text is escaped first and only our own markup is added, then the result is
passed through nh3 with an allow-list, so stored HTML is always safe to render: a
post that contains ``<script>`` shows those characters, it never runs them.

Links are rendered the way Mastodon clients expect to shorten them: the scheme and a
long tail sit in ``<span class="invisible">``, the visible part in
``<span class="ellipsis">`` when it was cut, so a client shows ``example.com/a-long…``
while copying the whole address.

:func:`counted_length` is the length rule for the character limit: every link counts
as :data:`URL_LENGTH` characters and a remote mention as its ``@username`` part, so a
long address or a long domain does not eat the limit.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import nh3

MENTION_RE = re.compile(r"(?<![\w/@.])@([A-Za-z0-9_]{1,64})(?:@([A-Za-z0-9.-]+\.[A-Za-z]{2,}|localhost(?::\d+)?))?")
HASHTAG_RE = re.compile(r"(?<![\w/#&])#(\w*[^\W\d_]\w*)")
URL_RE = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""
_SCHEME_RE = re.compile(r"^https?://(?:www\.)?", re.IGNORECASE)

#: Every link counts as this many characters, as in Mastodon.
URL_LENGTH = 23
#: Visible characters of a link before the rest is hidden behind an ellipsis.
LINK_SHOWN = 30

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


def find_urls(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, url) for every link, trailing punctuation left outside."""
    for m in URL_RE.finditer(text):
        url, _ = _trim_url(m.group(0))
        if _SCHEME_RE.sub("", url):  # a bare "https://" is not a link
            yield m.start(), m.start() + len(url), url


def _mention_end(text: str, m: re.Match[str], local_domain: str) -> tuple[int, str | None]:
    """Where a mention ends and its domain; ``@user@<this server>`` is a local mention
    even when the server's name has no dot (``localhost``, ``testserver``)."""
    domain = m.group(2)
    end = m.end()
    if domain is None and local_domain:
        suffix = "@" + local_domain
        if text[end : end + len(suffix)].lower() == suffix.lower():
            after = text[end + len(suffix) : end + len(suffix) + 1]
            if not (after.isalnum() or after in "_-"):
                return end + len(suffix), None
    if domain and local_domain and domain.lower() == local_domain.lower():
        domain = None
    return end, domain


def counted_length(text: str, local_domain: str = "") -> int:
    """Characters a post's text counts against the limit (see the module docstring)."""
    total = 0
    pos = 0
    spans: list[tuple[int, int, int]] = []  # (start, end, counted)
    for start, end, _url in find_urls(text):
        spans.append((start, end, URL_LENGTH))
    for m in MENTION_RE.finditer(text):
        if any(s <= m.start() < e for s, e, _ in spans):
            continue
        end, domain = _mention_end(text, m, local_domain)
        if domain is not None:
            spans.append((m.start(), end, 1 + len(m.group(1))))
    for start, end, counted in sorted(spans):
        total += len(text[pos:start]) + counted
        pos = end
    return total + len(text[pos:])


def link_html(url: str) -> str:
    """An ``<a>`` for ``url`` with Mastodon's invisible/ellipsis spans."""
    prefix = _SCHEME_RE.match(url)
    hidden_head = prefix.group(0) if prefix else ""
    rest = url[len(hidden_head) :]
    shown, tail = rest[:LINK_SHOWN], rest[LINK_SHOWN:]
    esc = html.escape
    inner = f'<span class="invisible">{esc(hidden_head)}</span>'
    if tail:
        inner += f'<span class="ellipsis">{esc(shown)}</span><span class="invisible">{esc(tail)}</span>'
    else:
        inner += f'<span class="">{esc(shown)}</span>'
    return (
        f'<a href="{esc(url, quote=True)}" target="_blank" rel="nofollow noopener noreferrer" '
        f'translate="no">{inner}</a>'
    )


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

    for start, end, url in find_urls(text):
        tokens.append((start, end, link_html(url)))
        taken.append((start, end))
        parsed.links.append(url)

    for m in MENTION_RE.finditer(text):
        end, domain = _mention_end(text, m, local_domain)
        if not free(m.start(), end):
            continue
        username = m.group(1)
        handle = username.lower() if not domain else f"{username.lower()}@{domain.lower()}"
        url = mention_url(handle)
        if url is None:
            continue
        if handle not in parsed.mentions:
            parsed.mentions.append(handle)
        tokens.append(
            (
                m.start(),
                end,
                f'<span class="h-card" translate="no"><a href="{html.escape(url, quote=True)}" '
                f'class="u-url mention">@<span>{html.escape(username)}</span></a></span>',
            )
        )
        taken.append((m.start(), end))

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
                f'<a href="{html.escape(base_url, quote=True)}/tags/{html.escape(key, quote=True)}" '
                f'class="mention hashtag" rel="tag">#<span>{html.escape(name)}</span></a>',
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
    body = "".join(out).replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = [p for p in re.split(r"\n{2,}", body.strip()) if p.strip()]
    rendered = "".join(f"<p>{p.replace(chr(10), '<br />')}</p>" for p in paragraphs)
    parsed.html = sanitize(rendered)
    return parsed


def render_plain(text: str) -> str:
    """Bio text and field values: escaped, links made clickable, paragraphs kept."""
    return render_text(text, base_url="", local_domain="", mention_url=lambda _h: None).html
