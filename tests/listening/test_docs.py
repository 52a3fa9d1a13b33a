"""docs/listening.md names every listening route, and the numbers it gives for the alert
statistic are the code's."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from szpak.listening.alerts import AlertParams
from szpak.listening.deliveries import RETRY_BASE, RETRY_MAX
from szpak.listening.labeller import STALE
from szpak.web import listening as web_listening

DOC = Path(__file__).resolve().parents[2] / "docs" / "listening.md"


def doc_key(path: str) -> str:
    path = path.removeprefix("/api/szpak/v1")
    path = path.replace("/organisations/{organisation_id}", "", 1) if path != "/organisations/{organisation_id}" else path
    return re.sub(r"\{([^}]+)\}", r":\1", path).replace(":organisation_id", ":id")


def test_every_route_is_documented(app: Any) -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = []
    for route in app.routes:
        path = getattr(route, "path", "")
        if path.startswith("/api/szpak/v1/"):
            key = doc_key(path)
            if key and f"{key}" not in text:
                missing.append(f"{path} (as {key})")
    for route in web_listening.router.routes:
        key = re.sub(r"\{([^}]+)\}", r":\1", route.path).replace(":organisation_id", ":id")  # type: ignore[attr-defined]
        if key not in text and not key.startswith("/_web/listening/assets"):
            missing.append(key)
    assert not missing, missing


def test_the_statistic_as_documented() -> None:
    text = " ".join(DOC.read_text(encoding="utf-8").split())
    p = AlertParams()
    for phrase in (
        f"up to {p.history_buckets} buckets",
        f"half-life {int(p.half_life_buckets)} buckets",
        f"prior share of {p.negative_prior} with the weight of {int(p.prior_weight)} mentions",
        f"max(rate, {p.rate_floor})",
        f"at least {int(p.volume_lift)} × `expected`",
        f"at most {p.volume_p:.0e}".replace("e-0", "e-"),
        f"at least {p.negative_lift} above",
        f"covers {p.warmup_buckets} buckets",
        f"waited longer than {int(STALE.total_seconds())} s",
        f"retried after {int(RETRY_BASE.total_seconds())} s",
        f"at most {int(RETRY_MAX.total_seconds() // 3600)} h apart",
    ):
        assert phrase in text, phrase
