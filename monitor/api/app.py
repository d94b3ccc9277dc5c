"""The FastAPI application: health, readiness, metrics and /api/v1.

Every error is `{"error": "<one line>"}` with a 4xx status for what the client can fix;
unexpected failures are logged with their traceback and answered with a bare 500, so no
internals leak. A database outage is a 503, not a 500: the client should retry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

import monitor
from monitor import db
from monitor.api.auth import Unauthorized
from monitor.api.headers import SecurityHeaders, add_docs_page
from monitor.api.routes import admin, alerts, cases, patterns, reports
from monitor.api.routes.audit import router as audit_router
from monitor.api.routes.bridges import router as bridges_router
from monitor.api.routes.labels import router as labels_router
from monitor.api.routes.rules import router as rules_router
from monitor.api.routes.suppressions import router as suppressions_router
from monitor.api.schemas import ReadyOut
from monitor.errors import Conflict, NotFound, UserError
from monitor.ingest.follow import BOARD
from monitor.metrics import REGISTRY
from monitor.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings, sessions: sessionmaker[Session],
               read_sessions: sessionmaker[Session] | None = None,
               rescreen_soon: Callable[[], None] | None = None) -> FastAPI:
    """The app on the primary database (`sessions`); `read_sessions`, a read replica, serves
    the investigator reads when given (settings.read_database_url). `rescreen_soon` is
    called after a list upload has marked the tokens for re-screening (amlmon api's
    background task); without it the daemon's next `score` tick does the work."""
    app = FastAPI(
        title="amlmon",
        version=getattr(monitor, "__version__", "0.1.0"),
        description="Anti-money-laundering monitor for tokenized real-world assets: alerts, "
                    "investigator reports, tokens, watchlists. Send an API key as "
                    "`Authorization: Bearer <key>` or `X-API-Key: <key>`; a browser sends it "
                    "as the password of HTTP Basic auth (any user name).",
        docs_url=None, redoc_url=None,  # /docs is ours: it needs a policy of its own
    )
    app.add_middleware(SecurityHeaders)
    app.state.settings = settings
    app.state.sessions = sessions
    # Reports, profiles and lists: the read-heavy part. API keys are always checked on the
    # primary, so a revocation never waits for replication.
    app.state.read_sessions = read_sessions or sessions
    app.state.schema_head = db.head_revision()  # fixed for the life of the process
    app.state.rescreen_soon = rescreen_soon
    _error_handlers(app)
    _health_routes(app)
    add_docs_page(app)
    for router in (alerts.router, reports.router, patterns.router, cases.router, admin.router):
        app.include_router(router)
    for router in (rules_router, audit_router):
        app.include_router(router)
    app.include_router(suppressions_router)
    app.include_router(labels_router)
    app.include_router(bridges_router)
    return app


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))
        if isinstance(exc, Unauthorized):
            for challenge in exc.CHALLENGES:
                response.headers.append("WWW-Authenticate", challenge)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, "; ".join(_describe(e) for e in exc.errors()[:10]))

    @app.exception_handler(UserError)
    async def user_error(_: Request, exc: UserError) -> JSONResponse:
        status = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, Conflict) else 400
        return _error(status, str(exc))

    @app.exception_handler(OperationalError)
    async def database_down(_: Request, exc: OperationalError) -> JSONResponse:
        log.error("database unavailable: %s", _first_line(exc))
        return _error(503, "database unavailable; retry later", {"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", exc_info=exc)
        return _error(500, "internal error")


def _not_ready(reason: str) -> JSONResponse:
    return JSONResponse({"status": "unavailable", "reason": reason}, 503)


def _first_line(exc: DBAPIError) -> str:
    return str(exc.orig or exc).strip().splitlines()[0]


def _describe(error: dict[str, Any]) -> str:
    if error.get("type") == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "")
        return f"body: not valid JSON{f' ({reason})' if reason else ''}"
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {message}"


def _health_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is up (no dependency checked)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], response_model=ReadyOut,
             responses={503: {"model": ReadyOut, "description": "Not ready, and why"}})
    def readyz(request: Request) -> JSONResponse:
        """Ready to serve: the database (and the read replica, if one is configured) answers
        and its schema is at the migrations' head. `chains`: each chain this process follows,
        with its cursor, head, lag and status (ok, lagging, down); a chain that is down does
        not make the API unready. Anyone may ask, so a failure is answered
        with a short category; the details (which can name hosts) go to the log."""
        state = request.app.state
        databases = [("database", state.sessions)]
        if state.read_sessions is not state.sessions:
            databases.append(("replica", state.read_sessions))
        current = None
        for label, sessions in databases:
            try:
                with sessions() as session:
                    session.execute(text("SELECT 1"))
                    engine = session.get_bind()
                current = db.current_revision(engine)
            except DBAPIError as exc:
                log.error("not ready: %s unreachable: %s", label, _first_line(exc))
                return _not_ready(f"{label} unreachable")
            if current != state.schema_head:
                log.error("not ready: %s schema is at %s, not %s: run `amlmon db upgrade`%s",
                          label, current, state.schema_head,
                          " on the primary" if label != "database" else "")
                return _not_ready(f"{label} schema not at head")
        # A chain whose nodes are down stays listed as such; the API still serves what is
        # stored, so readiness (taking traffic) does not depend on it. Cursors are read on
        # the primary, where ingest writes them.
        chains: list[dict[str, Any]] = []
        if BOARD:
            try:
                with state.sessions() as session:
                    chains = [c.as_dict() for c in BOARD.states(session)]
            except DBAPIError as exc:
                log.error("not ready: database unreachable: %s", _first_line(exc))
                return _not_ready("database unreachable")
        return JSONResponse({"status": "ready", "schema": current, "chains": chains})

    @app.get("/metrics", tags=["health"], response_class=Response)
    def metrics() -> Response:
        """Prometheus metrics (docs/metrics.md)."""
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
