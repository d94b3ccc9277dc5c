#!/usr/bin/env bash
# Install what amlmon needs into this checkout. One argument, the mode:
#   runtime  what `amlmon` and its demo run on: .venv/ with the package in editable mode
#            (no dev extra), and .tools/ with anvil, the local Ethereum node, from the npm
#            package @foundry-rs/anvil. No Debian packages. (scripts/demo.sh)
#   all      (the default) runtime, plus the dev extra (pytest, hypothesis, schemathesis,
#            playwright, vyper, ruff, mypy), the spark extra (pyspark, pyarrow, pandas: the
#            Spark runner's parity test runs Spark in local[2] on the JDK below) and the
#            Debian packages the tests drive, prometheus
#            (promtool), chromium and a JDK (javac: IBM's AMLSim generator, which the
#            detection benches and a test draw from), when missing (needs root or sudo).
#            (scripts/test.sh)
# Postgres is not installed here: tests use $AMLMON_TEST_DATABASE_URL, else a server on
# 127.0.0.1:5432, else a throwaway cluster started from the system's PostgreSQL binaries.
# Idempotent and quick when nothing changed; each mode keeps its own install stamp, so
# `runtime` then `all` installs the dev extra (and `all` then `runtime` installs nothing).
set -euo pipefail
cd "$(dirname "$0")/.."

ANVIL_VERSION=1.7.1
PYTHON=${PYTHON:-python3}
MODE=${1:-all}

log() { printf '[setup] %s\n' "$*" >&2; }

case "$MODE" in
  runtime) extra=. ;;
  all) extra='.[dev,spark]' ;;
  *) log "usage: scripts/setup.sh [runtime|all] (unknown mode: $MODE)"; exit 2 ;;
esac

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { log "Python >= 3.11 required, found $("$PYTHON" --version 2>&1)"; exit 1; }

if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  "$PYTHON" -m venv .venv
fi
# The stamp holds pyproject.toml's hash as of the last install in this mode. The dev extra
# includes the runtime, so installing it stamps both.
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat ".venv/.amlmon-deps-$MODE" 2>/dev/null)" != "$want" ]; then
  log "installing Python dependencies ($MODE: pip install -e '$extra')"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$extra"
  echo "$want" > ".venv/.amlmon-deps-$MODE"
  if [ "$MODE" = all ]; then echo "$want" > .venv/.amlmon-deps-runtime; fi
fi

if ! .tools/node_modules/.bin/anvil --version 2>/dev/null | grep -q "Version: $ANVIL_VERSION"; then
  command -v npm >/dev/null || { log "npm is required to install anvil"; exit 1; }
  log "installing anvil $ANVIL_VERSION from npm"
  mkdir -p .tools
  npm install --prefix .tools --no-audit --no-fund --loglevel=error \
    "@foundry-rs/anvil@$ANVIL_VERSION" >&2
fi
# Debian tools the tests drive (mode all): promtool/prometheus (alert rules, a real scrape)
# headless Chromium (the HTML report renders without errors) and a JDK (the AMLSim generator
# in ../shared/conformance/amlsim-gen compiles its Java simulator on first use).
missing=()
if [ "$MODE" = all ]; then
  command -v promtool >/dev/null || missing+=(prometheus)
  command -v chromium >/dev/null || missing+=(chromium)
  command -v javac >/dev/null || missing+=(default-jdk-headless)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo);
  else log "need root to install Debian packages: ${missing[*]}"; exit 1; fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 \
    || { "${sudo[@]}" apt-get update -q >&2 \
         && "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; }
fi
log "ready ($MODE): $(.venv/bin/python --version), $(.tools/node_modules/.bin/anvil --version | head -1)"
