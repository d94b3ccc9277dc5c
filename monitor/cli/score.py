"""`amlmon score` and `amlmon report …`: run the scorers, print investigator reports."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select

from models import Token
from monitor.amounts import grouped
from monitor.cli.addresses import address_option
from monitor.cli.context import AppContext
from monitor.cli.output import ListFormat, print_rows
from monitor.errors import UserError
from monitor.scoring import rules_file
from monitor.tokens import find_token

report_app = typer.Typer(help="Investigator reports.", no_args_is_help=True)


class ReportFormat(StrEnum):
    json = "json"
    csv = "csv"
    html = "html"


class Engine(StrEnum):
    numpy = "numpy"
    spark = "spark"


class AddressFormat(StrEnum):
    json = "json"
    html = "html"


def score(
    ctx: typer.Context,
    token: Annotated[str | None, typer.Option(help="Only this token contract")] = None,
    incremental: Annotated[
        bool, typer.Option(help="Skip tokens with nothing new since their last run")
    ] = False,
    engine: Annotated[
        Engine, typer.Option(help="numpy: in this process; spark: on Apache Spark (the "
                                  "`spark` extra and the config's `spark:` settings)")
    ] = Engine.numpy,
    spark_master: Annotated[
        str | None, typer.Option("--spark-master", metavar="URL",
                                 help="Spark master URL (default: spark.master)")
    ] = None,
) -> None:
    """Run all scorers once (rules, IsolationForest, risk fusion), store the scores, and
    raise or update alerts (queuing their webhook notifications). With `--engine spark`
    the rules run on shards on Apache Spark; the results are stored the same way."""
    # Imported here, not at the top: every `amlmon` command loads this module, and the
    # scoring stack behind it (networkx, scipy) would slow them all down.
    from monitor import jobs
    from monitor.scoring import scores

    context: AppContext = ctx.obj
    settings = context.settings
    config = rules_file.load(settings)
    with context.sessions() as session:
        token_ids = None
        if token is not None:
            token_ids = [find_token(session, address_option(token, "--token")).id]
        elif session.scalar(select(Token.id).limit(1)) is None:
            raise UserError("no tokens registered: add one with `amlmon token add`")
    if spark_master is not None and engine is not Engine.spark:
        raise UserError("--spark-master: only with --engine spark")
    cache = None
    if engine is Engine.spark:
        from monitor.scoring.spark import runner

        spark = settings.spark
        cache = runner.SparkScoring(runner.session(
            spark_master or spark.master, spark.app_name, spark.shuffle_partitions,
            spark.conf), spark.shards)
    try:
        summary = jobs.score_and_alert(context.sessions, settings,
                                       "incremental" if incremental else "full", token_ids,
                                       cache)
    finally:
        if cache is not None:
            cache.spark.stop()
    with context.sessions() as session:
        for run in summary.runs:
            assert run.token_id is not None  # a score run scores one token
            flagged = len(scores.current_scores(session, run.token_id,
                                                min_risk=config.flag_min_risk))
            typer.echo(f"token {run.token_id}: scored {run.addresses_scored} addresses "
                       f"(run {run.id}); {flagged} flagged at risk >= {config.flag_min_risk}")
    for label in summary.skipped:
        typer.echo(f"{label}: nothing new since the last run")
    typer.echo(f"alerts: {summary.alerts_created} new, {summary.alerts_updated} updated, "
               f"{summary.alerts_retracted} retracted")
    if settings.webhook_url:
        sent = jobs.deliver_notifications(context.sessions, settings)
        typer.echo(f"notifications: {sent['sent']} sent, {sent['retry']} to retry, "
                   f"{sent['failed']} refused")


@report_app.command("flagged")
def flagged(
    ctx: typer.Context,
    token: Annotated[str | None, typer.Option(help="Only this token contract")] = None,
    min_risk: Annotated[int | None, typer.Option("--min-risk", min=0, max=100,
                                                  help="Default: flag_min_risk")] = None,
    fmt: Annotated[ReportFormat, typer.Option("--format")] = ReportFormat.json,
    output: Annotated[Path | None, typer.Option(help="File to write (default: stdout)")] = None,
) -> None:
    """Flagged addresses, highest risk first, with their reasons and evidence."""
    from monitor.reports import export
    from monitor.reports import flagged as reports

    context: AppContext = ctx.obj
    threshold = min_risk if min_risk is not None else int(
        rules_file.load(context.settings).flag_min_risk)
    with context.sessions() as session:
        token_ids = None
        if token is not None:
            token_ids = [find_token(session, address_option(token, "--token")).id]
        count = reports.flagged_count(session, token_ids, threshold)
        shares = reports.share_line(reports.flagged_shares(session, token_ids, threshold))
        # Streamed a page of rows at a time: the report may hold millions of addresses.
        _write(export.flagged_report(session, token_ids, threshold, fmt.value), output)
    if output is not None or not sys.stdout.isatty():
        typer.echo(f"{count} flagged address(es)" + (f": {shares}" if shares else ""), err=True)


@report_app.command("address")
def address(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(metavar="ADDRESS", help="0x… address")],
    fmt: Annotated[AddressFormat, typer.Option("--format")] = AddressFormat.json,
    output: Annotated[Path | None, typer.Option(help="File to write (default: stdout)")] = None,
) -> None:
    """One address on every chain it is active on: its current risk, severity and reasons
    per token, and its bridge transfers. HTML adds the evidence, pictures of the fund flows
    (across chains too), counterparties and a timeline, on one self-contained page."""
    from monitor.reports import address as reports

    context: AppContext = ctx.obj
    subject = address_option(target, "ADDRESS")
    with context.sessions() as session:
        if fmt is AddressFormat.html:
            from monitor.reports import html

            text = html.address_page(session, subject)
        else:
            text = json.dumps(reports.address_report(session, subject), indent=2) + "\n"
    _write([text], output)


class PatternStatus(StrEnum):
    active = "active"
    retired = "retired"


@report_app.command("patterns")
def patterns(
    ctx: typer.Context,
    token: Annotated[str | None, typer.Option(help="Only this token contract")] = None,
    typology: Annotated[str | None, typer.Option(help="Only this typology (a rule id)")] = None,
    status: Annotated[PatternStatus, typer.Option()] = PatternStatus.active,
    fmt: Annotated[ListFormat, typer.Option("--format")] = ListFormat.table,
) -> None:
    """Laundering patterns (networks) found by the graph typologies, newest first: each
    with its typology, score, size, exact value and sentence."""
    from monitor.reports import patterns as reports
    from monitor.scoring.evaluate import PATTERN_RULES

    if typology is not None and typology not in PATTERN_RULES:
        raise UserError(f"--typology: unknown typology {typology!r} (one of "
                        f"{', '.join(PATTERN_RULES)})")
    context: AppContext = ctx.obj
    with context.sessions() as session:
        token_ids = None
        if token is not None:
            token_ids = [find_token(session, address_option(token, "--token")).id]
        rows = list(reports.pattern_items(session, token_ids, typology, status.value))
    if fmt is ListFormat.table:  # a person reads it: amounts grouped, as on every page
        rows = [{**row, "total_value": grouped(row["total_value"])} for row in rows]
    print_rows(rows, ("id", "typology", "score", "member_count", "transfer_count",
                      "total_value", "anchor", "title"), fmt, width=200)


@report_app.command("pattern")
def pattern(
    ctx: typer.Context,
    pattern_id: Annotated[int, typer.Argument(metavar="ID", min=1, max=2**63 - 1,
                                              help="Pattern id (report patterns)")],
    fmt: Annotated[AddressFormat, typer.Option("--format")] = AddressFormat.json,
    output: Annotated[Path | None, typer.Option(help="File to write (default: stdout)")] = None,
) -> None:
    """One pattern, whole: every member with its role and risk, its transfers with exact
    amounts; HTML adds the picture of its flows, on one self-contained page."""
    from monitor.reports import patterns as reports

    context: AppContext = ctx.obj
    with context.sessions() as session:
        if fmt is AddressFormat.html:
            from monitor.reports import html

            text = html.pattern_page(session, pattern_id)
        else:
            text = json.dumps(reports.pattern_report(session, pattern_id), indent=2) + "\n"
    _write([text], output)


def _write(chunks: Iterable[str], output: Path | None) -> None:
    if output is None:
        sys.stdout.writelines(chunks)
        return
    try:
        with output.open("w", encoding="utf-8") as out:
            out.writelines(chunks)
    except OSError as exc:
        raise UserError(f"cannot write {output}: {exc.strerror}") from None
