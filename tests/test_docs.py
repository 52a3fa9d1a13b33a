"""Docs that drift from the code fail the build.

docs/configuration.md must have one table row per field of ``config.Settings``, named
by its environment variable and showing the default the code really has, and no row for
a setting that no longer exists.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic_core import PydanticUndefined

from szpak.config import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"
ROW = re.compile(r"^\|\s*`(SZPAK_[A-Z0-9_]+)`\s*\|\s*([^|]*?)\s*\|\s*(.*?)\s*\|\s*$")
OTHER_SECTION = "## Other environment variables"


def documented_settings() -> dict[str, tuple[str, str]]:
    """env var -> (default cell, meaning) for the settings tables (above 'Other ...')."""
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    settings_part = text.split(OTHER_SECTION, 1)[0]
    rows: dict[str, tuple[str, str]] = {}
    for line in settings_part.splitlines():
        match = ROW.match(line)
        if match:
            assert match.group(1) not in rows, f"{match.group(1)} is documented twice"
            rows[match.group(1)] = (match.group(2), match.group(3))
    return rows


def default_cells(value: Any) -> set[str]:
    """How a default may be written in the table."""
    if value is PydanticUndefined or value is None or value == "":
        return {"(empty)"}
    if isinstance(value, bool):
        return {f"`{str(value).lower()}`"}
    if isinstance(value, float) and value.is_integer():
        return {f"`{int(value)}`", f"`{value}`"}
    return {f"`{value}`"}


def env_name(field: str) -> str:
    return f"SZPAK_{field.upper()}"


def test_every_setting_is_documented_with_its_default() -> None:
    rows = documented_settings()
    problems = []
    for name, field in Settings.model_fields.items():
        env = env_name(name)
        if env not in rows:
            problems.append(f"{env} is missing from docs/configuration.md")
            continue
        cell, meaning = rows[env]
        if cell not in default_cells(field.default):
            problems.append(f"{env}: docs say default {cell}, the code has {field.default!r}")
        if len(meaning) < 10:
            problems.append(f"{env}: say what it means")
    assert not problems, "\n".join(problems)


def test_no_documented_setting_is_stale() -> None:
    known = {env_name(name) for name in Settings.model_fields}
    stale = sorted(set(documented_settings()) - known)
    assert not stale, f"documented but not in config.Settings: {stale}"


def test_oauth_doc_names_every_endpoint() -> None:
    text = (DOCS / "api" / "oauth.md").read_text(encoding="utf-8")
    for endpoint in (
        "POST /api/v1/apps", "GET /api/v1/apps/verify_credentials", "GET /oauth/authorize", "POST /oauth/authorize",
        "POST /oauth/token", "POST /oauth/revoke", "GET /.well-known/oauth-authorization-server", "GET /oauth/userinfo",
    ):
        assert endpoint in text, endpoint
    for grant in ("authorization_code", "client_credentials", "password"):
        assert grant in text
