#!/usr/bin/env sh
# Image build stage 2 (and tests/ops/test_image.py): install amlmon from the wheels alone,
# with no index, so that the image holds exactly what stage 1 built.
#   scripts/docker/install-wheels.sh WHEEL_DIR [PYTHON]
set -eu
wheels=$1
python=${2:-python}
"$python" -m pip install --no-cache-dir --disable-pip-version-check --no-index \
  --find-links "$wheels" amlmon
"$python" -c "import monitor.cli, monitor.contracts; monitor.contracts.load_artifact()"
