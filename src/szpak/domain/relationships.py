"""Follow, unfollow, follow requests, blocks, mutes.

Every action is idempotent: following twice, unblocking someone never blocked or
rejecting a request twice leaves the graph as one call would, so a client that
retries after a timeout gets the same answer. Edges are inserted inside a
savepoint, so two concurrent identical requests (possible on PostgreSQL) end in one
row and one counter increment rather than a unique-constraint error.

Counters (``followers_count``/``following_count``) change in the same statement
pattern as the edge, in the same transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from szpak.domain.context import Context, Tx
from szpak.domain.errors import Forbidden, Invalid, NotFound
from szpak.domain.events import RelationshipChanged
from szpak.domain.lists import drop_memberships
from szpak.domain.notify import notify, withdraw
from szpak.jobs.runner import handler
from szpak.storage.models import Account, Block, Follow, FollowRequest, Mute

#: Longest mute with a duration (a year; longer is simply "indefinite", duration 0).
MAX_MUTE_SECONDS = 366 * 24 * 3600
EXPIRE_MUTE_JOB = "mutes.expire"


async def _target(tx: Tx, actor: Account, target_id: int) -> Account:
    target = await tx.session.get(Account, target_id)
    if target is None or (target.suspended_at is not None and target.id != actor.id):
        raise NotFound()
    return target


async def _insert_once(tx: Tx, row: Any) -> bool:
    """Insert ``row`` unless an identical edge exists (a concurrent request won the race)."""
    try:
        async with tx.session.begin_nested():
            tx.session.add(row)
            await tx.session.flush()
    except IntegrityError:
        return False
    return True


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


async def _add_follow(tx: Tx, follower_id: int, target_id: int, *, reblogs: bool, notify_: bool) -> bool:
    s = tx.session
    row = Follow(account_id=follower_id, target_account_id=target_id, show_reblogs=reblogs, notify=notify_)
    if not await _insert_once(tx, row):
        return False
    await s.execute(update(Account).where(Account.id == follower_id).values(following_count=Account.following_count + 1))
    await s.execute(update(Account).where(Account.id == target_id).values(followers_count=Account.followers_count + 1))
    return True


async def _remove_follow(tx: Tx, follower_id: int, target_id: int) -> bool:
    s = tx.session
    res = await s.execute(delete(Follow).where(Follow.account_id == follower_id, Follow.target_account_id == target_id))
    # As Mastodon: an account you no longer follow leaves your lists (also when no edge was
    # left, so a membership that outlived its follow in a race goes too).
    await drop_memberships(tx, follower_id, target_id)
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
    existing: Follow | FollowRequest | None = await s.scalar(
        select(Follow).where(Follow.account_id == actor.id, Follow.target_account_id == target.id)
    )
    if existing is None:
        existing = await s.scalar(
            select(FollowRequest).where(FollowRequest.account_id == actor.id, FollowRequest.target_account_id == target.id)
        )
    if existing is not None:
        if reblogs is not None:
            existing.show_reblogs = reblogs
        if notify_ is not None:
            existing.notify = notify_
        await s.flush()
        return
    show_reblogs = True if reblogs is None else reblogs
    if target.locked:
        request = FollowRequest(
            account_id=actor.id, target_account_id=target.id, show_reblogs=show_reblogs, notify=bool(notify_)
        )
        if await _insert_once(tx, request):
            await notify(tx, target.id, actor.id, "follow_request")
            tx.emit(RelationshipChanged(account_id=actor.id, target_account_id=target.id, kind="follow_request"))
        return
    if await _add_follow(tx, actor.id, target.id, reblogs=show_reblogs, notify_=bool(notify_)):
        await notify(tx, target.id, actor.id, "follow")
        tx.emit(RelationshipChanged(account_id=actor.id, target_account_id=target.id, kind="follow"))


async def unfollow(tx: Tx, actor: Account, target_id: int) -> None:
    """Stop following, or withdraw a pending follow request."""
    await _target(tx, actor, target_id)
    res = await tx.session.execute(
        delete(FollowRequest).where(FollowRequest.account_id == actor.id, FollowRequest.target_account_id == target_id)
    )
    if res.rowcount:
        await withdraw(tx, target_id, actor.id, "follow_request")
    await _remove_follow(tx, actor.id, target_id)


async def authorize_follow_request(tx: Tx, actor: Account, requester_id: int) -> None:
    """Accept a pending request: it becomes a follow with the options it was made with."""
    s = tx.session
    req = await s.scalar(
        select(FollowRequest).where(FollowRequest.account_id == requester_id, FollowRequest.target_account_id == actor.id)
    )
    if req is None:
        raise NotFound()
    reblogs, notify_ = req.show_reblogs, req.notify
    await s.delete(req)
    await s.flush()
    await withdraw(tx, actor.id, requester_id, "follow_request")
    if await _add_follow(tx, requester_id, actor.id, reblogs=reblogs, notify_=notify_):
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
    tx.emit(RelationshipChanged(account_id=requester_id, target_account_id=actor.id, kind="follow_request_rejected"))


async def remove_from_followers(tx: Tx, actor: Account, follower_id: int) -> None:
    """Make ``follower_id`` stop following the actor, without blocking it."""
    await _target(tx, actor, follower_id)
    await _remove_follow(tx, follower_id, actor.id)


async def block(tx: Tx, actor: Account, target_id: int) -> None:
    """Block: severs follows both ways and pending requests; the target can no longer
    follow, see or notify the actor."""
    if target_id == actor.id:
        raise Forbidden("You cannot block yourself")
    await _target(tx, actor, target_id)
    s = tx.session
    if await s.scalar(select(Block.id).where(Block.account_id == actor.id, Block.target_account_id == target_id)):
        return
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
    await withdraw(tx, actor.id, target_id, "follow_request")
    await withdraw(tx, target_id, actor.id, "follow_request")
    if await _insert_once(tx, Block(account_id=actor.id, target_account_id=target_id)):
        tx.emit(RelationshipChanged(account_id=actor.id, target_account_id=target_id, kind="block"))


async def unblock(tx: Tx, actor: Account, target_id: int) -> None:
    await _target(tx, actor, target_id)
    res = await tx.session.execute(
        delete(Block).where(Block.account_id == actor.id, Block.target_account_id == target_id)
    )
    if res.rowcount:
        tx.emit(RelationshipChanged(account_id=actor.id, target_account_id=target_id, kind="unblock"))


async def mute(tx: Tx, actor: Account, target_id: int, *, notifications: bool = True, duration: int = 0) -> None:
    """Mute (hide from timelines, and by default from notifications). ``duration`` in
    seconds, 0 for indefinitely; an expiring mute is lifted by a durable job."""
    if target_id == actor.id:
        raise Forbidden("You cannot mute yourself")
    if duration < 0:
        raise Invalid("Validation failed: Duration must be 0 or more seconds")
    if duration > MAX_MUTE_SECONDS:
        raise Invalid(f"Validation failed: Duration must be at most {MAX_MUTE_SECONDS} seconds")
    await _target(tx, actor, target_id)
    s = tx.session
    expires = datetime.now(timezone.utc) + timedelta(seconds=duration) if duration else None
    existing = await s.scalar(select(Mute).where(Mute.account_id == actor.id, Mute.target_account_id == target_id))
    if existing is not None:
        existing.hide_notifications = notifications
        existing.expires_at = expires
        await s.flush()
    else:
        row = Mute(account_id=actor.id, target_account_id=target_id, hide_notifications=notifications, expires_at=expires)
        if not await _insert_once(tx, row):
            return
    if expires is not None:
        tx.enqueue(EXPIRE_MUTE_JOB, {"account_id": actor.id, "target_account_id": target_id}, run_at=expires)
    tx.emit(RelationshipChanged(account_id=actor.id, target_account_id=target_id, kind="mute"))


async def unmute(tx: Tx, actor: Account, target_id: int) -> None:
    await _target(tx, actor, target_id)
    res = await tx.session.execute(delete(Mute).where(Mute.account_id == actor.id, Mute.target_account_id == target_id))
    if res.rowcount:
        tx.emit(RelationshipChanged(account_id=actor.id, target_account_id=target_id, kind="unmute"))


async def expire_mute(tx: Tx, account_id: int, target_id: int) -> bool:
    """Lift a mute whose time is up. A mute renewed or made indefinite since is kept."""
    res = await tx.session.execute(
        delete(Mute).where(
            Mute.account_id == account_id,
            Mute.target_account_id == target_id,
            Mute.expires_at.is_not(None),
            Mute.expires_at <= datetime.now(timezone.utc),
        )
    )
    if res.rowcount:
        tx.emit(RelationshipChanged(account_id=account_id, target_account_id=target_id, kind="unmute"))
    return bool(res.rowcount)


@handler(EXPIRE_MUTE_JOB)
async def _expire_mute_job(ctx: Context, payload: dict[str, Any]) -> None:
    async with ctx.tx() as tx:
        await expire_mute(tx, int(payload["account_id"]), int(payload["target_account_id"]))
