"""A real server for streaming tests, and clients that speak the streaming API.

httpx's ASGITransport buffers whole responses, so streaming is tested against a
real uvicorn on a free loopback port, running in a thread with its own event loop
on a fresh database (one per test module). Tests reach into that loop with
``LiveServer.run`` to create users and to do what has no REST route (yet), so
every write still goes through the server's own bus.

With ``SZPAK_TEST_REDIS_URL`` set the server uses the Redis bus, on a channel of
its own so that parallel test workers do not hear each other.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson
import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from szpak.app import create_app
from szpak.config import Settings
from szpak.realtime.server import server_options
from szpak.storage.migrate import upgrade_async

PG_URL = os.environ.get("SZPAK_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("SZPAK_TEST_REDIS_URL", "")
T = TypeVar("T")
_names = itertools.count(1)


def free_socket() -> socket.socket:
    # IPPROTO_TCP spelled out: asyncio only turns Nagle off (TCP_NODELAY) on sockets that say so.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class FreshDatabase:
    """A migrated database of its own: an SQLite copy, or a new PostgreSQL database."""

    def __init__(self, directory: Path, sqlite_template: Path) -> None:
        self.name = ""
        if PG_URL:
            self.name = f"szpak_rt_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:8]}"
            asyncio.run(self._pg(f'CREATE DATABASE "{self.name}"'))
            self.url = f"{PG_URL.rpartition('/')[0]}/{self.name}"
            asyncio.run(upgrade_async(self.url))
        else:
            path = directory / "szpak.sqlite3"
            shutil.copy(sqlite_template, path)
            self.url = f"sqlite+aiosqlite:///{path}"

    @staticmethod
    async def _pg(sql: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def drop(self) -> None:
        if self.name:
            asyncio.run(self._pg(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


class LiveServer:
    """uvicorn serving Szpak in a background thread."""

    def __init__(self, settings: Settings, sock: socket.socket) -> None:
        self.settings = settings
        self.sock = sock
        self.port = sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/api/v1/streaming"
        self.app = create_app(settings, migrate=False)
        config = uvicorn.Config(
            self.app, log_level="warning", lifespan="on", loop="asyncio", http="httptools", access_log=False,
            **{**server_options(settings), "timeout_graceful_shutdown": 1},  # tests don't wait on closing handshakes
        )
        self.server = uvicorn.Server(config)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._main, name=f"szpak-live-{self.port}", daemon=True)
        self.crashed: BaseException | None = None
        self._http: tuple[asyncio.AbstractEventLoop, httpx.AsyncClient] | None = None

    def _main(self) -> None:
        async def serve() -> None:
            self.loop = asyncio.get_running_loop()
            await self.server.serve(sockets=[self.sock])

        try:
            asyncio.run(serve())
        except BaseException as exc:  # noqa: BLE001 - reported by start()/stop()
            self.crashed = exc

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if self.crashed is not None or not self.thread.is_alive():
                raise RuntimeError(f"the test server did not start: {self.crashed!r}")
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start in 30 s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.sock.close()
        assert not self.thread.is_alive(), "the test server did not stop"

    # -- reaching into the server ------------------------------------------------------
    async def run(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        """Run ``fn(app)`` in the server's event loop and return its result here."""
        assert self.loop is not None
        future = asyncio.run_coroutine_threadsafe(fn(self.app), self.loop)
        return await asyncio.wrap_future(future)

    def http(self) -> httpx.AsyncClient:
        """One HTTP client per test (event loop), closed by the ``_close_http`` fixture."""
        loop = asyncio.get_running_loop()
        if self._http is None or self._http[0] is not loop:
            self._http = (loop, httpx.AsyncClient(base_url=self.base_url, timeout=10))
        return self._http[1]

    async def close_http(self) -> None:
        if self._http is not None:
            client, self._http = self._http[1], None
            await client.aclose()

    @property
    def hub(self) -> Any:
        return self.app.state.hub

    def has_route(self, method: str, path: str) -> bool:
        return any(getattr(r, "path", None) == path and method in getattr(r, "methods", ()) for r in self.app.routes)

    async def user(self, name: str = "user", *, scopes: str = "read write follow push", locked: bool = False) -> Actor:
        """A new account with a token (unique names, as the server outlives one test)."""
        from szpak.domain import oauth
        from szpak.domain.accounts import create_user

        username = f"{name}{next(_names)}"

        async def make(app: Any) -> tuple[int, str]:
            async with app.state.ctx.tx() as tx:
                user = await create_user(
                    tx, username=username, email=f"{username}@example.com", password="sekretne-haslo", locked=locked
                )
                token, _ = await oauth.issue_token(tx, application_id=None, user_id=user.id, scopes=scopes.split())
            return user.account_id, token

        account_id, token = await self.run(make)
        return Actor(self, username, str(account_id), token)

    async def users(self, *names: str) -> list[Actor]:
        return [await self.user(name) for name in names]

    async def settle(self, *clients: StreamClient) -> None:
        """Wait until every event published so far has reached these clients."""
        mark = uuid.uuid4().hex
        await self.run(lambda app: app.state.hub.sync(mark=mark))
        for client in clients:
            await client.barrier(mark)


class Actor:
    """A test user: REST calls with its token, domain actions as it, and its streams."""

    def __init__(self, server: LiveServer, username: str, account_id: str, token: str) -> None:
        self.server = server
        self.username = username
        self.id = account_id
        self.token = token
        self.headers = {"Authorization": f"Bearer {token}"}

    async def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        return await self.server.http().request(method, url, headers=self.headers, **kw)

    async def get(self, url: str, **kw: Any) -> httpx.Response:
        return await self.request("GET", url, **kw)

    async def post(self, url: str, **kw: Any) -> httpx.Response:
        return await self.request("POST", url, **kw)

    async def post_status(self, text: str, **fields: Any) -> dict[str, Any]:
        r = await self.post("/api/v1/statuses", json={"status": text, **fields})
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def status_as_seen(self, status_id: str) -> dict[str, Any]:
        r = await self.get(f"/api/v1/statuses/{status_id}")
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def domain(self, fn: Callable[..., Awaitable[Any]], *args: Any, **kw: Any) -> Any:
        """Run ``fn(tx, <this account>, *args)`` in one transaction in the server, as a route would."""
        from szpak.storage.models import Account

        async def call(app: Any) -> Any:
            async with app.state.ctx.tx() as tx:
                actor = await tx.session.get(Account, int(self.id))
                return await fn(tx, actor, *args, **kw)

        return await self.server.run(call)

    async def rest_or_domain(self, method: str, template: str, path: str, fn: Callable[..., Awaitable[Any]],
                             *args: Any, json: dict[str, Any] | None = None) -> None:
        """The REST route when this tree has it, else the domain action it would call."""
        if self.server.has_route(method, template):
            r = await self.request(method, path, json=json)
            assert r.status_code == 200, r.text
        else:
            await self.domain(fn, *args)

    async def follow(self, other: Actor) -> None:
        from szpak.domain import relationships

        await self.rest_or_domain("POST", "/api/v1/accounts/{account_id}/follow", f"/api/v1/accounts/{other.id}/follow",
                                  relationships.follow, int(other.id))

    async def unfollow(self, other: Actor) -> None:
        from szpak.domain import relationships

        await self.rest_or_domain("POST", "/api/v1/accounts/{account_id}/unfollow",
                                  f"/api/v1/accounts/{other.id}/unfollow", relationships.unfollow, int(other.id))

    async def block(self, other: Actor) -> None:
        from szpak.domain import relationships

        await self.rest_or_domain("POST", "/api/v1/accounts/{account_id}/block", f"/api/v1/accounts/{other.id}/block",
                                  relationships.block, int(other.id))

    async def mute(self, other: Actor) -> None:
        from szpak.domain import relationships

        await self.rest_or_domain("POST", "/api/v1/accounts/{account_id}/mute", f"/api/v1/accounts/{other.id}/mute",
                                  relationships.mute, int(other.id))

    async def favourite(self, status_id: str) -> None:
        from szpak.domain import interactions

        await self.rest_or_domain("POST", "/api/v1/statuses/{status_id}/favourite",
                                  f"/api/v1/statuses/{status_id}/favourite", interactions.favourite, int(status_id))

    async def reblog(self, status_id: str) -> None:
        from szpak.domain import statuses

        await self.rest_or_domain("POST", "/api/v1/statuses/{status_id}/reblog", f"/api/v1/statuses/{status_id}/reblog",
                                  statuses.reblog, int(status_id))

    async def edit(self, status_id: str, text: str) -> None:
        from szpak.domain import statuses

        await self.rest_or_domain("PUT", "/api/v1/statuses/{status_id}", f"/api/v1/statuses/{status_id}",
                                  statuses.edit_status, int(status_id), statuses.StatusDraft(text=text),
                                  json={"status": text})

    async def delete(self, status_id: str) -> None:
        r = await self.request("DELETE", f"/api/v1/statuses/{status_id}")
        assert r.status_code == 200, r.text

    async def ws(self, *streams: str | tuple[str, str, str], **kw: Any) -> WSClient:
        """A WebSocket subscribed to these streams (``("hashtag", "tag", "x")`` for parameters)."""
        client = await WSClient.connect(self.server, self.token, **kw)
        for stream in streams:
            if isinstance(stream, tuple):
                name, param, value = stream
                await client.subscribe(name, **{param: value})
            else:
                await client.subscribe(stream)
        await self.server.settle(client)  # subscriptions are in place once this returns
        return client

    async def sse(self, path: str, **params: str) -> SSEClient:
        return await SSEClient.open(self.server, path, self.token, params)


class StreamClient:
    """Frames received in order; tests take them with ``expect`` or look at ``received``."""

    def __init__(self) -> None:
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.received: list[dict[str, Any]] = []
        self.closed = asyncio.Event()

    async def next(self, timeout: float = 5.0) -> dict[str, Any]:
        return await asyncio.wait_for(self.frames.get(), timeout)

    async def expect(self, event: str, *, timeout: float = 5.0) -> dict[str, Any]:
        """The next frame, which must be ``event``."""
        frame = await self.next(timeout)
        assert frame.get("event") == event, frame
        return frame

    def pending(self) -> list[dict[str, Any]]:
        """Frames received and not taken yet."""
        frames = []
        while not self.frames.empty():
            frames.append(self.frames.get_nowait())
        return frames

    async def barrier(self, mark: str) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class WSClient(StreamClient):
    """A Mastodon streaming WebSocket client."""

    def __init__(self, conn: ClientConnection) -> None:
        super().__init__()
        self.conn = conn
        self.barriers: dict[str, asyncio.Event] = {}
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, server: LiveServer, token: str | None, *, via: str = "header", query: str = "",
                      **kw: Any) -> WSClient:
        url = server.ws_url + (f"?{query}" if query else "")
        headers = {}
        protocols = None
        if token and via == "header":
            headers["Authorization"] = f"Bearer {token}"
        elif token and via == "query":
            url += ("&" if "?" in url else "?") + f"access_token={token}"
        elif token and via == "protocol":
            protocols = [token]
        conn = await connect(url, additional_headers=headers, subprotocols=protocols, compression=None,  # type: ignore[arg-type]
                             open_timeout=10, **kw)
        return cls(conn)

    async def _read(self) -> None:
        try:
            async for message in self.conn:
                frame = orjson.loads(message)
                if frame.get("error") == "Unknown stream type" and self.barriers:
                    for event in self.barriers.values():
                        event.set()
                    continue
                self.received.append(frame)
                await self.frames.put(frame)
        except Exception:  # noqa: BLE001 - a closed connection ends the reader
            pass
        finally:
            self.closed.set()

    async def send(self, message: dict[str, Any]) -> None:
        await self.conn.send(orjson.dumps(message).decode())

    async def subscribe(self, stream: str, **params: str) -> None:
        await self.send({"type": "subscribe", "stream": stream, **params})

    async def unsubscribe(self, stream: str, **params: str) -> None:
        await self.send({"type": "unsubscribe", "stream": stream, **params})

    async def barrier(self, mark: str) -> None:
        """The server answers a bogus subscription with an error frame, queued after every earlier frame."""
        done = self.barriers.setdefault(mark, asyncio.Event())
        await self.send({"type": "subscribe", "stream": f"barrier-{mark}"})
        await asyncio.wait_for(done.wait(), 10)
        self.barriers.pop(mark, None)

    async def close(self) -> None:
        await self.conn.close()
        self.reader.cancel()
        await asyncio.gather(self.reader, return_exceptions=True)


class SSEClient(StreamClient):
    """A server-sent events client; comment lines are kept in ``comments``."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__()
        self.response = response
        self.comments: list[str] = []
        self.marks: dict[str, asyncio.Event] = {}
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, server: LiveServer, path: str, token: str | None, params: dict[str, str]) -> SSEClient:
        client = server.http()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        url = "/api/v1/streaming" + (f"/{path}" if path else "")
        request = client.build_request("GET", url, params=params, headers=headers,
                                       timeout=httpx.Timeout(10, read=None))
        response = await client.send(request, stream=True)
        return cls(response)

    async def _read(self) -> None:
        event: dict[str, Any] = {}
        try:
            async for line in self.response.aiter_lines():
                if line.startswith(":"):
                    comment = line[1:].strip()
                    self.comments.append(comment)
                    if comment in self.marks:
                        self.marks[comment].set()
                elif not line:
                    if event:
                        self.received.append(event)
                        await self.frames.put(event)
                    event = {}
                else:
                    key, _, value = line.partition(": ")
                    event["payload" if key == "data" else key] = value
        except Exception:  # noqa: BLE001 - the stream ended
            pass
        finally:
            self.closed.set()

    async def barrier(self, mark: str) -> None:
        done = self.marks.setdefault(f"sync {mark}", asyncio.Event())
        if f"sync {mark}" not in self.comments:
            await asyncio.wait_for(done.wait(), 10)

    async def close(self) -> None:
        await self.response.aclose()
        self.reader.cancel()
        await asyncio.gather(self.reader, return_exceptions=True)


def server_settings(tmp: Path, database_url: str, sock: socket.socket, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": tmp,
        "domain": f"127.0.0.1:{sock.getsockname()[1]}",
        "run_workers": False,
        "heartbeat_seconds": 0.3,
    }
    if REDIS_URL:
        values["redis_url"] = REDIS_URL
        values["redis_channel"] = f"szpak-test:{uuid.uuid4().hex}"
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def start_server(tmp: Path, sqlite_template: Path, **overrides: Any) -> Iterator[LiveServer]:
    """Body of a module fixture: a fresh database and a running server; both gone afterwards."""
    database = FreshDatabase(tmp, sqlite_template)
    sock = free_socket()
    server = LiveServer(server_settings(tmp, database.url, sock, **overrides), sock).start()
    try:
        yield server
    finally:
        server.stop()
        database.drop()
