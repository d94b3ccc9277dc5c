#!/usr/bin/env bash
# First look at amlmon on the embedded SQLite default: install, create the schema, list tokens.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export AMLMON_DATABASE_URL=${AMLMON_DATABASE_URL:-sqlite:///demo/amlmon.db}
.venv/bin/amlmon db upgrade
.venv/bin/amlmon token list
