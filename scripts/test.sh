#!/usr/bin/env bash
# Install everything (scripts/setup.sh all), type-check monitor/ with mypy (configured in
# pyproject.toml; a type error fails the script before any test runs), then run the whole
# test suite against real Postgres and anvil.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/db -x).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh all
.venv/bin/mypy
status=0
.venv/bin/python -m pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: treating as failure" >&2
  exit 1
fi
exit "$status"
