"""The `amlmon` command line. User errors print one line on stderr and exit non-zero."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from monitor.chain.rpc import RpcError
from monitor.cli import alerts as alert_commands
from monitor.cli import api as api_commands
from monitor.cli import db as db_commands
from monitor.cli import demo as demo_command
from monitor.cli import ingest as ingest_command
from monitor.cli import run as run_command
from monitor.cli import score as score_commands
from monitor.cli import tokens as token_commands
from monitor.cli import transfers as transfer_commands
from monitor.cli import watchlist as watchlist_commands
from monitor.cli.context import AppContext
from monitor.errors import UserError
from monitor.ingest.poller import ChainMovedDuringFetch
from monitor.settings import ConfigError

app = typer.Typer(
    name="amlmon",
    help="Anti-money-laundering monitor for tokenized real-world assets on EVM chains.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(db_commands.app, name="db")
app.add_typer(alert_commands.app, name="alerts")
app.add_typer(token_commands.app, name="token")
app.add_typer(transfer_commands.app, name="transfers")
app.add_typer(watchlist_commands.app, name="watchlist")
app.command("ingest")(ingest_command.ingest)
app.command("run")(run_command.run)
app.command("api")(api_commands.api)
app.add_typer(api_commands.apikey_app, name="apikey")
app.command("demo")(demo_command.demo)
app.command("score")(score_commands.score)
app.add_typer(score_commands.report_app, name="report")


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="YAML config file (else $AMLMON_CONFIG, else "
                     "config/monitor.yaml if present)"),
    ] = None,
) -> None:
    ctx.obj = AppContext(config_file=config)
    ctx.call_on_close(ctx.obj.close)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the process exit status."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="amlmon", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        return _fail("interrupted", 130)
    except typer.TyperException as exc:
        # Typer vendors click; its usage errors carry format_message() and exit_code.
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        code = getattr(exc, "exit_code", 2)
        if type(exc).__name__ == "NoArgsIsHelpError":
            print(message)
            return code
        return _fail(message, code)
    except (UserError, ConfigError) as exc:
        return _fail(str(exc), 2)
    except RpcError as exc:
        return _fail(f"node unavailable: {_first_line(exc)}", 1)
    except ChainMovedDuringFetch as exc:
        return _fail(f"the chain kept reorganising during ingest; run it again: {exc}", 1)
    except SQLAlchemyError as exc:
        message = _first_line(exc)
        if "no such table" in message or "does not exist" in message:
            message += " (run `amlmon db upgrade` first)"
        return _fail(f"database error: {message}", 1)
    return result if isinstance(result, int) else 0


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _fail(message: str, code: int) -> int:
    print(f"amlmon: error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
