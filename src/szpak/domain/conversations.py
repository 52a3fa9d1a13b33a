"""Direct-message conversations (Mastodon's Conversation entity, ``/api/v1/conversations``).

As in Mastodon, each participant has their own view of a conversation: an
``AccountConversation`` row per (account, thread, set of other participants). A direct
status is added, when it is created, to the row of its author and of every account it
mentions (``on_direct_created``, called by ``domain.statuses.create_status``): the row's
``last_status_id`` moves to it and it becomes unread for everybody but the author.
Deleting the status takes it out again (``on_direct_deleted``): ``last_status_id`` moves
back to the newest status left, and a row left with no status goes away.

Only direct posts make conversations, and only their author and the accounts they
mention get rows, so a direct message never appears in anybody else's list.
Removing a conversation (``DELETE``) removes the viewer's row only; a new message in
the thread brings it back, as in Mastodon.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.domain.context import Tx
from szpak.domain.errors import NotFound
from szpak.storage.ids import new_id
from szpak.storage.inserts import insert_or_ignore
from szpak.storage.models import AccountConversation, ConversationStatus, Status


def participants_key(ids: list[int]) -> str:
    key = ",".join(str(i) for i in ids)
    return key if len(key) <= 1024 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


async def on_direct_created(tx: Tx, status: Status, mentioned_ids: list[int] | set[int]) -> None:
    """File a new direct status in the conversations of its author and of each account it mentions."""
    if status.visibility != "direct" or status.reblog_of_id is not None:
        return
    s = tx.session
    everyone = {status.account_id, *mentioned_ids}
    conversation_id = status.conversation_id or status.id
    now = datetime.now(timezone.utc)
    for account_id in sorted(everyone):
        others = sorted(everyone - {account_id})
        key = participants_key(others)
        unread = account_id != status.account_id
        # Insert-or-ignore, then update: two messages landing at once in a new thread do not collide.
        await insert_or_ignore(
            s, AccountConversation, ["account_id", "conversation_id", "participants_key"],
            id=new_id(), account_id=account_id, conversation_id=conversation_id, participant_ids=others,
            participants_key=key, last_status_id=status.id, unread=unread, updated_at=now,
        )
        row = await s.scalar(
            select(AccountConversation).where(
                AccountConversation.account_id == account_id,
                AccountConversation.conversation_id == conversation_id,
                AccountConversation.participants_key == key,
            )
        )
        assert row is not None
        row.last_status_id = max(row.last_status_id, status.id)
        row.unread = row.unread or unread
        row.updated_at = now
        s.add(ConversationStatus(account_conversation_id=row.id, status_id=status.id))
    await s.flush()


async def on_direct_deleted(tx: Tx, status_id: int) -> None:
    """Take a status out of every conversation that holds it (call before deleting its row)."""
    s = tx.session
    conv_ids = list(await s.scalars(select(ConversationStatus.account_conversation_id).where(ConversationStatus.status_id == status_id)))
    if not conv_ids:
        return
    await s.execute(delete(ConversationStatus).where(ConversationStatus.status_id == status_id))
    remaining = dict(
        (await s.execute(
            select(ConversationStatus.account_conversation_id, func.max(ConversationStatus.status_id))
            .where(ConversationStatus.account_conversation_id.in_(conv_ids))
            .group_by(ConversationStatus.account_conversation_id)
        )).all()
    )
    empty = [cid for cid in conv_ids if cid not in remaining]
    if empty:
        await s.execute(delete(AccountConversation).where(AccountConversation.id.in_(empty)))
    for cid, last in remaining.items():
        await s.execute(update(AccountConversation).where(AccountConversation.id == cid).values(last_status_id=last))


async def owned(session: AsyncSession, account_id: int, conversation_id: int) -> AccountConversation:
    row = await session.get(AccountConversation, conversation_id)
    if row is None or row.account_id != account_id:
        raise NotFound()
    return row  # type: ignore[no-any-return]


async def mark_read(tx: Tx, account_id: int, conversation_id: int) -> AccountConversation:
    row = await owned(tx.session, account_id, conversation_id)
    row.unread = False
    await tx.session.flush()
    return row


async def remove(tx: Tx, account_id: int, conversation_id: int) -> None:
    row = await owned(tx.session, account_id, conversation_id)
    await tx.session.delete(row)
    await tx.session.flush()


def list_query(account_id: int) -> Any:
    return select(AccountConversation).where(AccountConversation.account_id == account_id)
