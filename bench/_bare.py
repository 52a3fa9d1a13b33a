"""The machine's ceiling: a bare ASGI endpoint on the same uvicorn settings as Szpak."""

import orjson

BODY = orjson.dumps({"id": "1", "username": "ceiling", "acct": "ceiling", "display_name": "", "note": ""})


async def app(scope, receive, send):  # noqa: ANN001, ANN201
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": BODY})
