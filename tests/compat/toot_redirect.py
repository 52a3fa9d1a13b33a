"""A pytest plugin loaded into toot's own test run (``-p toot_redirect``), not a test.

Two of toot's integration tests (``test_auth.py::test_login_cli*``) log in to a
hard-coded ``http://localhost:3000`` instead of ``TOOT_TEST_BASE_URL``. So that they
exercise the server under test (and not whatever else listens on port 3000, or
nothing), name resolution of ``localhost:3000`` is pointed at the port in
``SZPAK_TOOT_REDIRECT_PORT``. Requests keep their ``Host: localhost:3000`` header,
exactly as if the server listened there.
"""

from __future__ import annotations

import os
import socket

_PORT = int(os.environ.get("SZPAK_TOOT_REDIRECT_PORT", "0") or 0)
_original = socket.getaddrinfo


def _getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
    if _PORT and host in ("localhost", "127.0.0.1") and str(port) == "3000":
        port = _PORT
    return _original(host, port, *args, **kwargs)


socket.getaddrinfo = _getaddrinfo
