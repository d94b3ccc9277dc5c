"""eth_getLogs over long block ranges, in adaptive chunks, fetched ahead of the consumer.

The chunk size follows the provider: a refusal ("too many results", "block range too
large", a timeout) splits the range (to the provider's suggested size when it names one);
replies well under the result budget let the range double again up to `max_range`; replies
far over it halve it. That keeps each reply, and so memory, near `target_results` logs.

One background thread fetches chunks ahead and, given a `transform`, a second one decodes
up to `prefetch` of them ahead while the caller writes the previous one, so node, decoder
and database work at the same time: while the decoder holds the interpreter, the fetch
thread waits on the node's next reply with it released (on one thread, the node's
serving time and the decoding added up). The fetch thread reads each reply with
`rawlogs.parse_reply` (plain transfers straight from the bytes, anything else by orjson,
so a broken reply is still retried there); the transform gets a `decode.LogsReply`.
The range should start small (a dense token has thousands of logs per block) and grows
up to 4x per reply, so sparse ranges are crossed in a few requests.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from monitor.chain.decode import LogsReply
from monitor.chain.rpc import RangeTooLarge, RpcClient

log = logging.getLogger(__name__)

T = TypeVar("T")
# A reply's logs: a LogsReply (monitor.chain.decode), which reads as a sequence of dicts
# and, when the reply was all plain transfers, hands `decode_logs` its records without dicts.
Logs = LogsReply


class LogFetcher:
    """Adaptive, prefetching eth_getLogs for one client."""

    def __init__(
        self,
        client: RpcClient,
        *,
        initial_range: int = 50,
        max_range: int = 10000,
        target_results: int = 10000,
        prefetch: int = 2,
    ) -> None:
        self.client = client
        self.max_range = max(max_range, 1)
        self.range = max(min(initial_range, self.max_range), 1)
        self.target_results = target_results
        self.prefetch = prefetch

    def iter_ranges(
        self,
        addresses: Sequence[str],
        topics0: Sequence[str],
        from_block: int,
        to_block: int,
        # The identity when not given (T is then Logs, which no default can say: the ignore).
        transform: Callable[[Logs], T] = lambda logs: logs,  # type: ignore[assignment,return-value]
    ) -> Iterator[tuple[int, int, T]]:
        """Yield (low, high, transform(logs)) covering [from_block, to_block] in order."""
        if from_block > to_block or not addresses:
            return
        if self.prefetch <= 0:
            for low, high, logs in self._fetch_all(addresses, topics0, from_block, to_block,
                                                   None):
                yield low, high, transform(logs)
            return
        cancel = threading.Event()
        # fetch thread -> raw (maxsize 1) -> decode thread -> chunks (maxsize prefetch).
        # Besides the consumer's chunk: up to `prefetch` decoded chunks, one reply being
        # decoded, one queued and one the fetch thread holds while it waits for room.
        raw: queue.Queue[tuple[int, int, Logs] | BaseException | None] = queue.Queue(
            maxsize=1
        )
        chunks: queue.Queue[tuple[int, int, T] | BaseException | None] = queue.Queue(
            maxsize=self.prefetch
        )

        def put(into: queue.Queue[Any], item: Any) -> bool:
            """Put unless cancelled (the consumer left); False when cancelled."""
            while not cancel.is_set():
                try:
                    into.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def fetch() -> None:
            try:
                for item in self._fetch_all(addresses, topics0, from_block, to_block, cancel):
                    if not put(raw, item):
                        return
                    del item
                put(raw, None)
            except BaseException as exc:  # handed on to the consumer, which re-raises it
                put(raw, exc)

        def decode() -> None:
            try:
                while not cancel.is_set():
                    try:
                        item = raw.get(timeout=0.1)
                    except queue.Empty:
                        continue
                    if item is None or isinstance(item, BaseException):
                        put(chunks, item)
                        return
                    low, high, logs = item
                    del item
                    chunk = (low, high, transform(logs))
                    del logs
                    if not put(chunks, chunk):
                        return
                    del chunk
            except BaseException as exc:  # handed to the consumer, which re-raises it
                put(chunks, exc)

        workers = [threading.Thread(target=fetch, name="getlogs-prefetch", daemon=True),
                   threading.Thread(target=decode, name="getlogs-decode", daemon=True)]
        for worker in workers:
            worker.start()
        try:
            while True:
                result = chunks.get()
                if result is None:
                    return
                if isinstance(result, BaseException):
                    raise result
                yield result
        finally:
            cancel.set()
            for worker in workers:
                while worker.is_alive():
                    for pending in (raw, chunks):
                        with contextlib.suppress(queue.Empty):
                            pending.get_nowait()
                    worker.join(timeout=0.05)

    def _fetch_all(
        self,
        addresses: Sequence[str],
        topics0: Sequence[str],
        from_block: int,
        to_block: int,
        cancel: threading.Event | None,
    ) -> Iterator[tuple[int, int, Logs]]:
        low = from_block
        while low <= to_block:
            if cancel is not None and cancel.is_set():
                return
            high = min(low + self.range - 1, to_block)
            try:
                logs = self.client.get_logs(addresses, topics0, low, high, refusable=high > low)
            except RangeTooLarge as exc:
                self._shrink(high - low + 1, exc.suggested)
                log.info("eth_getLogs [%s, %s] refused (%s); range now %s blocks",
                         low, high, exc, self.range)
                continue
            self._adapt(high - low + 1, len(logs))
            yield low, high, logs
            low = high + 1

    def _shrink(self, tried: int, suggested: int | None) -> None:
        if suggested is not None and suggested < tried:
            self.range = max(suggested, 1)
        else:
            self.range = max(tried // 2, 1)

    def _adapt(self, span: int, results: int) -> None:
        """Aim the next range at `target_results` logs, moving at most 4x per step."""
        if span < self.range:
            return  # the last, clipped range says little about density
        if results > self.target_results:
            wanted = span * self.target_results // results
            self.range = max(wanted, span // 4, 1)
        elif results < self.target_results // 2:
            wanted = span * self.target_results // max(results, 1)
            self.range = min(wanted, span * 4, self.max_range)
