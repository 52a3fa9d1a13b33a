"""The server's secret key and what is derived from it.

``settings.secret_key`` when set; otherwise a random key generated once into
``data_dir/secret_key`` (mode 0600) and reused by every process and restart, so
sessions survive a restart and all workers agree. Everything secret the web UI
hands out (CSRF tokens, the page scripts' access tokens, the web application's
client id) is an HMAC of this key, so none of it needs storing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache
import os
import secrets
from pathlib import Path

from szpak.config import Settings

KEY_FILE = "secret_key"


def _read_or_create(path: Path) -> str:
    """Read the key file, or create it atomically (two processes starting at once agree)."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key


def load_secret(settings: Settings) -> bytes:
    key = settings.secret_key or _read_or_create(settings.data_dir / KEY_FILE)
    if not key:
        raise RuntimeError(f"{settings.data_dir / KEY_FILE} is empty; delete it or set SZPAK_SECRET_KEY")
    return key.encode()


class Keys:
    """Derives purpose-bound values from the secret: ``derive("csrf", seed)``."""

    #: Derived values remembered (a page derives its reader's CSRF and page token; an HMAC is ~3 us).
    MEMO = 50_000

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._memo: dict[tuple[str, str], str] = {}

    def derive(self, purpose: str, value: str = "") -> str:
        hit = self._memo.get((purpose, value))
        if hit is not None:
            return hit
        mac = hmac.new(self._secret, f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()
        out = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
        if len(self._memo) >= self.MEMO:
            self._memo.clear()
        self._memo[(purpose, value)] = out
        return out

    def matches(self, purpose: str, value: str, candidate: str) -> bool:
        return hmac.compare_digest(self.derive(purpose, value), candidate or "")


@lru_cache(maxsize=50_000)
def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
