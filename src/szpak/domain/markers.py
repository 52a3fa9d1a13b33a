"""Read-position markers (``/api/v1/markers``): where in a timeline a user stopped reading.

Several clients of one user (phone, web) save markers independently; ``version`` counts
the updates so that a client can tell its copy is stale. The write is one atomic upsert,
so two clients saving at once both land (the later wins) and ``version`` never skips
or repeats.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from szpak.domain.context import Tx
from szpak.domain.errors import Invalid
from szpak.storage.models import Marker

TIMELINES = ("home", "notifications")


async def save_markers(tx: Tx, account_id: int, positions: Mapping[str, int]) -> list[Marker]:
    """Set ``last_read_id`` for each timeline in ``positions``; returns the saved markers.

    A new marker starts at version 0 and each later save adds one (as Mastodon's lock
    version does).
    """
    unknown = set(positions) - set(TIMELINES)
    if unknown:
        raise Invalid(f"Validation failed: Timeline must be one of {', '.join(TIMELINES)}")
    saved: list[Marker] = []
    now = datetime.now(timezone.utc)
    for timeline, last_read_id in positions.items():
        await _upsert(tx, account_id, timeline, last_read_id, now)
    if positions:
        await tx.session.flush()
        rows = await tx.session.scalars(
            select(Marker)
            .where(Marker.account_id == account_id, Marker.timeline.in_(list(positions)))
            .execution_options(populate_existing=True)
        )
        saved = list(rows)
    return saved


async def _upsert(tx: Tx, account_id: int, timeline: str, last_read_id: int, now: datetime) -> None:
    """INSERT ... ON CONFLICT DO UPDATE, in the dialect of the database at hand."""
    dialect = tx.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Marker).values(
        account_id=account_id, timeline=timeline, last_read_id=last_read_id, version=0, updated_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[Marker.account_id, Marker.timeline],
        set_={"last_read_id": last_read_id, "version": Marker.version + 1, "updated_at": now},
    )
    await tx.session.execute(stmt)
