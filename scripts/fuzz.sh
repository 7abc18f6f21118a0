#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60), starting from the
# committed seeds. New corpus entries go to fuzz/corpus/TARGET (ignored by
# git); a crash leaves its input in fuzz/artifacts/TARGET and fails the run.
# The fuzzer needs nightly features; RUSTC_BOOTSTRAP enables them on stable.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-60}"
targets="${FUZZ_TARGETS:-frame_decoder server_handshake client_handshake extension_params inflate pair}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

cargo fuzz build -O
for target in $targets; do
  mkdir -p "corpus/$target" "seeds/$target"
  echo "==> fuzz $target for ${seconds}s"
  cargo fuzz run -O "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 -print_final_stats=1 2>&1 |
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|==|SUMMARY|Done)|panicked|ERROR' || true
  if [ -n "$(ls -A "artifacts/$target" 2>/dev/null)" ]; then
    echo "fuzz $target found a failing input in fuzz/artifacts/$target" >&2
    exit 1
  fi
done
echo "fuzz: all targets ran ${seconds}s without a finding"
