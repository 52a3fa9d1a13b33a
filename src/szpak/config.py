"""One typed settings object, read from ``SZPAK_*`` environment variables.

Every knob of the server lives here so that it is documented in one place
(docs/configuration.md is checked against this class by a test).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SZPAK_", extra="ignore")

    #: SQLAlchemy URL. Default: an SQLite file under ``data_dir``.
    database_url: str = ""
    #: Redis URL; when set, the bus and caches go through Redis.
    redis_url: str = ""
    #: Where the SQLite file, media and other local state live.
    data_dir: Path = Path("data")
    #: Public host (and port) the server is reached at, e.g. ``localhost:3000``.
    domain: str = "localhost:3000"
    #: ``http`` for local use, ``https`` behind a TLS proxy.
    scheme: Literal["http", "https"] = "http"
    #: Instance title shown in the UI and /api/v1/instance.
    title: str = "Szpak"
    #: Maximum characters in a post.
    max_status_chars: int = Field(500, ge=1, le=100_000)
    #: Registration mode: ``open``, ``approval`` or ``closed``.
    registrations: Literal["open", "approval", "closed"] = "open"
    #: Contact e-mail shown in instance info.
    contact_email: str = ""
    #: Secret used to sign session cookies and webhooks. Generated into data_dir when empty.
    secret_key: str = ""
    #: Run the durable job worker inside the server process.
    run_workers: bool = True
    #: Seconds between streaming heartbeats.
    heartbeat_seconds: float = Field(15.0, gt=0)
    #: Events buffered per streaming connection before a slow consumer is cut off.
    stream_queue_size: int = Field(1000, ge=1)
    #: Default UI language.
    default_locale: Literal["pl", "en"] = "pl"

    @cached_property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'szpak.sqlite3').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.domain}"

    @property
    def streaming_url(self) -> str:
        return f"{'wss' if self.scheme == 'https' else 'ws'}://{self.domain}"
