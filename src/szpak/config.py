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
    #: Redis pub/sub channel carrying events between processes (one per site sharing a Redis).
    redis_channel: str = "szpak:events"
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
    #: Server rules (/api/v1/instance/rules): a JSON list of strings or of {"text", "hint"}
    #: objects, or plain text with one rule per line. Empty: the built-in Polish/English rules.
    rules: str = ""
    #: Secret used to sign session cookies and webhooks. Generated into data_dir when empty.
    secret_key: str = ""
    #: Run the durable job worker inside the server process.
    run_workers: bool = True
    #: Keep rendered accounts and statuses in memory, invalidated by domain events. Several
    #: processes on one database need Redis for that; without it `szpak serve --workers N`
    #: switches this off.
    entity_cache: bool = True
    #: Seconds between streaming heartbeats.
    heartbeat_seconds: float = Field(15.0, gt=0)
    #: Events buffered per streaming connection before a slow consumer is cut off.
    stream_queue_size: int = Field(1000, ge=1)
    #: Default UI language.
    default_locale: Literal["pl", "en"] = "pl"

    # --- media attachments (docs/api/media.md) ---
    #: Directory for uploaded media files; empty: ``data_dir / "media"``.
    media_dir: Path | None = None
    #: Public base URL of media files; empty: served by Szpak at ``/system/media_attachments``.
    media_url: str = ""
    #: Largest image upload, in bytes.
    media_image_size_limit: int = Field(16 * 1024 * 1024, ge=1024)
    #: Largest image, in pixels (width x height); larger ones are refused before decoding.
    media_image_matrix_limit: int = Field(33_177_600, ge=1)
    #: Largest video or audio upload, in bytes.
    media_video_size_limit: int = Field(99 * 1024 * 1024, ge=1024)
    #: Largest video frame, in pixels.
    media_video_matrix_limit: int = Field(8_294_400, ge=1)
    #: Highest video frame rate accepted.
    media_video_frame_rate_limit: int = Field(120, ge=1)
    #: Longest media description, in characters.
    media_description_limit: int = Field(1500, ge=1, le=100_000)

    # --- brand listening (docs/listening.md) ---
    #: Tracked queries one organisation may have.
    listening_max_queries: int = Field(200, ge=1, le=100_000)
    #: Alert bucket length in seconds (a whole number of minutes).
    listening_bucket_seconds: int = Field(60, ge=60, le=3600, multiple_of=60)
    #: Buckets in the sliding window compared against the baseline.
    listening_window_buckets: int = Field(5, ge=1, le=120)
    #: Fewest mentions in the window before a volume or negative-share alert may fire.
    listening_alert_min_volume: int = Field(10, ge=1)
    #: Seconds after an alert during which the same query raises no alert of that kind.
    listening_alert_cooldown_seconds: int = Field(3600, ge=0)
    #: Seconds to wait for a webhook target to answer.
    webhook_timeout_seconds: float = Field(5.0, gt=0, le=60)
    #: Let webhooks target loopback, private, link-local and other non-public addresses.
    #: Off by default: a webhook URL must not become a way to reach the server's own network.
    webhook_allow_private_targets: bool = False
    #: Attempts per webhook or e-mail delivery before it is given up.
    delivery_max_attempts: int = Field(10, ge=1, le=50)
    #: SMTP server for alert e-mails; empty turns e-mail off.
    smtp_host: str = ""
    #: SMTP port.
    smtp_port: int = Field(25, ge=1, le=65535)
    #: Sender address of alert e-mails (default ``szpak@<domain>``).
    smtp_from: str = ""
    #: SMTP user name (empty: no authentication).
    smtp_username: str = ""
    #: SMTP password.
    smtp_password: str = ""
    #: Upgrade the SMTP connection with STARTTLS.
    smtp_starttls: bool = False

    @cached_property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'szpak.sqlite3').resolve()}"

    @property
    def effective_media_dir(self) -> Path:
        return self.media_dir if self.media_dir is not None else self.data_dir / "media"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.domain}"

    @property
    def streaming_url(self) -> str:
        return f"{'wss' if self.scheme == 'https' else 'ws'}://{self.domain}"
