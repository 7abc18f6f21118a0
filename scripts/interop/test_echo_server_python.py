"""Scenario A: Python `websockets` and `aiohttp` as clients of echo_server.

Each test body runs against both libraries (the `client` parameter) and
every compression variant (`compression`, see wsutil.COMPRESSION_VARIANTS).
"""

import asyncio
import json
import os

import aiohttp
import pytest

from wsutil import CLIENTS, MiB, run

TEXTS = {
    "ascii": "hello, world",
    "emoji": "😀🎉👍🏽 — 🚀",
    "cjk": "你好，世界。こんにちは世界。안녕하세요",
    "mixed": "héllo wörld ✓ 😀 你好 \u0000 \u007f \U0010ffff",
}


@pytest.fixture(params=sorted(CLIENTS))
def client(request):
    return CLIENTS[request.param]()


def open_client(client, server, compression, **kwargs):
    """Connects `client` to `server`, checks the extension negotiation for
    the compression variant, and returns the client."""

    async def go():
        await client.connect(server.url, deflate=compression == "deflate", **kwargs)
        if compression == "none":
            assert client.extensions is None
        else:
            assert client.extensions and "permessage-deflate" in client.extensions
        return client

    return go()


async def roundtrip(client, server, compression, messages, timeout=10, **connect):
    await open_client(client, server, compression, **connect)
    try:
        for m in messages:
            await client.send(m)
            got = await client.recv(timeout)
            assert type(got) is type(m), f"sent {type(m).__name__}, got {type(got).__name__}"
            assert got == m, f"echo differs: sent {len(m)} {type(m).__name__}, got {len(got)}"
        code, _ = await client.close(1000)
        assert code == 1000
    finally:
        await client.abort()


@pytest.mark.parametrize("text", sorted(TEXTS))
def test_text(echo_server, client, compression, text):
    server = echo_server(deflate=compression == "deflate")
    run(roundtrip(client, server, compression, [TEXTS[text]]))


def test_binary(echo_server, client, compression):
    server = echo_server(deflate=compression == "deflate")
    run(roundtrip(client, server, compression, [bytes(range(256)), b"\x00", b"\xff" * 3]))


@pytest.mark.parametrize("kind", ["text", "binary"])
def test_empty_message(echo_server, client, compression, kind):
    server = echo_server(deflate=compression == "deflate")
    run(roundtrip(client, server, compression, ["" if kind == "text" else b""]))


@pytest.mark.parametrize("size", [125, 126, 65535, 65536])
@pytest.mark.parametrize("kind", ["text", "binary"])
def test_payload_length_boundaries(echo_server, client, compression, kind, size):
    server = echo_server(deflate=compression == "deflate")
    payload = ("x" * size) if kind == "text" else os.urandom(size)
    run(roundtrip(client, server, compression, [payload]))


@pytest.mark.parametrize("kind", ["text", "binary"])
def test_16mib_message(echo_server, client, compression, kind):
    server = echo_server(deflate=compression == "deflate")
    if kind == "text":
        # Multi-byte characters too, so UTF-8 validation sees split sequences.
        unit = "abcdefghé你😀\n"
        n = len(unit.encode())
        payload = (unit * (16 * MiB // n + 1)).encode()[: 16 * MiB].decode("utf-8", "ignore")
        payload += "x" * (16 * MiB - len(payload.encode()))
        assert len(payload.encode()) == 16 * MiB
    else:
        payload = os.urandom(16 * MiB)
    run(roundtrip(client, server, compression, [payload], timeout=30), timeout=50)


def test_1000_messages_in_order(echo_server, client, compression):
    server = echo_server(deflate=compression == "deflate")

    async def go():
        await open_client(client, server, compression)
        try:
            sent = [f"message {i}" if i % 2 else f"{i}".encode() * (i % 50) for i in range(1000)]
            for m in sent:
                await client.send(m)
            for i, m in enumerate(sent):
                got = await client.recv(10)
                assert got == m and type(got) is type(m), f"message #{i}: sent {m!r}, got {got!r}"
            assert (await client.close(1000))[0] == 1000
        finally:
            await client.abort()

    run(go())


def test_ping_pong(echo_server, client, compression):
    server = echo_server(deflate=compression == "deflate")

    async def go():
        # aiohttp swallows pongs with autoping; turn it off to see them.
        extra = {"autoping": False} if client.name == "aiohttp" else {}
        await open_client(client, server, compression, **extra)
        try:
            await client.ping(b"ping-1")
            await client.ping(b"")
            await client.ping(b"p" * 125)
            # The connection still echoes after the pings.
            await client.send("after pings")
            assert await client.recv() == "after pings"
            assert (await client.close(1000))[0] == 1000
        finally:
            await client.abort()

    run(go())


def test_subprotocol_server_preference(echo_server, client, compression):
    server = echo_server("--protocol", "superchat", "--protocol", "chat", deflate=compression == "deflate")

    async def go():
        await open_client(client, server, compression, protocols=["chat", "superchat"])
        try:
            assert client.subprotocol == "superchat"
            assert (await client.close(1000))[0] == 1000
        finally:
            await client.abort()

    run(go())


def test_subprotocol_no_overlap(echo_server, client, compression):
    server = echo_server("--protocol", "other", deflate=compression == "deflate")

    async def go():
        await open_client(client, server, compression, protocols=["chat", "superchat"])
        try:
            assert client.subprotocol is None
            if client.name == "websockets":
                names = [n.lower() for n, _ in client.response_headers]
                assert "sec-websocket-protocol" not in names
            await client.send("still works")
            assert await client.recv() == "still works"
            assert (await client.close(1000))[0] == 1000
        finally:
            await client.abort()

    run(go())


@pytest.mark.parametrize(
    "code,reason",
    [(1000, "normal"), (1001, "going away"), (3000, "registered 3000"), (4999, "private ✓")],
    ids=["1000", "1001", "3000", "4999"],
)
def test_client_close_code_echoed(echo_server, client, compression, code, reason):
    server = echo_server(deflate=compression == "deflate")

    async def go():
        await open_client(client, server, compression)
        try:
            await client.send("before close")
            assert await client.recv() == "before close"
            got_code, _ = await client.close(code, reason)
            assert got_code == code, f"closed with {code}, server's close frame carried {got_code}"
        finally:
            await client.abort()

    run(go())


def test_custom_header_and_origin(echo_server, client, compression):
    """The handshake succeeds with extra headers and an Origin. Whether they
    reached the server is checked against wscat's peers (scenario B); here
    the echo_server log line is checked only if it mentions the origin."""
    server = echo_server(deflate=compression == "deflate")

    async def go():
        await open_client(
            client, server, compression,
            headers={"X-Token": "abc"}, origin="http://example.test",
        )
        try:
            await client.send("hi")
            assert await client.recv() == "hi"
            assert (await client.close(1000))[0] == 1000
        finally:
            await client.abort()

    run(go())
    log = server.log_text()
    if "origin" in log.lower():
        assert "http://example.test" in log


# ---- websockets-specific --------------------------------------------------


def test_websockets_fragmented_message(echo_server, compression):
    """websockets sends an iterable as one fragmented message; the server
    reassembles it and echoes one message."""
    server = echo_server(deflate=compression == "deflate")

    async def go():
        client = CLIENTS["websockets"]()
        await open_client(client, server, compression)
        try:
            parts = ["frag-1 ", "", "ü😀 ", "x" * 70000]
            await client.ws.send(iter(parts))
            assert await client.recv() == "".join(parts)
            bparts = [b"\x00\x01", b"\xff" * 1000]
            await client.ws.send(iter(bparts))
            assert await client.recv() == b"".join(bparts)
            assert (await client.close(1000))[0] == 1000
        finally:
            await client.abort()

    run(go())


# ---- aiohttp-specific -----------------------------------------------------


def test_aiohttp_send_json(echo_server, compression):
    server = echo_server(deflate=compression == "deflate")
    doc = {"id": 7, "name": "wsproto", "tags": ["ü", "😀"], "nested": {"ok": True, "n": None}}

    async def go():
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(
                server.url, compress=15 if compression == "deflate" else 0
            ) as ws:
                await ws.send_json(doc)
                msg = await ws.receive(10)
                assert msg.type == aiohttp.WSMsgType.TEXT
                assert json.loads(msg.data) == doc
                await ws.close(code=1000, message=b"bye")
                assert ws.close_code == 1000

    run(go())


def test_aiohttp_heartbeat(echo_server, compression):
    """aiohttp pings every 0.4 s and gives up if a pong takes over 0.2 s;
    the connection must survive several idle heartbeat periods."""
    server = echo_server(deflate=compression == "deflate")

    async def go():
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(
                server.url,
                heartbeat=0.4,
                autoping=True,
                compress=15 if compression == "deflate" else 0,
            ) as ws:
                await asyncio.sleep(2.5)  # ~6 heartbeats, no application data
                assert not ws.closed, f"closed by heartbeat: {ws.exception()!r}"
                await ws.send_str("alive")
                msg = await ws.receive(5)
                assert msg.type == aiohttp.WSMsgType.TEXT and msg.data == "alive", (
                    msg.type, msg.data, ws.exception()
                )
                await ws.close(code=1000)
                assert ws.close_code == 1000

    run(go())
