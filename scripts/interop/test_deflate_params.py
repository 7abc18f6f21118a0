"""permessage-deflate parameter variants (RFC 7692 §7.1) against real peers.

Collected only with INTEROP_DEFLATE=1 (see conftest.py). Every test checks
the negotiated parameters exactly, from the handshake response and, where
the peer reports them, from the peer library, then exchanges messages in
both directions that compress well and need more than the smallest windows
(wsutil.deflate_messages: 1 KiB to ~100 KiB, matches reaching back
thousands of bytes and into earlier messages) and checks every echo, so a
wrong window size or context-takeover handling shows up as an inflate
error or corrupted data on one side or the other.

  A. our servers (echo_server, tokio_echo_server) as the server for
     `websockets` clients with ClientPerMessageDeflateFactory variants,
     aiohttp clients with compress=9..15, and Node `ws` clients with
     perMessageDeflate variants;
  B. `wscat --deflate` as the client of Node `ws` and `websockets` servers
     with server/client window bits and no-context-takeover variants.
"""

import asyncio
import base64
import json
import subprocess

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
    ServerPerMessageDeflateFactory,
)

from wsutil import (
    NodeWsServer,
    DEFLATE_ENABLED,
    NODE,
    NODE_DIR,
    NODE_WS_MISSING,
    WebsocketsServer,
    Wscat,
    deflate_messages,
    deflate_params,
    run,
)

if not DEFLATE_ENABLED:  # conftest.py does not even collect this file then
    pytest.skip("set INTEROP_DEFLATE=1 for the permessage-deflate tests", allow_module_level=True)

needs_node = pytest.mark.skipif(
    NODE_WS_MISSING,
    reason="node or scripts/interop/node_modules/ws missing (scripts/interop.sh installs it)",
)

TEXTS = deflate_messages("text")
BINARIES = deflate_messages("binary")

# The offer `wscat --deflate` makes (DeflateConfig::default()): nothing is
# asked of the server, so there is no fallback offer after it.
WSCAT_OFFER = {"client_max_window_bits": None}


def expect(server_bits=None, client_bits=None, server_nct=False, client_nct=False):
    """The parameters a response should carry, as deflate_params() gives them."""
    out = {}
    if server_nct:
        out["server_no_context_takeover"] = None
    if client_nct:
        out["client_no_context_takeover"] = None
    if server_bits is not None:
        out["server_max_window_bits"] = str(server_bits)
    if client_bits is not None:
        out["client_max_window_bits"] = str(client_bits)
    return out


def check_server_log(server, want):
    """echo_server / tokio_echo_server log the negotiated extension."""
    m = server.wait_log(r'extensions="([^"]*)"', timeout=5)
    assert m, f"no extensions in the {server.name} log:\n{server.log_text()}"
    assert deflate_params(m.group(1)) == want, m.group(0)


# ==========================================================================
# A. our servers, third-party clients
# ==========================================================================

# id -> (ClientPerMessageDeflateFactory kwargs, expected response params)
WEBSOCKETS_CLIENT_VARIANTS = {
    "cmwb9": (dict(client_max_window_bits=9), expect()),
    "cmwb12": (dict(client_max_window_bits=12), expect()),
    "cmwb15": (dict(client_max_window_bits=15), expect()),
    "client_nct": (dict(client_no_context_takeover=True), expect(client_nct=True)),
    "server_nct": (dict(server_no_context_takeover=True), expect(server_nct=True)),
    "smwb8": (dict(server_max_window_bits=8), expect(server_bits=8)),
    "smwb9": (dict(server_max_window_bits=9), expect(server_bits=9)),
    "smwb12": (dict(server_max_window_bits=12), expect(server_bits=12)),
    "smwb15": (dict(server_max_window_bits=15), expect(server_bits=15)),
    "smwb9-cmwb9-both_nct": (
        dict(server_max_window_bits=9, client_max_window_bits=9,
             server_no_context_takeover=True, client_no_context_takeover=True),
        expect(server_bits=9, server_nct=True, client_nct=True),
    ),
    "smwb12-client_nct": (
        dict(server_max_window_bits=12, client_no_context_takeover=True),
        expect(server_bits=12, client_nct=True),
    ),
}


@pytest.mark.parametrize("variant", list(WEBSOCKETS_CLIENT_VARIANTS))
def test_websockets_client_params(echo_server, variant):
    factory_kwargs, want = WEBSOCKETS_CLIENT_VARIANTS[variant]
    server = echo_server(deflate=True)

    async def go():
        async with connect(
            server.url,
            extensions=[ClientPerMessageDeflateFactory(**factory_kwargs)],
            compression=None,
            max_size=None,
            ping_interval=None,
            open_timeout=10,
            close_timeout=10,
        ) as ws:
            response = ws.response.headers.get("Sec-WebSocket-Extensions")
            assert deflate_params(response) == want, f"offer {ws.request.headers.get('Sec-WebSocket-Extensions')!r}"
            # What websockets itself will use: it decompresses with the
            # server's window and compresses with its own.
            [ext] = ws.protocol.extensions
            assert isinstance(ext, PerMessageDeflate)
            assert ext.remote_max_window_bits == int(want.get("server_max_window_bits", 15))
            assert ext.local_max_window_bits == (factory_kwargs.get("client_max_window_bits") or 15)
            assert ext.remote_no_context_takeover == ("server_no_context_takeover" in want)
            assert ext.local_no_context_takeover == ("client_no_context_takeover" in want)
            for i, message in enumerate(TEXTS + BINARIES):
                await ws.send(message)
                got = await asyncio.wait_for(ws.recv(), 10)
                assert type(got) is type(message) and got == message, (
                    f"message #{i}: echo differs ({len(got)} vs {len(message)})"
                )
            await ws.close(1000)
            assert ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == 1000

    run(go())
    check_server_log(server, want)


@pytest.mark.parametrize("bits", range(9, 16))
def test_aiohttp_client_compress(echo_server, bits):
    """aiohttp offers `client_max_window_bits` and, below 15,
    `server_max_window_bits=N`; the server must honour the latter."""
    server = echo_server(deflate=True)
    want = expect(server_bits=bits) if bits < 15 else expect()

    async def go():
        handshake = {}

        async def on_request_end(session, ctx, params):
            handshake["request"] = params.headers.get("Sec-WebSocket-Extensions")
            handshake["response"] = params.response.headers.get("Sec-WebSocket-Extensions")

        trace = aiohttp.TraceConfig()
        trace.on_request_end.append(on_request_end)
        async with aiohttp.ClientSession(trace_configs=[trace]) as session:
            async with session.ws_connect(
                server.url,
                compress=bits,
                max_msg_size=0,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=10),
            ) as ws:
                assert deflate_params(handshake["response"]) == want, handshake
                # aiohttp's `compress` is the window it compresses with:
                # the server set no client_max_window_bits.
                assert ws.compress == 15
                for i, message in enumerate(TEXTS + BINARIES):
                    if isinstance(message, str):
                        await ws.send_str(message)
                    else:
                        await ws.send_bytes(message)
                    msg = await ws.receive(10)
                    want_type = aiohttp.WSMsgType.TEXT if isinstance(message, str) else aiohttp.WSMsgType.BINARY
                    assert msg.type == want_type, (i, msg.type, msg.data, ws.exception())
                    assert msg.data == message, f"message #{i}: echo differs"
                await ws.close(code=1000)
                assert ws.close_code == 1000

    run(go())
    check_server_log(server, want)


# id -> (ws perMessageDeflate options, expected response params)
NODE_CLIENT_VARIANTS = {
    "cmwb9": ({"clientMaxWindowBits": 9}, expect()),
    "smwb9": ({"serverMaxWindowBits": 9}, expect(server_bits=9)),
    "smwb12-cmwb12": ({"serverMaxWindowBits": 12, "clientMaxWindowBits": 12}, expect(server_bits=12)),
    "smwb15-cmwb10": ({"serverMaxWindowBits": 15, "clientMaxWindowBits": 10}, expect(server_bits=15)),
    "both_nct": (
        {"serverNoContextTakeover": True, "clientNoContextTakeover": True},
        expect(server_nct=True, client_nct=True),
    ),
    "smwb10-server_nct": (
        {"serverMaxWindowBits": 10, "serverNoContextTakeover": True},
        expect(server_bits=10, server_nct=True),
    ),
}


@needs_node
@pytest.mark.parametrize("variant", list(NODE_CLIENT_VARIANTS))
def test_node_client_params(echo_server, tmp_path, variant):
    options, want = NODE_CLIENT_VARIANTS[variant]
    server = echo_server(deflate=True)
    messages = [{"binary": False, "data": m} for m in TEXTS] + [
        {"binary": True, "data": base64.b64encode(m).decode()} for m in BINARIES
    ]
    path = tmp_path / "messages.json"
    path.write_text(json.dumps(messages))
    argv = [
        NODE, str(NODE_DIR / "ws_client.js"), server.url, f"file:{path}",
        "--deflate-options", json.dumps({"threshold": 0, **options}),
    ]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=40)
    lines = out.stdout.strip().splitlines()
    assert lines, f"no output (exit {out.returncode}); stderr:\n{out.stderr}"
    result = json.loads(lines[-1])
    assert out.returncode == 0 and result["ok"], f"{result}\nstderr:\n{out.stderr}"
    assert result["messages"] == len(messages)
    assert result["close"]["code"] == 1000
    assert deflate_params(result["response_extensions"]) == want
    check_server_log(server, want)


# ==========================================================================
# B. wscat --deflate against third-party servers
# ==========================================================================


async def wscat_exchange(url, want):
    """Runs `wscat --deflate` against `url`: checks its `extensions:` line
    is `want`, sends every text message as a line and checks each echo,
    then closes (stdin EOF) and expects exit status 0."""
    async with Wscat(url, "--deflate") as w:
        extensions = await w.stderr_line("extensions:")
        assert deflate_params(extensions.removeprefix("extensions:")) == want, extensions
        for i, message in enumerate(TEXTS):
            await w.send_line(message)
            got = await w.read_line(timeout=15)
            assert got == message, f"message #{i}: echo differs ({len(got)} vs {len(message)} chars)"
        await w.close_stdin()
        assert await w.wait(15) == 0, w.stderr


# id -> (ws perMessageDeflate options, expected response params)
NODE_SERVER_VARIANTS = {
    "smwb9-cmwb9": ({"serverMaxWindowBits": 9, "clientMaxWindowBits": 9}, expect(9, 9)),
    "smwb12-cmwb15": ({"serverMaxWindowBits": 12, "clientMaxWindowBits": 15}, expect(12, 15)),
    "smwb15-cmwb9": ({"serverMaxWindowBits": 15, "clientMaxWindowBits": 9}, expect(15, 9)),
    "smwb10-cmwb12": ({"serverMaxWindowBits": 10, "clientMaxWindowBits": 12}, expect(10, 12)),
    "both_nct": (
        {"serverNoContextTakeover": True, "clientNoContextTakeover": True},
        expect(server_nct=True, client_nct=True),
    ),
    "server_nct-cmwb10": (
        {"serverNoContextTakeover": True, "clientMaxWindowBits": 10},
        expect(client_bits=10, server_nct=True),
    ),
    "client_nct-smwb9": (
        {"clientNoContextTakeover": True, "serverMaxWindowBits": 9},
        expect(server_bits=9, client_nct=True),
    ),
}


@needs_node
@pytest.mark.parametrize("variant", list(NODE_SERVER_VARIANTS))
def test_wscat_node_server_params(variant):
    options, want = NODE_SERVER_VARIANTS[variant]

    async def go():
        options_json = json.dumps({"threshold": 0, **options})
        async with NodeWsServer("--deflate-options", options_json, node=NODE) as node:
            await wscat_exchange(node.url, want)
            connection = await node.next_event()
            assert connection["event"] == "connection", connection
            assert deflate_params(connection["headers"].get("sec-websocket-extensions")) == WSCAT_OFFER
            assert deflate_params(connection["response_extensions"]) == want
            for i, message in enumerate(TEXTS):
                event = await node.next_event()
                assert event["event"] == "message" and not event["binary"], {k: event[k] for k in event if k != "text"}
                assert event["text"] == message, f"message #{i} reached the node server changed"
            close = await node.next_event()
            assert close["event"] == "close" and close["code"] == 1000, close

    run(go(), timeout=50)


# id -> (ServerPerMessageDeflateFactory kwargs, expected response params)
WEBSOCKETS_SERVER_VARIANTS = {
    "smwb9-cmwb9": (dict(server_max_window_bits=9, client_max_window_bits=9), expect(9, 9)),
    "smwb12-cmwb15": (dict(server_max_window_bits=12, client_max_window_bits=15), expect(12, 15)),
    "smwb15-cmwb9": (dict(server_max_window_bits=15, client_max_window_bits=9), expect(15, 9)),
    "smwb10-cmwb12": (dict(server_max_window_bits=10, client_max_window_bits=12), expect(10, 12)),
    "cmwb8": (dict(client_max_window_bits=8), expect(client_bits=8)),
    "both_nct": (
        dict(server_no_context_takeover=True, client_no_context_takeover=True),
        expect(server_nct=True, client_nct=True),
    ),
    "server_nct-cmwb11": (
        dict(server_no_context_takeover=True, client_max_window_bits=11),
        expect(client_bits=11, server_nct=True),
    ),
    "client_nct-smwb9": (
        dict(client_no_context_takeover=True, server_max_window_bits=9),
        expect(server_bits=9, client_nct=True),
    ),
}


@pytest.mark.parametrize("variant", list(WEBSOCKETS_SERVER_VARIANTS))
def test_wscat_websockets_server_params(variant):
    factory_kwargs, want = WEBSOCKETS_SERVER_VARIANTS[variant]

    async def go():
        server = WebsocketsServer(options={"extensions": [ServerPerMessageDeflateFactory(**factory_kwargs)]})
        async with server:
            await wscat_exchange(server.url, want)
            await server.wait_done()
        assert not server.errors, server.errors
        [request] = server.requests
        assert deflate_params(request.get("sec-websocket-extensions")) == WSCAT_OFFER
        [response] = server.responses
        assert deflate_params(response.get("sec-websocket-extensions")) == want
        assert server.received == TEXTS, "the websockets server got different messages"
        assert [code for code, _ in server.closes] == [1000], server.closes

    run(go(), timeout=50)
