"""`amlmon api` as a process of its own, for tests of the command rather than the app."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from support.anvil import free_port
from support.api import wait_until_healthy
from support.cli import REPO


@contextmanager
def amlmon_api(env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """(base URL, process) of `amlmon api` on a free port once it answers /healthz, with
    `env` over this process's environment; killed at the end if still running."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "monitor.cli", "api", "--port", str(port)],
                               cwd=REPO, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(base)
        yield base, process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()


def stop(process: subprocess.Popen[str], timeout: float = 60) -> None:
    """SIGTERM, and check that the process exits 0 (showing its stderr if not)."""
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=timeout) == 0, process.stderr.read() if process.stderr else ""
