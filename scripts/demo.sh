#!/usr/bin/env bash
# The whole pipeline on a fresh machine: install the runtime (Python deps without the dev
# extra, anvil; no browser, no Debian packages), then `amlmon demo` —
# a local chain, the demo RWA token, a history with laundering cases, ingest, scoring,
# alerts, and the flagged report in ./amlmon-demo/. Extra arguments go to `amlmon demo`
# (e.g. --serve to keep the API and /metrics up).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh runtime
exec .venv/bin/amlmon demo "$@"
