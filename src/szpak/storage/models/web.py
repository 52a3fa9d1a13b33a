"""Browser sessions of the web UI.

A session row ties a browser cookie to a user and to the access token the page
scripts use (an ordinary OAuth token of the built-in "Szpak Web" application).
Neither secret is stored: the row keeps the sha256 of the cookie value, and the
token is derived from the cookie with the server's secret key, so a copy of the
database alone logs nobody in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, utcnow


class WebSession(IdMixin, Base):
    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_user_id", "user_id"),)

    #: sha256 of the session cookie value.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    #: The page scripts' token; revoking it (or deleting it) ends the session too.
    token_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("oauth_tokens.id", ondelete="CASCADE"))
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
