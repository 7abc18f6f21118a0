"""wss:// both ways: wscat (rustls, blocking) against a Python `websockets`
TLS server whose certificate comes from a throw-away CA (trustme), and
Python `websockets` against tls_echo_server (rustls, tokio) trusting the
CA certificate it writes at start-up."""

import asyncio
import re
import ssl

import pytest
import trustme

from wsutil import MiB, WebsocketsServer, Wscat, binary, free_port, run, wait_for_port


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


def server_context(ca):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    return ctx


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_wscat_wss_with_private_ca(ca, tmp_path, compression, host):
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    texts = ["hello over TLS", "héllo ✓", "x" * 100_000]

    async def go():
        options = {"ssl": server_context(ca)}
        async with WebsocketsServer(deflate=compression == "deflate", options=options) as server:
            url = f"wss://{host}:{server.port}/chat"
            args = ["--ca", str(ca_file), *(["--deflate"] if compression == "deflate" else [])]
            async with Wscat(url, *args) as w:
                extensions = await w.stderr_line("extensions:")
                assert ("permessage-deflate" in extensions) == (compression == "deflate"), extensions
                for t in texts:
                    await w.send_line(t)
                    assert await w.read_line() == t
                await w.close_stdin()
                rc = await w.wait()
                assert rc == 0, f"exit {rc}; stderr:\n{w.stderr}"
                assert any(re.fullmatch(r"close: 1000( .*)?", l) for l in w.stderr_lines), w.stderr
            await server.wait_done()
            assert server.received == texts
            assert [c for c, _ in server.closes] == [1000], server.closes
            assert not server.errors, server.errors

    run(go())


def test_wscat_refuses_an_untrusted_certificate(ca):
    async def go():
        async with WebsocketsServer(options={"ssl": server_context(ca)}) as server:
            async with Wscat(f"wss://127.0.0.1:{server.port}/chat") as w:
                await w.close_stdin()
                rc = await w.wait()
                assert rc == 1, f"exit {rc}; stderr:\n{w.stderr}"
                assert re.search(r"error: .*(UnknownIssuer|certificate)", w.stderr), w.stderr
            assert server.received == []

    run(go())


def test_websockets_client_against_tls_echo_server(procs, tmp_path, compression):
    port = free_port()
    ca_file = tmp_path / "ca.pem"
    argv = [binary("tls_echo_server"), "--listen", f"127.0.0.1:{port}", "--write-cert", str(ca_file)]
    if compression == "none":
        argv.append("--no-deflate")
    proc = procs.popen(argv, log=tmp_path / "tls_echo_server.log")
    assert wait_for_port(port, proc), (tmp_path / "tls_echo_server.log").read_text()

    async def go():
        from websockets.asyncio.client import connect

        ctx = ssl.create_default_context(cafile=str(ca_file))
        async with connect(
            f"wss://127.0.0.1:{port}/secure",
            ssl=ctx,
            compression="deflate" if compression == "deflate" else None,
            max_size=None,
        ) as ws:
            agreed = ws.response.headers.get("Sec-WebSocket-Extensions") or ""
            assert ("permessage-deflate" in agreed) == (compression == "deflate"), agreed
            for message in ["hello", "✓" * 10_000, bytes(range(256)) * 4096, b"", "x" * MiB]:
                await ws.send(message)
                assert await asyncio.wait_for(ws.recv(), 20) == message
            await ws.close(1000, "done")
            assert ws.close_code == 1000

    run(go())
