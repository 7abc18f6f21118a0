"""1,000 concurrent `websockets` clients against each echo server: all
connections are open at the same time, each exchanges a few messages, and
each ends with a clean close. Bounded by the test's wall-clock limit."""

import asyncio
import resource

import pytest

from wsutil import run

CONNECTIONS = 1000
MESSAGES = 3


def raise_fd_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        pytest.skip(f"needs {wanted} file descriptors, the limit is {soft}")


@pytest.mark.interop_timeout(120)
def test_a_thousand_concurrent_clients(echo_server):
    # Client sockets here and server sockets in the child (which inherits
    # the limit), with room to spare.
    raise_fd_limit(2 * CONNECTIONS + 256)
    server = echo_server()

    async def go():
        from websockets.asyncio.client import connect

        all_open = asyncio.Barrier(CONNECTIONS)
        limit = asyncio.Semaphore(64)  # connects in waves, not one burst

        async def client(i: int) -> int:
            async with limit:
                ws = await connect(f"ws://127.0.0.1:{server.port}/", open_timeout=30, close_timeout=30)
            try:
                await asyncio.wait_for(all_open.wait(), 60)
                for m in range(MESSAGES):
                    message = f"client {i} message {m}"
                    await ws.send(message)
                    assert await asyncio.wait_for(ws.recv(), 30) == message
            finally:
                await ws.close()
            return ws.close_code

        codes = await asyncio.gather(*(client(i) for i in range(CONNECTIONS)))
        assert codes == [1000] * CONNECTIONS

    run(go(), timeout=110)
    assert server.proc.poll() is None, "the server died under load"
