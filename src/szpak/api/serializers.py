"""Entities as the Mastodon API returns them, built from domain objects.

One ``Renderer`` per application (it knows the public base URL). Statuses are
rendered from a ``StatusBundle`` loaded in bulk, so a page costs a fixed number
of queries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from szpak.config import Settings
from szpak.storage.models import Account, Application, Status, Tag
from szpak.storage.queries import StatusBundle


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def iso_date(dt: datetime | None) -> str | None:
    return None if dt is None else dt.strftime("%Y-%m-%dT00:00:00.000Z")


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
                {"name": f.get("name", ""), "value": f.get("value", ""), "verified_at": None} for f in (a.fields or [])
            ],
            "suspended": a.suspended_at is not None or None,
            "limited": a.silenced_at is not None or None,
            # Szpak extension: what kind of account this is.
            "szpak_kind": a.kind,
        }

    def credential_account(self, a: Account, *, user: Any = None) -> dict[str, Any]:
        data = self.account(a)
        privacy = getattr(user, "default_visibility", "public") if user is not None else "public"
        data["source"] = {
            "note": a.note_source,
            "fields": [{"name": f.get("name", ""), "value": f.get("value", ""), "verified_at": None} for f in a.fields or []],
            "privacy": privacy,
            "sensitive": bool(getattr(user, "default_sensitive", False)),
            "language": getattr(user, "default_language", None),
            "follow_requests_count": 0,
            "hide_collections": a.hide_collections,
            "discoverable": a.discoverable,
            "indexable": a.indexable,
        }
        if user is not None:
            data["role"] = {
                "id": {"user": "-99", "moderator": "1", "admin": "2", "owner": "3"}.get(user.role, "-99"),
                "name": "" if user.role == "user" else user.role.capitalize(),
                "permissions": "0",
                "color": "",
                "highlighted": user.role != "user",
            }
        return data

    # -- tags and applications ---------------------------------------------------------
    def tag(self, t: Tag, *, history: list[dict[str, str]] | None = None, following: bool | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(t.id),
            "name": t.display_name or t.name,
            "url": f"{self.base}/tags/{t.name}",
            "history": history or [],
        }
        if following is not None:
            data["following"] = following
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

    # -- statuses ---------------------------------------------------------------------
    def status_url(self, st: Status, author: Account) -> str:
        return f"{self.base}/@{author.username}/{st.id}"

    def status(self, st: Status, b: StatusBundle) -> dict[str, Any]:
        author = b.accounts[st.account_id]
        if st.reblog_of_id is not None:
            original = b.statuses.get(st.reblog_of_id)
            inner = self.status(original, b) if original is not None else None
            return {
                "id": str(st.id),
                "created_at": iso(st.created_at),
                "in_reply_to_id": None,
                "in_reply_to_account_id": None,
                "sensitive": False,
                "spoiler_text": "",
                "visibility": st.visibility,
                "language": None,
                "uri": f"{self.base}/users/{author.username}/statuses/{st.id}/activity",
                "url": None,
                "replies_count": 0,
                "reblogs_count": 0,
                "favourites_count": 0,
                "quotes_count": 0,
                "edited_at": None,
                "favourited": inner["favourited"] if inner else False,
                "reblogged": inner["reblogged"] if inner else False,
                "muted": False,
                "bookmarked": inner["bookmarked"] if inner else False,
                "pinned": False,
                "content": "",
                "filtered": [],
                "reblog": inner,
                "application": None,
                "account": self.account(author),
                "media_attachments": [],
                "mentions": [],
                "tags": [],
                "emojis": [],
                "card": None,
                "poll": None,
            }
        mentions = []
        for aid in b.mentions.get(st.id, ()):
            acc = b.accounts.get(aid)
            if acc is not None:
                mentions.append(
                    {"id": str(acc.id), "username": acc.username, "acct": acc.acct, "url": f"{self.base}/@{acc.username}"}
                )
        viewer = b.viewer_id
        app = b.applications.get(st.application_id) if st.application_id else None
        data: dict[str, Any] = {
            "id": str(st.id),
            "created_at": iso(st.created_at),
            "in_reply_to_id": str(st.in_reply_to_id) if st.in_reply_to_id else None,
            "in_reply_to_account_id": str(st.in_reply_to_account_id) if st.in_reply_to_account_id else None,
            "sensitive": st.sensitive,
            "spoiler_text": st.spoiler_text,
            "visibility": st.visibility,
            "language": st.language,
            "uri": f"{self.base}/users/{author.username}/statuses/{st.id}",
            "url": self.status_url(st, author),
            "replies_count": st.replies_count,
            "reblogs_count": st.reblogs_count,
            "favourites_count": st.favourites_count,
            "quotes_count": 0,
            "edited_at": iso(st.edited_at),
            "content": st.content,
            "filtered": [],
            "reblog": None,
            "application": {"name": app.name, "website": app.website} if app else None,
            "account": self.account(author),
            "media_attachments": [],
            "mentions": mentions,
            "tags": [{"name": t.name, "url": f"{self.base}/tags/{t.name}"} for t in b.tags.get(st.id, ())],
            "emojis": [],
            "card": None,
            "poll": None,
        }
        if viewer is not None:
            data["favourited"] = st.id in b.favourited
            data["reblogged"] = st.id in b.reblogged
            data["muted"] = st.account_id in b.muted_accounts
            data["bookmarked"] = st.id in b.bookmarked
            if st.account_id == viewer:
                data["pinned"] = st.id in b.pinned
        else:
            data["favourited"] = data["reblogged"] = data["muted"] = data["bookmarked"] = False
        return data

    def statuses(self, items: list[Status], b: StatusBundle) -> list[dict[str, Any]]:
        return [self.status(st, b) for st in items if st.account_id in b.accounts]
