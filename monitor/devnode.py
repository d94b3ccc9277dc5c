"""A local development node: anvil from the npm package @foundry-rs/anvil.

scripts/setup.sh installs it under .tools/; `amlmon demo` and the tests start it here.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
# The native binary avoids a node wrapper process between us and anvil's signals.
_CANDIDATES = (
    REPO / ".tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil",
    REPO / ".tools/node_modules/@foundry-rs/anvil-linux-arm64/bin/anvil",
    REPO / ".tools/node_modules/.bin/anvil",
)
DEFAULT_MNEMONIC = "test test test test test test test test test test test junk"


def anvil_binary() -> str:
    """Path of the anvil executable: $AMLMON_ANVIL, the npm install under .tools/, or PATH."""
    explicit = os.environ.get("AMLMON_ANVIL")
    if explicit:
        return explicit
    for candidate in _CANDIDATES:
        if candidate.exists():
            return str(candidate)
    found = shutil.which("anvil")
    if found:
        return found
    raise RuntimeError("anvil not found: run scripts/setup.sh (installs @foundry-rs/anvil)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Anvil:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    # Clients bound to this node (token agents), closed when the node stops.
    clients: list[Any] = field(default_factory=list)

    def rpc(self, method: str, *params: object) -> object:
        """One raw JSON-RPC call; raises on an error envelope."""
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        reply = httpx.post(self.url, json=body, timeout=30).json()
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def mine(self, blocks: int = 1) -> None:
        self.rpc("anvil_mine", hex(blocks))

    def block_number(self) -> int:
        return int(str(self.rpc("eth_blockNumber")), 16)


@contextmanager
def run_anvil(*extra_args: str, chain_id: int = 31337) -> Iterator[Anvil]:
    """Run one anvil node on a free port until the block exits.

    anvil keeps chain states it spills from memory under ~/.foundry/anvil/tmp and does not
    remove them when stopped (0.4-1 GB for a long history): each node gets a home of its
    own, deleted with it, so a test suite or a demo leaves no disk behind."""
    port = free_port()
    home = tempfile.mkdtemp(prefix="amlmon-anvil-")
    args = [
        anvil_binary(),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--chain-id", str(chain_id),
        "--mnemonic", DEFAULT_MNEMONIC,
        "--silent",
        *extra_args,
    ]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**os.environ, "HOME": home})
    node = Anvil(url=f"http://127.0.0.1:{port}", port=port, process=process)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                err = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"anvil exited with {process.returncode}: {err.strip()}")
            try:
                node.block_number()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield node
    finally:
        for client in node.clients:
            client.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()
        shutil.rmtree(home, ignore_errors=True)
