"""Scenario B: Python `websockets` and `aiohttp` as servers for wscat.

Each test body runs against both libraries (the `server_cls` parameter) and
every compression variant. The servers record each request's headers, the
messages they read and the close frames they get.
"""

import asyncio
import re

import pytest

from wsutil import SERVERS, MiB, PeerClosed, Wscat, run


@pytest.fixture(params=sorted(SERVERS))
def server_cls(request):
    return SERVERS[request.param]


def wscat_args(compression, *args):
    return [*args, *(["--deflate"] if compression == "deflate" else [])]


async def expect_handshake_lines(w, compression, protocol="-"):
    assert await w.stderr_line("protocol:") == f"protocol: {protocol}"
    extensions = await w.stderr_line("extensions:")
    if compression == "none":
        assert extensions == "extensions: -"
    else:
        assert "permessage-deflate" in extensions


def close_line(w):
    lines = [l for l in w.stderr_lines if l.startswith("close:")]
    assert len(lines) == 1, f"expected one close: line; stderr:\n{w.stderr}"
    return lines[0]


def test_text_roundtrip_and_clean_exit(server_cls, compression):
    texts = ["hello", "héllo wörld ✓", "😀🎉 你好，世界 こんにちは", "x" * 70000]

    async def go():
        async with server_cls(deflate=compression == "deflate") as server:
            async with Wscat(server.url, *wscat_args(compression)) as w:
                await expect_handshake_lines(w, compression)
                for t in texts:
                    await w.send_line(t)
                    assert await w.read_line() == t
                await w.close_stdin()
                rc = await w.wait()
                assert rc == 0, f"exit {rc} after stdin EOF; stderr:\n{w.stderr}"
                assert re.fullmatch(r"close: 1000( .*)?", close_line(w)), w.stderr
                assert await w.read_rest() == ""
            await server.wait_done()
            assert server.received == texts
            assert [c for c, _ in server.closes] == [1000], server.closes
            assert not server.errors, server.errors

    run(go())


def test_binary_lines_and_hex_output(server_cls, compression):
    async def behaviour(conn, server):
        message = await conn.recv()
        server.received.append(message)
        await conn.send(message)  # echo: binary back
        await conn.send(bytes([0, 1, 0x7F, 0x80, 0xFE, 0xFF]))
        await conn.send(b"")
        await conn.send("text stays text")
        try:
            await conn.recv()
        except PeerClosed as closed:
            server.closes.append((closed.code, closed.reason))

    async def go():
        async with server_cls(deflate=compression == "deflate", behaviour=behaviour) as server:
            async with Wscat(server.url, *wscat_args(compression, "--binary")) as w:
                await expect_handshake_lines(w, compression)
                await w.send_line("hello ✓")
                assert (await w.read_line()).lower() == "hello ✓".encode().hex()
                assert (await w.read_line()).lower() == "00017f80feff"
                assert await w.read_line() == ""
                assert await w.read_line() == "text stays text"
                await w.close_stdin()
                assert await w.wait() == 0, w.stderr
            await server.wait_done()
            assert server.received == ["hello ✓".encode()], "wscat --binary must send binary messages"
            assert server.closes and server.closes[0][0] == 1000

    run(go())


def test_header_and_origin_reach_server(server_cls, compression):
    async def go():
        async with server_cls(deflate=compression == "deflate") as server:
            args = wscat_args(compression, "--header", "X-Token: abc", "--origin", "http://example.test")
            async with Wscat(server.url, *args) as w:
                await expect_handshake_lines(w, compression)
                await w.send_line("hi")
                assert await w.read_line() == "hi"
                await w.close_stdin()
                assert await w.wait() == 0, w.stderr
            (headers,) = server.requests
            assert headers.get("x-token") == "abc", headers
            assert headers.get("origin") == "http://example.test", headers

    run(go())


def test_server_chosen_subprotocol(server_cls, compression):
    """wscat offers chat, superchat; the server knows only superchat (and
    another), so it must pick superchat, not the client's first choice.
    (websockets prefers the server's order, aiohttp the client's.)"""

    async def go():
        async with server_cls(protocols=["other", "superchat"], deflate=compression == "deflate") as server:
            args = wscat_args(compression, "--protocol", "chat", "--protocol", "superchat")
            async with Wscat(server.url, *args) as w:
                await expect_handshake_lines(w, compression, protocol="superchat")
                await w.close_stdin()
                assert await w.wait() == 0, w.stderr
            (headers,) = server.requests
            offered = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",")]
            assert offered == ["chat", "superchat"], headers

    run(go())


# A close with 1001 or an application code (3000, 4999) whose closing
# handshake completed is clean (RFC 6455 7.1.4): wscat exits 0.
@pytest.mark.parametrize(
    "code,reason",
    [
        pytest.param(1001, "going away", id="1001"),
        pytest.param(3000, "app-defined", id="3000"),
        pytest.param(4999, "private ✓", id="4999"),
    ],
)
def test_server_closes(server_cls, compression, code, reason):
    """The server sends a message and closes; wscat (stdin still open)
    prints the message, then `close: CODE REASON`, and exits 0: the closing
    handshake completed, so the connection closed cleanly."""

    async def behaviour(conn, server):
        await conn.send("last words")
        await conn.close(code, reason)

    async def go():
        async with server_cls(deflate=compression == "deflate", behaviour=behaviour) as server:
            async with Wscat(server.url, *wscat_args(compression)) as w:
                await expect_handshake_lines(w, compression)
                assert await w.read_line() == "last words"
                rc = await w.wait()
                assert close_line(w) == f"close: {code} {reason}", w.stderr
                assert rc == 0, f"exit {rc} after a clean close by the server; stderr:\n{w.stderr}"
            await server.wait_done()
            assert not server.errors, server.errors

    run(go())


def test_rejected_handshake_403(server_cls):
    async def go():
        async with server_cls(reject_status=403) as server:
            async with Wscat(server.url) as w:
                await w.close_stdin()
                rc = await w.wait()
                assert rc != 0, f"exit 0 after a 403; stderr:\n{w.stderr}"
                errors = [l for l in w.stderr_lines if re.search(r"\b403\b", l)]
                assert len(errors) == 1 and re.search(r"HTTP(/1\.1)? 403 Forbidden", errors[0]), w.stderr
                assert not any(l.startswith("protocol:") for l in w.stderr_lines), w.stderr
                assert await w.read_rest() == ""
            assert len(server.requests) == 1

    run(go())


@pytest.mark.interop_timeout(90)
def test_16mib_message_to_wscat(server_cls, compression):
    unit = "0123456789abcdef-é-你-😀-"  # no newline: one 16 MiB line
    n = len(unit.encode())
    big = (unit * (16 * MiB // n + 1)).encode()[: 16 * MiB].decode("utf-8", "ignore")
    big += "z" * (16 * MiB - len(big.encode()))
    assert len(big.encode()) == 16 * MiB

    async def behaviour(conn, server):
        await conn.send(big)
        try:
            await conn.recv()
        except PeerClosed as closed:
            server.closes.append((closed.code, closed.reason))

    async def go():
        async with server_cls(deflate=compression == "deflate", behaviour=behaviour) as server:
            async with Wscat(server.url, *wscat_args(compression)) as w:
                await expect_handshake_lines(w, compression)
                line = await w.read_line(timeout=40)
                assert len(line) == len(big) and line == big, (
                    f"16 MiB message arrived as {len(line)} chars (want {len(big)}); stderr:\n{w.stderr}"
                )
                await w.close_stdin()
                assert await w.wait() == 0, w.stderr
            await server.wait_done()
            assert server.closes and server.closes[0][0] == 1000

    run(go(), timeout=80)


def test_aiohttp_server_heartbeat(compression):
    """aiohttp server pings every 0.4 s and drops a client whose pong takes
    over 0.2 s: wscat must answer pings while idle."""
    async def go():
        server_cls = SERVERS["aiohttp"]
        async with server_cls(heartbeat=0.4, deflate=compression == "deflate") as server:
            async with Wscat(server.url, *wscat_args(compression)) as w:
                await expect_handshake_lines(w, compression)
                await asyncio.sleep(2.5)
                await w.send_line("still here")
                assert await w.read_line() == "still here", w.stderr
                await w.close_stdin()
                assert await w.wait() == 0, w.stderr
            assert server.closes and server.closes[0][0] == 1000, server.closes

    run(go())


def test_wscat_heartbeat_answered(server_cls, compression):
    """wscat --heartbeat 1 pings an idle server, which answers: the
    connection is still up after 2.5 s and still echoes."""

    async def go():
        async with server_cls(deflate=compression == "deflate") as server:
            async with Wscat(server.url, *wscat_args(compression, "--heartbeat", "1")) as w:
                await expect_handshake_lines(w, compression)
                await asyncio.sleep(2.5)
                await w.send_line("still here")
                assert await w.read_line() == "still here", w.stderr
                await w.close_stdin()
                assert await w.wait() == 0, w.stderr
            assert [c for c, _ in server.closes] == [1000], server.closes

    run(go())
