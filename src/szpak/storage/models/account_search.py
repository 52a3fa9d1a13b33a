"""The account search index: folded words of each account's username and display name.

Account search must ignore case and diacritics (``zolw`` finds ``Żółw``), which no
portable SQL can do on the fly; so the folded words are stored, one row per
(term, account), and a search is a prefix match on ``term``. Kept in step by the
account actions (``domain.accounts.index_account``).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class AccountTerm(Base):
    __tablename__ = "account_terms"
    __table_args__ = (Index("ix_account_terms_account_id", "account_id"),)

    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
