"""Keeps the ``status_terms`` search index in step with public statuses, and turns a
search query into the terms to look up in it.

Terms come from the shared Polish text layer (``szpak.text``): folded lemmas and
folded surface forms, so that search is inflection- and diacritic-insensitive.
Both sides go through this module so that they agree on the stored term length.
"""

from __future__ import annotations

import re

from sqlalchemy import delete

from szpak.domain.context import Tx
from szpak.storage.models import Status, StatusTerm
from szpak.text.lemmas import index_terms, query_terms
from szpak.text.normalize import html_to_text

#: ``status_terms.term`` is this long; longer terms are cut on both sides.
TERM_LENGTH = 64
#: Query words beyond this many are ignored: each word is one more index lookup.
MAX_QUERY_WORDS = 12


def terms_for(status: Status) -> set[str]:
    text = html_to_text(status.content)
    if status.spoiler_text:
        text = f"{status.spoiler_text}\n{text}"
    return {t[:TERM_LENGTH] for t in index_terms(text) if t}


def index_status(tx: Tx, status: Status) -> None:
    tx.session.add_all([StatusTerm(term=term, status_id=status.id) for term in terms_for(status)])


async def insert_terms(tx: Tx, status: Status) -> None:
    """:func:`index_status` as one Core executemany, for the posting path (no ORM objects)."""
    terms = terms_for(status)
    if terms:
        await tx.insert(StatusTerm.__table__, [{"term": t, "status_id": status.id} for t in terms])


async def unindex_status(tx: Tx, status: Status) -> None:
    await tx.session.execute(delete(StatusTerm).where(StatusTerm.status_id == status.id))


def query_alternatives(q: str, local_domain: str | None = None) -> list[frozenset[str]]:
    """For each word of ``q`` (at most :data:`MAX_QUERY_WORDS`), the index terms any of
    which satisfies it; a status matches when every word is satisfied. Empty when ``q``
    has no searchable word (only punctuation, URLs...).

    ``@user@<local_domain>`` is searched as ``@user``: a post indexes a local mention
    under its short form whichever way it was written.
    """
    if local_domain:
        q = re.sub(rf"(@\w+)@{re.escape(local_domain)}(?![\w-]|\.\w)", r"\1", q, flags=re.IGNORECASE)
    out: list[frozenset[str]] = []
    for alternatives in query_terms(q):
        cut = frozenset(t[:TERM_LENGTH] for t in alternatives if t)
        if cut and cut not in out:
            out.append(cut)
        if len(out) >= MAX_QUERY_WORDS:
            break
    return out
