"""A small in-memory sliding-window limiter for log-in attempts and sign-ups.

Limits of this design (documented in docs/web.md): counts live in one process's
memory, so they reset on restart and each worker process counts on its own (with
N workers an attacker gets up to N times the attempts); the client address is the
one the ASGI server reports, so behind a proxy the server must trust its
``X-Forwarded-For`` (``szpak serve`` runs uvicorn with ``proxy_headers``). It
slows down password guessing; it is no substitute for strong passwords.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class Limiter:
    """At most ``limit`` hits per ``window`` seconds for each key."""

    def __init__(self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float] | None:
        hits = self._hits.get(key)
        if hits is None:
            return None
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if not hits:
            del self._hits[key]
            return None
        return hits

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may try again; 0 when it may now."""
        now = self.clock()
        hits = self._recent(key, now)
        if hits is None or len(hits) < self.limit:
            return 0.0
        return max(0.0, hits[0] + self.window - now)

    def hit(self, key: str) -> None:
        now = self.clock()
        if len(self._hits) >= self.max_keys:
            self._prune(now)
        hits = self._recent(key, now)
        if hits is None:
            hits = self._hits[key] = deque()
        hits.append(now)

    def reset(self, key: str) -> None:
        self._hits.pop(key, None)

    def _prune(self, now: float) -> None:
        """Drop expired keys; if an attack filled the table with live ones, forget the oldest half."""
        for key in list(self._hits):
            self._recent(key, now)
        if len(self._hits) >= self.max_keys:
            for key in list(self._hits)[: len(self._hits) // 2]:
                del self._hits[key]


class LoginGuard:
    """Failed log-ins: 5 per 5 minutes for one address and login, 50 for one address overall."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_login = Limiter(5, 300, clock=clock)
        self.per_address = Limiter(50, 300, clock=clock)
        self.signups = Limiter(10, 3600, clock=clock)

    @staticmethod
    def _login_key(address: str, login: str) -> str:
        return f"{address}\x00{login.strip().lstrip('@').lower()}"

    def retry_after(self, address: str, login: str) -> float:
        return max(self.per_login.retry_after(self._login_key(address, login)), self.per_address.retry_after(address))

    def failed(self, address: str, login: str) -> None:
        self.per_login.hit(self._login_key(address, login))
        self.per_address.hit(address)

    def succeeded(self, address: str, login: str) -> None:
        self.per_login.reset(self._login_key(address, login))
