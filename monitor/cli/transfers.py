"""`amlmon transfers export`: the stored evidence, for investigators and auditors."""

from __future__ import annotations

import sys
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from monitor.cli.addresses import address_option
from monitor.cli.context import AppContext
from monitor.errors import UserError
from monitor.ingest.export import ExportFilter, iter_rows, write_csv, write_jsonl
from monitor.tokens import find_token

app = typer.Typer(help="Stored transfers.", no_args_is_help=True)


class ExportFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


@app.command("export")
def export(
    ctx: typer.Context,
    token: Annotated[str | None, typer.Option(help="Only this token contract")] = None,
    address: Annotated[str | None, typer.Option(help="Only transfers from or to this address")] = None,
    from_block: Annotated[int | None, typer.Option("--from-block", min=0)] = None,
    to_block: Annotated[int | None, typer.Option("--to-block", min=0)] = None,
    fmt: Annotated[ExportFormat, typer.Option("--format")] = ExportFormat.csv,
    output: Annotated[Path | None, typer.Option(help="File to write (default: stdout)")] = None,
) -> None:
    """Export transfers: chain_id, token, block, tx, log index, from, to, exact amount."""
    context: AppContext = ctx.obj
    if from_block is not None and to_block is not None and from_block > to_block:
        raise UserError(f"--from-block {from_block} is after --to-block {to_block}")
    token_address = address_option(token, "--token") if token is not None else None
    subject = address_option(address, "--address") if address is not None else None
    where = ExportFilter(address=subject, from_block=from_block, to_block=to_block)
    writer = write_csv if fmt is ExportFormat.csv else write_jsonl
    with context.sessions() as session:
        if token_address is not None:
            where = replace(where, token_ids=[find_token(session, token_address).id])
        rows = iter_rows(session, where)
        if output is None:
            count = writer(rows, sys.stdout)
        else:
            try:
                with output.open("w", encoding="utf-8", newline="") as out:
                    count = writer(rows, out)
            except OSError as exc:
                raise UserError(f"cannot write {output}: {exc.strerror}") from None
    typer.echo(f"exported {count} transfer(s)", err=True)
