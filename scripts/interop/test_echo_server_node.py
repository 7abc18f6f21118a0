"""Scenario A, Node: the `ws` package as a client of echo_server."""

import json
import shutil
import subprocess

import pytest

from wsutil import HERE, NODE_DIR

NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None or not (HERE / "node_modules" / "ws").is_dir(),
    reason="node or scripts/interop/node_modules/ws missing (scripts/interop.sh installs it)",
)


@pytest.mark.parametrize("scenario", ["text", "binary", "large"])
def test_node_ws_client(echo_server, compression, scenario):
    deflate = compression == "deflate"
    server = echo_server(deflate=deflate)
    argv = [NODE, str(NODE_DIR / "ws_client.js"), server.url, scenario] + (["--deflate"] if deflate else [])
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    lines = out.stdout.strip().splitlines()
    assert lines, f"no output (exit {out.returncode}); stderr:\n{out.stderr}"
    result = json.loads(lines[-1])
    assert out.returncode == 0 and result["ok"], f"{result}\nstderr:\n{out.stderr}"
    assert result["close"]["code"] == 1000
    if deflate:
        assert "permessage-deflate" in result["extensions"]
    else:
        assert result["extensions"] == ""
