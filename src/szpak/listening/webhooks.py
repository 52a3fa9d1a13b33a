"""Webhook targets of an organisation: where alerts (and, if asked, every mention) are
POSTed, signed with a per-webhook secret (deliveries.py sends them). Owners only."""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import socket
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from szpak.domain.context import Tx
from szpak.domain.errors import Invalid, NotFound
from szpak.domain.organisations import CAN_MANAGE, Acting
from szpak.listening.queries import WEBHOOKS_VERSION, bump_version
from szpak.storage.models.listening import Delivery, Webhook

EVENTS = ("alert", "mention")
MAX_WEBHOOKS = 10
MAX_URL = 2048


def new_secret() -> str:
    return secrets.token_urlsafe(32)


#: Host names that never leave the machine or the local network.
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")

PRIVATE_TARGET = "Validation failed: Url must point to a public address"


def _is_public_ip(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _literal_or_local_host_is_private(host: str) -> bool:
    """What can be told without DNS: an IP literal outside the public internet, or a
    name that by convention never resolves to it."""
    host = host.lower().rstrip(".")
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host == "localhost" or host.endswith(_LOCAL_SUFFIXES)
    return not _is_public_ip(host)


async def resolves_to_private(host: str, port: int | None) -> bool:
    """True when any address the host resolves to is not public (checked again at every
    delivery, so a name re-pointed at the local network after registration is caught)."""
    if _literal_or_local_host_is_private(host):
        return True
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
    except OSError:
        return False  # unresolvable: the delivery fails on its own and is retried
    return any(not _is_public_ip(info[4][0]) for info in infos)


def _check_url(url: str, *, allow_private: bool = True) -> str:
    url = (url or "").strip()
    if not url or len(url) > MAX_URL or any(c.isspace() for c in url):
        raise Invalid("Validation failed: Url must be an http or https URL")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise Invalid("Validation failed: Url must be an http or https URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("Validation failed: Url must be an http or https URL")
    if not allow_private and _literal_or_local_host_is_private(parts.hostname):
        raise Invalid(PRIVATE_TARGET)
    return url


def _check_events(events: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(events))
    if not cleaned or any(e not in EVENTS for e in cleaned):
        raise Invalid(f"Validation failed: Events must be some of {', '.join(EVENTS)}")
    return cleaned


async def list_webhooks(session: AsyncSession, acting: Acting) -> list[Webhook]:
    acting.require(CAN_MANAGE)
    return list(await session.scalars(
        select(Webhook).where(Webhook.organisation_id == acting.organisation_id).order_by(Webhook.id)
    ))


async def get_webhook(session: AsyncSession, acting: Acting, webhook_id: int) -> Webhook:
    acting.require(CAN_MANAGE)
    hook = await session.get(Webhook, webhook_id)
    if hook is None or hook.organisation_id != acting.organisation_id:
        raise NotFound()
    return hook


async def create_webhook(
    tx: Tx, acting: Acting, *, url: str, events: list[str] | None = None, description: str = ""
) -> Webhook:
    acting.require(CAN_MANAGE)
    count = await tx.session.scalar(
        select(func.count()).select_from(Webhook).where(Webhook.organisation_id == acting.organisation_id)
    )
    if (count or 0) >= MAX_WEBHOOKS:
        raise Invalid(f"Validation failed: An organisation may have at most {MAX_WEBHOOKS} webhooks")
    hook = Webhook(
        organisation_id=acting.organisation_id, url=_check_url(url, allow_private=tx.settings.webhook_allow_private_targets), secret=new_secret(),
        events=_check_events(["alert"] if events is None else events), description=(description or "")[:255],
        created_by_id=acting.member_id,
    )
    tx.session.add(hook)
    await tx.session.flush()
    await bump_version(tx, WEBHOOKS_VERSION)
    return hook


async def update_webhook(
    tx: Tx, acting: Acting, webhook_id: int, *, url: str | None = None, events: list[str] | None = None,
    active: bool | None = None, description: str | None = None, rotate_secret: bool = False,
) -> Webhook:
    hook = await get_webhook(tx.session, acting, webhook_id)
    if url is not None:
        hook.url = _check_url(url, allow_private=tx.settings.webhook_allow_private_targets)
    if events is not None:
        hook.events = _check_events(events)
    if active is not None:
        hook.active = active
        if active:
            hook.failures = 0
    if description is not None:
        hook.description = description[:255]
    if rotate_secret:
        hook.secret = new_secret()
    await tx.session.flush()
    await bump_version(tx, WEBHOOKS_VERSION)
    return hook


async def delete_webhook(tx: Tx, acting: Acting, webhook_id: int) -> None:
    hook = await get_webhook(tx.session, acting, webhook_id)
    await tx.session.delete(hook)
    await tx.session.flush()
    await bump_version(tx, WEBHOOKS_VERSION)


async def ping(tx: Tx, acting: Acting, webhook_id: int) -> Delivery:
    """Queue a ``ping`` to one webhook, to check the receiving end."""
    hook = await get_webhook(tx.session, acting, webhook_id)
    delivery = Delivery(
        organisation_id=acting.organisation_id, channel="webhook", webhook_id=hook.id, event="ping",
        payload={"webhook_id": str(hook.id)}, max_attempts=1,
    )
    tx.session.add(delivery)
    await tx.session.flush()
    return delivery


async def recent_deliveries(session: AsyncSession, acting: Acting, webhook_id: int, limit: int = 20) -> list[Delivery]:
    await get_webhook(session, acting, webhook_id)
    return list(await session.scalars(
        select(Delivery).where(Delivery.webhook_id == webhook_id).order_by(Delivery.id.desc()).limit(limit)
    ))
