"""The JSON-RPC client against a real anvil node, directly and behind the fault proxy."""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Iterator

import pytest
from prometheus_client import generate_latest

from monitor import metrics
from monitor.chain.logs import LogFetcher
from monitor.chain.rpc import RangeTooLarge, RpcClient, RpcUnavailable, parse_refusal
from support.anvil import Anvil, free_port, run_anvil
from support.faultproxy import fault_proxy


@pytest.fixture(scope="module")
def node() -> Iterator[Anvil]:
    with run_anvil() as anvil:
        anvil.mine(300)
        yield anvil


def _count(chain: str, method: str, outcome: str) -> float:
    value = metrics.REGISTRY.get_sample_value(
        "amlmon_rpc_requests_total", {"chain": chain, "method": method, "outcome": outcome}
    )
    return value or 0.0


@pytest.mark.parametrize(
    ("message", "suggested"),
    [
        ("query returned more than 10000 results. Try with this block range [0x10, 0x2f].", 32),
        ("Log response size exceeded. You can make eth_getLogs requests with up to a 2K block "
         "range and no limit on the response size, or you can request any block range with a "
         "cap of 10K logs in the response. Based on your parameters, this block range should "
         "work: [0x1, 0x2c]", 44),
        ("block range is too large", None),
        ("exceed maximum block range: 5000", 5000),
        ("eth_getLogs is limited to a 10,000 range", 10000),
        ("limit exceeded", None),
        ("query timeout exceeded", None),
    ],
)
def test_parse_refusal_reads_the_common_provider_messages(
    message: str, suggested: int | None
) -> None:
    refusal = parse_refusal(message)
    assert isinstance(refusal, RangeTooLarge)
    assert refusal.suggested == suggested


def test_parse_refusal_ignores_unrelated_errors() -> None:
    assert parse_refusal("execution reverted") is None
    assert parse_refusal("invalid argument 0: hex string without 0x prefix") is None


def test_plain_calls_and_batches(node: Anvil) -> None:
    with RpcClient([node.url], chain="t-plain") as client:
        assert client.chain_id() == 31337
        head = client.block_number()
        assert head == node.block_number()
        blocks = client.get_blocks(range(0, 250))  # more than one batch
        assert [int(b["number"], 16) for b in blocks if b] == list(range(0, 250))
        assert client.get_blocks([head + 10]) == [None]
        assert client.get_block(head + 10) is None


def test_failover_when_the_first_url_is_dead(node: Anvil) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    before = _count("t-failover", "eth_blockNumber", "connection_error")
    with RpcClient([dead, node.url], chain="t-failover", backoff_initial=0.01) as client:
        assert client.block_number() == node.block_number()
        assert client.url == node.url  # stays on the endpoint that works
        assert client.block_number() == node.block_number()
    assert _count("t-failover", "eth_blockNumber", "connection_error") == before + 1


def test_gives_up_with_a_clear_error_when_every_url_is_dead() -> None:
    urls = [f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"]
    with (
        RpcClient(urls, max_retries=3, backoff_initial=0.01) as client,
        pytest.raises(RpcUnavailable, match="eth_blockNumber failed after 3 attempt"),
    ):
        client.block_number()


@pytest.mark.parametrize(
    "fault", ["http_500", "http_429", "truncated", "invalid_json", "rpc_error", "drop", "timeout"]
)
def test_each_fault_is_retried_and_counted(node: Anvil, fault: str) -> None:
    label = f"t-{fault}"
    outcome = {
        "http_500": "http_error", "http_429": "rate_limited", "truncated": "invalid_response",
        "invalid_json": "invalid_response", "rpc_error": "rpc_error",
        "drop": "connection_error", "timeout": "timeout",
    }[fault]
    # Only the timeout fault needs a client timeout below the proxy's delay; the others get
    # a generous one, so that a slow machine's late reply is not a timeout the proxy did not
    # inject (which the count below would catch).
    with (
        fault_proxy(node.url, faults=[fault], rate=0.5, seed=7, delay=1.0) as proxy,
        RpcClient([proxy.url], chain=label, timeout=0.5 if fault == "timeout" else 10,
                  max_retries=20, backoff_initial=0.01, backoff_max=0.05) as client,
    ):
        for _ in range(12):
            assert client.block_number() == node.block_number()
        blocks = client.get_blocks(range(100))
        assert len(blocks) == 100 and all(blocks)
    assert proxy.counts[fault] > 0
    counted = _count(label, "eth_blockNumber", outcome) + _count(
        label, "eth_getBlockByNumber", outcome
    )
    if fault == "timeout":  # a slow machine may also time out a reply that was not delayed
        assert counted >= proxy.counts[fault]
    else:
        assert counted == proxy.counts[fault]


def test_getlogs_refusal_is_not_retried_but_raised(node: Anvil) -> None:
    with (
        fault_proxy(node.url, faults=[], max_getlogs_range=10) as proxy,
        RpcClient([proxy.url], chain="t-refusal") as client,
    ):
        with pytest.raises(RangeTooLarge) as refused:
            client.get_logs(["0x" + "11" * 20], ["0x" + "22" * 32], 0, 99)
        assert refused.value.suggested == 10
        assert proxy.requests == 1


def test_fetcher_splits_refused_ranges_and_covers_every_block(node: Anvil) -> None:
    with (
        fault_proxy(node.url, faults=["too_many_results"], rate=0.3, seed=3,
                    max_getlogs_range=40) as proxy,
        RpcClient([proxy.url], chain="t-fetch") as client,
    ):
        fetcher = LogFetcher(client, initial_range=100, max_range=200, prefetch=2)
        spans = [(low, high) for low, high, _ in fetcher.iter_ranges(
            ["0x" + "11" * 20], ["0x" + "22" * 32], 5, 290
        )]
    assert spans[0][0] == 5 and spans[-1][1] == 290
    assert all(b[0] == a[1] + 1 for a, b in zip(spans, spans[1:], strict=False))
    assert all(high - low + 1 <= 40 for low, high in spans)
    assert proxy.counts["range_limit"] > 0


def test_fetcher_grows_the_range_back_after_small_replies(node: Anvil) -> None:
    with RpcClient([node.url]) as client:
        fetcher = LogFetcher(client, initial_range=4, max_range=64, prefetch=0)
        spans = [high - low + 1 for low, high, _ in fetcher.iter_ranges(
            ["0x" + "11" * 20], ["0x" + "22" * 32], 0, 299
        )]
    assert spans[:4] == [4, 16, 64, 64]


def _fetcher_threads() -> list[str]:
    return [t.name for t in threading.enumerate()
            if t.name in ("getlogs-prefetch", "getlogs-decode")]


def test_fetcher_decodes_on_its_own_thread_in_order(node: Anvil) -> None:
    """With a transform, replies are decoded on a second thread, one range at a time and
    in block order, while the next is fetched; both threads are gone at the end."""
    decoded_on: set[str] = set()

    def transform(logs: list[object]) -> int:
        decoded_on.add(threading.current_thread().name)
        return len(logs)

    with RpcClient([node.url]) as client:
        fetcher = LogFetcher(client, initial_range=7, max_range=7, prefetch=1)
        spans = [(low, high, count) for low, high, count in fetcher.iter_ranges(
            ["0x" + "11" * 20], ["0x" + "22" * 32], 3, 250, transform=transform
        )]
    assert [low for low, _, _ in spans] == list(range(3, 251, 7))
    assert spans[-1][1] == 250 and all(count == 0 for _, _, count in spans)
    assert decoded_on == {"getlogs-decode"}
    assert _fetcher_threads() == []


def test_fetcher_hands_on_errors_of_either_thread(node: Anvil) -> None:
    def failing(logs: list[object]) -> int:
        raise ValueError("decoder broke")

    with RpcClient([node.url]) as client:
        fetcher = LogFetcher(client, initial_range=10, prefetch=2)
        with pytest.raises(ValueError, match="decoder broke"):
            list(fetcher.iter_ranges(["0x" + "11" * 20], ["0x" + "22" * 32], 0, 200,
                                     transform=failing))
    assert _fetcher_threads() == []
    with RpcClient([f"http://127.0.0.1:{free_port()}"], max_retries=1) as down:
        fetcher = LogFetcher(down, initial_range=10, prefetch=2)
        with pytest.raises(RpcUnavailable):
            list(fetcher.iter_ranges(["0x" + "11" * 20], ["0x" + "22" * 32], 0, 200,
                                     transform=len))
    assert _fetcher_threads() == []


def test_fetcher_stops_both_threads_when_the_consumer_leaves(node: Anvil) -> None:
    with RpcClient([node.url]) as client:
        fetcher = LogFetcher(client, initial_range=1, max_range=1, prefetch=1)
        ranges = fetcher.iter_ranges(["0x" + "11" * 20], ["0x" + "22" * 32], 0, 299,
                                     transform=len)
        first = next(ranges)
        time.sleep(0.2)  # let both stages fill their queues and block on them
        ranges.close()
        assert first[:2] == (0, 0)
        assert _fetcher_threads() == []


def test_rate_limit_spaces_requests(node: Anvil) -> None:
    with RpcClient([node.url], requests_per_second=20) as client:
        started = time.monotonic()
        for _ in range(11):
            client.block_number()
        # Ten intervals of 50 ms at least; a lower bound, so a slow machine cannot fail it.
        assert time.monotonic() - started >= 0.5


# Provider URLs carry keys in userinfo, path and query; none may leave the client.
KEY = "K3y0123456789abcdef"


def keyed(url: str) -> str:
    return url.replace("http://", f"http://amlmon:Pw{KEY}@") + f"/v3/{KEY}?apikey=Q{KEY}"


@pytest.mark.parametrize(
    "faults", [["drop"], ["http_500", "http_429", "truncated", "invalid_json", "rpc_error"]]
)
def test_endpoint_keys_never_reach_logs_errors_or_metrics(
    node: Anvil, caplog: pytest.LogCaptureFixture, faults: list[str]
) -> None:
    dead = keyed(f"http://127.0.0.1:{free_port()}")
    with (
        fault_proxy(node.url, faults=faults, rate=1.0, seed=1) as proxy,
        RpcClient([dead, keyed(proxy.url)], chain="t-keys", max_retries=6,
                  backoff_initial=0.01, backoff_max=0.02) as client,
        caplog.at_level(logging.DEBUG, logger="monitor"),
    ):
        with pytest.raises(RpcUnavailable) as single:
            client.block_number()
        with pytest.raises(RpcUnavailable) as batch:
            client.get_blocks(range(3))
    assert sum(proxy.counts.values()) > 0
    retries = [r.getMessage() for r in caplog.records if "retrying on" in r.getMessage()]
    assert len(retries) >= 8, caplog.text
    # The endpoints are still told apart: host, port and a hash of the rest.
    assert any(f"{proxy.url}/…#" in line for line in retries), retries
    everything = "\n".join([
        caplog.text, *retries,
        *("".join(traceback.format_exception(e.value)) for e in (single, batch)),
        generate_latest(metrics.REGISTRY).decode(),
    ])
    assert KEY not in everything


def test_a_timed_out_range_names_the_endpoint_without_its_key(node: Anvil) -> None:
    with (
        fault_proxy(node.url, faults=["timeout"], rate=1.0, delay=1.0) as proxy,
        RpcClient([keyed(proxy.url)], timeout=0.2) as client,
        pytest.raises(RangeTooLarge) as refused,
    ):
        client.get_logs(["0x" + "11" * 20], ["0x" + "22" * 32], 0, 99)
    assert f"timed out on {proxy.url}/…#" in str(refused.value)
    assert KEY not in str(refused.value)
