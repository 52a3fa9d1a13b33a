"""Domain blocks: an account hides everything from one remote domain
(``/api/v1/domain_blocks``).

Szpak is a single server today: every account is local (``Account.domain`` is ``None``),
so a domain block is stored and listed but has nothing to hide yet. Where accounts carry
a domain it is applied: ``Relationship.domain_blocking``, suggestions and the directory
leave out accounts of blocked domains (``blocked_domains_clause``). Local accounts are
never hidden by a domain block, whatever domain is named (the server's own included).
When federation arrives, the timelines, notifications and streams must apply it too
(``realtime/audience.Relations.hides`` is the streams' hook); docs/api/social.md says so.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.domain.context import Tx
from szpak.domain.errors import Invalid
from szpak.storage.ids import new_id
from szpak.storage.inserts import insert_or_ignore
from szpak.storage.models import Account, DomainBlock

#: Domains one account may block.
MAX_DOMAIN_BLOCKS = 10_000
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def normalize_domain(raw: Any) -> str:
    """A host name as stored: lower-cased, IDNA (``xn--``) for international names, no
    scheme, port, path or trailing dot. Anything that is not a host name is ``Invalid``."""
    if not isinstance(raw, str):
        raise Invalid("Validation failed: Domain can't be blank")
    text = raw.strip().lower()
    if "://" in text:
        text = text.split("://", 1)[1]
    text = text.split("/", 1)[0].split("?", 1)[0]
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    if text.count(":") == 1:
        text = text.split(":", 1)[0]
    text = text.rstrip(".")
    if not text:
        raise Invalid("Validation failed: Domain can't be blank")
    try:
        text = text.encode("idna").decode("ascii")
    except UnicodeError:
        raise Invalid("Validation failed: Domain is not a valid domain name") from None
    labels = text.split(".")
    if len(text) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise Invalid("Validation failed: Domain is not a valid domain name")
    return text


def blocked_domains(account_id: Any) -> Any:
    return select(DomainBlock.domain).where(DomainBlock.account_id == account_id)


def not_domain_blocked_clause(viewer_id: Any, account_table: Any = Account) -> ColumnElement[bool]:
    """SQL condition on an ``Account`` table: not an account of a domain the viewer blocks
    (local accounts always pass)."""
    return or_(account_table.domain.is_(None), account_table.domain_key.not_in(blocked_domains(viewer_id)))


async def domain_blocking_ids(session: AsyncSession, viewer_id: int, accounts: dict[int, Account]) -> set[int]:
    """Which of these accounts belong to a domain the viewer blocks (``Relationship.domain_blocking``)."""
    domains = {a.domain_key for a in accounts.values() if a.domain}
    if not domains:
        return set()
    blocked = set(
        await session.scalars(
            select(DomainBlock.domain).where(DomainBlock.account_id == viewer_id, DomainBlock.domain.in_(domains))
        )
    )
    return {i for i, a in accounts.items() if a.domain and a.domain_key in blocked}


async def block(tx: Tx, actor: Account, raw: Any) -> None:
    domain = normalize_domain(raw)
    s = tx.session
    exists = await s.scalar(select(DomainBlock.id).where(DomainBlock.account_id == actor.id, DomainBlock.domain == domain))
    if exists is not None:
        return
    count = len(list(await s.scalars(select(DomainBlock.id).where(DomainBlock.account_id == actor.id).limit(MAX_DOMAIN_BLOCKS))))
    if count >= MAX_DOMAIN_BLOCKS:
        raise Invalid(f"Validation failed: You can block at most {MAX_DOMAIN_BLOCKS} domains")
    await insert_or_ignore(s, DomainBlock, ["account_id", "domain"], id=new_id(), account_id=actor.id, domain=domain)


async def unblock(tx: Tx, actor: Account, raw: Any) -> None:
    domain = normalize_domain(raw)
    await tx.session.execute(
        delete(DomainBlock).where(and_(DomainBlock.account_id == actor.id, DomainBlock.domain == domain))
    )
