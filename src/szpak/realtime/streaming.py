"""The Mastodon streaming API: one multiplexed WebSocket and server-sent event streams.

    WebSocket  /api/v1/streaming            token: ``Authorization``, ``access_token`` or
                                            ``Sec-WebSocket-Protocol`` (echoed back);
                                            ``?stream=`` subscribes at once; then
                                            ``{"type":"subscribe"|"unsubscribe","stream":..,"tag"/"list":..}``
    SSE        /api/v1/streaming/{user,user/notification,public,public/local,public/remote,
                                  hashtag,hashtag/local,list,direct}   (and ``/api/v1/streaming?stream=``)
    health     /api/v1/streaming/health     ``OK``

Routes here only authenticate, parse and pump frames; who gets what is the hub's
business (``realtime/hub.py``). As in Mastodon since 4.2, every stream needs a
user token with a read scope.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
from starlette.datastructures import Headers, QueryParams
from starlette.responses import PlainTextResponse, Response
from starlette.routing import WebSocketRoute
from starlette.types import Receive, Scope, Send

from szpak.api.deps import Viewer, bearer_token, lookup_token
from szpak.api.errors import error_response
from szpak.realtime.connection import Connection
from szpak.realtime.hub import Hub
from szpak.realtime.streams import (
    SSE_PATHS,
    StreamError,
    StreamKey,
    parse_stream,
    required_scope,
    with_media_flag,
)

log = logging.getLogger(__name__)
router = APIRouter()

#: WebSocket close code for each reason the server ends a stream (default: going away).
CLOSE_CODES = {"slow consumer": 1013, "token revoked": 1008, "token no longer valid": 1008}
GOING_AWAY = 1001


def setup(app: FastAPI) -> None:
    """Start the hub after storage and the bus are open; stop it before they close."""

    async def start(app: FastAPI) -> None:
        hub = Hub(app.state.ctx, app.state.renderer, app.state.token_cache)
        app.state.hub = hub
        await hub.start()

    async def stop(app: FastAPI) -> None:
        hub: Hub | None = getattr(app.state, "hub", None)
        if hub is not None:
            await hub.stop()

    app.state.startup_hooks.append(start)
    app.state.shutdown_hooks.append(stop)


async def authenticate(app: Any, token: str | None) -> Viewer:
    """A logged-in viewer for this token, or StreamError(401) as Mastodon words it."""
    if not token:
        raise StreamError(401, "Missing access token")
    viewer = await lookup_token(app.state.ctx, app.state.token_cache, token)
    if viewer is None:
        raise StreamError(401, "Invalid access token")
    if viewer.account_id is None:
        raise StreamError(401, "This method requires an authenticated user")
    return viewer


def check_scope(viewer: Viewer, key: StreamKey) -> None:
    if not viewer.allows(required_scope(key)):
        raise StreamError(401, "Access token does not have the required scopes")


# -- health ------------------------------------------------------------------------------
@router.get("/api/v1/streaming/health", response_class=PlainTextResponse)
async def health() -> PlainTextResponse:
    return PlainTextResponse("OK")


# -- WebSocket ---------------------------------------------------------------------------
def websocket_token(headers: Headers, query: QueryParams) -> tuple[str | None, bool]:
    """The token and whether it came as the subprotocol (which must then be echoed back)."""
    header = headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip(), False
    if query.get("access_token"):
        return query["access_token"], False
    protocol = headers.get("sec-websocket-protocol")
    if protocol and protocol.strip():
        return protocol.strip(), True
    return None, False


async def deny(scope: Scope, send: Send, exc: StreamError) -> None:
    """Refuse the handshake with an HTTP error, or with a plain close where the server cannot."""
    if "websocket.http.response" in scope.get("extensions", {}):
        body = orjson.dumps({"error": exc.message})
        await send(
            {
                "type": "websocket.http.response.start",
                "status": exc.status,
                "headers": [(b"content-type", b"application/json; charset=utf-8")],
            }
        )
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008, "reason": exc.message[:120]})


class StreamingSocket:
    """``/api/v1/streaming`` as a bare ASGI app.

    Mounted as a plain route rather than a FastAPI endpoint: an open WebSocket
    lives for hours, and every framework layer kept on its stack (dependency
    exit stacks, request wrappers) is memory held per idle connection.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope["app"]
        hub: Hub = app.state.hub
        if (await receive())["type"] != "websocket.connect":
            return
        query = QueryParams(scope.get("query_string", b""))
        token, via_protocol = websocket_token(Headers(scope=scope), query)
        try:
            viewer = await authenticate(app, token)
            initial = None
            if query.get("stream"):
                initial = parse_stream(with_media_flag(query["stream"], query), query)
                check_scope(viewer, initial)
            assert token is not None
            conn = await hub.open(viewer, "ws", token)
        except StreamError as exc:
            await deny(scope, send, exc)
            return
        try:
            await send({"type": "websocket.accept", "subprotocol": token if via_protocol else None, "headers": []})
        except BaseException:
            hub.close(conn)
            raise
        await WebSocketSession(receive, send, hub, conn).run(initial)


class WebSocketSession:
    """One accepted WebSocket: this task reads control messages, a writer task drains the queue.

    When the hub cuts the connection off (a slow consumer, a revoked token, shutdown)
    it cancels both; the reader takes back its own cancellation and says goodbye.
    """

    def __init__(self, receive: Receive, send: Send, hub: Hub, conn: Connection) -> None:
        self.receive = receive
        self.send = send
        self.hub = hub
        self.conn = conn
        self.client_gone = False
        self._finishing = False
        self._own_cancels = 0
        self._task: asyncio.Task[Any] | None = None

    def _stop_reader(self) -> None:
        if not self._finishing and self._task is not None:
            self._own_cancels += 1
            self._task.cancel()

    async def run(self, initial: StreamKey | None) -> None:
        self._task = asyncio.current_task()
        writer = asyncio.create_task(self._write(), name=f"szpak-ws-writer-{self.conn.id}")
        writer.add_done_callback(lambda _: self._stop_reader())

        def kill() -> None:
            writer.cancel()
            self._stop_reader()

        self.conn.on_kill(kill)
        try:
            if initial is not None:
                await self._subscribe(initial)
            await self._read()
        except asyncio.CancelledError:
            assert self._task is not None
            for _ in range(self._own_cancels):
                self._task.uncancel()
            if self._task.cancelling():
                raise  # cancelled from outside (the server is going away)
        finally:
            self._finishing = True
            self.hub.close(self.conn)
            writer.cancel()
            await asyncio.wait({writer})
            if not writer.cancelled() and writer.exception() is not None:
                self.client_gone = True
        if not self.client_gone:
            await self._close(CLOSE_CODES.get(self.conn.close_reason, GOING_AWAY), self.conn.close_reason)

    async def _read(self) -> None:
        while True:
            message = await self.receive()
            if message["type"] == "websocket.disconnect":
                self.client_gone = True
                return
            text = message.get("text")
            if text is None:
                text = (message.get("bytes") or b"").decode("utf-8", "replace")
            await self._control(text)

    async def _write(self) -> None:
        queue, send = self.conn.queue, self.send
        while True:
            frame = await queue.get()
            await send({"type": "websocket.send", "text": frame if isinstance(frame, str) else frame.decode()})

    async def _close(self, code: int, reason: str) -> None:
        """Say goodbye if the socket can take it; a stuck client is simply dropped."""
        try:
            await asyncio.wait_for(self.send({"type": "websocket.close", "code": code, "reason": reason[:120]}), 1.0)
        except Exception:  # timed out, or the client left meanwhile: nothing more to say
            pass

    async def _control(self, text: str) -> None:
        """A client message: subscribe or unsubscribe; problems are reported as error frames."""
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            self._error(400, "Invalid JSON")
            return
        if not isinstance(message, dict):
            self._error(400, "Invalid message")
            return
        kind = message.get("type")
        if kind not in ("subscribe", "unsubscribe"):
            self._error(400, "Unknown message type")
            return
        try:
            name = message.get("stream")
            key = parse_stream(with_media_flag(name, message) if isinstance(name, str) else name, message)
            if kind == "subscribe":
                await self._subscribe(key)
            else:
                self.hub.unsubscribe(self.conn, key)
        except StreamError as exc:
            self._error(exc.status, exc.message)

    async def _subscribe(self, key: StreamKey) -> None:
        try:
            check_scope(self.conn.viewer, key)
            await self.hub.subscribe(self.conn, key)
        except StreamError as exc:
            self._error(exc.status, exc.message)

    def _error(self, status: int, message: str) -> None:
        self.conn.push(orjson.dumps({"error": message, "status": status}).decode())


router.routes.append(WebSocketRoute("/api/v1/streaming", StreamingSocket()))
router.routes.append(WebSocketRoute("/api/v1/streaming/", StreamingSocket()))


# -- server-sent events ------------------------------------------------------------------
class EventStream(Response):
    """A ``text/event-stream`` response fed by a hub connection until either side ends it."""

    media_type = "text/event-stream"

    def __init__(self, hub: Hub, conn: Connection) -> None:
        super().__init__(status_code=200)
        self.hub = hub
        self.conn = conn

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-store"),
                    (b"x-accel-buffering", b"no"),
                ],
            }
        )
        pump = asyncio.create_task(self._pump(send), name=f"szpak-sse-{self.conn.id}")
        watch = asyncio.create_task(self._watch(receive))
        self.conn.on_kill(lambda: None if pump.cancel() else None)
        disconnected = False
        try:
            done, _ = await asyncio.wait({pump, watch}, return_when=asyncio.FIRST_COMPLETED)
            disconnected = watch in done
        except asyncio.CancelledError:
            pass  # the server is shutting down: end the stream cleanly below
        finally:
            self.hub.close(self.conn)
            pump.cancel()
            watch.cancel()
            await asyncio.wait({pump, watch})
        if not pump.cancelled() and pump.exception() is not None:
            disconnected = True
        if not disconnected:
            try:
                await asyncio.wait_for(send({"type": "http.response.body", "body": b"", "more_body": False}), 1.0)
            except (TimeoutError, OSError):
                pass

    async def _pump(self, send: Send) -> None:
        await send({"type": "http.response.body", "body": b":)\n", "more_body": True})
        queue = self.conn.queue
        while True:
            frame = await queue.get()
            body = frame if isinstance(frame, bytes) else frame.encode()
            await send({"type": "http.response.body", "body": body, "more_body": True})

    @staticmethod
    async def _watch(receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass


async def open_event_stream(request: Request, name: str) -> Response:
    hub: Hub = request.app.state.hub
    token = bearer_token(request)
    try:
        viewer = await authenticate(request.app, token)
        key = parse_stream(with_media_flag(name, request.query_params), request.query_params)
        check_scope(viewer, key)
        assert token is not None
        conn = await hub.open(viewer, "sse", token)
    except StreamError as exc:
        return error_response(exc.status, exc.message)
    try:
        await hub.subscribe(conn, key)
    except StreamError as exc:
        hub.close(conn)
        return error_response(exc.status, exc.message)
    return EventStream(hub, conn)


@router.get("/api/v1/streaming", include_in_schema=False)
async def event_stream_by_name(request: Request) -> Response:
    """``GET /api/v1/streaming?stream=user``: the same streams by name, as Mastodon allows."""
    return await open_event_stream(request, request.query_params.get("stream", ""))


@router.get("/api/v1/streaming/{path:path}")
async def event_stream(request: Request, path: str) -> Response:
    path = path.strip("/")
    name = SSE_PATHS.get(path) if path else request.query_params.get("stream", "")
    if name is None:
        return error_response(404, "Unknown stream type")
    return await open_event_stream(request, name)
