"""A fault-injecting HTTP proxy in front of a real node: the faults anvil cannot produce.

Requests go to the real upstream unless the proxy decides (seeded, so a failing test
replays) to answer with a fault instead: HTTP 500/429, a reply slower than the client's
timeout, a truncated or non-JSON body, a JSON-RPC error envelope, a dropped connection,
or an eth_getLogs "too many results" refusal. `counts` says what was injected.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

FAULTS = (
    "http_500", "http_429", "timeout", "truncated", "invalid_json", "rpc_error", "drop",
    "too_many_results",
)


class FaultProxy:
    def __init__(
        self,
        upstream: str,
        *,
        faults: Sequence[str] = FAULTS,
        rate: float = 0.0,
        seed: int = 0,
        delay: float = 2.0,
        max_getlogs_range: int | None = None,
    ) -> None:
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}")
        self.upstream = upstream
        self.faults = list(faults)
        self.rate = rate
        self.delay = delay
        self.max_getlogs_range = max_getlogs_range
        self.counts: Counter[str] = Counter()
        self.requests = 0
        self.getlogs: list[dict[str, Any]] = []  # every eth_getLogs filter received
        self._random = random.Random(seed)
        self._owed_refusal = False
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=60)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _pick(self, body: Any) -> str | None:
        with self._lock:
            self.requests += 1
            method = body.get("method") if isinstance(body, dict) else None
            if method == "eth_getLogs":
                self.getlogs.append(body["params"][0])
            if self.max_getlogs_range and method == "eth_getLogs":
                flt = body["params"][0]
                span = int(flt["toBlock"], 16) - int(flt["fromBlock"], 16) + 1
                if span > self.max_getlogs_range:
                    self.counts["range_limit"] += 1
                    return "range_limit"
            if not self.faults or self._random.random() >= self.rate:
                return None
            fault = self._random.choice(self.faults)
            if fault == "too_many_results" and method != "eth_getLogs":
                # Owed to the next faulted eth_getLogs: which requests the draws land on
                # depends on thread timing, and a test expecting every kind missed it.
                fault, self._owed_refusal = "rpc_error", True
            elif self._owed_refusal and method == "eth_getLogs":
                fault, self._owed_refusal = "too_many_results", False
            self.counts[fault] += 1
            return fault

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                body = json.loads(raw)
                fault = proxy._pick(body)
                if fault == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if fault == "http_500":
                    return self._send(500, b"internal server error")
                if fault == "http_429":
                    return self._send(429, b"rate limited")
                if fault == "invalid_json":
                    return self._send(200, b"<html>502 Bad Gateway</html>")
                if fault == "rpc_error":
                    return self._json({"jsonrpc": "2.0", "id": _id(body),
                                       "error": {"code": -32000, "message": "internal error"}})
                if fault in ("too_many_results", "range_limit"):
                    flt = body["params"][0]
                    low = int(flt["fromBlock"], 16)
                    half = (int(flt["toBlock"], 16) - low + 1) // 2
                    message = (
                        f"query returned more than 10000 results. Try with this block range "
                        f"[{hex(low)}, {hex(low + max(half, 1) - 1)}]."
                        if fault == "too_many_results"
                        else f"block range is too large, max range: {proxy.max_getlogs_range}"
                    )
                    return self._json({"jsonrpc": "2.0", "id": _id(body),
                                       "error": {"code": -32005, "message": message}})
                if fault == "timeout":
                    time.sleep(proxy.delay)
                reply = proxy._http.post(proxy.upstream, content=raw,
                                         headers={"content-type": "application/json"})
                content = reply.content
                if fault == "truncated":
                    content = content[: max(len(content) // 2, 1)]
                self._send(reply.status_code, content)

            def _json(self, payload: object) -> None:
                self._send(200, json.dumps(payload).encode())

            def _send(self, status: int, content: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout fault); nothing to tell it

        return Handler

    def start(self) -> None:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._http.close()


def _id(body: Any) -> Any:
    return body.get("id") if isinstance(body, dict) else None


@contextmanager
def fault_proxy(upstream: str, **options: Any) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream, **options)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
