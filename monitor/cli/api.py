"""`amlmon api` (the HTTP API alone) and `amlmon apikey create|revoke|list`."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated

import typer
from sqlalchemy.orm import Session, sessionmaker

from models.auth import ROLES
from monitor import logs
from monitor.apikeys import create_key, list_keys, revoke_key
from monitor.cli.actor import default_actor
from monitor.cli.context import AppContext
from monitor.cli.output import ListFormat, print_rows
from monitor.db import make_engine, session_factory, transaction
from monitor.scoring import rules_file
from monitor.settings import Settings

log = logging.getLogger(__name__)
apikey_app = typer.Typer(help="API keys: create (shown once), revoke, list.",
                         no_args_is_help=True)


# The models' roles; mypy cannot enumerate members built from a list (the ignore).
Role = StrEnum("Role", {r: r for r in ROLES})  # type: ignore[misc]


def serve(settings: Settings, sessions: sessionmaker[Session], host: str, port: int,
          rescreen_soon: Callable[[], None] | None = None) -> None:
    """Serve the API until SIGTERM/SIGINT (uvicorn handles both and stops gracefully)."""
    import uvicorn

    from monitor.api.app import create_app

    replica = make_engine(settings.read_database_url) if settings.read_database_url else None
    try:
        app = create_app(settings, sessions,
                         session_factory(replica) if replica is not None else None,
                         rescreen_soon)
        if threading.current_thread() is threading.main_thread():
            # uvicorn stops gracefully on SIGTERM/SIGINT, then re-raises the signal to the
            # handler that was there before it: make that one a no-op so that we exit 0.
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: None)
        uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None,
                                      access_log=False)).run()
    finally:
        if replica is not None:
            replica.dispose()


def api(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Bind address (default: api_host)")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535,
                                             help="Port (default: api_port)")] = None,
) -> None:
    """Serve the HTTP API (and /metrics) without ingesting; a list uploaded through it is
    screened against the stored history in the background."""
    context: AppContext = ctx.obj
    settings = context.settings
    rules_file.load(settings)  # reports and re-screens use it: refuse a bad one now
    logs.configure(settings)
    with Rescreens(settings, context.sessions) as rescreens:
        serve(settings, context.sessions, host or settings.api_host, port or settings.api_port,
              rescreens.soon)


class Rescreens:
    """`amlmon api`'s background task: re-screens the tokens a list upload marked (PUT
    /watchlists answers 202 at once), soon after each upload and every
    score_interval_seconds, for marks made while it was down. Runs take turns with any
    daemon's through the per-token scoring lock, and a token already done is skipped."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="rescreen", daemon=True)

    def soon(self) -> None:
        self.wake.set()

    def _run(self) -> None:
        from monitor import jobs  # the scoring stack: only once serving

        while not self.stopping.is_set():
            self.wake.clear()  # an upload during the run below wakes the next one
            try:
                summary = jobs.rescreen(self.sessions, self.settings)
                if summary.runs:
                    log.info("re-screened %s token(s): %s alert(s) new, %s updated",
                             len(summary.runs), summary.alerts_created, summary.alerts_updated)
            except Exception as exc:  # logged; the marks stay, so the next pass retries
                log.error("re-screen failed (retrying later): %s: %s", type(exc).__name__, exc)
            self.wake.wait(self.settings.score_interval_seconds)

    def __enter__(self) -> Rescreens:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        """Stop after the run in progress commits (or rolls back)."""
        self.stopping.set()
        self.wake.set()
        self.thread.join()


@apikey_app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Who or what uses the key (the audit-trail actor)")],
    role: Annotated[Role, typer.Option(help="viewer: read; investigator: + triage, cases; "
                                            "supervisor: + approve case closes; "
                                            "admin: + keys, tokens, watchlists")],
) -> None:
    """Create a key and print it once: only a salted hash is stored."""
    context: AppContext = ctx.obj
    with transaction(context.sessions) as session:
        _, secret = create_key(session, name, role.value, actor=default_actor())
    typer.echo(secret)
    typer.echo(f"created {role.value} key {name!r}; store it now, it is not shown again",
               err=True)


@apikey_app.command("revoke")
def revoke(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="The key's name")],
) -> None:
    """Revoke a key: it is refused from the next request on."""
    context: AppContext = ctx.obj
    with transaction(context.sessions) as session:
        key = revoke_key(session, name, actor=default_actor())
        typer.echo(f"revoked key {key.name!r} ({key.role})")


@apikey_app.command("list")
def list_(
    ctx: typer.Context,
    fmt: Annotated[ListFormat, typer.Option("--format")] = ListFormat.table,
) -> None:
    """Keys with their role and state (never their secrets)."""
    context: AppContext = ctx.obj
    with context.sessions() as session:
        rows = [{"name": k.name, "role": k.role, "prefix": k.prefix,
                 "created_at": k.created_at.isoformat(),
                 "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None,
                 "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None}
                for k in list_keys(session)]
    print_rows(rows, ("name", "role", "prefix", "created_at", "last_used_at", "revoked_at"), fmt,
               width=160)
