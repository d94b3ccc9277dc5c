"""`amlmon chain …`: the configured chains and how far ingest has got on each."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated

import typer

from monitor.cli.context import AppContext
from monitor.cli.output import ListFormat, print_rows
from monitor.ingest.follow import (
    ChainIdMismatch,
    ChainState,
    Probe,
    chain_state,
    probe,
    stored_cursors,
)
from monitor.settings import ChainConfig, Settings

app = typer.Typer(help="The configured chains.", no_args_is_help=True)

COLUMNS = ("name", "chain_id", "cursor_block", "head_block", "lag_blocks", "status")


@app.command("list")
def list_(
    ctx: typer.Context,
    fmt: Annotated[ListFormat, typer.Option("--format")] = ListFormat.table,
) -> None:
    """Each configured chain: its cursor (last block ingested), the node's head, the lag
    and a status: ok, lagging (more than 100 blocks behind the safe head) or down (no node
    answers, within a few seconds)."""
    context: AppContext = ctx.obj
    settings = context.settings
    chains = settings.chain_list()
    # Every node at once: a chain whose nodes are down costs one short timeout, not one each.
    with ThreadPoolExecutor(len(chains)) as pool:
        probes = list(pool.map(lambda chain: _probe(chain, settings), chains))
    with context.sessions() as session:
        cursors = stored_cursors(session, [p.chain.chain_id for p in probes])
    states = [_state(p, cursors) for p in probes]
    rows = [state.as_dict() for state in states]
    if fmt is ListFormat.json:
        typer.echo(json.dumps({"items": rows}, indent=2))
        return
    down = sum(state.status == "down" for state in states)
    print_rows(rows, COLUMNS, fmt, f"{len(rows)} chain(s)" + (f", {down} down" if down else ""))


def _probe(chain: ChainConfig, settings: Settings) -> Probe:
    try:
        return probe(chain, settings)
    except ChainIdMismatch as exc:  # listed as down, and said why: the list still prints
        typer.echo(f"amlmon: warning: {exc}", err=True)
        return Probe(chain, None, str(exc))


def _state(found: Probe, cursors: dict[int, int]) -> ChainState:
    chain = found.chain
    cursor = cursors.get(chain.chain_id) if chain.chain_id is not None else None
    return chain_state(chain, cursor, found.head, reachable=found.head is not None)
