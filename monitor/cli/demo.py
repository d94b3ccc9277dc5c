"""`amlmon demo`: see the whole pipeline work in one command."""

from __future__ import annotations

import logging
import shlex
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from monitor import db
from monitor.cli.context import AppContext
from monitor.cli.output import ListFormat, print_rows
from monitor.scoring import rules_file
from monitor.settings import ChainSettings, Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)


def demo(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Folder for the demo database and reports")] = Path(
        "amlmon-demo"),
    serve: Annotated[bool, typer.Option(help="Keep running with the API and /metrics up")] = False,
) -> None:
    """Deploy a demo RWA token on a local anvil, replay a history with laundering cases,
    ingest, score, alert, and show the top flagged addresses."""
    from monitor.demo import demo as run_demo  # anvil, the simulator, the scoring stack

    context: AppContext = ctx.obj
    rules_file.load(context.settings)  # before a chain is started for nothing
    out.mkdir(parents=True, exist_ok=True)
    database = out / "amlmon.db"
    database.unlink(missing_ok=True)  # a fresh chain needs a fresh database
    url = f"sqlite:///{database}"
    settings = context.settings.model_copy(update={"database_url": url})
    db.upgrade(url)
    engine = db.make_engine(url)
    sessions = db.session_factory(engine)
    console = Console(stderr=True)
    try:
        with Progress(TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[items]:>7,} items"), TimeElapsedColumn(),
                      console=console, disable=not console.is_terminal) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(stage: str, done: int, total: int, items: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=max(total, 1), items=0)
                    if not console.is_terminal:
                        console.print(f"{stage} …")
                bar.update(tasks[stage], completed=done, total=max(total, 1), items=items)

            with run_demo(settings, sessions, out, progress) as result:
                _summary(result.report, result.alerts, len(result.history.transfers))
                if result.pattern is not None:
                    _case_hint(result.pattern, url)
                typer.echo(f"flagged report: {result.html_path} (and {result.json_path}; "
                           f"address pages in {result.html_path.parent / 'addresses'})")
                if serve:
                    _serve(settings, engine, sessions, {31337: result.node.url,
                                                        31338: result.bridge_node.url})
                else:
                    typer.echo(f"`amlmon demo --serve` keeps it running: API and /metrics on "
                               f"http://{settings.api_host}:{settings.api_port}, database {url}")
    finally:
        engine.dispose()


def _summary(report: dict[str, Any], alerts: int, transfers: int) -> None:
    items = report["items"]
    shown: dict[str, dict[str, Any]] = {}
    for entry in items:  # highest risk first: keep the first address of each leading rule
        shown.setdefault(entry["reasons"][0]["rule"], entry)
    rows = [{"risk": entry["risk_score"], "severity": entry["severity"],
             "address": entry["address"],
             "reasons": "; ".join(f"{r['rule']}: {r['detail']}" for r in entry["reasons"][:2])}
            for entry in list(shown.values())[:15]]
    print_rows(rows, ("risk", "severity", "address", "reasons"), ListFormat.table,
               f"Top flagged address per typology ({len(items)} flagged in a "
               f"{transfers:,}-transfer history; {alerts} alerts raised)", width=160)


def _case_hint(pattern: dict[str, Any], url: str) -> None:
    """Name one pattern and the command that opens a case from it, ready to paste."""
    roles = Counter(role for _, role in pattern["members"])
    typer.echo(f"pattern {pattern['id']}, {pattern['typology']}, {len(pattern['members'])} "
               "members (" + ", ".join(f"{role.replace('_', ' ')} {n}"
                                       for role, n in roles.items())
               + f"): {pattern['title']}")
    title = f"{pattern['typology'].replace('_', ' ')} network (pattern {pattern['id']})"
    typer.echo("open a case from it: " + shlex.join(
        [f"AMLMON_DATABASE_URL={url}", *_program(), "case", "open",
         "--pattern", str(pattern["id"]), "--title", title]))


def _program() -> list[str]:
    """How this amlmon was started, so that the printed commands run as they are."""
    if Path(sys.argv[0]).name == "amlmon":
        return [sys.argv[0]]
    return [sys.executable, "-m", "monitor.cli"]


def _serve(settings: Settings, engine: Engine, sessions: sessionmaker[Session],
           nodes: dict[int, str]) -> None:
    from monitor.apikeys import create_key
    from monitor.cli.api import serve
    from monitor.daemon import Daemon
    from monitor.demo import CHAIN_NAMES

    live = settings.model_copy(update={"rpc_urls": [], "chain_id": None, "chains": [
        ChainSettings(chain_id=chain_id, name=CHAIN_NAMES[chain_id], rpc_urls=[url],
                      confirmations=0)
        for chain_id, url in nodes.items()]})
    with db.transaction(sessions) as session:  # so that the API can be tried at once
        _, key = create_key(session, "demo", "admin")
    base = f"http://{settings.api_host}:{settings.api_port}"
    daemon = Daemon(live, engine, sessions, live.chain_list())
    daemon.start()
    typer.echo(f"serving: API and /metrics on {base} (Ctrl-C to stop); nodes "
               + ", ".join(f"{CHAIN_NAMES[c]} {url}" for c, url in nodes.items()) + "\n"
               f"  demo admin key: {key}\n"
               f"  try: curl -H 'X-API-Key: {key}' '{base}/api/v1/alerts?limit=5'\n"
               f"  API documentation: {base}/docs")
    try:
        serve(live, sessions, settings.api_host, settings.api_port)
    finally:
        daemon.shutdown()
