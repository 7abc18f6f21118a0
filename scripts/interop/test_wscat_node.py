"""Scenario B, Node: a `ws` WebSocketServer as the server for wscat."""

import asyncio
import json
import shutil

import pytest

from wsutil import HERE, NODE_DIR, Wscat, kill_group, run

NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None or not (HERE / "node_modules" / "ws").is_dir(),
    reason="node or scripts/interop/node_modules/ws missing (scripts/interop.sh installs it)",
)


def test_node_ws_server_text_roundtrip(compression):
    deflate = compression == "deflate"

    async def go():
        argv = [NODE, str(NODE_DIR / "ws_server.js")] + (["--deflate"] if deflate else [])
        node = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        events = []

        async def next_event(timeout=10):
            line = await asyncio.wait_for(node.stdout.readline(), timeout)
            assert line, f"node server exited; events so far: {events}"
            event = json.loads(line)
            events.append(event)
            return event

        try:
            first = (await asyncio.wait_for(node.stdout.readline(), 10)).decode()
            assert first.startswith("port: "), first
            url = f"ws://127.0.0.1:{int(first.split()[1])}/echo"
            args = ["--header", "X-Token: abc"] + (["--deflate"] if deflate else [])
            async with Wscat(url, *args) as w:
                assert await w.stderr_line("protocol:") == "protocol: -"
                extensions = await w.stderr_line("extensions:")
                assert ("permessage-deflate" in extensions) if deflate else extensions == "extensions: -"
                await w.send_line("hello from wscat ✓")
                assert await w.read_line() == "hello from wscat ✓"
                await w.close_stdin()
                assert await w.wait() == 0, w.stderr
            connection = await next_event()
            assert connection["event"] == "connection"
            assert connection["headers"].get("x-token") == "abc"
            message = await next_event()
            assert message == {"event": "message", "binary": False, "text": "hello from wscat ✓"}
            close = await next_event()
            assert close["event"] == "close" and close["code"] == 1000, close
        finally:
            kill_group(node)
            await asyncio.wait_for(node.wait(), 5)

    run(go())
