"""docs/web.md names every page and form, and the limits it promises are the code's."""

from __future__ import annotations

from pathlib import Path

from szpak.web.ratelimit import LoginGuard
from szpak.web.routes import PAGE_MODULES

DOC = Path(__file__).resolve().parents[2] / "docs" / "web.md"


def test_every_route_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = []
    for module in PAGE_MODULES:
        for route in module.router.routes:
            for method in sorted(getattr(route, "methods", ()) - {"HEAD"}):
                if f"{method} {route.path}" not in text:  # type: ignore[attr-defined]
                    missing.append(f"{method} {route.path}")  # type: ignore[attr-defined]
    assert not missing, missing


def test_documented_log_in_limits_are_the_real_ones() -> None:
    text = DOC.read_text(encoding="utf-8")
    guard = LoginGuard()
    assert f"{guard.per_login.limit} failed log-ins per {int(guard.per_login.window) // 60} minutes" in text
    assert f"{guard.per_address.limit} per {int(guard.per_address.window) // 60} minutes" in text
    assert f"{guard.signups.limit} sign-ups per hour" in text
