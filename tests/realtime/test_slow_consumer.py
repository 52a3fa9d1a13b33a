"""A client that stops reading is cut off; everyone else keeps receiving, on time.

A real server with a small per-connection queue and long posts: the slow client's
socket buffers fill, its queue overflows, and the server drops it.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from .live import LiveServer, WSClient, start_server

pytestmark = pytest.mark.xdist_group("realtime-slow")


@pytest.fixture(scope="module")
def small_queue_server(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[LiveServer]:
    yield from start_server(
        tmp_path_factory.mktemp("slow"), sqlite_template, stream_queue_size=16, max_status_chars=60_000
    )


async def test_a_slow_consumer_is_disconnected_and_others_keep_receiving(small_queue_server: LiveServer) -> None:
    server = small_queue_server
    author, slow, fast = await server.users("author", "slow", "fast")
    await slow.follow(author)
    await fast.follow(author)
    fast_ws = await fast.ws("user")

    # The slow reader: a tiny receive buffer, and a client that buffers at most 1 message.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
    slow_conn = await connect(
        f"{server.ws_url}?stream=user", sock=sock, additional_headers=slow.headers, compression=None, max_queue=1
    )
    slow_ws = WSClient(slow_conn)
    slow_ws.reader.cancel()  # nobody reads this one
    account = int(slow.id)

    # Cheap to post, heavy to send: a link counts as 23 characters however long it is, and
    # each post reaches the slow client on many streams at once.
    tags = [f"zator{n}" for n in range(10)]
    for tag in tags:
        await slow_ws.subscribe("hashtag", tag=tag)
    await slow_ws.subscribe("public")
    for _ in range(100):  # no frame comes back to say so: watch the hub
        conns = [c for c in server.hub.connections if c.viewer.account_id == account]
        if conns and len(conns[0].subs) == 12:
            break
        await asyncio.sleep(0.02)
    text = "https://example.com/" + "a" * 40_000 + " " + " ".join(f"#{t}" for t in tags)
    posted = []
    for _ in range(60):
        posted.append((await author.post_status(text))["id"])
        frame = await fast_ws.expect("update", timeout=5)  # the fast reader is never held up
        assert frame["stream"] == ["user"]
        if not any(c.viewer.account_id == account for c in server.hub.connections):
            break
    else:
        raise AssertionError("the slow consumer was never disconnected")
    assert len(posted) < 60
    # It is gone from the hub: later posts cost nothing for it, and others still get them.
    st = await author.post_status("Po odłączeniu")
    assert (await fast_ws.expect("update"))["payload"].count(st["id"]) >= 1
    # When the slow client finally reads, it finds what was already on its way, then the end.
    frames = 0
    with pytest.raises(ConnectionClosed):
        while True:
            await asyncio.wait_for(slow_conn.recv(), 5)
            frames += 1
    assert 0 < frames < 12 * len(posted)
    await fast_ws.close()
