"""``/api/v2/search``: accounts, hashtags and statuses.

- Statuses are matched through the lemma index (``storage/search.py``), so a query in
  any inflected form, with or without Polish diacritics, finds a post in any other
  ("skarpetek" finds "skarpetki"). Only public posts of indexable authors are indexed.
  Like Mastodon, full-text search needs a user: without a token no statuses are found.
- Hashtags match by folded prefix ("krakow" finds #Kraków).
- Accounts come from ``storage.account_search.search_accounts`` (shared with
  ``/api/v1/accounts/search``); ``@user`` and ``@user@<this domain>`` put that
  account first.
- A ``q`` that is a URL of this server (``/@user/123``, ``/users/user/statuses/123``,
  ``/@user``) resolves to that status or account, without fetching anything; other
  URLs find nothing, as there is no federation yet.

``offset`` pages within one ``type``; ``max_id``/``min_id`` page statuses by id.
Anonymous callers cannot use ``resolve`` or ``offset`` (401), as in Mastodon 4.
``limit`` and ``offset`` are read leniently (``api/pagination.py``); an offset beyond
``MAX_OFFSET`` finds nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.api.deps import current_ctx, Viewer, maybe, viewer_account_id
from szpak.api.errors import APIError, unauthorized
from szpak.api.pagination import OFFSET_FIELD, Page, page_params
from szpak.api.params import Params, query
from szpak.api.routes.followed_tags import render_tags
from szpak.domain.context import Context
from szpak.domain.search_index import query_alternatives
from szpak.domain.visibility import can_see
from szpak.storage.account_search import search_accounts
from szpak.storage.models import Account, Status, Tag
from szpak.storage.queries import load_bundle
from szpak.storage.search import StatusPage, search_statuses, tags_query

router = APIRouter()

TYPES = ("accounts", "hashtags", "statuses")
MAX_QUERY_CHARS = 1000
MAX_OFFSET = 10_000
_TAG_RE = re.compile(r"#?(\w{1,255})")
_STATUS_PATH = (re.compile(r"/@(\w+)/(\d{1,19})/?"), re.compile(r"/users/(\w+)/statuses/(\d{1,19})/?"))
_ACCOUNT_PATH = (re.compile(r"/@(\w+)/?"), re.compile(r"/users/(\w+)/?"))


class SearchParams(Params):
    q: str | None = None
    type: str | None = None
    resolve: bool = False
    following: bool = False
    account_id: str | None = None
    exclude_unreviewed: bool = False
    offset: Annotated[int, OFFSET_FIELD] = 0


@dataclass
class Found:
    accounts: list[Account] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)


def _account_filter(raw: str | None) -> int | None:
    if raw in (None, ""):
        return None
    if not str(raw).isdigit() or not 0 < int(str(raw)) < 2**63:
        raise APIError(422, "Validation failed: account_id is not a valid id")
    return int(str(raw))


def _only(found: Found, type_: str | None) -> Found:
    """Keep only the results of ``type_`` (all when None)."""
    if type_ is None:
        return found
    return Found(
        accounts=found.accounts if type_ == "accounts" else [],
        tags=found.tags if type_ == "hashtags" else [],
        statuses=found.statuses if type_ == "statuses" else [],
    )


def _check(params: SearchParams, viewer: Viewer | None) -> str:
    """The stripped query, after Mastodon's rules on what needs a query and a user."""
    q = (params.q or "").strip()
    if not q:
        raise APIError(400, "param is missing or the value is empty: q")
    if len(q) > MAX_QUERY_CHARS:
        raise APIError(422, f"Validation failed: q is longer than {MAX_QUERY_CHARS} characters")
    if viewer is None and params.offset > 0:
        raise unauthorized("Search queries pagination is not supported without authentication")
    if viewer is None and params.resolve:
        raise unauthorized("Search queries that resolve remote resources are not supported without authentication")
    return q


async def _resolve_url(s: AsyncSession, ctx: Context, q: str, viewer_id: int | None) -> Found:
    """A URL of this server names one status or account; anything else finds nothing."""
    found = Found()
    parts = urlsplit(q)
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != ctx.settings.domain.lower():
        return found
    for pattern in _STATUS_PATH:
        if m := pattern.fullmatch(parts.path):
            st = await s.get(Status, int(m.group(2)))
            if (
                st is not None
                and viewer_id is not None  # statuses are never found anonymously
                and st.reblog_of_id is None
                and await _author_is(s, st, m.group(1))
                and await can_see(s, st, viewer_id)
            ):
                found.statuses.append(st)
            return found
    for pattern in _ACCOUNT_PATH:
        if m := pattern.fullmatch(parts.path):
            account = await s.scalar(
                select(Account).where(
                    Account.username_lower == m.group(1).lower(),
                    Account.domain_key == "",
                    Account.suspended_at.is_(None),
                )
            )
            if account is not None:
                found.accounts.append(account)
            return found
    return found


async def _author_is(s: AsyncSession, st: Status, username: str) -> bool:
    author = await s.get(Account, st.account_id)
    return author is not None and author.domain is None and author.username_lower == username.lower()


async def _search(
    s: AsyncSession, ctx: Context, q: str, params: SearchParams, page: Page, viewer_id: int | None,
    author_id: int | None,
) -> Found:
    found = Found()
    wanted = [params.type] if params.type else list(TYPES)
    offset = params.offset if params.type else 0
    if "accounts" in wanted:
        found.accounts = await search_accounts(
            s, q, viewer_id=viewer_id, limit=page.limit, offset=offset, following=params.following,
            local_domain=ctx.settings.domain,
        )
    if "hashtags" in wanted and (m := _TAG_RE.fullmatch(q)):
        found.tags = list(await s.scalars(tags_query(m.group(1)).limit(page.limit).offset(offset)))
    if "statuses" in wanted and viewer_id is not None and (words := query_alternatives(q, ctx.settings.domain)):
        window = StatusPage(page.limit, offset, page.max_id, page.since_id, page.min_id)
        found.statuses = await search_statuses(s, words, viewer_id, window, account_id=author_id)
    return found


@router.get("/api/v2/search")
async def search(
    request: Request,
    params: SearchParams = query(SearchParams),
    page: Page = Depends(page_params(default=20, maximum=40)),
    viewer: Viewer | None = maybe("read:search"),
    ctx: Context = Depends(current_ctx),
) -> Any:
    q = _check(params, viewer)
    author_id = _account_filter(params.account_id)
    vid = viewer_account_id(viewer)
    renderer = request.app.state.renderer
    async with ctx.read() as s:
        if params.type is not None and params.type not in TYPES:
            found = Found()  # a type this server does not know (Mastodon's answer too)
        elif params.type and params.offset > MAX_OFFSET:
            found = Found()  # deeper than this server pages: past the end
        elif re.match(r"https?://", q):
            found = Found() if params.offset else _only(await _resolve_url(s, ctx, q, vid), params.type)
        else:
            found = await _search(s, ctx, q, params, page, vid, author_id)
        # Hashtags as everywhere else: history, and for a signed-in viewer following/featuring.
        hashtags = await render_tags(request, s, found.tags, vid)
        bundle = await load_bundle(s, found.statuses, vid)
    return {
        "accounts": [renderer.account(a) for a in found.accounts],
        "statuses": renderer.statuses(found.statuses, bundle),
        "hashtags": hashtags,
    }

