#!/usr/bin/env bash
# Runs every wsproto benchmark (issue #7) with one command and prints the
# tables of BENCHMARKS.md: wsproto against tungstenite, fastwebsockets and
# tokio-websockets on the same in-memory bytes, the ceilings (memcpy,
# unmasking, UTF-8), and loopback TCP end to end.
#
#   scripts/bench.sh                 # everything (about 10 minutes)
#   scripts/bench.sh recv/binary     # only benchmarks whose id matches
#   BENCHES="recv send" scripts/bench.sh
#
# The benchmarks are their own cargo workspace in benches/, so the main
# crate's `cargo test` never builds them. Results: benches/target/criterion
# (criterion's reports) and benches/target/report.md (the tables).
set -euo pipefail
cd "$(dirname "$0")/../benches"

BENCHES="${BENCHES:-recv send handshake deflate ceilings e2e}"

machine() {
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), nproc $(nproc)"
  echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "rustc: $(rustc --version)"
  echo "wsproto: $(git log -1 --format='%h %s' 2>/dev/null || echo unknown)"
}

mkdir -p target
machine | tee target/machine.txt
cargo build --release --benches
for bench in $BENCHES; do
  cargo bench --bench "$bench" -- "$@"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a target/machine.txt

{
  sed 's/^/    /' target/machine.txt
  echo
  python3 report.py
} > target/report.md
cat target/report.md
