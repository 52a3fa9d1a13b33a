"""Entities as the Mastodon API returns them, built from domain objects.

One ``Renderer`` per application (it knows the public base URL). Statuses are
rendered from a ``StatusBundle`` loaded in bulk, so a page costs a fixed number
of queries.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from szpak.config import Settings
from szpak.storage.models import Account, Application, Marker, Notification, Status, StatusEdit, Tag
from szpak.storage.graph import Relations
from szpak.storage.queries import StatusBundle
from szpak.storage.models.polls import PollView
from szpak.storage.models.media import MediaAttachment
from szpak.media.storage import storage_for
from szpak.domain.polls import is_expired
from szpak.domain.notify import group_key


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def iso_date(dt: datetime | None) -> str | None:
    return None if dt is None else dt.strftime("%Y-%m-%dT00:00:00.000Z")


# Mastodon's Role permission bit flags (the Role entity's ``permissions`` is their sum, as a string).
PERMISSION_ADMINISTRATOR = 0x1
PERMISSION_VIEW_AUDIT_LOG = 0x4
PERMISSION_MANAGE_REPORTS = 0x10
PERMISSION_MANAGE_USERS = 0x400
PERMISSION_MANAGE_USER_ACCESS = 0x40000
PERMISSION_DELETE_USER_DATA = 0x80000

# What each Szpak role may do, in those flags. The owner bypasses every check (administrator);
# an admin has the admin API (accounts, reports, deleting a suspended account's data) and the
# moderation log; a moderator may only remove posts, which no Mastodon flag describes, so it
# claims none (a client would otherwise offer screens the server refuses).
ROLE_PERMISSIONS = {
    "user": 0,
    "moderator": 0,
    "admin": PERMISSION_VIEW_AUDIT_LOG | PERMISSION_MANAGE_REPORTS | PERMISSION_MANAGE_USERS
    | PERMISSION_MANAGE_USER_ACCESS | PERMISSION_DELETE_USER_DATA,
    "owner": PERMISSION_ADMINISTRATOR,
}
ROLE_IDS = {"user": "-99", "moderator": "1", "admin": "2", "owner": "3"}


def role_entity(role: str) -> dict[str, Any]:
    """Mastodon's ``Role`` for a Szpak role."""
    return {
        "id": ROLE_IDS.get(role, "-99"),
        "name": "" if role == "user" else role.capitalize(),
        "color": "",
        "permissions": str(ROLE_PERMISSIONS.get(role, 0)),
        "highlighted": role != "user",
    }


def field_html(f: dict[str, Any]) -> str:
    """A profile field's value as HTML: the rendered form stored with it, else the escaped
    source (clients insert ``fields[].value`` as HTML, so raw text must never reach them)."""
    rendered = f.get("html")
    return rendered if isinstance(rendered, str) else html.escape(str(f.get("value", "")), quote=False)


class Renderer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.base = settings.base_url

    # -- accounts -------------------------------------------------------------------
    def media_url(self, path: str | None, fallback: str) -> str:
        return f"{self.base}/system/{path}" if path else f"{self.base}/static/{fallback}"

    def account(self, a: Account) -> dict[str, Any]:
        url = f"{self.base}/@{a.username}"
        avatar = self.media_url(a.avatar_path, "avatar-missing.png")
        header = self.media_url(a.header_path, "header-missing.png")
        return {
            "id": str(a.id),
            "username": a.username,
            "acct": a.acct,
            "display_name": a.display_name,
            "locked": a.locked,
            "bot": a.bot,
            "discoverable": a.discoverable,
            "indexable": a.indexable,
            "group": False,
            "created_at": iso_date(a.created_at),
            "note": a.note,
            "url": url,
            "uri": f"{self.base}/users/{a.username}",
            "avatar": avatar,
            "avatar_static": avatar,
            "header": header,
            "header_static": header,
            "followers_count": a.followers_count,
            "following_count": a.following_count,
            "statuses_count": a.statuses_count,
            "last_status_at": a.last_status_at.strftime("%Y-%m-%d") if a.last_status_at else None,
            "hide_collections": a.hide_collections,
            "noindex": not a.indexable,
            "emojis": [],
            "roles": [],
            "fields": [
                {"name": f.get("name", ""), "value": field_html(f), "verified_at": None} for f in (a.fields or [])
            ],
            "suspended": a.suspended_at is not None or None,
            "limited": a.silenced_at is not None or None,
            # Szpak extension: what kind of account this is.
            "szpak_kind": a.kind,
        }

    def credential_account(self, a: Account, *, user: Any = None, follow_requests_count: int = 0) -> dict[str, Any]:
        data = self.account(a)
        privacy = getattr(user, "default_visibility", "public") if user is not None else "public"
        data["source"] = {
            "note": a.note_source,
            "fields": [{"name": f.get("name", ""), "value": f.get("value", ""), "verified_at": None} for f in a.fields or []],
            "privacy": privacy,
            "sensitive": bool(getattr(user, "default_sensitive", False)),
            "language": getattr(user, "default_language", None),
            "follow_requests_count": follow_requests_count,
            "hide_collections": a.hide_collections,
            "discoverable": a.discoverable,
            "indexable": a.indexable,
        }
        if user is not None:
            data["role"] = role_entity(user.role)
        return data

    def muted_account(self, a: Account, expires_at: datetime | None) -> dict[str, Any]:
        """An Account plus ``mute_expires_at`` (Mastodon's MutedAccount, in /api/v1/mutes)."""
        data = self.account(a)
        data["mute_expires_at"] = iso(expires_at)
        return data

    def relationship(self, account_id: int, rel: Relations) -> dict[str, Any]:
        """The Relationship entity between ``rel.viewer_id`` and ``account_id``."""
        follow = rel.following.get(account_id)
        request = rel.requested.get(account_id)
        edge = follow or request
        mute = rel.muting.get(account_id)
        return {
            "id": str(account_id),
            "following": follow is not None,
            "showing_reblogs": edge.show_reblogs if edge is not None else False,
            "notifying": edge.notify if edge is not None else False,
            "languages": None,
            "followed_by": account_id in rel.followed_by,
            "blocking": account_id in rel.blocking,
            "blocked_by": account_id in rel.blocked_by,
            "muting": mute is not None,
            "muting_notifications": mute[0] if mute is not None else False,
            "muting_expires_at": iso(mute[1]) if mute is not None else None,
            "requested": request is not None,
            "requested_by": account_id in rel.requested_by,
            "domain_blocking": account_id in rel.domain_blocking,
            "endorsed": account_id in rel.endorsed,
            "note": "",
        }

    # -- tags and applications ---------------------------------------------------------
    def tag(
        self, t: Tag, *, history: list[dict[str, str]] | None = None, following: bool | None = None,
        featuring: bool | None = None,
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(t.id),
            "name": t.display_name or t.name,
            "url": f"{self.base}/tags/{t.name}",
            "history": history or [],
        }
        if following is not None:
            data["following"] = following
        if featuring is not None:
            data["featuring"] = featuring
        return data

    def application(self, app: Application) -> dict[str, Any]:
        uris = app.redirect_uris.split("\n") if app.redirect_uris else []
        return {
            "id": str(app.id),
            "name": app.name,
            "website": app.website,
            "scopes": app.scopes.split(),
            "redirect_uri": "\n".join(uris),
            "redirect_uris": uris,
            "vapid_key": "",
        }

    # -- statuses (docs/api/statuses.md) ------------------------------------------------
    def status_url(self, st: Status, author: Account) -> str:
        return f"{self.base}/@{author.username}/{st.id}"

    def status_uri(self, st: Status, author: Account) -> str:
        uri = f"{self.base}/users/{author.username}/statuses/{st.id}"
        return f"{uri}/activity" if st.reblog_of_id is not None else uri

    def _mentions(self, st: Status, b: StatusBundle) -> list[dict[str, Any]]:
        out = []
        for aid in b.mentions.get(st.id, ()):
            acc = b.accounts.get(aid)
            if acc is not None:
                out.append({"id": str(acc.id), "username": acc.username, "acct": acc.acct, "url": f"{self.base}/@{acc.username}"})
        return out

    def _viewer_flags(self, st: Status, b: StatusBundle, data: dict[str, Any]) -> None:
        """What the signed-in viewer did to the post; left out for anonymous readers, as Mastodon does."""
        viewer = b.viewer_id
        if viewer is None:
            return
        data["favourited"] = st.id in b.favourited
        data["reblogged"] = st.id in b.reblogged
        # Mastodon's ``muted`` is a muted conversation, which Szpak does not have yet.
        data["muted"] = False
        data["bookmarked"] = st.id in b.bookmarked
        data["filtered"] = []
        if st.account_id == viewer and st.visibility != "direct":
            data["pinned"] = st.id in b.pinned

    def status(self, st: Status, b: StatusBundle) -> dict[str, Any]:
        """The Status entity. A reblog is a thin wrapper whose ``reblog`` holds the post."""
        author = b.accounts[st.account_id]
        if st.reblog_of_id is not None:
            return self._reblog(st, author, b)
        app = b.applications.get(st.application_id) if st.application_id else None
        media = b.media.get(st.id, ())
        data: dict[str, Any] = {
            "id": str(st.id),
            "created_at": iso(st.created_at),
            "in_reply_to_id": str(st.in_reply_to_id) if st.in_reply_to_id else None,
            "in_reply_to_account_id": str(st.in_reply_to_account_id) if st.in_reply_to_account_id else None,
            # A moderator's sensitive mark on the author puts its media behind a warning.
            "sensitive": st.sensitive or (bool(media) and author.sensitized_at is not None),
            "spoiler_text": st.spoiler_text,
            "visibility": st.visibility,
            "language": st.language,
            "uri": self.status_uri(st, author),
            "url": self.status_url(st, author),
            "replies_count": st.replies_count,
            "reblogs_count": st.reblogs_count,
            "favourites_count": st.favourites_count,
            "quotes_count": 0,
            "edited_at": iso(st.edited_at),
            "content": st.content,
            "reblog": None,
            "application": {"name": app.name, "website": app.website} if app else None,
            "account": self.account(author),
            "media_attachments": [self.media_attachment(m) for m in media],
            "mentions": self._mentions(st, b),
            "tags": [
                {"name": t.display_name or t.name, "url": f"{self.base}/tags/{t.name}"} for t in b.tags.get(st.id, ())
            ],
            "emojis": [],
            "card": None,
            "poll": self.poll(b.polls.get(st.id), b.viewer_id),
            "quote": None,
        }
        self._viewer_flags(st, b, data)
        return data

    def poll(self, view: PollView | None, viewer_id: int | None) -> dict[str, Any] | None:
        """The Poll entity (docs/api/polls.md). Option counts are null while a poll with
        ``hide_totals`` runs, for everyone, its author included (as Mastodon)."""
        if view is None:
            return None
        p = view.poll
        expired = is_expired(p)
        shown = expired or not p.hide_totals
        tallies = list(p.tallies or [])
        data: dict[str, Any] = {
            "id": str(p.id),
            "expires_at": iso(p.expires_at),
            "expired": expired,
            "multiple": p.multiple,
            "votes_count": p.votes_count,
            "voters_count": p.voters_count,
            "options": [
                {"title": title, "votes_count": (int(tallies[i]) if i < len(tallies) else 0) if shown else None}
                for i, title in enumerate(p.options or [])
            ],
            "emojis": [],
        }
        if viewer_id is not None and (view.own_votes is not None or viewer_id == p.account_id):
            # own_votes is None when the bundle was loaded without the viewer (streaming
            # payloads): then only the author's marks are known, and the others are left out.
            data = self.poll_marks(data, p.account_id, viewer_id, view.own_votes or [])
        return data

    @staticmethod
    def poll_marks(poll: dict[str, Any], author_id: int, viewer_id: int, own_votes: list[int]) -> dict[str, Any]:
        """A rendered poll plus what the viewer did: the author counts as having voted."""
        return {**poll, "voted": viewer_id == author_id or bool(own_votes), "own_votes": list(own_votes)}

    def _reblog(self, st: Status, author: Account, b: StatusBundle) -> dict[str, Any]:
        original = b.statuses.get(st.reblog_of_id) if st.reblog_of_id is not None else None
        inner = self.status(original, b) if original is not None and original.account_id in b.accounts else None
        data: dict[str, Any] = {
            "id": str(st.id),
            "created_at": iso(st.created_at),
            "in_reply_to_id": None,
            "in_reply_to_account_id": None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": st.visibility,
            "language": None,
            "uri": self.status_uri(st, author),
            "url": self.status_uri(st, author),
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "quotes_count": 0,
            "edited_at": None,
            "content": "",
            "reblog": inner,
            "application": None,
            "account": self.account(author),
            "media_attachments": [],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None,
            "quote": None,
        }
        if b.viewer_id is not None:
            # Clients read the boost's buttons from the wrapper too: mirror the post's.
            for key in ("favourited", "reblogged", "bookmarked"):
                data[key] = bool(inner and inner.get(key))
            data["muted"] = False
            data["filtered"] = []
        return data

    def statuses(self, items: list[Status], b: StatusBundle) -> list[dict[str, Any]]:
        """Render a page; rows whose author (or reblogged post) vanished meanwhile are left out."""
        out = []
        for st in items:
            if st.account_id not in b.accounts:
                continue
            if st.reblog_of_id is not None and st.reblog_of_id not in b.statuses:
                continue
            out.append(self.status(st, b))
        return out

    def deleted_status(self, st: Status, b: StatusBundle) -> dict[str, Any]:
        """What DELETE returns: the status plus its source ``text``, for delete-and-redraft."""
        data = self.status(st, b)
        data["text"] = st.text
        return data

    def status_source(self, st: Status) -> dict[str, Any]:
        return {"id": str(st.id), "text": st.text, "spoiler_text": st.spoiler_text}

    def media_attachment(self, m: MediaAttachment) -> dict[str, Any]:
        """Mastodon's MediaAttachment (docs/api/media.md)."""
        store = storage_for(self.settings)
        meta = dict(m.meta or {})
        meta["focus"] = {"x": m.focus_x, "y": m.focus_y}
        return {
            "id": str(m.id),
            "type": m.type,
            "url": store.url(m.file_key),
            "preview_url": store.url(m.small_key) if m.small_key else None,
            "remote_url": None,
            "preview_remote_url": None,
            "text_url": None,
            "meta": meta,
            "description": m.description,
            "blurhash": m.blurhash,
        }

    def status_edit(
        self, edit: StatusEdit, author: Account, media: dict[int, MediaAttachment] | None = None
    ) -> dict[str, Any]:
        """One StatusEdit (a revision in ``/history``): its media with the description and
        focal point they had then (``media``: the attachments by id; one since deleted is left
        out), and its poll as Mastodon shows a revision's, option titles only."""
        attachments = []
        for item in edit.media or []:
            m = (media or {}).get(int(item["id"]))
            if m is None:
                continue
            data = self.media_attachment(m)
            data["description"] = item.get("description")
            focus = item.get("focus") or [m.focus_x, m.focus_y]
            data["meta"] = {**data["meta"], "focus": {"x": focus[0], "y": focus[1]}}
            attachments.append(data)
        return {
            "content": edit.content,
            "spoiler_text": edit.spoiler_text,
            "sensitive": edit.sensitive,
            "created_at": iso(edit.created_at),
            "account": self.account(author),
            "poll": {"options": [{"title": t} for t in edit.poll_options]} if edit.poll_options else None,
            "media_attachments": attachments,
            "emojis": [],
        }

    # -- notifications and markers (docs/api/notifications-search.md) -----------------
    def notification(self, n: Notification, accounts: dict[int, Account], b: StatusBundle) -> dict[str, Any] | None:
        """A Notification entity; None when its actor or status is not in the bundle
        (the caller dropped it as no longer visible), so it is left out, never half-shown."""
        actor = accounts.get(n.from_account_id)
        if actor is None:
            return None
        data: dict[str, Any] = {
            "id": str(n.id),
            "type": n.type,
            "created_at": iso(n.created_at),
            "group_key": group_key(n.id, n.type, n.status_id),
            "account": self.account(actor),
        }
        if n.status_id is not None:
            st = b.statuses.get(n.status_id)
            if st is None or st.account_id not in b.accounts:
                return None
            data["status"] = self.status(st, b)
        return data

    def marker(self, m: Marker) -> dict[str, Any]:
        return {"last_read_id": str(m.last_read_id), "version": m.version, "updated_at": iso(m.updated_at)}
