"""Request bodies are refused before they are read: 401 without a valid key, 403 for a
role too low, 413 over the route's limit, whether the size is declared (Content-Length)
or only shows as the bytes stream in (chunked). What the app pulled is counted on the
ASGI side, so "not read" is measured, not inferred from timing or process size."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from monitor.api.app import create_app
from monitor.api.guard import JSON_BODY_BYTES, GuardedRoute
from monitor.api.routes.admin import MAX_LIST_BYTES
from support.api import serve_app
from support.routes import api_routes

MIB = 2**20
UPLOAD = 150 * MIB
CHUNK = b"0" * MIB


class Upload:
    """A request body of `size` bytes in 1 MiB chunks, counting how much was taken."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.pulled = 0

    def chunks(self) -> Iterator[bytes]:
        while self.pulled < self.size:
            self.pulled += len(CHUNK)
            yield CHUNK


def call(app: Any, method: str, path: str, headers: dict[str, str],
         upload: Upload) -> tuple[int, dict[str, Any]]:
    """One request straight into the ASGI app; (status, JSON body)."""
    chunks = upload.chunks()
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        chunk = next(chunks, None)
        return {"type": "http.request", "body": chunk or b"", "more_body": chunk is not None}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    asyncio.run(app(scope, receive, send))
    [start] = [m for m in sent if m["type"] == "http.response.start"]
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(body)


@pytest.fixture(scope="module")
def app(api: Any) -> Any:
    return create_app(api.settings, api.sessions)


def test_every_api_route_is_guarded_and_answers_401_without_reading_the_body(app: Any) -> None:
    routes = api_routes(app)
    assert len(routes) >= 13 and {m for m, _, _ in routes} >= {"GET", "POST", "PUT", "PATCH",
                                                                 "DELETE"}
    for method, path, route in routes:
        assert isinstance(route, GuardedRoute), (method, path)
        concrete = path.replace("{", "").replace("}", "")  # any value: auth comes first
        for headers in ({"transfer-encoding": "chunked"},  # size unknown
                        {"content-length": str(UPLOAD)},
                        {"content-length": str(UPLOAD), "x-api-key": "amk_0123456789ab_x"}):
            upload = Upload(UPLOAD)
            status, body = call(app, method, concrete, headers, upload)
            assert (status, upload.pulled) == (401, 0), (method, path, headers, body)


def test_a_role_too_low_is_refused_before_the_body(app: Any, api: Any) -> None:
    upload = Upload(UPLOAD)
    status, body = call(app, "PUT", "/api/v1/watchlists/big", {
        "x-api-key": api.keys["investigator"], "content-type": "text/plain",
        "transfer-encoding": "chunked"}, upload)
    assert (status, upload.pulled) == (403, 0), body
    assert "needs the admin role" in body["error"]


@pytest.mark.parametrize(("path", "limit", "content_type"), [
    ("/api/v1/watchlists/big", MAX_LIST_BYTES, "text/plain"),
    ("/api/v1/keys", JSON_BODY_BYTES, "application/json"),
])
def test_over_the_limit_is_413_by_content_length_unread_and_by_stream_at_the_limit(
    app: Any, api: Any, path: str, limit: int, content_type: str
) -> None:
    method = "PUT" if "watchlists" in path else "POST"
    headers = {"x-api-key": api.keys["admin"], "content-type": content_type}
    declared = Upload(UPLOAD)
    status, body = call(app, method, path, {**headers, "content-length": str(UPLOAD)},
                        declared)
    assert (status, declared.pulled) == (413, 0)
    assert body == {"error": f"the request body is larger than this endpoint's limit of "
                             f"{limit:,} bytes"}
    streamed = Upload(UPLOAD)
    status, body = call(app, method, path, {**headers, "transfer-encoding": "chunked"},
                        streamed)
    assert status == 413, body
    assert limit < streamed.pulled <= limit + len(CHUNK)  # stopped at the first chunk over


class Counted:
    """An ASGI app that counts the body bytes it takes from the server."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.received = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def counted() -> Any:
            message = await receive()
            self.received += len(message.get("body", b""))
            return message

        await self.app(scope, counted, send)


def test_over_a_real_socket_the_app_takes_nothing_before_auth(app: Any, api: Any) -> None:
    """The same through uvicorn and a client streaming 150 MiB: the app takes no byte
    without a valid key, and no more than the limit with one. (uvicorn drops what the
    client sends after the answer, so nothing piles up in the server either.)"""
    counted = Counted(app)
    with serve_app(counted) as base:
        for headers, status in (({}, 401), ({"X-API-Key": api.keys["admin"]}, 413)):
            counted.received = 0
            answer = httpx.put(f"{base}/api/v1/watchlists/big", content=Upload(UPLOAD).chunks(),
                               headers={"content-type": "text/plain", **headers}, timeout=120)
            assert answer.status_code == status, answer.text
            assert counted.received == 0 if status == 401 else (
                MAX_LIST_BYTES < counted.received <= MAX_LIST_BYTES + len(CHUNK))
