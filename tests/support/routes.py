"""The operations an app serves, read off the app itself, for tests that must cover every
route (auth, body limits) without a hand-kept list going stale."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute


def api_routes(app: FastAPI, prefix: str = "/api/v1") -> list[tuple[str, str, APIRoute]]:
    """(method, path template, route) of every operation under `prefix`. FastAPI lists the
    routes of included routers flat in some versions and behind included-router entries
    (with effective_route_contexts()) in others: both are read."""
    found = []
    for route in app.routes:
        contexts: Any = (route.effective_route_contexts()  # type: ignore[attr-defined]
                         if hasattr(route, "effective_route_contexts") else [route])
        for context in contexts:
            original = getattr(context, "original_route", context)
            if isinstance(original, APIRoute) and context.path.startswith(prefix):
                found += [(method, context.path, original) for method in sorted(context.methods)]
    return found
