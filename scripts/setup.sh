#!/usr/bin/env bash
# Install everything amlmon and its tests need into this checkout:
#   .venv/   Python dependencies (the package in editable mode, with the dev extra)
#   .tools/  anvil, the local Ethereum node, from the npm package @foundry-rs/anvil
#   Debian packages prometheus (promtool) and chromium, when missing (needs root or sudo)
# Postgres is not installed here: tests use $AMLMON_TEST_DATABASE_URL, else a server on
# 127.0.0.1:5432, else a throwaway cluster started from the system's PostgreSQL binaries.
# Idempotent and quick when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

ANVIL_VERSION=1.7.1
PYTHON=${PYTHON:-python3}

log() { printf '[setup] %s\n' "$*" >&2; }

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { log "Python >= 3.11 required, found $("$PYTHON" --version 2>&1)"; exit 1; }

if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.amlmon-deps
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing Python dependencies"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
  echo "$want" > "$stamp"
fi

if ! .tools/node_modules/.bin/anvil --version 2>/dev/null | grep -q "Version: $ANVIL_VERSION"; then
  command -v npm >/dev/null || { log "npm is required to install anvil"; exit 1; }
  log "installing anvil $ANVIL_VERSION from npm"
  mkdir -p .tools
  npm install --prefix .tools --no-audit --no-fund --loglevel=error \
    "@foundry-rs/anvil@$ANVIL_VERSION" >&2
fi
# Debian tools the tests drive: promtool/prometheus (alert rules, a real scrape) and
# headless Chromium (the HTML report renders without errors).
missing=()
command -v promtool >/dev/null || missing+=(prometheus)
command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo);
  else log "need root to install Debian packages: ${missing[*]}"; exit 1; fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 \
    || { "${sudo[@]}" apt-get update -q >&2 \
         && "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; }
fi
log "ready: $(.venv/bin/python --version), $(.tools/node_modules/.bin/anvil --version | head -1)"
