"""Rendering statuses and accounts for the hot paths, from the entity cache.

``Renderer`` (serializers.py) is the one definition of every entity; this module
only avoids doing its work twice. A status is cached as its viewer-independent
"core" (the Renderer's output for an anonymous reader, without the embedded
account and, for a boost, without the boosted post); a page is then composed from
cores, cached account JSON and one query for the viewer's own marks (favourited,
bookmarked, reblogged, pinned). The result is equal to ``Renderer.statuses`` over
``load_bundle`` for the same viewer; tests/test_presenter.py checks that.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, Select, bindparam, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.api.cache import EntityCache
from szpak.api.serializers import Renderer
from szpak.storage.models import Bookmark, Favourite, Status, StatusPin
from szpak.storage.queries import fetch_marks, load_accounts, load_bundle
from szpak.storage.models.polls import own_votes


@dataclass(frozen=True)
class Core:
    account_id: int
    reblog_of_id: int | None
    visibility: str
    data: dict[str, Any]


@cache
def _marks_statement() -> Select[Any]:
    """The viewer's favourites, bookmarks, boosts and pins among some statuses: one query."""
    viewer = bindparam("viewer", type_=BigInteger)
    ids = bindparam("ids", expanding=True)
    return union_all(
        select(literal("f"), Favourite.status_id).where(Favourite.account_id == viewer, Favourite.status_id.in_(ids)),
        select(literal("b"), Bookmark.status_id).where(Bookmark.account_id == viewer, Bookmark.status_id.in_(ids)),
        select(literal("r"), Status.reblog_of_id).where(Status.account_id == viewer, Status.reblog_of_id.in_(ids)),
        select(literal("p"), StatusPin.status_id).where(StatusPin.account_id == viewer, StatusPin.status_id.in_(ids)),
    )  # type: ignore[return-value]


class Presenter:
    def __init__(self, renderer: Renderer, cache_: EntityCache) -> None:
        self.renderer = renderer
        self.cache = cache_
        #: The viewers' filters (``domain.filters.FilterCache``), set at start-up by
        #: ``api/routes/filters.py``; ``filtered`` is viewer-specific, so it is added here.
        self.filters: Any = None

    # -- accounts -----------------------------------------------------------------------
    async def accounts(self, session: AsyncSession, ids: set[int]) -> dict[int, dict[str, Any]]:
        out: dict[int, dict[str, Any]] = {}
        missing: dict[int, tuple[int, int]] = {}
        for aid in ids:
            hit = self.cache.accounts.get(aid)
            if hit is not None:
                out[aid] = hit
            else:
                missing[aid] = self.cache.accounts.generation(aid)
        if missing:
            for aid, account in (await load_accounts(session, missing)).items():
                data = self.renderer.account(account)
                self.cache.accounts.fill(aid, data, missing[aid])
                out[aid] = data
        return out

    # -- statuses -----------------------------------------------------------------------
    async def _cores(self, session: AsyncSession, ids: set[int]) -> dict[int, Core]:
        out: dict[int, Core] = {}
        missing: dict[int, tuple[int, int]] = {}
        for sid in ids:
            hit = self.cache.statuses.get(sid)
            if hit is not None:
                out[sid] = hit
            else:
                missing[sid] = self.cache.statuses.generation(sid)
        if missing:
            rows = list(await session.scalars(select(Status).where(Status.id.in_(missing))))
            bundle = await load_bundle(session, rows, None)
            for st in rows:
                if st.account_id not in bundle.accounts:
                    continue
                data = self.renderer.status(st, bundle)
                data.pop("account", None)
                if st.reblog_of_id is not None:
                    data["reblog"] = None
                core = Core(st.account_id, st.reblog_of_id, st.visibility, data)
                self.cache.statuses.fill(st.id, core, missing[st.id])
                out[st.id] = core
        return out

    async def statuses(
        self, session: AsyncSession, ids: list[int], viewer_id: int | None, context: str | None = None,
        *, drop_hidden: bool = True,
    ) -> list[dict[str, Any]]:
        """Render statuses ``ids`` (already filtered for visibility) in order, for ``viewer_id``;
        with a filter ``context`` (home, public, thread, account, notifications) the viewer's
        filters apply: ``filtered`` is filled in and statuses a ``hide`` filter matches are left out."""
        if not ids:
            return []
        cores = await self._cores(session, set(ids))
        originals = {c.reblog_of_id for c in cores.values() if c.reblog_of_id is not None} - cores.keys()
        if originals:
            cores.update(await self._cores(session, originals))
        accounts = await self.accounts(session, {c.account_id for c in cores.values()})
        marks: dict[str, set[int]] = {"f": set(), "b": set(), "r": set(), "p": set()}
        if viewer_id is not None:
            content = [sid for sid, c in cores.items() if c.reblog_of_id is None]
            if content:
                for kind, sid in await fetch_marks(session, _marks_statement(), viewer_id, content):
                    marks[kind].add(sid)
        out = []
        for sid in ids:
            data = self._compose(sid, cores, accounts, marks, viewer_id)
            if data is not None:
                out.append(data)
        if viewer_id is not None:
            await self._poll_marks(session, out, viewer_id)
        return await self.apply_filters(session, viewer_id, context, out, drop_hidden=drop_hidden)

    async def _poll_marks(self, session: AsyncSession, items: list[dict[str, Any]], viewer_id: int) -> None:
        """A poll's ``voted``/``own_votes`` are the viewer's, so not in the cached cores:
        one query, only when the page has polls (docs/api/polls.md)."""
        with_poll = [d for item in items for d in (item, item.get("reblog")) if d and d.get("poll")]
        if not with_poll:
            return
        votes = await own_votes(session, viewer_id, [int(d["poll"]["id"]) for d in with_poll])
        for d in with_poll:
            mine = votes.get(int(d["poll"]["id"]), [])
            d["poll"] = self.renderer.poll_marks(d["poll"], int(d["account"]["id"]), viewer_id, mine)

    async def apply_filters(
        self, session: AsyncSession, viewer_id: int | None, context: str | None, items: list[dict[str, Any]],
        *, drop_hidden: bool = True,
    ) -> list[dict[str, Any]]:
        """The viewer's filters over rendered statuses (also for routes that render with the Renderer);
        ``drop_hidden=False`` keeps posts a hide filter matches (with ``filtered``), for posts asked for by id."""
        if self.filters is None or viewer_id is None or context is None:
            return items
        return await self.filters.apply(  # type: ignore[no-any-return]
            session, viewer_id, context, items, drop_hidden=drop_hidden
        )

    def _compose(
        self, sid: int, cores: dict[int, Core], accounts: dict[int, dict[str, Any]], marks: dict[str, set[int]],
        viewer_id: int | None,
    ) -> dict[str, Any] | None:
        core = cores.get(sid)
        if core is None or core.account_id not in accounts:
            return None
        data = dict(core.data)
        data["account"] = accounts[core.account_id]
        if core.reblog_of_id is not None:
            inner = self._compose(core.reblog_of_id, cores, accounts, marks, viewer_id)
            if inner is None:
                return None
            data["reblog"] = inner
            if viewer_id is not None:
                for key in ("favourited", "reblogged", "bookmarked"):
                    data[key] = bool(inner.get(key))
                data["muted"] = False
                data["filtered"] = []
            return data
        if viewer_id is not None:
            data["favourited"] = sid in marks["f"]
            data["reblogged"] = sid in marks["r"]
            data["muted"] = False
            data["bookmarked"] = sid in marks["b"]
            data["filtered"] = []
            if core.account_id == viewer_id and core.visibility != "direct":
                data["pinned"] = sid in marks["p"]
        return data
