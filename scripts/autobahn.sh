#!/usr/bin/env bash
# Autobahn TestSuite conformance run, using `kosoku` (a native, Autobahn
# case-compatible runner from PyPI) instead of the Python 2 / Docker original.
#
#   (a) server: our echo_server example is the server under test;
#       `kosoku -m fuzzingclient` connects to it.      Reports: $OUT/server
#   (a') tokio-server: the same against tokio_echo_server (the tokio
#       adapter).                                      Reports: $OUT/tokio-server
#   (b) client: `kosoku -m fuzzingserver` listens; our autobahn_client example
#       connects to /getCaseCount, /runCase?case=N&agent=A (N = 1..count),
#       then /updateReports?agent=A, after which kosoku writes the reports and
#       exits by itself.                               Reports: $OUT/client
#
# Each part is summarised by scripts/autobahn_summary.py. The script exits 1
# if any case is FAILED (or ERROR, or a report is missing/incomplete), after
# running both parts; setup problems (venv, build, ports) abort at once.
#
# Environment (all optional):
#   VENV                  virtualenv for kosoku       (default target/autobahn-venv)
#   PYTHON                interpreter to create it    (default python3)
#   AUTOBAHN_OUT          report root                 (default target/autobahn)
#   AUTOBAHN_PARTS        any of "server client tokio-server" (default all three)
#   AUTOBAHN_CASES        space-separated case ids/globs to include
#                         (default empty = the whole suite), e.g. "1.* 2.* 9.7.1"
#   AUTOBAHN_EXCLUDE      space-separated case ids/globs to exclude
#                         (default none)
#   AUTOBAHN_STRICT       1 = also fail on UNIMPLEMENTED / WRONG CODE / UNCLEAN
#   AUTOBAHN_PARALLELISM  cases kosoku fuzzingclient runs at once against
#                         the echo server (default 2; the client part is
#                         always sequential: one autobahn_client)
#   AUTOBAHN_TIMEOUT      seconds allowed for each kosoku run (default 1500)
#   AUTOBAHN_BUILD_TIMEOUT seconds allowed for cargo build (default 1800)
#   AUTOBAHN_SKIP_BUILD   1 = don't run cargo build
#   AUTOBAHN_SERVER_ADDR  where the echo server listens   (default 127.0.0.1:9001)
#   AUTOBAHN_FUZZER_ADDR  where kosoku fuzzingserver listens (default 127.0.0.1:9002)
#   AUTOBAHN_AGENT        agent name the client reports (default wsproto)
#   ECHO_SERVER_CMD       command line of the server under test
#                         (default: target/release/examples/echo_server --listen $AUTOBAHN_SERVER_ADDR)
#   TOKIO_SERVER_CMD      the same for the tokio-server part
#                         (default: target/release/examples/tokio_echo_server --listen $AUTOBAHN_SERVER_ADDR)
#   CLIENT_CMD            command line of the client under test
#                         (default: target/release/examples/autobahn_client
#                                   --server ws://$AUTOBAHN_FUZZER_ADDR --agent $AUTOBAHN_AGENT)
#
# Notes on kosoku 0.1.0 (learned the hard way):
#   * Reports (index.json + per-case json/html) are written only when the run
#     completes. If a run is killed by our timeout there is no report at all.
#   * fuzzingclient has no opening-handshake timeout: a server that accepts
#     TCP but never answers hangs it forever (hence `timeout`). Some 9.x cases
#     wait up to 100 s each for an echo; 12.x cases up to 480 s each.
#   * kosoku's own exit code is 1 for any case that isn't OK/NON-STRICT/
#     INFORMATIONAL (UNIMPLEMENTED counts as a failure there), so we judge the
#     run from index.json instead.
#   * fuzzingserver never exits unless the client hits /updateReports (it then
#     drops that connection without a close frame, writes reports, exits).
#     /updateReports after only some cases "succeeds" with a partial report,
#     so we ask /getCaseCount ourselves and check the count.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

KOSOKU_VERSION=0.1.0

VENV=${VENV:-target/autobahn-venv}
PYTHON=${PYTHON:-python3}
OUT=${AUTOBAHN_OUT:-target/autobahn}
PARTS=${AUTOBAHN_PARTS:-server client tokio-server}
CASES=${AUTOBAHN_CASES:-}
# Every case runs by default, including all of 12.* and 13.* (compression,
# 1000 messages each; about 6 minutes per role on a 2-core machine).
# AUTOBAHN_EXCLUDE takes case ids/globs to leave out for a quicker local run,
# e.g. AUTOBAHN_EXCLUDE="12.* 13.*". (kosoku's globs: `*` matches anything,
# so "12.*.8" matches 12.1.8 but not 12.1.18.)
EXCLUDE=${AUTOBAHN_EXCLUDE-}
STRICT=${AUTOBAHN_STRICT:-0}
PARALLELISM=${AUTOBAHN_PARALLELISM:-2}
RUN_TIMEOUT=${AUTOBAHN_TIMEOUT:-1500}
BUILD_TIMEOUT=${AUTOBAHN_BUILD_TIMEOUT:-1800}
SKIP_BUILD=${AUTOBAHN_SKIP_BUILD:-0}
SERVER_ADDR=${AUTOBAHN_SERVER_ADDR:-127.0.0.1:9001}
FUZZER_ADDR=${AUTOBAHN_FUZZER_ADDR:-127.0.0.1:9002}
AGENT=${AUTOBAHN_AGENT:-wsproto}
ECHO_SERVER_CMD=${ECHO_SERVER_CMD:-target/release/examples/echo_server --listen $SERVER_ADDR}
TOKIO_SERVER_CMD=${TOKIO_SERVER_CMD:-target/release/examples/tokio_echo_server --listen $SERVER_ADDR}
CLIENT_CMD=${CLIENT_CMD:-target/release/examples/autobahn_client --server ws://$FUZZER_ADDR --agent $AGENT}

log() { printf '==> %s\n' "$*"; }
die() { printf 'autobahn.sh: error: %s\n' "$*" >&2; exit 1; }

# --- background process bookkeeping --------------------------------------
BG_PIDS=()
# shellcheck disable=SC2317  # invoked via trap
cleanup() {
    local pid
    for pid in "${BG_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
        fi
    done
    for pid in "${BG_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    BG_PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Stop one background process (TERM, then KILL after a grace period).
stop_bg() {
    local pid=$1 i
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# run_limited SECONDS CMD... -- run CMD under `timeout`, in the background
# and then `wait` for it, so a TERM/INT sent to this script is acted on at once
# (bash defers traps while a foreground child runs). Exit status in LAST_RC.
LAST_RC=0
run_limited() {
    local secs=$1 pid
    shift
    timeout -k 10 "$secs" "$@" </dev/null &
    pid=$!
    BG_PIDS+=("$pid")
    LAST_RC=0
    wait "$pid" || LAST_RC=$?
}

# wait_port HOST:PORT PID SECONDS -- until something accepts TCP there;
# fail early if PID dies. (A bare TCP connect does not disturb kosoku.)
wait_port() {
    local addr=$1 pid=$2 secs=$3 i
    local host=${addr%:*} port=${addr##*:}
    for ((i = 0; i < secs * 10; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
        if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# Fail if something already listens on HOST:PORT (a stale server would be
# tested instead of ours).
ensure_port_free() {
    local addr=$1
    if (exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}") 2>/dev/null; then
        die "$addr is already in use"
    fi
}

# kosoku fuzzingserver's case count: WebSocket GET /getCaseCount, one text
# frame with the number, then a close frame. Standard library only.
case_count() {
    "$VENV/bin/python" - "$1" <<'EOF'
import base64, os, socket, sys
host, port = sys.argv[1].rsplit(":", 1)
with socket.create_connection((host, int(port)), timeout=10) as s:
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /getCaseCount HTTP/1.1\r\nHost: {host}:{port}\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    buf = b""
    while True:
        head, sep, frames = buf.partition(b"\r\n\r\n")
        if sep and len(frames) >= 2 and len(frames) >= 2 + (frames[1] & 0x7F):
            break
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
if not head.startswith(b"HTTP/1.1 101") or len(frames) < 2 or frames[0] & 0x0F != 1:
    sys.exit("unexpected /getCaseCount response: %r" % buf[:200])
n = frames[1] & 0x7F
if n > 125 or len(frames) < 2 + n:
    sys.exit("unexpected /getCaseCount frame: %r" % frames[:50])
print(int(frames[2:2 + n]))
EOF
}

# --- case selection --------------------------------------------------------
# `read -a` splits on whitespace without glob expansion, so "12.*" stays
# literal (never matched against file names).
SELECT=()
read -r -a _cases <<<"$CASES" || true
read -r -a _exclude <<<"$EXCLUDE" || true
for c in "${_cases[@]}"; do SELECT+=(-i "$c"); done
for c in "${_exclude[@]}"; do SELECT+=(-x "$c"); done
SUMMARY_ARGS=()
if [[ $STRICT == 1 ]]; then SUMMARY_ARGS+=(--strict); fi

# --- setup -----------------------------------------------------------------
if [[ ! -x $VENV/bin/python ]]; then
    log "creating virtualenv $VENV"
    timeout 300 "$PYTHON" -m venv "$VENV"
fi
if [[ $("$VENV/bin/python" -c 'import importlib.metadata as m
try: print(m.version("kosoku"))
except Exception: print("")') != "$KOSOKU_VERSION" ]]; then
    log "installing kosoku==$KOSOKU_VERSION"
    timeout 600 "$VENV/bin/python" -m pip install --disable-pip-version-check -q "kosoku==$KOSOKU_VERSION"
fi
KOSOKU=$VENV/bin/kosoku
[[ -x $KOSOKU ]] || die "kosoku not found in $VENV"

if [[ $SKIP_BUILD != 1 ]]; then
    log "cargo build --release --examples --all-features"
    run_limited "$BUILD_TIMEOUT" cargo build --release --examples --all-features
    [[ $LAST_RC == 0 ]] || die "cargo build failed (status $LAST_RC)"
fi

log "cases: include=[${CASES:-all}] exclude=[${EXCLUDE}]"
status=0

# --- (a) our server, driven by kosoku fuzzingclient ---------------------------
# run_server_part NAME CMD -- reports in $OUT/NAME.
run_server_part() {
    local name=$1 cmd=$2
    local report=$OUT/$name rc=0 pid
    rm -rf "$report"
    mkdir -p "$OUT"
    ensure_port_free "$SERVER_ADDR"

    log "starting echo server: $cmd"
    # Bounded even if everything else goes wrong.
    timeout -k 5 $((RUN_TIMEOUT + 120)) bash -c "exec $cmd" </dev/null &
    pid=$!
    BG_PIDS+=("$pid")
    wait_port "$SERVER_ADDR" "$pid" 30 || die "echo server did not start listening on $SERVER_ADDR"

    log "kosoku -m fuzzingclient -p $PARALLELISM -o $report ${SELECT[*]} $SERVER_ADDR"
    local start=$SECONDS
    run_limited "$RUN_TIMEOUT" "$KOSOKU" -m fuzzingclient -p "$PARALLELISM" -o "$report" "${SELECT[@]}" "$SERVER_ADDR"
    rc=$LAST_RC
    log "fuzzingclient finished in $((SECONDS - start))s (kosoku exit $rc)"

    if ! kill -0 "$pid" 2>/dev/null; then
        echo "autobahn.sh: the echo server exited during the run (crash?)" >&2
        status=1
    fi
    stop_bg "$pid"

    if [[ $rc == 124 || $rc == 137 ]]; then
        echo "autobahn.sh: fuzzingclient timed out after ${RUN_TIMEOUT}s; kosoku writes no report then" >&2
        status=1
        return
    fi
    "$VENV/bin/python" scripts/autobahn_summary.py "$report" "$name" "${SUMMARY_ARGS[@]}" || status=1
}

# --- (b) our client, driven by kosoku fuzzingserver ---------------------------
run_client_part() {
    local report=$OUT/client rc=0 crc=0 pid expected i
    rm -rf "$report"
    mkdir -p "$OUT"
    ensure_port_free "$FUZZER_ADDR"

    log "kosoku -m fuzzingserver -o $report ${SELECT[*]} $FUZZER_ADDR"
    local start=$SECONDS
    timeout -k 10 "$RUN_TIMEOUT" "$KOSOKU" -m fuzzingserver -o "$report" "${SELECT[@]}" "$FUZZER_ADDR" </dev/null &
    pid=$!
    BG_PIDS+=("$pid")
    wait_port "$FUZZER_ADDR" "$pid" 30 || die "kosoku fuzzingserver did not start listening on $FUZZER_ADDR"
    expected=$(case_count "$FUZZER_ADDR") || die "could not read /getCaseCount from kosoku"
    log "fuzzingserver serves $expected cases"

    log "running client: $CLIENT_CMD"
    run_limited "$RUN_TIMEOUT" bash -c "exec $CLIENT_CMD"
    crc=$LAST_RC
    if [[ $crc != 0 ]]; then
        if [[ $crc == 124 || $crc == 137 ]]; then
            echo "autobahn.sh: client timed out after ${RUN_TIMEOUT}s" >&2
        else
            echo "autobahn.sh: client exited with status $crc" >&2
        fi
        status=1
    fi

    # kosoku exits by itself right after /updateReports; give it a moment.
    for ((i = 0; i < 300; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "autobahn.sh: fuzzingserver still running 30s after the client finished" \
            "(did the client call /updateReports?agent=$AGENT?); stopping it, no report" >&2
        stop_bg "$pid"
        status=1
        return
    fi
    wait "$pid" || rc=$?
    log "fuzzingserver finished in $((SECONDS - start))s (kosoku exit $rc)"
    if [[ $rc == 124 || $rc == 137 ]]; then
        echo "autobahn.sh: fuzzingserver timed out after ${RUN_TIMEOUT}s; kosoku writes no report then" >&2
        status=1
        return
    fi
    "$VENV/bin/python" scripts/autobahn_summary.py "$report" client --expect-cases "$expected" "${SUMMARY_ARGS[@]}" || status=1
}

for part in $PARTS; do
    case $part in
        server) run_server_part server "$ECHO_SERVER_CMD" ;;
        tokio-server) run_server_part tokio-server "$TOKIO_SERVER_CMD" ;;
        client) run_client_part ;;
        *) die "unknown part '$part' in AUTOBAHN_PARTS (use server, client, tokio-server)" ;;
    esac
done

if [[ $status != 0 ]]; then
    log "autobahn: FAILED (reports in $OUT/)"
else
    log "autobahn: all selected cases passed (reports in $OUT/)"
fi
exit "$status"
