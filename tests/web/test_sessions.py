"""Web sessions in the domain layer, and the home page agreeing with the API's home timeline."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select, update

from szpak.domain import web_sessions
from szpak.domain.events import AccountUpdated, TokenRevoked
from szpak.storage.models import AccessToken, Account, Application, User, WebSession
from szpak.web.session import SessionCache

from .conftest import PASSWORD, Browser, account_id, new_browser


async def test_one_web_application_however_many_sessions(app: Any, browser: Browser) -> None:
    # Anyone may register an app called "Szpak Web"; sessions must not use it.
    r = await browser.post("/api/v1/apps", json={"client_name": "Szpak Web", "redirect_uris": ["urn:ietf:wg:oauth:2.0:oob"]})
    impostor = r.json()["client_id"]
    await browser.sign_up("alice")
    async with new_browser(app) as second:
        await second.sign_in("alice")
    async with app.state.ctx.read() as s:
        apps = list(await s.scalars(select(Application).where(Application.name == "Szpak Web")))
        used = set(await s.scalars(select(AccessToken.application_id).join(WebSession, WebSession.token_id == AccessToken.id)))
        sessions = await s.scalar(select(func.count()).select_from(WebSession))
    assert len(apps) == 2 and sessions == 2
    ours = [a for a in apps if a.client_id != impostor]
    assert used == {ours[0].id}


async def test_authenticate_by_username_or_email(client: Any, app: Any) -> None:
    await client.make_user("alice")
    async with app.state.ctx.read() as s:
        assert (await web_sessions.authenticate(s, "alice", PASSWORD)) is not None
        assert (await web_sessions.authenticate(s, "@Alice", PASSWORD)) is not None
        assert (await web_sessions.authenticate(s, "ALICE@example.com", PASSWORD)) is not None
        assert (await web_sessions.authenticate(s, "alice", "wrong")) is None
        assert (await web_sessions.authenticate(s, "nobody", PASSWORD)) is None
        assert (await web_sessions.authenticate(s, "", "")) is None


async def test_suspended_or_disabled_users_cannot_log_in_and_lose_their_session(client: Any, app: Any, browser: Browser) -> None:
    """A moderation action changes the account and says so (``AccountUpdated``), as the API's
    token cache needs too; the session then ends at once."""
    await browser.sign_up("alice")
    assert (await browser.page("/home")).status_code == 200
    alice = int(await account_id(app, "alice"))
    async with app.state.ctx.tx() as tx:
        await tx.session.execute(update(Account).where(Account.id == alice).values(suspended_at=datetime.now(timezone.utc)))
        tx.emit(AccountUpdated(account_id=alice))
    assert (await browser.page("/home")).status_code == 303
    async with app.state.ctx.tx() as tx:
        await tx.session.execute(update(Account).where(Account.id == alice).values(suspended_at=None))
        await tx.session.execute(update(User).where(User.account_id == alice).values(disabled=True))
        tx.emit(AccountUpdated(account_id=alice))
    assert (await browser.page("/home")).status_code == 303
    async with new_browser(app) as b:
        assert (await b.sign_in("alice")).status_code == 401


def test_session_cache_expires_and_hears_revocations() -> None:
    now = [100.0]
    cache = SessionCache(clock=lambda: now[0])
    user, account = User(id=1, account_id=2), Account(id=2)
    later = datetime.now(timezone.utc) + timedelta(days=1)
    cache.put("k1", "t1", user, account, later)
    cache.put("k2", "t2", user, account, later)
    assert cache.get("k1", datetime.now(timezone.utc)) == (user, account, False)
    cache.on_event(TokenRevoked(token_hash="t1"))
    assert cache.get("k1", datetime.now(timezone.utc)) is None and cache.get("k2", datetime.now(timezone.utc))
    cache.on_event(AccountUpdated(account_id=2))
    assert cache.get("k2", datetime.now(timezone.utc)) is None
    cache.put("k3", "t3", user, account, later)
    now[0] += SessionCache.TTL + 1
    assert cache.get("k3", datetime.now(timezone.utc)) is None
    cache.put("k4", "t4", user, account, datetime.now(timezone.utc) - timedelta(seconds=1))
    assert cache.get("k4", datetime.now(timezone.utc)) is None  # the session itself expired


async def test_expired_sessions_end_and_are_purged(app: Any, browser: Browser) -> None:
    await browser.sign_up("alice")
    token = browser.token((await browser.page("/home")).text)
    async with app.state.ctx.tx() as tx:
        await tx.session.execute(update(WebSession).values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    async with app.state.ctx.tx() as tx:
        assert await web_sessions.purge_expired(tx) == 1
    assert (await browser.page("/home")).status_code == 303
    async with app.state.ctx.read() as s:
        assert await s.scalar(select(func.count()).select_from(WebSession)) == 0
    r = await browser.get("/api/v1/accounts/verify_credentials", headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 401


async def test_home_page_shows_exactly_the_api_home_timeline(client: Any, app: Any, browser: Browser) -> None:
    bob = await client.make_user("bob")
    carol = await client.make_user("carol")
    dave = await client.make_user("dave")
    await browser.sign_up("alice")
    for who in ("bob", "carol"):
        await browser.submit(f"/@{who}", f"/@{who}/follow", {})
    await browser.post_status("od Alicji")
    b1 = await bob.post_status("bob publicznie")
    await bob.post_status("bob dla obserwujących", visibility="private")
    await carol.post_status("@bob odpowiedź do obserwowanego", in_reply_to_id=b1["id"])
    d1 = await dave.post_status("dave, którego nikt nie obserwuje")
    await carol.post_status("@dave odpowiedź do nieobserwowanego", in_reply_to_id=d1["id"])
    await bob.post(f"/api/v1/statuses/{d1['id']}/reblog")
    await bob.post_status("@alice wzmianka bezpośrednia", visibility="direct")
    html = (await browser.page("/home")).text
    token = browser.token(html)
    api = await browser.get("/api/v1/timelines/home", headers={"authorization": f"Bearer {token}"})
    assert api.status_code == 200
    page_ids = re.findall(r'<article class="status[^"]*" id="s-(\d+)"', html)
    assert page_ids == [s["id"] for s in api.json()]
    assert len(page_ids) >= 5


async def test_logging_in_clears_the_users_expired_sessions(app: Any, browser: Browser) -> None:
    await browser.sign_up("alice")
    async with app.state.ctx.tx() as tx:
        await tx.session.execute(update(WebSession).values(expires_at=datetime.now(timezone.utc) - timedelta(days=1)))
    async with new_browser(app) as laptop:
        await laptop.sign_in("alice")
    async with app.state.ctx.read() as s:
        assert await s.scalar(select(func.count()).select_from(WebSession)) == 1
        revoked = await s.scalar(select(func.count()).select_from(AccessToken).where(AccessToken.revoked_at.is_not(None)))
    assert revoked == 1
