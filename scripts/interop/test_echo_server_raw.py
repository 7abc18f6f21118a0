"""Scenario A, raw socket: what the libraries hide — the exact 101 response
headers, the close frame's reason, and echo_server's heartbeat against a
client that never answers pings.
"""

import time

import pytest

from wsutil import RawWs, accept_key, parse_close

OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x8, 0x9, 0xA


def header_values(headers, name):
    return [v for n, v in headers if n.lower() == name.lower()]


def assert_101(status, headers, key):
    assert status.startswith("HTTP/1.1 101"), status
    assert [v.lower() for v in header_values(headers, "Upgrade")] == ["websocket"], headers
    assert any("upgrade" in v.lower() for v in header_values(headers, "Connection")), headers
    assert header_values(headers, "Sec-WebSocket-Accept") == [accept_key(key)], headers


def test_101_headers_with_subprotocol(echo_server):
    server = echo_server("--protocol", "superchat", "--protocol", "chat")
    ws = RawWs(server.port)
    try:
        status, headers = ws.handshake(protocols=["chat", "superchat"])
        assert_101(status, headers, ws.key)
        assert header_values(headers, "Sec-WebSocket-Protocol") == ["superchat"], headers
        assert header_values(headers, "Sec-WebSocket-Extensions") == [], headers
    finally:
        ws.close()


@pytest.mark.parametrize("offered", [["chat", "superchat"], []], ids=["no-overlap", "none-offered"])
def test_101_headers_without_subprotocol(echo_server, offered):
    server = echo_server("--protocol", "other")
    ws = RawWs(server.port)
    try:
        status, headers = ws.handshake(protocols=offered)
        assert_101(status, headers, ws.key)
        assert header_values(headers, "Sec-WebSocket-Protocol") == [], headers
    finally:
        ws.close()


def test_101_headers_server_without_protocols(echo_server):
    server = echo_server()
    ws = RawWs(server.port)
    try:
        status, headers = ws.handshake(protocols=["chat"])
        assert_101(status, headers, ws.key)
        assert header_values(headers, "Sec-WebSocket-Protocol") == [], headers
    finally:
        ws.close()


@pytest.mark.parametrize(
    "code,reason",
    [(1000, ""), (1001, "bye"), (3000, "x" * 100), (4999, "✓ done")],
    ids=["1000", "1001", "3000", "4999"],
)
def test_close_frame_echo(echo_server, code, reason):
    """Client closes; the server's close frame carries the same code, then
    the server closes the TCP connection."""
    server = echo_server()
    ws = RawWs(server.port)
    try:
        status, headers = ws.handshake()
        assert_101(status, headers, ws.key)
        ws.send_frame(OP_TEXT, "ping?".encode())
        assert ws.recv_frame() == (True, OP_TEXT, b"ping?")
        ws.send_close(code, reason)
        frame = ws.recv_frame()
        assert frame is not None, "EOF instead of a close frame"
        fin, opcode, payload = frame
        assert (fin, opcode) == (True, OP_CLOSE), frame
        got_code, got_reason = parse_close(payload)
        assert got_code == code, f"sent close {code}, got {got_code} {got_reason!r}"
        assert ws.recv_frame(timeout=5) is None, "server kept the TCP connection open after close"
    finally:
        ws.close()


def test_server_heartbeat_closes_silent_client(echo_server):
    """echo_server --heartbeat 1 against a client that completes the
    handshake and then never answers: a ping comes first, then a close
    frame with 1011, all within a few seconds."""
    server = echo_server("--heartbeat", "1")
    ws = RawWs(server.port)
    try:
        status, headers = ws.handshake()
        assert_101(status, headers, ws.key)
        start = time.monotonic()
        frames = []
        while True:
            frame = ws.recv_frame(timeout=max(0.1, 8 - (time.monotonic() - start)))
            if frame is None:
                break
            frames.append((round(time.monotonic() - start, 2), frame))
            if frame[1] == OP_CLOSE:
                break
        opcodes = [f[1][1] for f in frames]
        assert OP_PING in opcodes, f"no ping before closing; frames: {frames}"
        assert opcodes[-1] == OP_CLOSE, f"no close frame; frames: {frames}"
        assert opcodes.index(OP_PING) < len(opcodes) - 1
        code, reason = parse_close(frames[-1][1][2])
        assert code == 1011, f"close code {code} {reason!r}, expected 1011; frames: {frames}"
        assert frames[0][0] >= 0.5, f"pinged before 1 s of silence; frames: {frames}"
        assert frames[-1][0] <= 6, f"closed only after {frames[-1][0]} s"
    finally:
        ws.close()


def test_server_heartbeat_keeps_answering_client(echo_server):
    """echo_server --heartbeat 1 against a client that answers pings: still
    open after 3 s, and still echoing."""
    server = echo_server("--heartbeat", "1")
    ws = RawWs(server.port)
    try:
        status, headers = ws.handshake()
        assert_101(status, headers, ws.key)
        start = time.monotonic()
        pings = 0
        while time.monotonic() - start < 3.5:
            try:
                frame = ws.recv_frame(timeout=0.2)
            except TimeoutError:
                continue
            assert frame is not None, "server closed the TCP connection"
            assert frame[1] == OP_PING, f"unexpected frame {frame}"
            pings += 1
            ws.send_frame(OP_PONG, frame[2])
        assert pings >= 1, "no heartbeat ping within 3.5 s of silence"
        ws.send_frame(OP_TEXT, b"still here")
        frame = ws.recv_frame()
        while frame is not None and frame[1] == OP_PING:
            ws.send_frame(OP_PONG, frame[2])
            frame = ws.recv_frame()
        assert frame == (True, OP_TEXT, b"still here"), frame
    finally:
        ws.close()
