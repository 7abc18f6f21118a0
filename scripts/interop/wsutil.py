"""Helpers for the interop suite: processes, ports, a raw-socket WebSocket
client, a wscat driver, and thin adapters that give `websockets` and
`aiohttp` the same client and server interface so one test body can run
against both.

Every wait here is bounded by a timeout; nothing loops forever.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
NODE_DIR = HERE / "node"

# Where the example binaries are; scripts/interop.sh sets INTEROP_BIN_DIR.
BIN_DIR = Path(
    os.environ.get("INTEROP_BIN_DIR")
    or Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target") / "release" / "examples"
)

# Compression variants the tests run under. permessage-deflate is not
# implemented yet; INTEROP_DEFLATE=1 adds the "deflate" variant, in which
# servers and clients offer it and the tests expect it to be negotiated.
DEFLATE_ENABLED = os.environ.get("INTEROP_DEFLATE") == "1"
COMPRESSION_VARIANTS = ["none"] + (["deflate"] if DEFLATE_ENABLED else [])

# The server binaries the `echo_server` fixture runs every test against
# (they all take echo_server's command line).
ECHO_SERVERS = os.environ.get("INTEROP_SERVERS", "echo_server tokio_echo_server").split()

# The Node peer: `node` on PATH and scripts/interop/node_modules/ws.
NODE = shutil.which("node")
NODE_WS_MISSING = NODE is None or not (HERE / "node_modules" / "ws").is_dir()

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MiB = 1 << 20


def binary(name: str) -> str:
    path = BIN_DIR / name
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: build it with `cargo build --release --examples --all-features`"
        )
    return str(path)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(coro, timeout: float = 30):
    """Run one coroutine to completion under a hard timeout."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


# --------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------


def kill_group(proc) -> None:
    """SIGKILL a process started with start_new_session=True, and its group."""
    if proc.returncode is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            proc.kill()
        except ProcessLookupError:
            pass


class Processes:
    """Tracks the subprocesses of one test; kill_all() ends every one."""

    def __init__(self):
        self._procs: list[tuple[subprocess.Popen, Path | None]] = []

    def popen(self, argv, log: Path | None = None, **kwargs) -> subprocess.Popen:
        if log is not None:
            with open(log, "wb") as f:
                proc = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                    start_new_session=True, **kwargs,
                )
        else:
            proc = subprocess.Popen(argv, start_new_session=True, **kwargs)
        self._procs.append((proc, log))
        return proc

    def kill_all(self) -> None:
        for proc, log in self._procs:
            kill_group(proc)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            if log is not None and log.exists():
                # Shown by pytest only when the test failed.
                print(f"--- output of {shlex.join(map(str, proc.args))} (exit {proc.returncode})")
                print(log.read_text(errors="replace")[-4000:])
        self._procs.clear()


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class EchoServer:
    def __init__(self, proc: subprocess.Popen, port: int, log: Path, name: str = "echo_server"):
        self.name = name
        self.proc = proc
        self.port = port
        self.log = log
        self.url = f"ws://127.0.0.1:{port}/"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_log(self, pattern: str, timeout: float = 5) -> re.Match | None:
        """Waits until the server's stderr matches `pattern` (a regex)."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.log_text())
            if m or time.monotonic() >= deadline:
                return m
            time.sleep(0.05)


def start_echo_server(
    procs: Processes, tmp_path: Path, args: list[str], deflate: bool = False, name: str = "echo_server"
) -> EchoServer:
    """Starts `name` (echo_server, tokio_echo_server: same command line)."""
    exe = binary(name)
    for attempt in range(3):
        port = free_port()
        argv = [exe, "--listen", f"127.0.0.1:{port}", *args]
        if not deflate:
            argv.append("--no-deflate")
        log = tmp_path / f"{name}-{port}.log"
        proc = procs.popen(argv, log=log)
        if wait_for_port(port, proc, timeout=10):
            return EchoServer(proc, port, log, name)
        kill_group(proc)
    raise RuntimeError(f"{name} did not start; last output:\n{log.read_text(errors='replace')}")


# --------------------------------------------------------------------------
# permessage-deflate: extension headers and messages that need the window
# --------------------------------------------------------------------------


def parse_extensions(value: str | None) -> list[tuple[str, dict[str, str | None]]]:
    """Parses a Sec-WebSocket-Extensions value (or wscat's `extensions:`
    text) into [(name, {param: value or None})]; `-` and None give []."""
    out = []
    if value is None or value.strip() in ("", "-"):
        return out
    for item in value.split(","):
        name, *params = [part.strip() for part in item.split(";")]
        parsed: dict[str, str | None] = {}
        for param in params:
            key, eq, val = param.partition("=")
            key = key.strip().lower()
            assert key not in parsed, f"duplicate parameter {key} in {value!r}"
            parsed[key] = val.strip().strip('"') if eq else None
        out.append((name.lower(), parsed))
    return out


def deflate_params(value: str | None) -> dict[str, str | None]:
    """The parameters of the one permessage-deflate extension in `value`."""
    exts = parse_extensions(value)
    assert [name for name, _ in exts] == ["permessage-deflate"], f"negotiated {value!r}"
    return exts[0][1]


def deflate_messages(kind: str = "text", seed: int = 7692) -> list:
    """Repetitive JSON-ish messages (1 KiB to ~100 KiB) that compress well.

    The records come from a pool of about 5 KiB of pseudo-random ones, so
    most matches reach back hundreds to thousands of bytes (past a 9-12 bit
    window) and into earlier messages (context takeover): a peer that
    compresses with a larger window than agreed, or resets or keeps its
    context against the agreement, makes the other side fail or corrupt
    the data. `kind` is "text" (str, no newlines) or "binary" (bytes).
    """
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "ünïcödé", "数据", "😀", "omega", "zeta", "kappa"]
    pool = [
        json.dumps(
            {
                "id": i,
                "user": f"user-{rng.getrandbits(32):08x}",
                "tags": rng.sample(words, 3),
                "score": round(rng.random() * 1000, 3),
                "ok": rng.random() < 0.5,
            },
            ensure_ascii=False,
        )
        for i in range(64)
    ]
    sizes = [1024, 3000, 4096, 20000, 40000, 65536, 100 * 1024, 2048]
    messages = []
    for n, size in enumerate(sizes):
        parts, length = [], 0
        while length < size:
            record = rng.choice(pool)
            parts.append(record)
            length += len(record.encode()) + 2
        text = f'{{"message": {n}, "records": [' + ", ".join(parts) + "]}"
        messages.append(text if kind == "text" else b"\x00\xff" + text.encode())
    return messages


# --------------------------------------------------------------------------
# A raw-socket WebSocket client, for checks the libraries hide
# --------------------------------------------------------------------------


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


class RawWs:
    """A minimal blocking client: handshake, then frames by hand."""

    def __init__(self, port: int, timeout: float = 5):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def handshake(self, path="/", protocols=(), extra_headers=()):
        """Sends an upgrade request; returns (status_line, [(name, value)])."""
        self.key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: 127.0.0.1:{self.sock.getpeername()[1]}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {self.key}",
            "Sec-WebSocket-Version: 13",
        ]
        if protocols:
            lines.append("Sec-WebSocket-Protocol: " + ", ".join(protocols))
        lines += list(extra_headers)
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError(f"EOF during handshake; got {self.buf!r}")
            self.buf += chunk
            if len(self.buf) > 65536:
                raise ConnectionError("handshake response too long")
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status, *header_lines = head.decode("latin-1").split("\r\n")
        headers = []
        for line in header_lines:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        return status, headers

    def send_frame(self, opcode: int, payload: bytes = b"", fin: bool = True):
        mask = os.urandom(4)
        first = (0x80 if fin else 0) | opcode
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", first, 0x80 | n)
        elif n < 65536:
            header = struct.pack("!BBH", first, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", first, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send_close(self, code: int, reason: str = ""):
        self.send_frame(0x8, struct.pack("!H", code) + reason.encode())

    def _parse_frame(self):
        """Takes one whole frame off the buffer, or returns None."""
        buf = self.buf
        if len(buf) < 2:
            return None
        b0, b1 = buf[0], buf[1]
        if b1 & 0x80:
            raise AssertionError(f"server frame is masked: {buf[:2]!r}")
        n, pos = b1 & 0x7F, 2
        if n == 126:
            if len(buf) < 4:
                return None
            n, pos = struct.unpack("!H", buf[2:4])[0], 4
        elif n == 127:
            if len(buf) < 10:
                return None
            n, pos = struct.unpack("!Q", buf[2:10])[0], 10
        if len(buf) < pos + n:
            return None
        self.buf = buf[pos + n:]
        return bool(b0 & 0x80), b0 & 0x0F, bytes(buf[pos:pos + n])

    def recv_frame(self, timeout: float = 5):
        """Returns (fin, opcode, payload), or None at EOF; TimeoutError after
        `timeout` seconds without a whole frame (nothing is lost then)."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self._parse_frame()
            if frame is not None:
                return frame
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no whole frame within {timeout} s; have {len(self.buf)} bytes")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(1 << 20)
            except socket.timeout:
                raise TimeoutError(f"no whole frame within {timeout} s; have {len(self.buf)} bytes")
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                if self.buf:
                    raise AssertionError(f"EOF inside a frame: {self.buf[:32]!r}")
                return None
            self.buf += chunk


def parse_close(payload: bytes):
    if not payload:
        return None, ""
    return struct.unpack("!H", payload[:2])[0], payload[2:].decode("utf-8")


# --------------------------------------------------------------------------
# wscat driver (asyncio)
# --------------------------------------------------------------------------


class Wscat:
    """Runs the wscat example; `async with Wscat(url, *args) as w:`.

    stdout is read line by line by the test; stderr is collected in the
    background into `stderr_lines`. The process is killed on exit from the
    block if it is still running.
    """

    def __init__(self, url: str, *args: str):
        self.argv = [binary("wscat"), url, *args]
        self.stderr_lines: list[str] = []
        self.proc = None
        self._stderr_task = None

    async def __aenter__(self):
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=64 * MiB,
            start_new_session=True,
        )
        self._stderr_task = asyncio.create_task(self._collect_stderr())
        return self

    async def __aexit__(self, *exc):
        kill_group(self.proc)
        try:
            await asyncio.wait_for(self.proc.wait(), 5)
        except asyncio.TimeoutError:
            pass
        self._stderr_task.cancel()
        if exc[0] is not None:
            print(f"--- wscat {shlex.join(self.argv[1:])} (exit {self.proc.returncode}) stderr:")
            print("\n".join(self.stderr_lines)[-4000:])

    async def _collect_stderr(self):
        while True:
            line = await self.proc.stderr.readline()
            if not line:
                return
            self.stderr_lines.append(line.decode("utf-8", "replace").rstrip("\r\n"))

    @property
    def stderr(self) -> str:
        return "\n".join(self.stderr_lines)

    async def send_line(self, line: str):
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()

    async def close_stdin(self):
        self.proc.stdin.close()
        try:
            await self.proc.stdin.wait_closed()
        except (BrokenPipeError, ConnectionResetError):
            pass

    async def read_line(self, timeout: float = 10) -> str:
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line:
            raise AssertionError(f"wscat stdout ended; stderr:\n{self.stderr}")
        return line.decode("utf-8").rstrip("\n").removesuffix("\r")

    async def read_rest(self, timeout: float = 10) -> str:
        return (await asyncio.wait_for(self.proc.stdout.read(), timeout)).decode("utf-8", "replace")

    async def stderr_line(self, prefix: str, timeout: float = 10) -> str:
        """Waits for a stderr line starting with `prefix`; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.stderr_lines:
                if line.startswith(prefix):
                    return line
            if time.monotonic() >= deadline:
                raise AssertionError(f"no stderr line starting {prefix!r}; stderr:\n{self.stderr}")
            await asyncio.sleep(0.02)

    async def wait(self, timeout: float = 10) -> int:
        try:
            rc = await asyncio.wait_for(self.proc.wait(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"wscat still running after {timeout} s; stderr:\n{self.stderr}")
        await asyncio.wait_for(self._stderr_task, 5)
        return rc


# --------------------------------------------------------------------------
# Client adapters: websockets and aiohttp behind one interface
# --------------------------------------------------------------------------


class Client:
    """A WebSocket client from a peer library.

    Messages are `str` (text) or `bytes` (binary).
    """

    name = "?"
    subprotocol: str | None
    extensions: str | None

    async def connect(self, url, *, protocols=(), headers=None, origin=None, deflate=False, **extra): ...
    async def send(self, message): ...
    async def recv(self, timeout: float = 10): ...
    async def ping(self, data: bytes, timeout: float = 5) -> None: ...
    async def close(self, code: int = 1000, reason: str = "") -> tuple[int | None, str | None]: ...
    async def abort(self): ...


class WebsocketsClient(Client):
    name = "websockets"

    async def connect(self, url, *, protocols=(), headers=None, origin=None, deflate=False, **extra):
        from websockets.asyncio.client import connect

        self.ws = await connect(
            url,
            subprotocols=list(protocols) or None,
            additional_headers=headers,
            origin=origin,
            compression="deflate" if deflate else None,
            max_size=None,
            ping_interval=None,
            open_timeout=10,
            close_timeout=10,
            **extra,
        )
        self.subprotocol = self.ws.subprotocol
        self.extensions = self.ws.response.headers.get("Sec-WebSocket-Extensions")
        self.response_headers = list(self.ws.response.headers.raw_items())
        return self

    async def send(self, message):
        await self.ws.send(message)

    async def recv(self, timeout=10):
        return await asyncio.wait_for(self.ws.recv(), timeout)

    async def ping(self, data, timeout=5):
        pong = await self.ws.ping(data)
        await asyncio.wait_for(pong, timeout)

    async def close(self, code=1000, reason=""):
        await asyncio.wait_for(self.ws.close(code, reason), 15)
        rcvd = self.ws.protocol.close_rcvd
        return (rcvd.code, rcvd.reason) if rcvd else (None, None)

    async def abort(self):
        if getattr(self, "ws", None) is not None:
            self.ws.transport.abort()


class AiohttpClient(Client):
    name = "aiohttp"

    async def connect(self, url, *, protocols=(), headers=None, origin=None, deflate=False, **extra):
        import aiohttp

        self.session = aiohttp.ClientSession()
        extra.setdefault("autoping", True)
        self.ws = await self.session.ws_connect(
            url,
            protocols=tuple(protocols),
            headers=headers,
            origin=origin,
            compress=15 if deflate else 0,
            max_msg_size=0,
            timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=10),
            **extra,
        )
        self.subprotocol = self.ws.protocol
        self.extensions = "permessage-deflate" if self.ws.compress else None
        return self

    async def send(self, message):
        if isinstance(message, str):
            await self.ws.send_str(message)
        else:
            await self.ws.send_bytes(message)

    async def recv(self, timeout=10):
        import aiohttp

        msg = await self.ws.receive(timeout)
        if msg.type == aiohttp.WSMsgType.TEXT:
            return msg.data
        if msg.type == aiohttp.WSMsgType.BINARY:
            return msg.data
        raise AssertionError(f"expected a message, got {msg.type!r} {msg.data!r} {msg.extra!r}")

    async def ping(self, data, timeout=5):
        import aiohttp

        await self.ws.ping(data)
        msg = await self.ws.receive(timeout)
        assert msg.type == aiohttp.WSMsgType.PONG, f"expected PONG, got {msg.type!r} {msg.data!r}"
        assert msg.data == data, f"pong payload {msg.data!r} != ping payload {data!r}"

    async def close(self, code=1000, reason=""):
        await asyncio.wait_for(self.ws.close(code=code, message=reason.encode()), 15)
        # aiohttp keeps the code of the close frame it got back, not the reason.
        return self.ws.close_code, None

    async def abort(self):
        if getattr(self, "session", None) is not None:
            await self.session.close()


CLIENTS = {"websockets": WebsocketsClient, "aiohttp": AiohttpClient}


# --------------------------------------------------------------------------
# Server adapters: websockets and aiohttp behind one interface
# --------------------------------------------------------------------------


class PeerClosed(Exception):
    """The client closed: `code`/`reason` of its close frame (None if none)."""

    def __init__(self, code, reason):
        super().__init__(f"closed by peer: {code} {reason!r}")
        self.code = code
        self.reason = reason


class ServerConn:
    async def send(self, message): ...
    async def recv(self, timeout: float = 30): ...  # raises PeerClosed
    async def close(self, code: int, reason: str = ""): ...


async def echo(conn: ServerConn, server: "Server"):
    """Default behaviour: echo everything; record the client's close."""
    while True:
        try:
            message = await conn.recv()
        except PeerClosed as closed:
            server.closes.append((closed.code, closed.reason))
            return
        server.received.append(message)
        await conn.send(message)


class Server:
    """A WebSocket server from a peer library on 127.0.0.1:<ephemeral>.

    `behaviour(conn, server)` runs for each connection (default: echo).
    Each request's headers (names lower-cased) go to `requests`; messages the
    behaviour reads go to `received`; close frames from the client to `closes`.
    """

    name = "?"

    def __init__(self, *, protocols=(), reject_status=None, deflate=False, heartbeat=None, behaviour=echo,
                 options=None):
        self.protocols = list(protocols)
        # Extra keyword arguments for the library's server (websockets:
        # `serve`, e.g. `extensions=[...]`; aiohttp: `WebSocketResponse`).
        self.options = dict(options or {})
        # Each handshake response's headers (names lower-cased).
        self.responses: list[dict[str, str]] = []
        self.reject_status = reject_status
        self.deflate = deflate
        self.heartbeat = heartbeat
        self.behaviour = behaviour
        self.requests: list[dict[str, str]] = []
        self.received: list = []
        self.closes: list = []
        self.errors: list = []
        self.done = asyncio.Event()

    @property
    def url(self):
        return f"ws://127.0.0.1:{self.port}/chat"

    async def _run_behaviour(self, conn):
        try:
            await self.behaviour(conn, self)
        except Exception as e:  # reported by the test through `errors`
            self.errors.append(repr(e))
        finally:
            self.done.set()

    async def wait_done(self, timeout=10):
        await asyncio.wait_for(self.done.wait(), timeout)

    async def __aenter__(self):
        await self.start()
        return self

    async def __aexit__(self, *exc):
        await asyncio.wait_for(self.stop(), 10)


class WebsocketsServerConn(ServerConn):
    def __init__(self, ws):
        self.ws = ws

    async def send(self, message):
        await self.ws.send(message)

    async def recv(self, timeout=30):
        from websockets.exceptions import ConnectionClosed

        try:
            return await asyncio.wait_for(self.ws.recv(), timeout)
        except ConnectionClosed:
            rcvd = self.ws.protocol.close_rcvd
            raise PeerClosed(rcvd.code if rcvd else None, rcvd.reason if rcvd else None)

    async def close(self, code, reason=""):
        await asyncio.wait_for(self.ws.close(code, reason), 15)


class WebsocketsServer(Server):
    name = "websockets"

    async def start(self):
        from http import HTTPStatus

        from websockets.asyncio.server import serve

        def process_request(connection, request):
            self.requests.append({k.lower(): v for k, v in request.headers.raw_items()})
            if self.reject_status:
                return connection.respond(HTTPStatus(self.reject_status), "rejected by test\n")
            return None

        async def handler(ws):
            self.responses.append({k.lower(): v for k, v in ws.response.headers.raw_items()})
            await self._run_behaviour(WebsocketsServerConn(ws))

        options = dict(
            subprotocols=self.protocols or None,
            compression="deflate" if self.deflate else None,
            process_request=process_request,
            max_size=None,
            ping_interval=self.heartbeat,
            ping_timeout=self.heartbeat,
            close_timeout=10,
        )
        options.update(self.options)
        self.server = await serve(handler, "127.0.0.1", 0, **options)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self):
        self.server.close()
        await self.server.wait_closed()


class AiohttpServerConn(ServerConn):
    def __init__(self, ws):
        self.ws = ws

    async def send(self, message):
        if isinstance(message, str):
            await self.ws.send_str(message)
        else:
            await self.ws.send_bytes(message)

    async def recv(self, timeout=30):
        from aiohttp import WSMsgType

        msg = await self.ws.receive(timeout)
        if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
            return msg.data
        if msg.type == WSMsgType.CLOSE:
            raise PeerClosed(msg.data, msg.extra)
        raise PeerClosed(None, f"{msg.type!r} {msg.data!r}")

    async def close(self, code, reason=""):
        await asyncio.wait_for(self.ws.close(code=code, message=reason.encode()), 15)


class AiohttpServer(Server):
    name = "aiohttp"

    async def start(self):
        from aiohttp import web

        async def handler(request):
            self.requests.append({k.lower(): v for k, v in request.headers.items()})
            if self.reject_status:
                return web.Response(status=self.reject_status, text="rejected by test\n")
            options = dict(
                protocols=tuple(self.protocols),
                heartbeat=self.heartbeat,
                compress=self.deflate,
                max_msg_size=0,
            )
            options.update(self.options)
            ws = web.WebSocketResponse(**options)
            await ws.prepare(request)
            self.responses.append({k.lower(): v for k, v in ws.headers.items()})
            await self._run_behaviour(AiohttpServerConn(ws))
            return ws

        app = web.Application()
        app.router.add_get("/{tail:.*}", handler)
        self.runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def stop(self):
        await self.runner.cleanup()


SERVERS = {"websockets": WebsocketsServer, "aiohttp": AiohttpServer}


# --------------------------------------------------------------------------
# Node `ws` server (scripts/interop/node/ws_server.js)
# --------------------------------------------------------------------------


class NodeWsServer:
    """`async with NodeWsServer(*args) as node:` starts ws_server.js on an
    ephemeral port; `node.url` is its echo URL and `await node.next_event()`
    the next JSON line it reports (connection, message, close)."""

    def __init__(self, *args: str, node: str = "node"):
        self.argv = [node, str(NODE_DIR / "ws_server.js"), *args]
        self.events: list = []
        self.proc = None
        self.url = None

    async def __aenter__(self):
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=64 * MiB,  # message events carry whole messages
            start_new_session=True,
        )
        try:
            first = (await asyncio.wait_for(self.proc.stdout.readline(), 10)).decode()
            assert first.startswith("port: "), first
            self.url = f"ws://127.0.0.1:{int(first.split()[1])}/echo"
        except BaseException:
            await self.__aexit__()
            raise
        return self

    async def __aexit__(self, *exc):
        kill_group(self.proc)
        await asyncio.wait_for(self.proc.wait(), 5)

    async def next_event(self, timeout: float = 10) -> dict:
        import json

        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        assert line, f"node server exited; events so far: {[e.get('event') for e in self.events]}"
        event = json.loads(line)
        self.events.append(event)
        return event
