"""Account search: one function that ``/api/v1/accounts/search`` and ``/api/v2/search`` share.

Matching works on the ``account_terms`` index (folded words of usernames and display
names, see ``storage/models/account_search.py``), so it ignores case and Polish
diacritics: ``zolw`` finds "Żółw", ``lodz`` finds "Łódź". Every word of the query
must be the start of some word of the account (``jan kow`` finds "Jan Kowalski").

Who is found:
- never a suspended account;
- a non-discoverable account only by its exact username, or by an account that
  follows it (it asked to stay out of discovery, not to be unfindable);
- with ``following=True``, only accounts the viewer follows.

Order: the exact username first, then accounts the viewer follows, then by
followers count (the more followed, the likelier the one meant), then oldest first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.storage.models import Account, AccountTerm, Follow
from szpak.text.normalize import fold

#: Word separators in usernames (``jan_kowalski``) and display names.
_SPLIT_RE = re.compile(r"[^\w]+|_", re.UNICODE)
MAX_QUERY_WORDS = 5
_DOMAIN_RE = re.compile(r"[a-z0-9.-]+(:\d{1,5})?")
TERM_LENGTH = 64


def words(text: str) -> list[str]:
    """Folded words of ``text``, in order, without duplicates or empties."""
    seen: list[str] = []
    for part in _SPLIT_RE.split(fold(text or "")):
        part = part[:TERM_LENGTH]
        if part and part not in seen:
            seen.append(part)
    return seen


def terms_for_account(username: str, display_name: str) -> set[str]:
    """Index terms of an account: its whole folded username, and every folded word of
    its username and display name (so ``kowal`` finds ``jan_kowalski``)."""
    terms = set(words(username)) | set(words(display_name))
    whole = fold(username)[:TERM_LENGTH]
    if whole:
        terms.add(whole)
    return terms


@dataclass(frozen=True)
class ParsedQuery:
    """A search query split into the handle it may name and the words to match."""

    username: str | None  # lower-cased username when the query looks like a handle
    domain: str | None  # a remote domain named in ``user@domain``, None for local/unspecified
    words: tuple[str, ...]


def parse_query(q: str, local_domain: str | None = None) -> ParsedQuery:
    """``@alice``, ``alice@our.domain`` and ``alice`` all name the local ``alice``;
    ``alice@elsewhere`` names a remote account (found only when already known)."""
    text = (q or "").strip()
    handle = fold(text.lstrip("@"))
    if handle and " " not in handle and handle.count("@") <= 1:
        user, _, dom = handle.partition("@")
        if re.fullmatch(r"[a-z0-9_]+", user or "") and (not dom or _DOMAIN_RE.fullmatch(dom)):
            if dom and (local_domain is None or dom.lower() != local_domain.lower()):
                return ParsedQuery(user.lower(), dom.lower(), ())
            return ParsedQuery(user.lower(), None, tuple(words(user))[:MAX_QUERY_WORDS])
    return ParsedQuery(None, None, tuple(words(text))[:MAX_QUERY_WORDS])


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _prefix_match(word: str) -> ColumnElement[bool]:
    """The account has an index term starting with ``word``."""
    return exists().where(
        and_(
            AccountTerm.account_id == Account.id,
            AccountTerm.term.like(_escape_like(word) + "%", escape="\\"),
        )
    )


async def search_accounts(
    session: AsyncSession,
    q: str,
    *,
    viewer_id: int | None,
    limit: int = 40,
    offset: int = 0,
    following: bool = False,
    local_domain: str | None = None,
) -> list[Account]:
    """Accounts matching ``q`` for ``viewer_id``, best first (see the module docstring).

    ``local_domain`` (``settings.domain``) lets ``alice@<our domain>`` mean the local
    ``alice``. An empty query, or ``following=True`` without a viewer, finds nothing.
    """
    parsed = parse_query(q, local_domain)
    if following and viewer_id is None:
        return []
    if parsed.domain is not None:
        where = [Account.username_lower == parsed.username, Account.domain_key == parsed.domain]
        exact = Account.username_lower == parsed.username
    elif parsed.words:
        where = [_prefix_match(w) for w in parsed.words]
        exact = Account.username_lower == parsed.username if parsed.username else false()
    else:
        return []
    followed = (
        exists().where(and_(Follow.account_id == viewer_id, Follow.target_account_id == Account.id))
        if viewer_id is not None
        else None
    )
    query = select(Account).where(Account.suspended_at.is_(None), *where)  # type: ignore[arg-type]
    if following and followed is not None:
        query = query.where(followed)
    findable = [Account.discoverable.is_(True), exact]
    if followed is not None:
        findable.append(followed)
        if viewer_id is not None:
            findable.append(Account.id == viewer_id)
    query = query.where(or_(*findable))
    order = [case((exact, 0), else_=1)]
    if followed is not None:
        order.append(case((followed, 0), else_=1))
    query = query.order_by(*order, Account.followers_count.desc(), Account.id.asc())
    query = query.limit(max(1, limit)).offset(max(0, offset))
    return list(await session.scalars(query))


def index_rows(account_id: int, terms: Iterable[str]) -> list[AccountTerm]:
    """Rows for ``account_terms``; the domain action adds them in its transaction."""
    return [AccountTerm(term=t, account_id=account_id) for t in sorted(set(terms))]
