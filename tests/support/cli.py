"""Drive the amlmon CLI in-process (fast) or as a real subprocess (end to end)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from monitor.cli import main

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def run_cli_process(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
    """Run `amlmon` as its own process, as a user would."""
    full_env = {**os.environ, **(env or {})}
    done = subprocess.run(
        [sys.executable, "-m", "monitor.cli", *args], capture_output=True, text=True,
        env=full_env, timeout=timeout, cwd=REPO,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def assert_one_line_error(result: Result, fragment: str) -> None:
    """A user error: non-zero exit, exactly one line on stderr, no traceback."""
    assert result.code != 0, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("amlmon: error: "), result.err
    assert fragment in lines[0], result.err
    assert "Traceback" not in result.err + result.out
