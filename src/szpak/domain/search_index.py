"""Keeps the ``status_terms`` search index in step with public statuses.

Terms come from the shared Polish text layer (``szpak.text``): folded lemmas and
folded surface forms, so that search is inflection- and diacritic-insensitive.
"""

from __future__ import annotations

from sqlalchemy import delete

from szpak.domain.context import Tx
from szpak.storage.models import Status, StatusTerm
from szpak.text.lemmas import index_terms
from szpak.text.normalize import html_to_text


def terms_for(status: Status) -> set[str]:
    text = html_to_text(status.content)
    if status.spoiler_text:
        text = f"{status.spoiler_text}\n{text}"
    return {t[:64] for t in index_terms(text) if t}


def index_status(tx: Tx, status: Status) -> None:
    tx.session.add_all([StatusTerm(term=term, status_id=status.id) for term in terms_for(status)])


async def unindex_status(tx: Tx, status: Status) -> None:
    await tx.session.execute(delete(StatusTerm).where(StatusTerm.status_id == status.id))
