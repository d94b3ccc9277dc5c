"""The image's build steps, run here: wheels → a clean install with no index → it works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support.cli import REPO


def test_image_build_steps_produce_a_working_install(tmp_path: Path) -> None:
    wheels, venv = tmp_path / "wheels", tmp_path / "venv"
    subprocess.run(["sh", str(REPO / "scripts/docker/build-wheels.sh"), str(wheels), str(REPO)],
                   check=True, capture_output=True, cwd=tmp_path)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin/python")
    done = subprocess.run(["sh", str(REPO / "scripts/docker/install-wheels.sh"), str(wheels),
                           python], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    env = {**os.environ, "AMLMON_DATABASE_URL": f"sqlite:///{tmp_path / 'image.db'}"}
    env.pop("AMLMON_CONFIG", None)
    # Run from an empty folder: nothing may come from the source tree.
    # `report flagged --format html` needs the packaged Jinja2 templates and `apikey create`
    # the API's key store: both must work from the installed wheel alone.
    for args in (["db", "upgrade"], ["token", "list"], ["run", "--help"],
                 ["report", "flagged", "--format", "html"],
                 ["apikey", "create", "--name", "ops", "--role", "admin"]):
        run = subprocess.run([str(venv / "bin/amlmon"), *args], env=env, cwd=tmp_path,
                             capture_output=True, text=True)
        assert run.returncode == 0, (args, run.stderr)
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "scripts/docker/build-wheels.sh" in dockerfile
    assert "install-wheels.sh /wheels" in dockerfile
    assert 'ENTRYPOINT ["amlmon"]' in dockerfile and 'CMD ["run"]' in dockerfile
    assert "HEALTHCHECK" in dockerfile and "USER amlmon" in dockerfile
