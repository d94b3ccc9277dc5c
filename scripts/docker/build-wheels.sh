#!/usr/bin/env sh
# Image build stage 1 (and tests/ops/test_image.py): wheels of amlmon and every dependency.
#   scripts/docker/build-wheels.sh WHEEL_DIR [SOURCE_DIR]
set -eu
out=$1
src=${2:-.}
python -m pip wheel --no-cache-dir --disable-pip-version-check --wheel-dir "$out" "$src"
