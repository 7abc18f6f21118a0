#!/usr/bin/env bash
# Interoperability run: our examples against real third-party peers.
#
#   A. echo_server and tokio_echo_server (every test using the
#      `echo_server` fixture runs against each; see INTEROP_SERVERS) as the
#      server for Python `websockets` and `aiohttp` clients, a raw-socket
#      client (exact 101 headers, close frames, heartbeat), and Node `ws`.
#   B. wscat as the client of `websockets`, `aiohttp` and Node `ws` servers.
#   C. wss://: wscat against a `websockets` TLS server (trustme CA), and
#      `websockets` against tls_echo_server.
#
# With INTEROP_DEFLATE=1, test_deflate_params.py also runs
# permessage-deflate parameter variants (window bits, no context takeover)
# in both roles against each peer library.
#
# The tests live in scripts/interop/ (pytest). Every server listens on
# 127.0.0.1 on an ephemeral port; every process is killed when its test
# ends; every test has a wall-clock limit.
#
# Steps: create/reuse a virtualenv with pinned websockets, aiohttp and
# pytest (scripts/interop/requirements.txt); `npm ci` the pinned Node `ws`
# into scripts/interop/node_modules;
# `cargo build --release --examples --all-features`; run pytest. pytest's
# exit status is the script's.
#
# Environment (all optional):
#   VENV                  virtualenv to create/reuse   (default target/interop-venv)
#   PYTHON                interpreter to create it     (default python3, >= 3.10)
#   INTEROP_SKIP_BUILD    1 = don't run cargo build
#   INTEROP_SKIP_NODE     1 = don't install Node `ws` (its tests are skipped)
#   INTEROP_TEST_TIMEOUT  seconds allowed for one test (default 60)
#   INTEROP_TIMEOUT       seconds allowed for the whole pytest run (default 600)
#   INTEROP_DEFLATE       1 = also run every test with permessage-deflate
#                         offered and expected, and the deflate parameter
#                         tests (test_deflate_params.py)
#   INTEROP_SERVERS       space-separated server examples the echo-server
#                         tests run against, each taking echo_server's
#                         command line (default "echo_server tokio_echo_server")
#   PYTEST_ARGS           extra pytest arguments, e.g. "-k wscat -x"
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=${VENV:-target/interop-venv}
PYTHON=${PYTHON:-python3}
SKIP_BUILD=${INTEROP_SKIP_BUILD:-0}
SKIP_NODE=${INTEROP_SKIP_NODE:-0}
RUN_TIMEOUT=${INTEROP_TIMEOUT:-600}
DIR=scripts/interop

log() { printf '==> %s\n' "$*"; }
die() { printf 'interop.sh: error: %s\n' "$*" >&2; exit 1; }

# --- Python peers ----------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtualenv $VENV"
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || die "$PYTHON is older than 3.10"
  "$PYTHON" -m venv "$VENV"
fi
# Reinstall only when the pinned requirements changed.
stamp="$VENV/.interop-requirements"
if ! cmp -s "$DIR/requirements.txt" "$stamp"; then
  log "installing pinned Python packages into $VENV"
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$DIR/requirements.txt"
  cp "$DIR/requirements.txt" "$stamp"
fi

# --- Node peer ---------------------------------------------------------------
if [ "$SKIP_NODE" != 1 ]; then
  command -v npm >/dev/null || die "npm not found (set INTEROP_SKIP_NODE=1 to skip the Node peers)"
  if ! cmp -s "$DIR/package-lock.json" "$DIR/node_modules/.interop-package-lock.json" 2>/dev/null; then
    log "installing Node ws into $DIR/node_modules"
    (cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$DIR/package-lock.json" "$DIR/node_modules/.interop-package-lock.json"
  fi
fi

# --- our examples ------------------------------------------------------------
if [ "$SKIP_BUILD" != 1 ]; then
  log "cargo build --release --examples --all-features"
  cargo build --release --examples --all-features
fi
target_dir=${CARGO_TARGET_DIR:-target}
case "$target_dir" in
  /*) ;;
  *) target_dir="$PWD/$target_dir" ;;
esac
export INTEROP_BIN_DIR="$target_dir/release/examples"
for exe in echo_server tokio_echo_server tls_echo_server wscat ${INTEROP_SERVERS:-}; do
  [ -x "$INTEROP_BIN_DIR/$exe" ] || die "$INTEROP_BIN_DIR/$exe missing after the build"
done

# --- the tests ---------------------------------------------------------------
log "pytest $DIR"
export PYTHONDONTWRITEBYTECODE=1
# shellcheck disable=SC2086 # PYTEST_ARGS is split on purpose
set +e
timeout --kill-after=10 "$RUN_TIMEOUT" \
  "$VENV/bin/python" -m pytest "$DIR" -v -rfEs --durations=5 ${PYTEST_ARGS:-}
status=$?
set -e
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  printf 'interop.sh: pytest did not finish within %s s\n' "$RUN_TIMEOUT" >&2
fi
exit "$status"
