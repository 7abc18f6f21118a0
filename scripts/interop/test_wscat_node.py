"""Scenario B, Node: a `ws` WebSocketServer as the server for wscat."""

import asyncio
import json
import shutil

import pytest

from wsutil import HERE, NodeWsServer, Wscat, run

NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None or not (HERE / "node_modules" / "ws").is_dir(),
    reason="node or scripts/interop/node_modules/ws missing (scripts/interop.sh installs it)",
)


def test_node_ws_server_text_roundtrip(compression):
    deflate = compression == "deflate"

    async def go():
        async with NodeWsServer(*(["--deflate"] if deflate else []), node=NODE) as node:
            args = ["--header", "X-Token: abc"] + (["--deflate"] if deflate else [])
            async with Wscat(node.url, *args) as w:
                assert await w.stderr_line("protocol:") == "protocol: -"
                extensions = await w.stderr_line("extensions:")
                assert ("permessage-deflate" in extensions) if deflate else extensions == "extensions: -"
                await w.send_line("hello from wscat ✓")
                assert await w.read_line() == "hello from wscat ✓"
                await w.close_stdin()
                assert await w.wait() == 0, w.stderr
            connection = await node.next_event()
            assert connection["event"] == "connection"
            assert connection["headers"].get("x-token") == "abc"
            message = await node.next_event()
            assert message == {"event": "message", "binary": False, "text": "hello from wscat ✓"}
            close = await node.next_event()
            assert close["event"] == "close" and close["code"] == 1000, close

    run(go())
