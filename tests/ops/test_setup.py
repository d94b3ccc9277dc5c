"""scripts/setup.sh modes: `runtime` (the demo's) installs no dev extra and no Debian
package; `all` (the tests') installs both; each mode's stamp makes a switch install only
what is missing.

pip, anvil, apt-get and sudo are stand-ins that record their arguments: a real install takes
minutes, needs the network and root, and would change this machine. The script itself,
bash and coreutils are real. scripts/demo.sh and scripts/test.sh are checked to pass
their mode.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from support.cli import REPO

TOOLS = ("bash", "cat", "cut", "dirname", "grep", "head", "id", "mkdir", "sha256sum")


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A checkout with the real setup.sh and pyproject.toml, a recording .venv/bin/python
    and anvil, and a PATH of real coreutils without promtool, chromium, javac or npm."""
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "setup.sh", root / "scripts" / "setup.sh")
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    log = tmp_path / "calls.log"
    stand_ins = {
        root / ".venv" / "bin" / "python":
            f'echo "pip $*" >> {log}; [ "$1" != --version ] || echo "Python 3.11.7"',
        root / ".tools" / "node_modules" / ".bin" / "anvil": 'echo "anvil Version: 1.7.1"',
        tmp_path / "bin" / "apt-get": f'echo "apt-get $*" >> {log}',
        tmp_path / "bin" / "sudo": 'exec "$@"',
    }
    for path, body in stand_ins.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, tool
        (tmp_path / "bin" / tool).symlink_to(found)
    return root


def run_setup(checkout: Path, *mode: str) -> list[str]:
    """Run setup.sh in `mode`; the pip and apt-get calls it made."""
    log = checkout.parent / "calls.log"
    log.write_text("")
    env = {"PATH": str(checkout.parent / "bin"), "PYTHON": str(checkout / ".venv/bin/python")}
    done = subprocess.run(["bash", "scripts/setup.sh", *mode], cwd=checkout, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [line for line in log.read_text().splitlines()
            if "install" in line and "--upgrade pip" not in line]


def test_runtime_then_all_installs_what_is_missing(checkout: Path) -> None:
    assert run_setup(checkout, "runtime") == [
        "pip -m pip install --quiet --disable-pip-version-check -e ."]
    assert run_setup(checkout, "runtime") == []
    assert run_setup(checkout, "all") == [
        "pip -m pip install --quiet --disable-pip-version-check -e .[dev,spark]",
        "apt-get install -y -q --no-install-recommends prometheus chromium "
        "default-jdk-headless"]
    assert run_setup(checkout, "runtime") == []  # the dev and spark extras include the runtime


def test_no_mode_is_all_and_a_bad_mode_is_refused(checkout: Path) -> None:
    assert run_setup(checkout)[0].endswith("-e .[dev,spark]")
    done = subprocess.run(["bash", "scripts/setup.sh", "everything"], cwd=checkout,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "runtime|all" in done.stderr


def test_demo_installs_the_runtime_and_tests_everything() -> None:
    assert "scripts/setup.sh runtime\n" in (REPO / "scripts" / "demo.sh").read_text()
    assert "scripts/setup.sh all\n" in (REPO / "scripts" / "test.sh").read_text()
