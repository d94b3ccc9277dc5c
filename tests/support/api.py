"""Serve the real FastAPI app with uvicorn on a free port, for tests that speak HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from fastapi import FastAPI

from support.anvil import free_port
from support.wait import wait_for


@contextmanager
def serve_app(app: FastAPI) -> Iterator[str]:
    """The app's base URL while a uvicorn server (in a thread) serves it."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                           access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: server.started or not thread.is_alive(), what="the API server to start")
    if not server.started:
        raise RuntimeError("the API server did not start")
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def wait_until_healthy(base: str) -> None:
    """Until `base`/healthz answers 200 (a server process still binding its port)."""

    def healthy() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(healthy, what=f"{base}/healthz to answer")


def client(base: str, key: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=base, headers=headers, timeout=30)
