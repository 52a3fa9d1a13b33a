"""Media attachments: uploaded pictures, video and audio (Mastodon's MediaAttachment).

An upload belongs to its uploader and to no status until a post claims it
(``status_id`` NULL meanwhile). Files live in the media storage (``szpak.media.storage``)
under ``file_key`` (the processed original) and ``small_key`` (the preview);
``thumbnail_custom`` says the preview was sent by the client rather than made from
the file. When its status is deleted an attachment is let go again (``status_id``
NULL, ``detached_at`` set), so a redraft can reuse it; unattached uploads are swept
after a day (domain/media.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, utcnow

MEDIA_TYPES = ("image", "gifv", "video", "audio", "unknown")


class MediaAttachment(IdMixin, Base):
    __tablename__ = "media_attachments"
    __table_args__ = (
        Index("ix_media_attachments_status_id", "status_id", "position"),
        Index("ix_media_attachments_account_id", "account_id", "id"),
    )

    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"))
    status_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("statuses.id", ondelete="SET NULL"), default=None
    )
    #: Order within the status (0..3), as the author listed ``media_ids``.
    position: Mapped[int] = mapped_column(Integer, default=0)
    type: Mapped[str] = mapped_column(String(16), default="image")
    #: Storage key of the processed original, e.g. ``files/000/012/345/original/<token>.jpg``.
    file_key: Mapped[str] = mapped_column(String(255))
    #: Its MIME type.
    content_type: Mapped[str] = mapped_column(String(64))
    file_size: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Storage key of the preview (None for audio without a cover).
    small_key: Mapped[str | None] = mapped_column(String(255), default=None)
    thumbnail_custom: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    focus_x: Mapped[float] = mapped_column(Float, default=0.0)
    focus_y: Mapped[float] = mapped_column(Float, default=0.0)
    #: ``original`` and ``small`` dimensions (and duration etc. for video/audio).
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    blurhash: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When it was last let go by a deleted or edited status (the sweep counts from here).
    detached_at: Mapped[datetime | None] = mapped_column(default=None)


async def load_media(session: Any, status_ids: list[int]) -> dict[int, list[MediaAttachment]]:
    """status id → its attachments in order, in one query (for ``load_bundle``)."""
    from sqlalchemy import select

    out: dict[int, list[MediaAttachment]] = {}
    if not status_ids:
        return out
    rows = await session.scalars(
        select(MediaAttachment)
        .where(MediaAttachment.status_id.in_(status_ids))
        .order_by(MediaAttachment.status_id, MediaAttachment.position, MediaAttachment.id)
    )
    for m in rows:
        out.setdefault(m.status_id, []).append(m)
    return out
