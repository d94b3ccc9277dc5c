"""`amlmon ingest`: pull token events from the nodes of every configured chain into the database."""

from __future__ import annotations

import gc
import logging
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated

import typer
from prometheus_client import start_http_server

from monitor.bridges.registry import sync_settings
from monitor.chain.rpc import RpcError
from monitor.cli.context import AppContext
from monitor.cli.progress import progress_reporter
from monitor.errors import UserError
from monitor.ingest.follow import (
    ChainFollower,
    ChainIdMismatch,
    check_chain_id,
    open_client,
    probe,
    select_chains,
)
from monitor.ingest.poller import ChainMovedDuringFetch, IngestStats
from monitor.metrics import REGISTRY
from monitor.settings import ChainConfig, Settings

log = logging.getLogger(__name__)


def ingest(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Catch up to the safe head, then exit")] = False,
    chain: Annotated[
        str | None, typer.Option("--chain", help="Only this configured chain, by name or id "
                                 "(default: every configured chain)")
    ] = None,
    chain_id: Annotated[
        int | None, typer.Option("--chain-id", min=1, help="Same as --chain ID")
    ] = None,
    to_block: Annotated[
        int | None, typer.Option("--to-block", min=0, help="Stop at this block")
    ] = None,
) -> None:
    """Ingest transfers of the registered tokens of every configured chain (or --chain):
    backfill, then follow each chain's safe head."""
    context: AppContext = ctx.obj
    # A 10,000-log reply becomes ~30,000 containers (dicts, lists, records) that hold no
    # cycles and live until their batch commits. At the default gen-0 threshold of 700
    # the collector scanned them over and over: 0.6 s of a 200,000-log backfill even
    # with root()'s freeze, 0.04 s at 50,000.
    gc.set_threshold(50_000, 10, 10)
    settings = context.settings
    logging.getLogger("monitor").setLevel(settings.log_level)
    logging.getLogger("amlmon").setLevel(settings.log_level)
    if chain is not None and chain_id is not None:
        raise UserError("give --chain or --chain-id, not both")
    wanted = chain if chain is not None else None if chain_id is None else str(chain_id)
    chains = _resolve(settings, wanted)
    # The config file's bridges are rows before the first batch, so that their events are
    # fetched with the tokens' from the start.
    sync_settings(context.sessions, settings)
    if settings.metrics_port:
        start_http_server(settings.metrics_port, registry=REGISTRY)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with progress_reporter() as progress:
        # One bar for one chain; several chains report a line each when done.
        followers = [ChainFollower(c, settings, context.sessions,
                                   progress if len(chains) == 1 else None) for c in chains]
        try:
            if once:
                _once(followers, to_block, stop)
            else:
                _follow(followers, to_block, stop)
        finally:
            for follower in followers:
                follower.close()


def _resolve(settings: Settings, wanted: str | None) -> list[ChainConfig]:
    """The chains to ingest. The one-chain shorthand without chain_id learns its id from
    the node (which must be reachable); configured chains are checked quickly here, so
    that a node serving the wrong chain stops the command at once, naming the chain, while
    one that is down only fails its own chain."""
    chains = settings.chain_list()
    if len(chains) == 1 and chains[0].chain_id is None:
        with open_client(chains[0], settings) as client:
            try:
                shorthand = check_chain_id(client, chains[0])
            except RpcError as exc:
                raise UserError(f"cannot reach the node: {exc}") from None
        if wanted is not None and wanted not in (shorthand.name, str(shorthand.chain_id)):
            raise UserError(f"the configured node serves chain {shorthand.chain_id}, not "
                            f"{wanted}")
        return [shorthand]
    chosen = select_chains(chains, wanted)
    if len(chosen) > 1:  # one chain's own poll says it as it is
        with ThreadPoolExecutor(len(chosen)) as pool:
            # All at once: a node that is down costs one short timeout, not one per chain.
            # list() re-raises the first ChainIdMismatch, which ends the command here.
            list(pool.map(lambda chain: probe(chain, settings), chosen))
    return chosen


def _once(followers: list[ChainFollower], to_block: int | None, stop: threading.Event) -> None:
    """Every chain caught up in parallel; a chain that fails does not stop the others, and
    the command then exits non-zero naming it."""
    if len(followers) == 1:  # its own errors, as they are
        _report(followers[0], followers[0].poll(to_block, stop))
        return
    failed: list[str] = []
    with ThreadPoolExecutor(len(followers), thread_name_prefix="ingest") as pool:
        futures = {f.name: pool.submit(f.poll, to_block, stop) for f in followers}
        for follower in followers:
            try:
                _report(follower, futures[follower.name].result())
            except (RpcError, ChainMovedDuringFetch, ChainIdMismatch) as exc:
                failed.append(f"chain {follower.name}: {_first_line(exc)}")
    if failed:
        print(f"amlmon: error: {len(failed)} of {len(followers)} chains failed: "
              + "; ".join(failed), file=sys.stderr)
        raise typer.Exit(1)


def _report(follower: ChainFollower, stats: IngestStats) -> None:
    typer.echo(f"chain {follower.name} ({follower.chain_id}): cursor at block {stats.cursor} "
               f"(head {stats.head}); {stats.transfers} new transfer(s), "
               f"{stats.compliance_events} compliance event(s), {stats.malformed} "
               f"malformed log(s) skipped, {stats.reorgs} reorg(s) repaired")


def _follow(followers: list[ChainFollower], to_block: int | None,
            stop: threading.Event) -> None:
    """Poll every chain in a thread of its own until SIGTERM/SIGINT: a failed poll is logged
    and retried on that chain's next tick, whatever the other chains do. Anything else (the
    database gone) stops every chain and the command."""
    fatal: list[BaseException] = []
    threads = [threading.Thread(target=_follow_one, args=(f, to_block, stop, fatal.append),
                                name=f"ingest-{f.name}", daemon=True) for f in followers]
    for thread in threads:
        thread.start()
    stop.wait()
    for thread in threads:
        thread.join()
    if fatal:
        raise fatal[0]
    log.info("stopped cleanly")


def _follow_one(follower: ChainFollower, to_block: int | None, stop: threading.Event,
                fail: Callable[[BaseException], None]) -> None:
    while not stop.is_set():
        try:
            stats = follower.poll(to_block, stop)
            if stats.transfers or stats.reorgs:
                log.info("chain %s: cursor %s, +%s transfers", follower.name, stats.cursor,
                         stats.transfers)
        except (RpcError, ChainMovedDuringFetch, ChainIdMismatch) as exc:
            log.error("chain %s: poll failed, retrying: %s", follower.name, exc)
        except BaseException as exc:
            fail(exc)
            stop.set()
            return
        stop.wait(follower.chain.poll_interval_seconds)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
