#!/usr/bin/env bash
# Install everything (scripts/setup.sh all), type-check monitor/ with mypy (configured in
# pyproject.toml; a type error fails the script before any test runs), then run the whole
# test suite against real Postgres and anvil.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/db -x; -n 0 for one process).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh all
.venv/bin/mypy
# One worker per core, at most four, each test file whole on one worker (its module
# fixtures built once); each worker is a pytest session of its own, with its own databases
# and anvil nodes on free ports. `-n 0` in the arguments runs in this process (pdb).
workers=$(nproc 2>/dev/null || echo 1)
[ "$workers" -gt 4 ] && workers=4
status=0
.venv/bin/python -m pytest -n "$workers" --dist loadfile "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: treating as failure" >&2
  exit 1
fi
exit "$status"
