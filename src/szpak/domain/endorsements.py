"""Endorsements: accounts featured on a profile (Mastodon's account pins,
``POST /api/v1/accounts/:id/pin`` and ``unpin``).

As in Mastodon, only an account the endorser follows may be endorsed (``Invalid``, 422,
otherwise). An endorsement counts only while the follow it was made under lasts: it records that
follow's id and every read joins it (``endorsed_query``), so unfollowing, or a block that
severs the follow, takes the account off the profile at once without this module being
told, and following again later does not bring the old endorsement back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.domain.context import Tx
from szpak.domain.errors import Invalid, NotFound
from szpak.storage.ids import new_id
from szpak.storage.inserts import insert_or_ignore
from szpak.storage.models import Account, Endorsement, Follow

#: Accounts one account may endorse (Mastodon's limit).
MAX_ENDORSEMENTS = 20


def endorsed_query(account_id: Any) -> Any:
    """``select(Endorsement.id, Account)``: whom ``account_id`` endorses and still follows,
    suspended accounts left out."""
    return (
        select(Endorsement.id, Account)
        .join(Account, Account.id == Endorsement.target_account_id)
        .join(Follow, Follow.id == Endorsement.follow_id)
        .where(Endorsement.account_id == account_id, Account.suspended_at.is_(None))
    )


async def endorsed_ids(session: AsyncSession, account_id: int, ids: list[int]) -> set[int]:
    """Which of ``ids`` ``account_id`` endorses (and follows)."""
    if not ids:
        return set()
    rows = await session.scalars(
        select(Endorsement.target_account_id)
        .join(Follow, Follow.id == Endorsement.follow_id)
        .where(Endorsement.account_id == account_id, Endorsement.target_account_id.in_(ids))
    )
    return set(rows)


async def pin(tx: Tx, actor: Account, target_id: int) -> None:
    s = tx.session
    target = await s.get(Account, target_id)
    if target is None or target.suspended_at is not None:
        raise NotFound()
    follow_id = await s.scalar(select(Follow.id).where(Follow.account_id == actor.id, Follow.target_account_id == target_id))
    if follow_id is None:
        raise Invalid("Validation failed: You must be already following the person you want to endorse")
    if await endorsed_ids(s, actor.id, [target_id]):
        return
    # Rows left from an earlier follow do not count (endorsed_query), nor against the limit.
    await s.execute(delete(Endorsement).where(Endorsement.account_id == actor.id, Endorsement.target_account_id == target_id))
    current = len(list(await s.execute(endorsed_query(actor.id))))
    if current >= MAX_ENDORSEMENTS:
        raise Invalid(f"Validation failed: You can endorse at most {MAX_ENDORSEMENTS} accounts")
    await insert_or_ignore(
        s, Endorsement, ["account_id", "target_account_id"],
        id=new_id(), account_id=actor.id, target_account_id=target_id, follow_id=follow_id
    )


async def unpin(tx: Tx, actor: Account, target_id: int) -> None:
    target = await tx.session.get(Account, target_id)
    if target is None:
        raise NotFound()
    await tx.session.execute(
        delete(Endorsement).where(Endorsement.account_id == actor.id, Endorsement.target_account_id == target_id)
    )
