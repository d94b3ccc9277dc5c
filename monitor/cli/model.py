"""`amlmon model train|list|show|rollback`: rankers trained on labels, versioned per token
(actor: --actor, else the login name, else "cli")."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer
from sqlalchemy import select

from models import Token
from monitor.cli.actor import default_actor
from monitor.cli.context import AppContext
from monitor.cli.output import ListFormat, print_rows
from monitor.db import transaction
from monitor.errors import UserError
from monitor.scoring import rules_file
from monitor.tokens import find_token

app = typer.Typer(help="Rankers trained on labels: train, list, show, roll back.",
                  no_args_is_help=True)
Actor = Annotated[str | None, typer.Option(help='Who you are (default: $USER, else "cli")')]


class ShowFormat(StrEnum):
    text = "text"
    json = "json"


def _tokens(context: AppContext, token: str | None) -> list[int]:
    from monitor.cli.addresses import address_option

    with context.sessions() as session:
        if token is not None:
            return [find_token(session, address_option(token, "--token")).id]
        ids = list(session.scalars(select(Token.id).order_by(Token.id)))
    if not ids:
        raise UserError("no tokens registered: add one with `amlmon token add`")
    return ids


@app.command("train")
def train(
    ctx: typer.Context,
    token: Annotated[str | None, typer.Option(help="Only this token contract (default: every "
                                                   "token)")] = None,
    actor: Actor = None,
) -> None:
    """Train each token's ranker on the labelled addresses among its addresses. A new model
    is put in force only if its cross-validated PR-AUC is not worse than the current one's;
    with too few labels nothing changes, and the line says why. `amlmon score` then fuses
    the model in force as the reason learned_ranker."""
    from monitor.ranker import store
    from monitor.ranker.training.service import train as train_token

    context: AppContext = ctx.obj
    config = rules_file.load(context.settings)
    who = actor or default_actor()
    for token_id in _tokens(context, token):
        with transaction(context.sessions) as session:
            found = session.get_one(Token, token_id)
            typer.echo(train_token(session, found, config, who).line)
    with context.sessions() as session:
        store.publish(session)


@app.command("list")
def list_(
    ctx: typer.Context,
    token: Annotated[str | None, typer.Option(help="Only this token contract")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    fmt: Annotated[ListFormat, typer.Option("--format")] = ListFormat.table,
) -> None:
    """Trained versions newest first: status (current, retired, rejected), cross-validated
    PR-AUC and F1, the threshold, the labels they learned from."""
    from monitor.ranker import store

    context: AppContext = ctx.obj
    token_id = _tokens(context, token)[0] if token is not None else None
    with context.sessions() as session:
        tokens = {t.id: t for t in session.scalars(select(Token))}
        rows = [store.summary(row, tokens.get(row.token_id))
                for row in store.list_models(session, token_id, limit)]
    print_rows(rows, ("version", "token", "status", "pr_auc", "f1", "threshold", "laundering",
                      "legitimate", "created_by", "created_at", "note"), fmt, width=200)


@app.command("show")
def show(
    ctx: typer.Context,
    version: Annotated[int, typer.Argument(metavar="VERSION", min=1, max=2**63 - 1,
                                           help="Model version (model list)")],
    fmt: Annotated[ShowFormat, typer.Option("--format")] = ShowFormat.text,
) -> None:
    """One version: its metrics, parameters, feature list and training set."""
    from monitor.ranker import store

    context: AppContext = ctx.obj
    with context.sessions() as session:
        row = store.get(session, version)
        detail = store.detail(row, session.get(Token, row.token_id))
    if fmt is ShowFormat.json:
        typer.echo(json.dumps(detail, indent=2))
        return
    metrics = detail["metrics"]
    typer.echo(f"model v{detail['version']} of {detail['token']}: {detail['status']}, "
               f"trained {detail['created_at']} by {detail['created_by']}")
    if detail["note"]:
        typer.echo(f"note: {detail['note']}")
    typer.echo(f"cross-validated ({metrics.get('folds')}-fold, grouped by pattern): PR-AUC "
               f"{detail['pr_auc']}, F1 {metrics.get('f1')} (precision "
               f"{metrics.get('precision')}, recall {metrics.get('recall')}) at threshold "
               f"{detail['threshold']}")
    typer.echo(f"trained on {metrics.get('laundering')} laundering and "
               f"{metrics.get('legitimate')} legitimate addresses (labels digest "
               f"{detail['labels_digest'][:12]}…)")
    typer.echo(f"features ({len(detail['feature_list'])}): {', '.join(detail['feature_list'])}")
    typer.echo(f"parameters: {json.dumps(detail['params'], sort_keys=True)}")
    typer.echo(f"artifact: {detail['artifact_format']}, {detail['artifact_bytes']:,} bytes; "
               "the training set: --format json")


@app.command("rollback")
def rollback(
    ctx: typer.Context,
    token: Annotated[str, typer.Option(help="The token contract whose model to roll back")],
    actor: Actor = None,
) -> None:
    """Retire the token's model in force and put back the one it replaced (if any; without
    one the token is ranked by no model). The next score run fuses what is in force.
    Audited."""
    from monitor.ranker import store

    context: AppContext = ctx.obj
    token_id = _tokens(context, token)[0]
    with transaction(context.sessions) as session:
        retired, back = store.rollback(session, session.get_one(Token, token_id),
                                       actor or default_actor())
        line = (f"model v{retired.id} retired; "
                + (f"v{back.id} is in force again" if back is not None
                   else "no model is in force (none to go back to)"))
    with context.sessions() as session:
        store.publish(session)
    typer.echo(line + "; the next score run ranks with it")
