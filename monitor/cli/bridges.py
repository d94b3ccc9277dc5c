"""`amlmon bridge …`: registered bridge contracts and the transfers linked across them."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

from monitor.addresses import checksum
from monitor.cli.actor import default_actor
from monitor.cli.addresses import address_option
from monitor.cli.context import AppContext
from monitor.cli.output import ListFormat, print_rows
from monitor.db import transaction
from monitor.settings import MAX_CHAIN_ID
from monitor.tokens import MAX_BLOCK

app = typer.Typer(help="Bridge contracts between chains and the transfers across them.",
                  no_args_is_help=True)


class Protocol(StrEnum):
    layerzero_oft = "layerzero-oft"
    wormhole_ntt = "wormhole-ntt"
    cctp_v1 = "cctp-v1"
    cctp_v2 = "cctp-v2"


class Status(StrEnum):
    pending = "pending"
    linked = "linked"
    unmatched = "unmatched"


@app.command("add")
def add(
    ctx: typer.Context,
    chain_id: Annotated[int, typer.Option("--chain-id", min=1, max=MAX_CHAIN_ID, help="EIP-155 chain id")],
    address: Annotated[str, typer.Option("--address", help="Bridge contract (OFT or OFT adapter, NTT manager, CCTP TokenMessenger or MessageTransmitter)")],
    protocol: Annotated[Protocol, typer.Option("--protocol", help="Bridge protocol")],
    endpoint_id: Annotated[int | None, typer.Option("--endpoint-id", min=0, max=2**32 - 1, help="The protocol's own id of this chain (LayerZero EID, Wormhole chain id, CCTP domain); default: the mainnet table")] = None,
    token: Annotated[str | None, typer.Option("--token", help="Registered token the bridge moves on this chain (default for layerzero-oft: the bridge itself)")] = None,
    start_block: Annotated[int, typer.Option("--start-block", min=0, max=MAX_BLOCK, help="First block to ingest its events from")] = 0,
) -> None:
    """Register a bridge contract; its events are ingested with the chain's tokens."""
    from monitor.bridges.registry import add_bridge

    context: AppContext = ctx.obj
    bridge_address = address_option(address, "--address")
    token_address = address_option(token, "--token") if token is not None else None
    with transaction(context.sessions) as session:
        bridge = add_bridge(session, chain_id=chain_id, address=bridge_address,
                            protocol=protocol.value, endpoint_id=endpoint_id,
                            token=token_address, start_block=start_block,
                            actor=default_actor())
        typer.echo(f"registered bridge {bridge.id}: {checksum(bridge.address)} on chain "
                   f"{chain_id} ({bridge.protocol}, endpoint id {bridge.endpoint_id}, from "
                   f"block {start_block})")


@app.command("list")
def list_(
    ctx: typer.Context,
    chain_id: Annotated[int | None, typer.Option("--chain-id", min=1, max=MAX_CHAIN_ID)] = None,
    fmt: Annotated[ListFormat, typer.Option("--format")] = ListFormat.table,
) -> None:
    """List registered bridges."""
    from monitor.bridges.registry import list_bridges, view

    context: AppContext = ctx.obj
    with context.sessions() as session:
        rows = [view(session, b) for b in list_bridges(session, chain_id)]
    for row in rows:
        row["address"] = checksum(row["address"])
        row["token"] = checksum(row["token"]) if row["token"] else None
    print_rows(rows, ("id", "chain_id", "address", "protocol", "endpoint_id", "token",
                      "start_block", "synced_block"), fmt, f"{len(rows)} registered bridge(s)",
               width=160)


@app.command("remove")
def remove(
    ctx: typer.Context,
    chain_id: Annotated[int, typer.Option("--chain-id", min=1, max=MAX_CHAIN_ID)],
    address: Annotated[str, typer.Option("--address", help="Bridge contract (0x…)")],
) -> None:
    """Unregister a bridge: its events are deleted and the transfers they linked are
    recomputed from what remains."""
    from monitor.bridges.registry import remove_bridge

    context: AppContext = ctx.obj
    bridge_address = address_option(address, "--address")
    with transaction(context.sessions) as session:
        remove_bridge(session, chain_id=chain_id, address=bridge_address,
                      actor=default_actor())
    typer.echo(f"removed bridge {checksum(bridge_address)} on chain {chain_id}")


@app.command("transfers")
def transfers(
    ctx: typer.Context,
    status: Annotated[Status | None, typer.Option(help="Only this status")] = None,
    address: Annotated[str | None, typer.Option("--address", help="Only transfers this address sent or received")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
    fmt: Annotated[ListFormat, typer.Option("--format")] = ListFormat.table,
) -> None:
    """Bridge transfers, newest first. JSON: {"items": [...]} with the API's fields."""
    from monitor.bridges.linking import list_transfers
    from monitor.reports.bridges import bridge_items

    context: AppContext = ctx.obj
    wanted = address_option(address, "--address") if address is not None else None
    with context.sessions() as session:
        rows = bridge_items(session, list_transfers(
            session, status=status.value if status else None, address=wanted, limit=limit))
    if fmt is ListFormat.json:
        typer.echo(json.dumps({"items": rows}, indent=2))
        return
    print_rows(rows, ("protocol", "status", "source_chain_id", "sender",
                      "destination_chain_id", "recipient", "amount_sent", "amount_received",
                      "sent_at"), fmt, f"{len(rows)} bridge transfer(s)", width=200)
