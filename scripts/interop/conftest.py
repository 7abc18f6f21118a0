"""Fixtures for the interop suite (run by scripts/interop.sh).

Everything here is bounded: each test runs under a wall-clock limit
(`INTEROP_TEST_TIMEOUT`, default 60 s, or `@pytest.mark.interop_timeout(N)`),
every wait has its own timeout, and every process a test starts is killed in
a finalizer, whatever the outcome.
"""

import os
import signal

import pytest

import wsutil

TEST_TIMEOUT = float(os.environ.get("INTEROP_TEST_TIMEOUT", "60"))

# The permessage-deflate parameter tests exist only with INTEROP_DEFLATE=1,
# like the "deflate" compression variant.
collect_ignore = [] if wsutil.DEFLATE_ENABLED else ["test_deflate_params.py"]


class TestTimeout(Exception):
    """A test ran past its wall-clock limit."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "interop_timeout(seconds): wall-clock limit for one test"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    marker = item.get_closest_marker("interop_timeout")
    limit = float(marker.args[0]) if marker else TEST_TIMEOUT

    def on_alarm(signum, frame):
        raise TestTimeout(f"test exceeded its {limit:g} s limit")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        return (yield)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(params=wsutil.COMPRESSION_VARIANTS)
def compression(request):
    """Compression variant: "none" today; "deflate" once permessage-deflate
    exists (set INTEROP_DEFLATE=1 to add it)."""
    return request.param


@pytest.fixture
def procs():
    manager = wsutil.Processes()
    yield manager
    manager.kill_all()


@pytest.fixture(params=wsutil.ECHO_SERVERS)
def echo_server(request, procs, tmp_path):
    """Factory: `echo_server(*args, deflate=False)` starts the server example
    on a free 127.0.0.1 port and returns a wsutil.EchoServer.

    Parametrized over the server binaries in INTEROP_SERVERS (default
    "echo_server tokio_echo_server"; they share one command line), so every
    test using it runs against each; the binary's name is in the test id."""
    name = request.param

    def start(*args, deflate=False):
        return wsutil.start_echo_server(procs, tmp_path, list(args), deflate=deflate, name=name)

    return start
