"""`amlmon run`: the daemon — ingest, scoring, retraining, notifications, API and /metrics."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Annotated

import typer
from prometheus_client import start_http_server

from monitor import logs
from monitor.chain.rpc import RpcClient, RpcError
from monitor.cli.api import serve
from monitor.cli.context import AppContext
from monitor.cli.ingest import make_client
from monitor.metrics import REGISTRY
from monitor.scoring import rules_file
from monitor.settings import Settings

log = logging.getLogger(__name__)


def run(
    ctx: typer.Context,
    api: Annotated[bool, typer.Option(help="Serve the HTTP API (with /metrics) too")] = True,
) -> None:
    """Run the monitor until SIGTERM/SIGINT: ingest, score, alert, serve API and metrics."""
    from monitor.daemon import Daemon  # the scheduler and scoring stack: only for `run`

    context: AppContext = ctx.obj
    settings = context.settings
    rules_file.load(settings)  # a bad rules file stops here, not at the first score
    logs.configure(settings)
    stop = threading.Event()
    with make_client(settings) as client:
        chain_id = settings.chain_id or _wait_for_chain_id(client, settings, stop)
        if chain_id is None:
            return
        client.chain = str(chain_id)
        daemon = Daemon(settings, context.engine, context.sessions, client, chain_id)
        daemon.start()
        log.info("amlmon running: chain %s, %s endpoint(s)", chain_id, len(settings.rpc_urls))
        try:
            if api:
                serve(settings, context.sessions, settings.api_host, settings.api_port)
            else:
                if settings.metrics_port:
                    start_http_server(settings.metrics_port, registry=REGISTRY)
                _wait_for_signal(stop)
        finally:
            log.info("stopping: finishing the running batch")
            daemon.shutdown()
            log.info("stopped cleanly")


def _wait_for_signal(stop: threading.Event) -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()


def _wait_for_chain_id(client: RpcClient, settings: Settings,
                       stop: threading.Event) -> int | None:
    """The node's chain id; an unreachable node at start-up is waited for, not fatal."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.is_set():
        try:
            return client.chain_id()
        except RpcError as exc:
            log.error("cannot reach the node yet (%s); retrying", exc)
            stop.wait(settings.poll_interval_seconds)
    return None
