"""Headers every response carries, and the API docs page that fits under them.

`X-Content-Type-Options: nosniff` on every response, so nothing is ever read as another
type than it says. Every HTML response has a Content-Security-Policy: the reports' policy
(monitor.reports.html) unless the page set its own, as the API docs page does.
"""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.reports.html import CONTENT_SECURITY_POLICY, script_hash


class SecurityHeaders:
    """ASGI middleware adding the headers as each response starts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                if (headers.get("content-type", "").startswith("text/html")
                        and "content-security-policy" not in headers):
                    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
            await send(message)

        await self.app(scope, receive, send_with_headers)


def add_docs_page(app: FastAPI, path: str = "/docs") -> None:
    """Swagger UI (FastAPI's page, built once) with a policy made for it: its bundle and
    stylesheet from the CDN FastAPI names, its one inline script by hash, its requests to
    this server only. (Create the app with docs_url=None.)"""
    page = bytes(get_swagger_ui_html(openapi_url=str(app.openapi_url),
                                     title=f"{app.title} - API docs").body).decode()
    inline = re.findall(r"<script>(.*?)</script>", page, re.DOTALL)
    policy = ("default-src 'none'; script-src https://cdn.jsdelivr.net "
              + " ".join(script_hash(s) for s in inline)
              + "; style-src https://cdn.jsdelivr.net 'unsafe-inline'; "
                "img-src https://fastapi.tiangolo.com data:; connect-src 'self'; "
                "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

    @app.get(path, include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page, headers={"Content-Security-Policy": policy})
