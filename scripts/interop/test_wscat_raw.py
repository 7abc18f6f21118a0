"""Scenario B, raw socket: a hand-written server that misbehaves in ways
the libraries never do, to check wscat's failure exits."""

import asyncio
import re
import struct

import pytest

from wsutil import Wscat, accept_key, run


async def raw_server(after_handshake):
    """Starts a one-shot server on 127.0.0.1:<ephemeral> that completes the
    opening handshake and then runs `after_handshake(reader, writer)`."""

    async def handle(reader, writer):
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            key = re.search(rb"(?im)^sec-websocket-key:\s*(\S+)", head).group(1).decode()
            writer.write(
                (
                    "HTTP/1.1 101 Switching Protocols\r\n"
                    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                    f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n"
                ).encode()
            )
            await writer.drain()
            await after_handshake(reader, writer)
        finally:
            writer.transport.abort()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/"


async def read_frame(reader):
    """One client frame: (opcode, unmasked payload)."""
    b0, b1 = await reader.readexactly(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", await reader.readexactly(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", await reader.readexactly(8))[0]
    mask = await reader.readexactly(4) if b1 & 0x80 else b"\0\0\0\0"
    data = await reader.readexactly(n)
    return b0 & 0x0F, bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def test_abnormal_closure_exits_nonzero():
    """The server sends a message, then drops TCP without a close frame."""

    async def after(reader, writer):
        writer.write(b"\x81\x05hello")
        await writer.drain()
        await asyncio.sleep(0.2)

    async def go():
        server, url = await raw_server(after)
        async with server:
            async with Wscat(url) as w:
                assert await w.read_line() == "hello"
                rc = await w.wait()
                assert rc != 0, w.stderr
                assert any(re.match(r"close: 1006\b", l) for l in w.stderr_lines), w.stderr
                assert any(l.startswith("error:") for l in w.stderr_lines), w.stderr

    run(go())


@pytest.mark.parametrize(
    "frame,desc",
    [(b"\x83\x00", "reserved opcode 0x3"), (b"\x81\x82abcd\x09\x0b", "masked server frame"), (b"\x81\x02\xc3\x28", "invalid UTF-8")],
    ids=["reserved-opcode", "masked", "bad-utf8"],
)
def test_protocol_error_exits_nonzero(frame, desc):
    """The server sends a bad frame: wscat fails the connection with a
    close frame (1002, or 1007 for bad UTF-8), prints it, exits non-zero."""
    expected = 1007 if desc == "invalid UTF-8" else 1002
    seen = []

    async def after(reader, writer):
        writer.write(frame)
        await writer.drain()
        try:
            seen.append(await asyncio.wait_for(read_frame(reader), 5))
        except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
            pass

    async def go():
        server, url = await raw_server(after)
        async with server:
            async with Wscat(url) as w:
                rc = await w.wait()
                assert rc != 0, w.stderr
                assert any(re.match(rf"close: {expected}\b", l) for l in w.stderr_lines), w.stderr
                assert any(l.startswith("error:") for l in w.stderr_lines), w.stderr
        assert seen and seen[0][0] == 0x8, f"no close frame from wscat: {seen}"
        assert struct.unpack("!H", seen[0][1][:2])[0] == expected, seen

    run(go())


def test_wscat_heartbeat_closes_silent_server():
    """wscat --heartbeat 1 against a server that never answers pings: wscat
    pings after about 1 s of silence, then fails the connection with 1011
    and exits non-zero."""
    frames = []

    async def after(reader, writer):
        loop = asyncio.get_running_loop()
        start = loop.time()
        while loop.time() - start < 8:
            try:
                opcode, payload = await asyncio.wait_for(read_frame(reader), 8)
            except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
                return
            frames.append((round(loop.time() - start, 2), opcode, payload))
            if opcode == 0x8:
                return

    async def go():
        server, url = await raw_server(after)
        async with server:
            async with Wscat(url, "--heartbeat", "1") as w:
                rc = await w.wait(timeout=12)
                assert rc != 0, w.stderr
                assert any(l.startswith("error:") for l in w.stderr_lines), w.stderr
        opcodes = [f[1] for f in frames]
        assert 0x9 in opcodes, f"no ping from wscat: {frames}"
        assert opcodes[-1] == 0x8, f"no close frame from wscat: {frames}"
        assert struct.unpack("!H", frames[-1][2][:2])[0] == 1011, frames
        assert frames[0][0] >= 0.5, f"pinged before 1 s of silence: {frames}"

    run(go())
