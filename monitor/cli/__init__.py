"""The `amlmon` command line. User errors print one line on stderr and exit non-zero.

Each command's module is imported only when that command runs (or when a help page lists
it): importing all of them pulled in FastAPI, scikit-learn, web3 and friends, about 0.5 s
of every `amlmon ingest --once`.
"""

from __future__ import annotations

import gc
import importlib
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from monitor import memory

# name -> "module:attribute", a command function or a Typer sub-app, in help order.
_COMMANDS = {
    "ingest": "monitor.cli.ingest:ingest",
    "run": "monitor.cli.run:run",
    "api": "monitor.cli.api:api",
    "demo": "monitor.cli.demo:demo",
    "score": "monitor.cli.score:score",
    "db": "monitor.cli.db:app",
    "alerts": "monitor.cli.alerts:app",
    "case": "monitor.cli.cases:app",
    "chain": "monitor.cli.chains:app",
    "token": "monitor.cli.tokens:app",
    "bridge": "monitor.cli.bridges:app",
    "transfers": "monitor.cli.transfers:app",
    "watchlist": "monitor.cli.watchlist:app",
    "apikey": "monitor.cli.api:apikey_app",
    "report": "monitor.cli.score:report_app",
    "suppress": "monitor.cli.suppress:app",
    "rules": "monitor.cli.rules:app",
    "audit": "monitor.cli.audit:app",
    "labels": "monitor.cli.labels:app",
    "model": "monitor.cli.model:app",
}


class _LazyGroup(TyperGroup):
    def list_commands(self, ctx: Any) -> list[str]:
        eager = super().list_commands(ctx)
        return [*eager, *(name for name in _COMMANDS if name not in eager)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in _COMMANDS:
            self.add_command(_load(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)


def _load(name: str) -> Any:
    """The click command of one entry of _COMMANDS, built as app.command/add_typer would."""
    module, attribute = _COMMANDS[name].split(":")
    target = getattr(importlib.import_module(module), attribute)
    holder = typer.Typer(add_completion=False, pretty_exceptions_enable=False,
                         rich_markup_mode=None)
    holder.callback()(lambda: None)  # a callback makes get_command build a group
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
    else:
        holder.command(name)(target)
    group = typer.main.get_command(holder)
    assert isinstance(group, TyperGroup)
    return group.commands[name]


app = typer.Typer(
    name="amlmon",
    help="Anti-money-laundering monitor for tokenized real-world assets on EVM chains.",
    cls=_LazyGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="YAML config file (else $AMLMON_CONFIG, else "
                     "config/monitor.yaml if present)"),
    ] = None,
) -> None:
    # Here, not at the top, so that it loads (SQLAlchemy, pydantic) with main()'s
    # collector off.
    from monitor.cli.context import AppContext

    # The command's module is imported by now (before this callback runs): what exists
    # lives as long as the process, so collections need never scan it again.
    gc.freeze()
    gc.enable()
    ctx.obj = AppContext(config_file=config)
    ctx.call_on_close(ctx.obj.close)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the process exit status."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    memory.return_freed_arrays()  # a scoring run's temporaries must not stay resident
    # Importing a command builds hundreds of thousands of objects that all live on; the
    # collections they trigger found nothing and cost 0.1 s. root() turns it back on.
    # Commands may also freeze and retune the collector (ingest does); both are undone
    # on the way out, for callers that go on living (tests run commands in-process).
    threshold = gc.get_threshold()
    gc.disable()
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
    except Exception as exc:
        failure = _known_failure(exc)
        if failure is None:
            raise
        return _fail(*failure)
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
        gc.enable()
    return result if isinstance(result, int) else 0


def _known_failure(exc: Exception) -> tuple[str, int] | None:
    """Message and exit status for the errors a user can cause or fix, else None.

    Imported here, not at the top: these modules are loaded by whichever command raised,
    and `amlmon --help` should not pay for them.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from monitor.chain.rpc import RpcError
    from monitor.errors import UserError
    from monitor.ingest.poller import ChainMovedDuringFetch
    from monitor.settings import ConfigError

    if isinstance(exc, UserError | ConfigError):
        return str(exc), 2
    if isinstance(exc, RpcError):
        return f"node unavailable: {_first_line(exc)}", 1
    if isinstance(exc, ChainMovedDuringFetch):
        return f"the chain kept reorganising during ingest; run it again: {exc}", 1
    if isinstance(exc, SQLAlchemyError):
        message = _first_line(exc)
        if "no such table" in message or "does not exist" in message:
            message += " (run `amlmon db upgrade` first)"
        return f"database error: {message}", 1
    return None


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _fail(message: str, code: int) -> int:
    print(f"amlmon: error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
