"""Event payloads: the same JSON the REST API returns, rendered once per distinct viewer view.

A status looks the same to every viewer except for a few viewer-specific fields
(``favourited``, ``reblogged``, ``bookmarked``, ``pinned``, and whether there is a
viewer at all). For an
event with a thousand recipients we load the status once (``load_bundle`` without
a viewer), load who has marked it in one query (``load_marks``), and render it
once per distinct combination of those fields with the application's own
``Renderer``, so the payload equals ``GET /api/v1/statuses/:id`` for each viewer.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import CompoundSelect, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.api.serializers import Renderer
from szpak.storage.models import Bookmark, Favourite, Status, StatusPin
from szpak.storage.queries import StatusBundle


@dataclasses.dataclass(slots=True)
class Marks:
    """Who has favourited, bookmarked, reblogged or pinned each status (by status id)."""

    favourited: dict[int, set[int]] = dataclasses.field(default_factory=lambda: defaultdict(set))
    bookmarked: dict[int, set[int]] = dataclasses.field(default_factory=lambda: defaultdict(set))
    reblogged: dict[int, set[int]] = dataclasses.field(default_factory=lambda: defaultdict(set))
    pinned: dict[int, set[int]] = dataclasses.field(default_factory=lambda: defaultdict(set))


async def load_marks(session: AsyncSession, status_ids: Iterable[int]) -> Marks:
    """All marks on these statuses in one query; its cost follows the marks, not the recipients."""
    ids = list(set(status_ids))
    marks = Marks()
    if not ids:
        return marks
    query: CompoundSelect[Any] = union_all(
        select(literal("f"), Favourite.status_id, Favourite.account_id).where(Favourite.status_id.in_(ids)),
        select(literal("b"), Bookmark.status_id, Bookmark.account_id).where(Bookmark.status_id.in_(ids)),
        select(literal("r"), Status.reblog_of_id, Status.account_id).where(Status.reblog_of_id.in_(ids)),
        select(literal("p"), StatusPin.status_id, StatusPin.account_id).where(StatusPin.status_id.in_(ids)),
    )
    table = {"f": marks.favourited, "b": marks.bookmarked, "r": marks.reblogged, "p": marks.pinned}
    for kind, status_id, account_id in (await session.execute(query)).all():
        table[kind][status_id].add(account_id)
    return marks


def to_json(data: Any) -> str:
    return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS).decode()


class StatusPayloads:
    """One status rendered for many viewers, each distinct rendering made once."""

    def __init__(self, renderer: Renderer, status: Status, bundle: StatusBundle, marks: Marks) -> None:
        self.renderer = renderer
        self.status = status
        self.bundle = bundle
        self.marks = marks
        self._content = [st for st in bundle.statuses.values() if st.reblog_of_id is None]
        #: Viewers whose rendering may differ from a plain viewer's: authors and markers.
        self._special = {st.account_id for st in self._content}
        for table in (marks.favourited, marks.bookmarked, marks.reblogged, marks.pinned):
            for accounts in table.values():
                self._special |= accounts
        self._cache: dict[tuple[Any, ...], tuple[dict[str, Any], str]] = {}

    def _variant(self, viewer: int | None) -> tuple[Any, ...]:
        """Everything about the viewer that the rendering depends on, and nothing else."""
        if viewer is None:
            return (None,)
        if viewer not in self._special:
            return ()  # most recipients of a post: neither its author nor anyone who marked it
        m = self.marks
        return tuple(
            (
                st.account_id == viewer,
                viewer in m.favourited.get(st.id, ()),
                viewer in m.bookmarked.get(st.id, ()),
                viewer in m.reblogged.get(st.id, ()),
                viewer in m.pinned.get(st.id, ()),
            )
            for st in self._content
        )

    def _render(self, viewer: int | None) -> dict[str, Any]:
        bundle = self.bundle
        if viewer is not None:
            m = self.marks
            ids = [st.id for st in self._content]
            bundle = dataclasses.replace(
                bundle,
                viewer_id=viewer,
                favourited={i for i in ids if viewer in m.favourited.get(i, ())},
                bookmarked={i for i in ids if viewer in m.bookmarked.get(i, ())},
                reblogged={i for i in ids if viewer in m.reblogged.get(i, ())},
                pinned={i for i in ids if viewer in m.pinned.get(i, ())},
            )
        return self.renderer.status(self.status, bundle)

    def rendered(self, viewer: int | None) -> tuple[dict[str, Any], str]:
        """The status as ``GET /api/v1/statuses/:id`` shows it to this viewer: (dict, JSON text)."""
        key = self._variant(viewer)
        hit = self._cache.get(key)
        if hit is None:
            data = self._render(viewer)
            hit = (data, to_json(data))
            self._cache[key] = hit
        return hit

    @property
    def variants(self) -> int:
        """How many distinct renderings were made (tests assert it stays small)."""
        return len(self._cache)


def conversation_entity(
    renderer: Renderer, status: Status, bundle: StatusBundle, viewer_id: int, last_status: dict[str, Any],
    row: Any = None,
) -> dict[str, Any]:
    """A Mastodon ``Conversation`` for the direct post that just arrived in it; ``row``: the
    viewer's ``AccountConversation`` (domain/conversations.py), whose id and unread flag
    ``GET /api/v1/conversations`` shows."""
    participants = [status.account_id, *bundle.mentions.get(status.id, ())]
    if row is not None:
        accounts = [renderer.account(bundle.accounts[i]) for i in row.participant_ids or [] if i in bundle.accounts]
        if not row.participant_ids and viewer_id in bundle.accounts:
            accounts = [renderer.account(bundle.accounts[viewer_id])]
        return {"id": str(row.id), "unread": bool(row.unread), "accounts": accounts, "last_status": last_status}
    seen: set[int] = set()
    accounts = []
    for account_id in participants:
        if account_id == viewer_id or account_id in seen or account_id not in bundle.accounts:
            continue
        seen.add(account_id)
        accounts.append(renderer.account(bundle.accounts[account_id]))
    return {
        "id": str(status.conversation_id or status.id),
        "unread": status.account_id != viewer_id,
        "accounts": accounts,
        "last_status": last_status,
    }
