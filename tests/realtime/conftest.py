"""Fixtures for the streaming tests: a live server per module (see ``live.py``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from szpak.config import Settings

from .live import REDIS_URL, LiveServer, start_server


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[LiveServer]:
    yield from start_server(tmp_path_factory.mktemp("live"), sqlite_template)


@pytest.fixture(autouse=True)
async def _close_http(request: pytest.FixtureRequest) -> Any:
    """Close the test's HTTP client on any live server it used."""
    yield
    for name in request.fixturenames:
        value = request.getfixturevalue(name) if name.endswith("server") else None
        if isinstance(value, LiveServer):
            await value.close_http()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The root ``settings``, on the Redis bus when ``SZPAK_TEST_REDIS_URL`` is set."""
    if not REDIS_URL:
        return settings
    return settings.model_copy(update={"redis_url": REDIS_URL, "redis_channel": f"szpak-test:{uuid.uuid4().hex}"})
