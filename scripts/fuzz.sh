#!/usr/bin/env bash
# Fuzzes every parser for SECONDS (default 60) each, outside CI. Only a stable toolchain exists
# here, so cargo-fuzz's nightly flags are enabled with RUSTC_BOOTSTRAP=1.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(apply_request event_envelope webhook_request genesys_responses)
sanitizer=${FUZZ_SANITIZER:-address}
for target in "${targets[@]}"; do
  echo "== $target ($seconds s, sanitizer $sanitizer)"
  mkdir -p "fuzz/corpus/$target"
  RUSTC_BOOTSTRAP=1 cargo fuzz run -s "$sanitizer" "$target" "fuzz/corpus/$target" fuzz/seeds -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 2>&1 | grep -E "^#[0-9]+ +DONE|Done [0-9]+ runs|ERROR|panicked|SUMMARY" || true
done
