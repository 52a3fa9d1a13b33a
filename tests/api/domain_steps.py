"""Test set-up through domain actions, for state whose HTTP endpoint belongs to another
part of the API (favourite, reblog, edit, block...): the tests of notifications,
search and lists then do not depend on those routes, only on the actions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import update

from szpak.storage.models import Account, User


async def act(client: Any, user: Any, fn: Callable[..., Awaitable[Any]], *args: Any, **kw: Any) -> Any:
    """Run ``fn(tx, <user's account>, *args, **kw)`` in one transaction, as a route would."""
    async with client.app.state.ctx.tx() as tx:
        actor = await tx.session.get(Account, int(user.id))
        return await fn(tx, actor, *args, **kw)


async def set_account(client: Any, user: Any, **values: Any) -> None:
    """Change account columns directly (suspension, indexable) where no action exists yet."""
    async with client.app.state.ctx.tx() as tx:
        await tx.session.execute(update(Account).where(Account.id == int(user.id)).values(**values))


async def set_user(client: Any, user: Any, **values: Any) -> None:
    async with client.app.state.ctx.tx() as tx:
        await tx.session.execute(update(User).where(User.account_id == int(user.id)).values(**values))


async def suspend(client: Any, user: Any) -> None:
    await set_account(client, user, suspended_at=datetime.now(timezone.utc))
