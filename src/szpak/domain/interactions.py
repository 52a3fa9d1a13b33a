"""Favourites and bookmarks.

Both act on the post itself: favouriting or bookmarking a reblog marks the post it
reblogs, as in Mastodon. Repeating an action is not an error, and neither is undoing
one that was never done; only a post the actor may not see is (404).
"""

from __future__ import annotations

from sqlalchemy import delete, select, update

from szpak.domain.context import Tx
from szpak.domain.errors import NotFound
from szpak.domain.events import StatusCountsChanged
from szpak.domain.notify import notify, withdraw
from szpak.domain.visibility import can_see
from szpak.storage.models import Account, Bookmark, Favourite, Status


async def _visible_original(tx: Tx, actor: Account, status_id: int) -> Status:
    s = tx.session
    status = await s.get(Status, status_id)
    if status is None or not await can_see(s, status, actor.id):
        raise NotFound()
    if status.reblog_of_id is not None:
        status = await s.get(Status, status.reblog_of_id)
        if status is None:
            raise NotFound()
    return status


async def favourite(tx: Tx, actor: Account, status_id: int) -> Status:
    s = tx.session
    status = await _visible_original(tx, actor, status_id)
    if not await s.scalar(select(Favourite.id).where(Favourite.account_id == actor.id, Favourite.status_id == status.id)):
        s.add(Favourite(account_id=actor.id, status_id=status.id))
        await s.flush()
        await s.execute(
            update(Status).where(Status.id == status.id).values(favourites_count=Status.favourites_count + 1)
        )
        tx.emit(StatusCountsChanged(status_id=status.id))
        await notify(tx, status.account_id, actor.id, "favourite", status.id)
    return status


async def unfavourite(tx: Tx, actor: Account, status_id: int) -> Status:
    s = tx.session
    status = await _visible_original(tx, actor, status_id)
    res = await s.execute(delete(Favourite).where(Favourite.account_id == actor.id, Favourite.status_id == status.id))
    if res.rowcount:
        await s.execute(
            update(Status)
            .where(Status.id == status.id, Status.favourites_count > 0)
            .values(favourites_count=Status.favourites_count - 1)
        )
        tx.emit(StatusCountsChanged(status_id=status.id))
        await withdraw(tx, status.account_id, actor.id, "favourite", status.id)
    return status


async def bookmark(tx: Tx, actor: Account, status_id: int) -> Status:
    s = tx.session
    status = await _visible_original(tx, actor, status_id)
    if not await s.scalar(select(Bookmark.id).where(Bookmark.account_id == actor.id, Bookmark.status_id == status.id)):
        s.add(Bookmark(account_id=actor.id, status_id=status.id))
        await s.flush()
    return status


async def unbookmark(tx: Tx, actor: Account, status_id: int) -> Status:
    s = tx.session
    status = await _visible_original(tx, actor, status_id)
    await s.execute(delete(Bookmark).where(Bookmark.account_id == actor.id, Bookmark.status_id == status.id))
    return status
