"""Follow, unfollow, follow requests, blocks, mutes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, delete, or_, select, update

from szpak.domain.context import Tx
from szpak.domain.errors import Forbidden, Invalid, NotFound
from szpak.domain.events import RelationshipChanged
from szpak.domain.notify import notify, withdraw
from szpak.storage.models import Account, Block, Follow, FollowRequest, Mute


async def _target(tx: Tx, actor: Account, target_id: int) -> Account:
    target = await tx.session.get(Account, target_id)
    if target is None or (target.suspended_at is not None and target.id != actor.id):
        raise NotFound()
    return target


async def _is_blocked_either_way(tx: Tx, a: int, b: int) -> bool:
    return bool(
        await tx.session.scalar(
            select(Block.id).where(
                or_(
                    and_(Block.account_id == a, Block.target_account_id == b),
                    and_(Block.account_id == b, Block.target_account_id == a),
                )
            ).limit(1)
        )
    )


async def _add_follow(tx: Tx, follower_id: int, target_id: int, *, reblogs: bool, notify_: bool) -> None:
    s = tx.session
    s.add(Follow(account_id=follower_id, target_account_id=target_id, show_reblogs=reblogs, notify=notify_))
    await s.execute(update(Account).where(Account.id == follower_id).values(following_count=Account.following_count + 1))
    await s.execute(update(Account).where(Account.id == target_id).values(followers_count=Account.followers_count + 1))
    await s.flush()


async def _remove_follow(tx: Tx, follower_id: int, target_id: int) -> bool:
    s = tx.session
    res = await s.execute(delete(Follow).where(Follow.account_id == follower_id, Follow.target_account_id == target_id))
    if not res.rowcount:
        return False
    await s.execute(
        update(Account)
        .where(Account.id == follower_id, Account.following_count > 0)
        .values(following_count=Account.following_count - 1)
    )
    await s.execute(
        update(Account)
        .where(Account.id == target_id, Account.followers_count > 0)
        .values(followers_count=Account.followers_count - 1)
    )
    tx.emit(RelationshipChanged(account_id=follower_id, target_account_id=target_id, kind="unfollow"))
    return True


async def follow(
    tx: Tx, actor: Account, target_id: int, *, reblogs: bool | None = None, notify_: bool | None = None
) -> None:
    """Follow, or ask to follow a locked account. Repeating it updates the options."""
    if target_id == actor.id:
        raise Forbidden("You cannot follow yourself")
    target = await _target(tx, actor, target_id)
    if await _is_blocked_either_way(tx, actor.id, target.id):
        raise Forbidden("This action is not allowed")
    s = tx.session
    existing = await s.scalar(
        select(Follow).where(Follow.account_id == actor.id, Follow.target_account_id == target.id)
    )
    if existing is not None:
        if reblogs is not None:
            existing.show_reblogs = reblogs
        if notify_ is not None:
            existing.notify = notify_
        return
    pending = await s.scalar(
        select(FollowRequest).where(FollowRequest.account_id == actor.id, FollowRequest.target_account_id == target.id)
    )
    if pending is not None:
        if reblogs is not None:
            pending.show_reblogs = reblogs
        if notify_ is not None:
            pending.notify = notify_
        return
    if target.locked:
        s.add(
            FollowRequest(
                account_id=actor.id, target_account_id=target.id,
                show_reblogs=True if reblogs is None else reblogs, notify=bool(notify_),
            )
        )
        await s.flush()
        await notify(tx, target.id, actor.id, "follow_request")
        tx.emit(RelationshipChanged(account_id=actor.id, target_account_id=target.id, kind="follow_request"))
        return
    await _add_follow(tx, actor.id, target.id, reblogs=True if reblogs is None else reblogs, notify_=bool(notify_))
    await notify(tx, target.id, actor.id, "follow")
    tx.emit(RelationshipChanged(account_id=actor.id, target_account_id=target.id, kind="follow"))


async def unfollow(tx: Tx, actor: Account, target_id: int) -> None:
    await _target(tx, actor, target_id)
    await tx.session.execute(
        delete(FollowRequest).where(FollowRequest.account_id == actor.id, FollowRequest.target_account_id == target_id)
    )
    await withdraw(tx, target_id, actor.id, "follow_request")
    await _remove_follow(tx, actor.id, target_id)


async def authorize_follow_request(tx: Tx, actor: Account, requester_id: int) -> None:
    s = tx.session
    req = await s.scalar(
        select(FollowRequest).where(FollowRequest.account_id == requester_id, FollowRequest.target_account_id == actor.id)
    )
    if req is None:
        raise NotFound()
    await s.delete(req)
    await s.flush()
    await withdraw(tx, actor.id, requester_id, "follow_request")
    await _add_follow(tx, requester_id, actor.id, reblogs=req.show_reblogs, notify_=req.notify)
    await notify(tx, actor.id, requester_id, "follow")
    tx.emit(RelationshipChanged(account_id=requester_id, target_account_id=actor.id, kind="follow"))


async def reject_follow_request(tx: Tx, actor: Account, requester_id: int) -> None:
    s = tx.session
    res = await s.execute(
        delete(FollowRequest).where(FollowRequest.account_id == requester_id, FollowRequest.target_account_id == actor.id)
    )
    if not res.rowcount:
        raise NotFound()
    await withdraw(tx, actor.id, requester_id, "follow_request")


async def remove_from_followers(tx: Tx, actor: Account, follower_id: int) -> None:
    await _target(tx, actor, follower_id)
    await _remove_follow(tx, follower_id, actor.id)


async def block(tx: Tx, actor: Account, target_id: int) -> None:
    if target_id == actor.id:
        raise Forbidden("You cannot block yourself")
    await _target(tx, actor, target_id)
    s = tx.session
    if await s.scalar(select(Block.id).where(Block.account_id == actor.id, Block.target_account_id == target_id)):
        return
    # A block severs follows both ways and pending requests.
    await _remove_follow(tx, actor.id, target_id)
    await _remove_follow(tx, target_id, actor.id)
    await s.execute(
        delete(FollowRequest).where(
            or_(
                and_(FollowRequest.account_id == actor.id, FollowRequest.target_account_id == target_id),
                and_(FollowRequest.account_id == target_id, FollowRequest.target_account_id == actor.id),
            )
        )
    )
    s.add(Block(account_id=actor.id, target_account_id=target_id))
    await s.flush()
    tx.emit(RelationshipChanged(account_id=actor.id, target_account_id=target_id, kind="block"))


async def unblock(tx: Tx, actor: Account, target_id: int) -> None:
    await _target(tx, actor, target_id)
    res = await tx.session.execute(
        delete(Block).where(Block.account_id == actor.id, Block.target_account_id == target_id)
    )
    if res.rowcount:
        tx.emit(RelationshipChanged(account_id=actor.id, target_account_id=target_id, kind="unblock"))


async def mute(tx: Tx, actor: Account, target_id: int, *, notifications: bool = True, duration: int = 0) -> None:
    if target_id == actor.id:
        raise Forbidden("You cannot mute yourself")
    if duration < 0:
        raise Invalid("Validation failed: Duration must be 0 or more seconds")
    await _target(tx, actor, target_id)
    s = tx.session
    expires = datetime.now(timezone.utc) + timedelta(seconds=duration) if duration else None
    existing = await s.scalar(select(Mute).where(Mute.account_id == actor.id, Mute.target_account_id == target_id))
    if existing is not None:
        existing.hide_notifications = notifications
        existing.expires_at = expires
    else:
        s.add(Mute(account_id=actor.id, target_account_id=target_id, hide_notifications=notifications, expires_at=expires))
    await s.flush()
    tx.emit(RelationshipChanged(account_id=actor.id, target_account_id=target_id, kind="mute"))


async def unmute(tx: Tx, actor: Account, target_id: int) -> None:
    await _target(tx, actor, target_id)
    res = await tx.session.execute(delete(Mute).where(Mute.account_id == actor.id, Mute.target_account_id == target_id))
    if res.rowcount:
        tx.emit(RelationshipChanged(account_id=actor.id, target_account_id=target_id, kind="unmute"))
