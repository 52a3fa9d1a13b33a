"""Alert e-mails over SMTP (``SZPAK_SMTP_*`` settings; empty host: no e-mail).

smtplib is blocking, so a message is sent in a worker thread; the deliverer
(deliveries.py) retries failures with back-off like any other delivery.
"""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import datetime, timezone
from typing import Any

from szpak.config import Settings

KIND_TEXT = {
    "pl": {
        "volume": "gwałtowny wzrost liczby wzmianek",
        "negative": "gwałtowny wzrost odsetka negatywnych wzmianek",
        "ping": "test powiadomień",
    },
    "en": {
        "volume": "a spike in mentions",
        "negative": "a spike in the share of negative mentions",
        "ping": "notification test",
    },
}


def sender(settings: Settings) -> str:
    return settings.smtp_from or f"szpak@{settings.domain.split(':')[0]}"


def compose(settings: Settings, recipient: str, event: str, payload: dict[str, Any]) -> EmailMessage:
    """A plain-text message in the server's default language, with the English below."""
    lang = settings.default_locale
    msg = EmailMessage()
    msg["From"] = sender(settings)
    msg["To"] = recipient
    msg["Date"] = format_datetime(datetime.now(timezone.utc))
    msg["Message-ID"] = make_msgid(domain=settings.domain.split(":")[0] or "localhost")
    if event == "alert":
        kind = payload.get("kind", "volume")
        query = payload.get("query", {})
        org = payload.get("organisation", {})
        msg["Subject"] = f"Szpak: {KIND_TEXT[lang][kind]} — {query.get('name', '')} (@{org.get('username', '')})"
        facts = (
            f"{payload.get('observed')} / {payload.get('expected')}"
            if kind == "volume"
            else f"{payload.get('negative')} / {payload.get('observed')} (baseline share {payload.get('expected')})"
        )
        lines = []
        for code in (lang, "en" if lang == "pl" else "pl"):
            lines += [
                f"{KIND_TEXT[code][kind].capitalize()}: {query.get('name', '')}",
                f"  {query.get('query', '')}",
                f"  {payload.get('window_start')} – {payload.get('window_end')}: {facts}",
                "",
            ]
        lines.append(str(payload.get("url", "")))
        msg.set_content("\n".join(lines) + "\n")
    else:
        msg["Subject"] = f"Szpak: {KIND_TEXT[lang]['ping']}"
        msg.set_content(f"{KIND_TEXT['pl']['ping']} / {KIND_TEXT['en']['ping']}\n")
    return msg


def _send_sync(settings: Settings, msg: EmailMessage, timeout: float) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(msg)


async def send(settings: Settings, msg: EmailMessage, *, timeout: float = 10.0) -> None:
    """Send one message; raises on any failure (the deliverer retries it)."""
    if not settings.smtp_host:
        raise RuntimeError("e-mail is not configured (SZPAK_SMTP_HOST)")
    await asyncio.to_thread(_send_sync, settings, msg, timeout)
