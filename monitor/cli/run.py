"""`amlmon run`: the daemon — ingest, scoring, retraining, notifications, API and /metrics."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Annotated

import typer
from prometheus_client import start_http_server

from monitor import logs
from monitor.cli.api import serve
from monitor.cli.context import AppContext
from monitor.ingest.follow import probe
from monitor.metrics import REGISTRY
from monitor.scoring import rules_file
from monitor.settings import ChainConfig, Settings

log = logging.getLogger(__name__)


def run(
    ctx: typer.Context,
    api: Annotated[bool, typer.Option(help="Serve the HTTP API (with /metrics) too")] = True,
) -> None:
    """Run the monitor until SIGTERM/SIGINT: ingest every configured chain, score, alert,
    serve API and metrics."""
    from monitor.daemon import Daemon  # the scheduler and scoring stack: only for `run`

    context: AppContext = ctx.obj
    settings = context.settings
    rules_file.load(settings)  # a bad rules file stops here, not at the first score
    logs.configure(settings)
    stop = threading.Event()
    chains = _start_chains(settings, stop)
    if chains is None:
        return
    daemon = Daemon(settings, context.engine, context.sessions, chains)
    daemon.start()
    log.info("amlmon running: %s", ", ".join(
        f"{c.name} (chain {c.chain_id}, {len(c.rpc_urls)} endpoint(s))" for c in chains))
    try:
        if api:
            serve(settings, context.sessions, settings.api_host, settings.api_port)
        else:
            if settings.metrics_port:
                start_http_server(settings.metrics_port, registry=REGISTRY)
            _wait_for_signal(stop)
    finally:
        log.info("stopping: finishing the running batches")
        daemon.shutdown()
        log.info("stopped cleanly")


def _wait_for_signal(stop: threading.Event) -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()


def _start_chains(settings: Settings, stop: threading.Event) -> list[ChainConfig] | None:
    """The configured chains, each node asked once: one serving another chain stops the
    start with a one-line error naming the chain; one that is down is only logged (its
    ingest job keeps trying). The one-chain shorthand without chain_id waits for its node,
    which alone can say which chain it is; None if stopped meanwhile."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    chains = []
    for chain in settings.chain_list():
        while True:
            found = probe(chain, settings)
            if found.head is not None or chain.chain_id is not None:
                break
            log.error("cannot reach the node yet (%s); retrying", found.error)
            if stop.wait(chain.poll_interval_seconds):
                return None
        if found.head is None:
            log.error("chain %s: no node reachable at start-up (%s); its ingest job keeps "
                      "trying", chain.name, found.error)
        chains.append(found.chain)
    return chains
