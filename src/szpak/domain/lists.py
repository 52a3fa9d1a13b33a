"""Lists: create, rename, set the replies policy and exclusivity, delete; add and remove members.

As in Mastodon:

- a list belongs to one account and is invisible to everybody else (``NotFound``);
- only accounts the owner follows may be added (``Invalid``, 422, otherwise); when the
  follow ends (unfollow, block either way, removal from followers) the account leaves
  every list of the former follower (``drop_memberships``, called by
  ``domain/relationships.py``);
- an account may own at most :data:`MAX_LISTS` lists.

Adding a member twice or removing a non-member is not an error: the call leaves the list
as one call would (every action here is idempotent, as the graph actions are).

Every change emits ``ListChanged`` after commit, so open ``list`` streams (and the
exclusive-list filter of ``user`` streams) follow the committed membership.

:class:`DatabaseLists` is the streaming hub's ``ListSource``; :func:`reply_shown` is the
replies policy in Python, mirroring the SQL of the list timeline
(``api/routes/lists.py``).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.domain.context import Tx
from szpak.domain.errors import Invalid, NotFound
from szpak.domain.events import ListChanged
from szpak.storage.models import REPLIES_POLICIES, Account, Follow, List, ListAccount

#: Lists one account may own (Mastodon's limit).
MAX_LISTS = 50
#: Longest title, in characters.
MAX_TITLE = 256
#: Accounts one request may add or remove.
MAX_ACCOUNTS_PER_CALL = 100


def _title(raw: str | None) -> str:
    title = (raw or "").strip()
    if not title:
        raise Invalid("Validation failed: Title can't be blank")
    if len(title) > MAX_TITLE:
        raise Invalid(f"Validation failed: Title is too long (maximum is {MAX_TITLE} characters)")
    return title


def _policy(raw: str | None) -> str:
    if raw not in REPLIES_POLICIES:
        raise Invalid(f"Validation failed: Replies policy must be one of {', '.join(REPLIES_POLICIES)}")
    return raw


# -- reads -------------------------------------------------------------------------------

async def owned_list(session: AsyncSession, owner_id: int, list_id: int) -> List:
    """The list, if ``owner_id`` owns it; anybody else's list does not exist for them."""
    found = await session.get(List, list_id)
    if found is None or found.account_id != owner_id:
        raise NotFound()
    return found


async def lists_of(session: AsyncSession, owner_id: int) -> list[List]:
    return list(await session.scalars(select(List).where(List.account_id == owner_id).order_by(List.id)))


async def lists_containing(session: AsyncSession, owner_id: int, account_id: int) -> list[List]:
    """The owner's lists that hold ``account_id`` (``GET /api/v1/accounts/:id/lists``)."""
    return list(
        await session.scalars(
            select(List)
            .join(ListAccount, ListAccount.list_id == List.id)
            .where(List.account_id == owner_id, ListAccount.account_id == account_id)
            .order_by(List.id)
        )
    )


def exclusive_members_query(owner_id: object):  # noqa: ANN201 - a Select of account ids
    """Accounts on any of the owner's exclusive lists (their posts leave the owner's home).

    ``owner_id`` may be a bind parameter (the home timeline statement is built once)."""
    return (
        select(ListAccount.account_id)
        .join(List, List.id == ListAccount.list_id)
        .where(List.account_id == owner_id, List.exclusive.is_(True))
    )


def reply_shown(policy: str, owner_id: int, author_id: int, reply_to: int | None, members: Iterable[int] | set[int],
                following: set[int] | frozenset[int]) -> bool:
    """Whether a member's post passes the list's replies policy (the SQL twin is in
    ``api/routes/lists.py``). Not a reply, a reply to oneself or to the owner: always;
    ``followed``: to an account the owner follows; ``list``: to a member; ``none``: no more."""
    if reply_to is None or reply_to in (author_id, owner_id):
        return True
    if policy == "followed":
        return reply_to in following
    if policy == "list":
        return reply_to in members
    return False


class DatabaseLists:
    """The hub's ``ListSource``: lists as stored."""

    async def owner(self, session: AsyncSession, list_id: int) -> int | None:
        return await session.scalar(select(List.account_id).where(List.id == list_id))  # type: ignore[no-any-return]

    async def members(self, session: AsyncSession, list_id: int) -> set[int]:
        return set(await session.scalars(select(ListAccount.account_id).where(ListAccount.list_id == list_id)))

    async def replies_policy(self, session: AsyncSession, list_id: int) -> str:
        policy = await session.scalar(select(List.replies_policy).where(List.id == list_id))
        return policy or "none"

    async def exclusive_members(self, session: AsyncSession, owner_id: int) -> set[int]:
        return set(await session.scalars(exclusive_members_query(owner_id)))


# -- actions -----------------------------------------------------------------------------

async def create_list(
    tx: Tx, actor: Account, *, title: str | None, replies_policy: str | None = None, exclusive: bool | None = None
) -> List:
    title = _title(title)
    policy = _policy(replies_policy if replies_policy is not None else "list")
    s = tx.session
    count = len(list(await s.scalars(select(List.id).where(List.account_id == actor.id).limit(MAX_LISTS + 1))))
    if count >= MAX_LISTS:
        raise Invalid(f"Validation failed: You have reached the maximum number of lists ({MAX_LISTS})")
    row = List(account_id=actor.id, title=title, replies_policy=policy, exclusive=bool(exclusive))
    s.add(row)
    await s.flush()
    return row


async def update_list(
    tx: Tx, actor: Account, list_id: int, *, title: str | None = None, replies_policy: str | None = None,
    exclusive: bool | None = None,
) -> List:
    """Change what is given; leave the rest."""
    row = await owned_list(tx.session, actor.id, list_id)
    if title is not None:
        row.title = _title(title)
    if replies_policy is not None:
        row.replies_policy = _policy(replies_policy)
    if exclusive is not None:
        row.exclusive = exclusive
    await tx.session.flush()
    tx.emit(ListChanged(list_id=row.id, account_id=actor.id, kind="updated"))
    return row


async def delete_list(tx: Tx, actor: Account, list_id: int) -> None:
    row = await owned_list(tx.session, actor.id, list_id)
    await tx.session.execute(delete(ListAccount).where(ListAccount.list_id == row.id))
    await tx.session.delete(row)
    await tx.session.flush()
    tx.emit(ListChanged(list_id=list_id, account_id=actor.id, kind="deleted"))


def _check_count(account_ids: list[int]) -> list[int]:
    ids = list(dict.fromkeys(account_ids))
    if not ids:
        raise Invalid("Validation failed: account_ids can't be blank")
    if len(ids) > MAX_ACCOUNTS_PER_CALL:
        raise Invalid(f"Validation failed: at most {MAX_ACCOUNTS_PER_CALL} account_ids at a time")
    return ids


async def add_accounts(tx: Tx, actor: Account, list_id: int, account_ids: list[int]) -> None:
    """Add accounts the owner follows. All or nothing: an unknown account is 404, one the
    owner does not follow is 422, and then none is added."""
    ids = _check_count(account_ids)
    s = tx.session
    row = await owned_list(s, actor.id, list_id)
    existing = set(
        await s.scalars(select(Account.id).where(Account.id.in_(ids), Account.suspended_at.is_(None)))
    )
    if len(existing) != len(ids):
        raise NotFound()
    followed = set(
        await s.scalars(select(Follow.target_account_id).where(Follow.account_id == actor.id, Follow.target_account_id.in_(ids)))
    )
    if followed != set(ids):
        raise Invalid("Validation failed: You can only add accounts you follow to a list")
    present = set(
        await s.scalars(select(ListAccount.account_id).where(ListAccount.list_id == row.id, ListAccount.account_id.in_(ids)))
    )
    added = [i for i in ids if i not in present]
    for account_id in added:
        s.add(ListAccount(list_id=row.id, account_id=account_id))
    await s.flush()
    if added:
        tx.emit(ListChanged(list_id=row.id, account_id=actor.id, kind="added", member_ids=tuple(added)))


async def remove_accounts(tx: Tx, actor: Account, list_id: int, account_ids: list[int]) -> None:
    ids = _check_count(account_ids)
    row = await owned_list(tx.session, actor.id, list_id)
    res = await tx.session.execute(
        delete(ListAccount).where(ListAccount.list_id == row.id, ListAccount.account_id.in_(ids))
    )
    if res.rowcount:
        tx.emit(ListChanged(list_id=row.id, account_id=actor.id, kind="removed", member_ids=tuple(ids)))


async def drop_memberships(tx: Tx, owner_id: int, member_id: int) -> None:
    """``member_id`` leaves every list of ``owner_id`` (the follow between them ended)."""
    s = tx.session
    list_ids = list(
        await s.scalars(
            select(ListAccount.list_id)
            .join(List, List.id == ListAccount.list_id)
            .where(List.account_id == owner_id, ListAccount.account_id == member_id)
        )
    )
    if not list_ids:
        return
    await s.execute(delete(ListAccount).where(ListAccount.list_id.in_(list_ids), ListAccount.account_id == member_id))
    for list_id in list_ids:
        tx.emit(ListChanged(list_id=list_id, account_id=owner_id, kind="removed", member_ids=(member_id,)))
