"""How the ASGI server should treat streaming connections (used by ``szpak serve``).

- No permessage-deflate: each compressed WebSocket keeps its own zlib state (tens
  of kilobytes) and compresses every frame separately, which costs memory per
  idle connection and CPU per recipient; a fan-out server sends the same frame to
  thousands of clients, so it sends it as is (Mastodon's streaming server does too).
- WebSocket pings every ``heartbeat_seconds`` keep idle connections alive through
  proxies and find dead peers (ASGI cannot send ping frames; the server does).
- Server-sent event streams never end on their own, so a graceful shutdown waits
  only a few seconds before ending them.
"""

from __future__ import annotations

from typing import Any

from szpak.config import Settings

SHUTDOWN_GRACE_SECONDS = 5


def server_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run``/``uvicorn.Config``."""
    return {
        "ws": "websockets-sansio",
        "ws_per_message_deflate": False,
        "ws_ping_interval": settings.heartbeat_seconds,
        "ws_ping_timeout": max(20.0, settings.heartbeat_seconds),
        "timeout_graceful_shutdown": SHUTDOWN_GRACE_SECONDS,
    }
