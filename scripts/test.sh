#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs moto's server (Secrets Manager, SQS,
# Parameter Store, KMS and DynamoDB on loopback) into the project's own Python environment,
# starts it, runs every test, and stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/python-env.sh

python_env 'moto[server]>=5,<6'

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
moto_log=$(mktemp)
# One request at a time, as DynamoDB's conditional writes are atomic (see the script).
python scripts/moto_server.py 127.0.0.1 "$port" >"$moto_log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; rm -f "$moto_log"' EXIT

for _ in $(seq 1 100); do
  if python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
    break
  fi
  sleep 0.1
done
export MOTO_ENDPOINT="http://127.0.0.1:$port"

cargo test --lib --bins --tests "$@"
# The deployed binary (default features) must not carry the sandbox. Built after the tests, so
# target/debug/genesys-wrapup is again the plain binary.
scripts/check-artifact.sh
# The load run (10,000 requests, 10% transient faults, none lost or written twice; then every
# request twice at once on four instances sharing a lease table on moto) doubles as a
# test in the debug build; the perf bench only means something in release (cargo bench).
cargo test --bench load "$@"
