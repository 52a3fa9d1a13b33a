"""Form handling shared by the pages: reading a posted form (CSRF checked), redirecting
after a post, and turning domain errors into messages in the reader's language."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from fastapi import Request
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse

from szpak.domain.errors import DomainError
from szpak.web.i18n import N_
from szpak.web.session import apply_cookies, check_csrf

#: Largest form accepted (a post with one image, or an avatar).
MAX_FORM_BYTES = 12 * 1024 * 1024

# Domain messages are English and meant for API clients; these are the ones a web user
# meets, phrased for people and translated. Anything else is shown as the domain wrote it.
DOMAIN_MESSAGES: list[tuple[str, str]] = [
    (r"Username must contain only", N_("A username may only contain letters, digits and underscores (at most 30).")),
    (r"Username has already been taken", N_("That username is already taken.")),
    (r"Email is invalid", N_("That e-mail address doesn't look right.")),
    (r"Email has already been taken", N_("An account with that e-mail address already exists.")),
    (r"Password is too short", N_("The password must have at least 8 characters.")),
    (r"Password is too long", N_("The password is too long.")),
    (r"Current password is invalid", N_("The current password is not correct.")),
    (r"Text can't be blank", N_("Write something first.")),
    (r"Text character limit of \d+ exceeded", N_("The post is too long.")),
    (r"Display name is too long", N_("The display name is too long.")),
    (r"Note is too long", N_("The bio is too long (at most 500 characters).")),
    (r"Record not found", N_("It doesn't exist, or you may not see it.")),
    (r"You cannot follow yourself", N_("You cannot follow yourself.")),
    (r"This action is not allowed", N_("You may not do that.")),
    (r"is not a valid image|must be a PNG, JPEG, GIF or WebP image", N_("That file is not an image we can use (PNG, JPEG, GIF or WebP).")),
    (r"file size must be less than", N_("That image is too large.")),
    (r"Media attachments not found", N_("The image could not be attached.")),
    (r"File is not a supported image|File is empty|dimensions are too large|animation is too large", N_("That file is not an image we can use (PNG, JPEG, GIF or WebP).")),
    (r"Too many images|Media attachments can't be more than", N_("At most 4 images can be attached to a post.")),
    (r"Description is too long", N_("An image description is too long.")),
    (r"poll has already ended", N_("This poll has already ended.")),
    (r"already voted", N_("You have already voted in this poll.")),
    (r"cannot vote in your own", N_("You cannot vote in your own poll.")),
    (r"Choices can't be blank", N_("Choose an option first.")),
    (r"chosen vote option does not exist", N_("That option is not in the poll.")),
]


#: (field, Mastodon error code) of a failed registration -> what the sign-up form says.
REGISTRATION_MESSAGES: dict[tuple[str, str], str] = {
    ("username", "ERR_BLANK"): N_("Choose a username."),
    ("username", "ERR_TOO_LONG"): N_("A username may have at most 30 characters."),
    ("username", "ERR_INVALID"): N_("A username may only contain letters, digits and underscores (at most 30)."),
    ("username", "ERR_TAKEN"): N_("That username is already taken."),
    ("email", "ERR_BLANK"): N_("Enter your e-mail address."),
    ("email", "ERR_INVALID"): N_("That e-mail address doesn't look right."),
    ("email", "ERR_TAKEN"): N_("An account with that e-mail address already exists."),
    ("password", "ERR_BLANK"): N_("Choose a password."),
    ("password", "ERR_TOO_SHORT"): N_("The password must have at least 8 characters."),
    ("password", "ERR_TOO_LONG"): N_("The password is too long."),
    ("agreement", "ERR_ACCEPTED"): N_("Please accept the rules to sign up."),
    ("reason", "ERR_BLANK"): N_("Tell us why you want to join."),
    ("reason", "ERR_TOO_LONG"): N_("That is too long (at most 1000 characters)."),
}


def field_errors(exc: DomainError) -> dict[str, list[str]]:
    """Per-field msgids from an error that carries Mastodon-style ``details``."""
    details = getattr(exc, "details", None)
    if not isinstance(details, dict):
        return {}
    out: dict[str, list[str]] = {}
    for name, items in details.items():
        for item in items:
            message = REGISTRATION_MESSAGES.get((name, item.get("error", "")))
            out.setdefault(name, []).append(message or f"{name.capitalize()} {item.get('description', '')}")
    return out


def domain_message(exc: DomainError) -> str:
    """The msgid to show for a domain error (translate it with ``_`` where it is shown)."""
    for pattern, message in DOMAIN_MESSAGES:
        if re.search(pattern, exc.message):
            return message
    return exc.message.removeprefix("Validation failed: ")


class FormTooLarge(Exception):
    """A part of a posted form (a file) was larger than allowed."""


async def posted_form(request: Request, *, max_part_size: int = MAX_FORM_BYTES) -> FormData:
    """The posted form, after checking its CSRF token and origin (raises ``CsrfError``;
    ``FormTooLarge`` when a file exceeds ``max_part_size``)."""
    try:
        form = await request.form(max_part_size=max_part_size)
    except HTTPException as exc:
        if "exceeded maximum size" in str(exc.detail):
            raise FormTooLarge() from exc
        raise
    await check_csrf(request, form)
    return form


def text(form: FormData | dict[str, Any], name: str, default: str = "") -> str:
    value = form.get(name)
    return value if isinstance(value, str) else default


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to return to; anything that could leave the site becomes ``default``."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(ord(c) < 32 for c in value):
        return default
    return value


def fragment_home(request: Request) -> str:
    """The page a fragment is inserted into (``?next=``), where its forms return."""
    return safe_next(request.query_params.get("next"), "/home")


def see_other(path: str) -> RedirectResponse:
    """Post/redirect/get: a 303 so that reloading the result does not post again."""
    return RedirectResponse(path, status_code=303)


def parse_max_id(request: Request) -> int | None:
    raw = request.query_params.get("max_id", "")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 2**63 else None


def login_redirect(request: Request) -> RedirectResponse:
    """Send an anonymous reader to log in, and back here afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = see_other(f"/auth/sign_in?next={quote(here, safe='/')}")
    v = getattr(request.state, "web_visitor", None)
    if v is not None:
        apply_cookies(request, response, v)  # e.g. forget a stale session cookie
    return response
