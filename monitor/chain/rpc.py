"""JSON-RPC over HTTP(S): timeouts, retries with backoff and jitter, failover, rate limit.

This is the only code that speaks JSON-RPC to nodes. It sits on httpx and orjson rather
than web3's provider because ingest is bound by how fast eth_getLogs replies are parsed:
on the same anvil node `bench/ingest.py` measures orjson decoding several times faster
than web3's `make_request`, whose middleware and json module dominate the profile. web3
stays the tool for contract calls (`monitor.chain.metadata`).

Failure handling, per attempt:
- connection errors, timeouts, HTTP 429/5xx, bodies that are not JSON-RPC, and JSON-RPC
  error envelopes are *retryable*: the client rotates to the next URL and retries with
  exponential backoff and jitter, up to `max_retries` attempts, then raises RpcUnavailable;
- an eth_getLogs refusal ("query returned more than 10000 results", "block range is too
  large", a timeout, …) raises RangeTooLarge at once, with the provider's suggested range
  when the message has one, so that the log fetcher can split the range instead.
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any

import httpx
import orjson
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from monitor import metrics
from monitor.chain.decode import LogsReply
from monitor.chain.rawlogs import parse_reply
from monitor.redact import redact_url, scrub, secrets_of

log = logging.getLogger(__name__)

# Largest JSON-RPC batch sent in one HTTP request; public providers cap batches near 100.
MAX_BATCH = 100

_REFUSAL = re.compile(
    r"more than \d[\d,]* results|too many (results|logs|blocks)|block range|range (is )?too "
    r"(large|wide|big)|limit exceeded|exceed(s|ed)? (the )?(max|maximum|limit)|response size|"
    r"max(imum)? (block )?range|is limited to|query timeout|timed? ?out|returned too many|"
    r"log response size",
    re.IGNORECASE,
)
# Infura/Alchemy style "[0x1, 0x2c]" and plain "up to a 2,000 block range"/"max range: 5000".
_SUGGESTED_BOUNDS = re.compile(r"\[\s*(0x[0-9a-fA-F]+)\s*,\s*(0x[0-9a-fA-F]+)\s*\]")
_SUGGESTED_SPAN = re.compile(
    r"(?:up to a|limited to a?|max(?:imum)?(?: block)? range(?: is| of)?:?|range of|"
    r"range limit(?: of)?:?)\s*(\d[\d,]*)",
    re.IGNORECASE,
)


class RpcError(Exception):
    """A JSON-RPC request failed; the message says which method and why."""


class RpcUnavailable(RpcError):
    """Every attempt on every endpoint failed."""


class RangeTooLarge(RpcError):
    """The provider refused an eth_getLogs range; `suggested` is its hint in blocks, if any."""

    def __init__(self, message: str, suggested: int | None = None) -> None:
        super().__init__(message)
        self.suggested = suggested


class _Retryable(Exception):
    def __init__(self, outcome: str, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome


def parse_refusal(message: str) -> RangeTooLarge | None:
    """A RangeTooLarge for a provider's range refusal message, else None."""
    if not _REFUSAL.search(message):
        return None
    suggested = None
    bounds = _SUGGESTED_BOUNDS.search(message)
    if bounds:
        low, high = int(bounds.group(1), 16), int(bounds.group(2), 16)
        suggested = max(high - low + 1, 1)
    else:
        span = _SUGGESTED_SPAN.search(message)
        if span:
            suggested = max(int(span.group(1).replace(",", "")), 1)
    return RangeTooLarge(message, suggested)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default verifying context (CA bundle, SSL_CERT_FILE/DIR honoured), built once
    per process: loading the CA bundle costs ~25 ms, and `ingest --once` opens two clients."""
    return httpx.create_ssl_context()


class RpcClient:
    """A JSON-RPC client of one chain with several endpoints. Safe to share between threads."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        chain: str = "unknown",
        timeout: float = 10.0,
        max_retries: int = 5,
        requests_per_second: float | None = None,
        backoff_initial: float = 0.2,
        backoff_max: float = 10.0,
    ) -> None:
        if not urls:
            raise ValueError("at least one RPC URL is required")
        self.urls = list(urls)
        # URLs carry API keys: messages and logs name an endpoint only by its redaction.
        self._shown = {url: redact_url(url) for url in self.urls}
        self._secrets = [secret for url in self.urls for secret in secrets_of(url)]
        self.chain = chain
        self.max_retries = max_retries
        self._timeout = timeout
        self._wait = wait_exponential_jitter(multiplier=backoff_initial, max=backoff_max)
        self._http = httpx.Client(
            timeout=timeout,
            verify=_tls_context(),
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=8),
            headers={"content-type": "application/json"},
        )
        self._current = 0
        self._lock = threading.Lock()
        self._interval = 1.0 / requests_per_second if requests_per_second else 0.0
        self._next_slot = 0.0
        self._ids = itertools.count(1)

    # -- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RpcClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def url(self) -> str:
        """The endpoint requests currently go to."""
        return self.urls[self._current]

    # -- requests ----------------------------------------------------------------------

    def call(self, method: str, params: Sequence[Any] = (), *, range_query: bool = False,
             fast: Callable[[bytes], Any] | None = None) -> Any:
        """One request; `range_query` turns refusals and timeouts into RangeTooLarge. `fast`
        may read a success reply's bytes first (see _post)."""
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        return self._retrying(method, lambda url: self._single(url, method, body, range_query,
                                                               fast))

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Several requests in JSON-RPC batches; results in the order of `calls`."""
        results: list[Any] = []
        for start in range(0, len(calls), MAX_BATCH):
            chunk = calls[start:start + MAX_BATCH]
            first = next(self._ids)
            body = [
                {"jsonrpc": "2.0", "id": first + i, "method": method, "params": list(params)}
                for i, (method, params) in enumerate(chunk)
            ]
            # Reserve the ids this batch used.
            for _ in range(len(chunk) - 1):
                next(self._ids)
            label = chunk[0][0] if len({m for m, _ in chunk}) == 1 else "batch"
            results.extend(
                self._retrying(
                    label, lambda url, b=body, f=first, m=label: self._batch(url, m, b, f)
                )
            )
        return results

    def chain_id(self) -> int:
        return int(self.call("eth_chainId"), 16)

    def block_number(self) -> int:
        return int(self.call("eth_blockNumber"), 16)

    def get_block(self, number: int) -> dict[str, Any] | None:
        block = self.call("eth_getBlockByNumber", [hex(number), False])
        return block if isinstance(block, dict) else None

    def get_blocks(self, numbers: Iterable[int]) -> list[dict[str, Any] | None]:
        """Headers of many blocks in batches; None for a block the node does not have."""
        replies = self.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        return [r if isinstance(r, dict) else None for r in replies]

    def get_logs(
        self,
        addresses: Sequence[str],
        topics0: Sequence[str],
        from_block: int,
        to_block: int,
        *,
        refusable: bool = True,
        fast: bool = True,
    ) -> LogsReply:
        """eth_getLogs of some contracts and event kinds over [from_block, to_block].

        With `refusable`, a range refusal or timeout raises RangeTooLarge for the caller to
        split the range; without (a single block cannot be split), it is retried like any
        other failure. A success reply of plain transfers in a known layout is read by
        `rawlogs.parse_reply` from its bytes (no dicts unless asked for); any other reply,
        or every one with `fast=False`, is parsed by orjson.
        """
        flt = {
            "fromBlock": hex(from_block),
            "toBlock": hex(to_block),
            "address": list(addresses),
            "topics": [list(topics0)],
        }
        result = self.call("eth_getLogs", [flt], range_query=refusable,
                           fast=parse_reply if fast else None)
        if isinstance(result, LogsReply):
            return result
        if not isinstance(result, list):
            raise RpcError(f"eth_getLogs returned {type(result).__name__}, not a list")
        return LogsReply.of(result)

    # -- internals ---------------------------------------------------------------------

    def _retrying(self, method: str, attempt: Any) -> Any:
        retrying = Retrying(
            stop=stop_after_attempt(self.max_retries),
            wait=self._wait,
            retry=retry_if_exception_type(_Retryable),
            before_sleep=self._before_sleep(method),
            reraise=True,
        )
        try:
            for tried in retrying:
                with tried:
                    url = self.url
                    try:
                        return attempt(url)
                    except _Retryable:
                        self._rotate(url)
                        raise
        except _Retryable as exc:
            raise RpcUnavailable(
                f"{method} failed after {self.max_retries} attempt(s) on "
                f"{len(self.urls)} endpoint(s): {exc}"
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover - Retrying always returns/raises

    def _before_sleep(self, method: str) -> Any:
        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "rpc %s attempt %s failed (%s); retrying on %s in %.2fs",
                method, state.attempt_number, exc, self._shown[self.url],
                state.next_action.sleep if state.next_action else 0.0,
            )
        return before_sleep

    def _rotate(self, failed_url: str) -> None:
        with self._lock:
            if len(self.urls) > 1 and self.urls[self._current] == failed_url:
                self._current = (self._current + 1) % len(self.urls)

    def _throttle(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self._interval
        if slot > now:
            time.sleep(slot - now)

    def _post(self, url: str, method: str, body: Any, range_query: bool,
              fast: Callable[[bytes], Any] | None = None) -> Any:
        """POST one body and parse the reply; raises _Retryable or RangeTooLarge. `fast`
        may read a 2xx reply's bytes first: what it returns (unless None) is the result,
        wrapped in _Fast; otherwise orjson parses the reply as always."""
        self._throttle()
        started = time.perf_counter()
        outcome = "ok"
        try:
            try:
                with self._http.stream("POST", url, content=orjson.dumps(body)) as reply:
                    # Not reply.read(): httpx keeps a response in a reference cycle, so a
                    # body stored on it (megabytes for 10,000 logs) would live until the
                    # next full collection instead of until this function returns.
                    content = b"".join(reply.iter_bytes())
            except httpx.TimeoutException as exc:
                outcome = "timeout"
                if range_query:
                    raise RangeTooLarge(f"{method} timed out on {self._shown[url]}") from exc
                raise _Retryable(outcome, f"timeout on {self._shown[url]}") from exc
            except httpx.TransportError as exc:
                outcome = "connection_error"
                raise _Retryable(outcome, f"{type(exc).__name__} on {self._shown[url]}: "
                                          f"{scrub(str(exc), self._secrets)}") from exc
            if reply.status_code == 429:
                outcome = "rate_limited"
                raise _Retryable(outcome, f"HTTP 429 from {self._shown[url]}")
            if reply.status_code >= 500 or reply.status_code >= 400 and not content:
                outcome = "http_error"
                raise _Retryable(outcome, f"HTTP {reply.status_code} from {self._shown[url]}")
            if fast is not None and reply.status_code < 300:
                parsed = fast(content)
                if parsed is not None:
                    return _Fast(parsed)
            try:
                return orjson.loads(content)
            except orjson.JSONDecodeError as exc:
                outcome = "invalid_response"
                raise _Retryable(outcome, f"invalid JSON from {self._shown[url]}: {exc}") from exc
        except RangeTooLarge:
            outcome = "refused"
            raise
        finally:
            metrics.rpc_request_seconds.labels(method).observe(time.perf_counter() - started)
            if outcome != "ok":
                metrics.rpc_requests_total.labels(self.chain, method, outcome).inc()

    def _single(self, url: str, method: str, body: dict[str, Any], range_query: bool,
                fast: Callable[[bytes], Any] | None = None) -> Any:
        reply = self._post(url, method, body, range_query, fast)
        result = reply.value if isinstance(reply, _Fast) else self._unwrap(
            url, method, reply, range_query)
        metrics.rpc_requests_total.labels(self.chain, method, "ok").inc()
        return result

    def _batch(self, url: str, label: str, body: list[dict[str, Any]], first: int) -> list[Any]:
        reply = self._post(url, label, body, False)
        if not isinstance(reply, list) or len(reply) != len(body):
            self._count(label, "invalid_response")
            raise _Retryable("invalid_response", f"malformed batch reply from {self._shown[url]}")
        by_id: dict[Any, Any] = {}
        for item in reply:
            if not isinstance(item, dict) or "id" not in item:
                self._count(label, "invalid_response")
                raise _Retryable("invalid_response",
                                 f"malformed batch item from {self._shown[url]}")
            by_id[item["id"]] = item
        results = []
        for i, request in enumerate(body):
            item = by_id.get(first + i)
            if item is None:
                self._count(label, "invalid_response")
                raise _Retryable("invalid_response",
                                 f"batch reply from {self._shown[url]} misses an id")
            results.append(self._unwrap(url, request["method"], item, False))
        metrics.rpc_requests_total.labels(self.chain, label, "ok").inc(len(body))
        return results

    def _unwrap(self, url: str, method: str, reply: Any, range_query: bool) -> Any:
        if not isinstance(reply, dict):
            self._count(method, "invalid_response")
            raise _Retryable("invalid_response",
                             f"reply from {self._shown[url]} is not a JSON-RPC object")
        if "error" in reply:
            error = reply["error"]
            message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
            if range_query:
                refusal = parse_refusal(str(message))
                if refusal is not None:
                    self._count(method, "refused")
                    raise refusal
            self._count(method, "rpc_error")
            raise _Retryable("rpc_error", f"{method} error from {self._shown[url]}: "
                                          f"{scrub(str(message), self._secrets)}")
        if "result" not in reply:
            self._count(method, "invalid_response")
            raise _Retryable("invalid_response", f"reply from {self._shown[url]} has no result")
        return reply["result"]

    def _count(self, method: str, outcome: str) -> None:
        metrics.rpc_requests_total.labels(self.chain, method, outcome).inc()


class _Fast:
    """A result a `fast` reader took from a success reply's bytes."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

