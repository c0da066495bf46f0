#!/usr/bin/env bash
# The deployed artifact is the function and nothing else: the binary built with default
# features (README, "How the deployed binary is built") carries no emulator and no demo credentials, and
# refuses `invoke --sandbox` with a one-line hint. Debug profile: the strings are the same.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
cargo build --quiet --bin genesys-wrapup
bin="$target/debug/genesys-wrapup"
if strings "$bin" | grep -q -i -E 'not-for-production|sandbox-client|sandbox-signing-key'; then
  echo "the deployed binary carries the sandbox's demo credentials" >&2
  exit 1
fi
set +e
hint=$("$bin" invoke --sandbox events/eventbridge-custom.json 2>&1 >/dev/null)
code=$?
set -e
if [ "$code" -ne 2 ] || [ "$(printf '%s\n' "$hint" | wc -l)" -ne 1 ] || ! grep -q -- "--features sandbox" <<<"$hint"; then
  echo "invoke --sandbox without the feature must exit 2 with a one-line hint; got $code: $hint" >&2
  exit 1
fi
echo "deployed binary: no sandbox, and invoke --sandbox exits 2 with a hint"
