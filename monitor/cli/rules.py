"""`amlmon rules stats|backtest`: what became of each rule's alerts, and what another rules
file would change before it is deployed."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from monitor.addresses import parse_address
from monitor.cli.context import AppContext
from monitor.cli.dates import utc_time
from monitor.cli.output import ListFormat, print_rows
from monitor.errors import UserError

app = typer.Typer(help="Rules: outcome statistics and backtests of a rules file.",
                  no_args_is_help=True)


@app.command("stats")
def stats(
    ctx: typer.Context,
    since: Annotated[datetime | None, typer.Option(
        parser=utc_time, metavar="DATE",
        help="Alerts raised at or after (ISO-8601 date or date-time; UTC when no offset)")] = None,
    until: Annotated[datetime | None, typer.Option(
        parser=utc_time, metavar="DATE", help="Alerts raised before (exclusive)")] = None,
    fmt: Annotated[ListFormat, typer.Option("--format")] = ListFormat.table,
) -> None:
    """Per rule: alerts raised in the period and the share closed as reported,
    false_positive or inconclusive (by triage or by their case), still open, retracted."""
    from monitor.alerts.stats import STATES, rule_stats

    context: AppContext = ctx.obj
    with context.sessions() as session:
        rows, total = rule_stats(session, since, until)
    if fmt is ListFormat.json:
        print_rows([r.as_json() for r in [*rows, total]], (), fmt)
        return
    table = [{"rule": r.rule, "raised": r.raised,
              **{state: _share(getattr(r, state), r.raised) for state in STATES}}
             for r in [*rows, total]]
    period = (f"raised {'from ' + since.isoformat() if since else 'ever'}"
              f"{' until ' + until.isoformat() if until else ''}")
    print_rows(table, ("rule", "raised", *STATES), fmt,
               title=f"alerts by rule and outcome, {period}", width=160)


def _share(count: int, raised: int) -> str:
    return f"{count} ({100 * count / raised:.0f}%)" if raised else "0"


# Table columns of a backtest, and the fields they show.
_COLUMNS = {
    "stored": ("stored",), "rerun": ("rerun",), "new": ("new",),
    "+ vs stored": ("vs_stored", "added"), "- vs stored": ("vs_stored", "removed"),
    "- fp (stored)": ("vs_stored", "removed_false_positive"),
    "- reported (stored)": ("vs_stored", "removed_reported"),
    "+ vs rerun": ("vs_rerun", "added"), "- vs rerun": ("vs_rerun", "removed"),
    "- fp (rerun)": ("vs_rerun", "removed_false_positive"),
    "- reported (rerun)": ("vs_rerun", "removed_reported"),
}


@app.command("backtest")
def backtest(
    ctx: typer.Context,
    rules: Annotated[Path, typer.Option("--rules", metavar="NEW.yaml",
                                        help="The candidate rules file")],
    token: Annotated[str | None, typer.Option(
        help="Only this token contract (default: every registered token)")] = None,
    chain_id: Annotated[int | None, typer.Option(
        "--chain-id", min=1, help="The token's chain, when its address is on several")] = None,
    fmt: Annotated[ListFormat, typer.Option("--format")] = ListFormat.table,
) -> None:
    """Re-score the stored history in memory with another rules file and show, per rule,
    the alerts it would add and remove, and how many removed ones were closed as false
    positives and as reported. Writes nothing."""
    from monitor.alerts.backtest import BASELINES
    from monitor.alerts.backtest import backtest as run_backtest
    from monitor.scoring import rules_file
    from monitor.scoring.config import load_rules_config
    from monitor.tokens import find_token, list_tokens

    context: AppContext = ctx.obj
    candidate = load_rules_config(rules)  # a bad file: one line naming the key
    current = rules_file.load(context.settings)
    with context.sessions() as session:
        if token is not None:
            try:
                address = parse_address(token)
            except ValueError as exc:
                raise UserError(f"--token: {exc}") from None
            tokens = [find_token(session, address, chain_id)]
        else:
            tokens = list(list_tokens(session))
        if not tokens:
            raise UserError("no token is registered: nothing to backtest")
        typer.echo(f"scoring {len(tokens)} token(s) with the rules in force and with "
                   f"{rules} (in memory; nothing is written) …", err=True)
        result = run_backtest(session, tokens, current, candidate)
    if fmt is ListFormat.json:
        typer.echo(json.dumps({**result.as_json(), "rules_file": str(rules),
                               "current_rules_file": str(context.settings.rules_file)},
                              indent=2))
        return
    rows = [{"rule": r.rule, **{name: _field(r, path) for name, path in _COLUMNS.items()}}
            for r in [*result.rules, result.total]]
    for name in ("stored", "rerun", "new", "vs_stored", "vs_rerun"):
        typer.echo(f"{name}: {BASELINES[name]}")
    typer.echo("+ added, - removed; fp / reported: removed keys whose stored alerts were "
               "closed as false positives / as reported")
    print_rows(rows, ("rule", *_COLUMNS), fmt, title=f"backtest of {rules}", width=200)


def _field(row: Any, path: tuple[str, ...]) -> Any:
    value = row
    for part in path:
        value = getattr(value, part)
    return value
