"""`amlmon token …`: the registry of watched RWA token contracts."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from monitor.addresses import checksum, parse_address
from monitor.cli.actor import default_actor
from monitor.cli.context import AppContext
from monitor.cli.output import ListFormat, print_rows
from monitor.db import transaction
from monitor.errors import UserError
from monitor.settings import MAX_CHAIN_ID
from monitor.tokens import DECIMALS_MAX, MAX_BLOCK, add_token, list_tokens, resolve_metadata

app = typer.Typer(help="Registered token contracts.", no_args_is_help=True)


class Standard(StrEnum):
    erc20 = "erc20"
    erc1155 = "erc1155"
    erc3643 = "erc3643"


@app.command("add")
def add(
    ctx: typer.Context,
    chain_id: Annotated[int, typer.Option("--chain-id", min=1, max=MAX_CHAIN_ID, help="EIP-155 chain id")],
    address: Annotated[str, typer.Option("--address", help="Token contract address (0x…)")],
    name: Annotated[str | None, typer.Option(help="Display name (default: read from the contract)")] = None,
    symbol: Annotated[str | None, typer.Option(help="Symbol (default: read from the contract)")] = None,
    decimals: Annotated[
        int | None, typer.Option(min=0, max=DECIMALS_MAX, help="Decimals (default: read from the contract)")
    ] = None,
    standard: Annotated[Standard, typer.Option(help="Token standard")] = Standard.erc20,
    start_block: Annotated[
        int, typer.Option("--start-block", min=0, max=MAX_BLOCK, help="First block to ingest (deployment block)")
    ] = 0,
) -> None:
    """Register a token contract to monitor."""
    context: AppContext = ctx.obj
    try:
        token_address = parse_address(address)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    settings = context.settings
    name, symbol, decimals = resolve_metadata(settings, chain_id, token_address, name, symbol,
                                              decimals)
    if decimals is None:
        typer.echo("note: decimals unknown (no --decimals and no RPC answer); assuming 18",
                   err=True)
        decimals = 18
    with transaction(context.sessions) as session:
        token = add_token(
            session, chain_id=chain_id, address=token_address, name=name, symbol=symbol,
            decimals=decimals, standard=standard.value, start_block=start_block,
            actor=default_actor(),
        )
        typer.echo(f"registered token {token.id}: {checksum(token.address)} on chain {chain_id} "
                   f"({symbol or '?'}, {decimals} decimals, from block {start_block})")


@app.command("list")
def list_(
    ctx: typer.Context,
    chain_id: Annotated[int | None, typer.Option("--chain-id", min=1, max=MAX_CHAIN_ID)] = None,
    fmt: Annotated[ListFormat, typer.Option("--format")] = ListFormat.table,
) -> None:
    """List registered tokens."""
    context: AppContext = ctx.obj
    with transaction(context.sessions) as session:
        rows = [
            {"id": t.id, "chain_id": t.chain_id, "address": checksum(t.address), "name": t.name,
             "symbol": t.symbol, "decimals": t.decimals, "standard": t.standard,
             "start_block": t.start_block, "synced_block": t.synced_block}
            for t in list_tokens(session, chain_id)
        ]
    print_rows(rows, ("id", "chain_id", "address", "symbol", "name", "decimals", "standard",
                      "start_block", "synced_block"), fmt, f"{len(rows)} registered token(s)")
