"""Prometheus metrics: the names are a contract (docs/metrics.md) dashboards and alerts use.

All metrics live in one module-level registry so that every stage of one process
reports to the same `/metrics` page.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from models import CASE_OUTCOMES  # an alert closes with its case's outcome

REGISTRY = CollectorRegistry(auto_describe=True)

chain_head_block = Gauge(
    "amlmon_chain_head_block", "Latest block number reported by the node", ["chain"],
    registry=REGISTRY,
)
ingested_block = Gauge(
    "amlmon_ingested_block", "Last block whose logs are committed", ["chain"], registry=REGISTRY
)
ingest_lag_blocks = Gauge(
    "amlmon_ingest_lag_blocks", "Chain head minus last ingested block", ["chain"],
    registry=REGISTRY,
)


class BlockAge(Collector):
    """amlmon_chain_last_block_age_seconds: now minus the timestamp of the chain's last
    committed block, computed at each scrape. A gauge set when a batch commits would freeze
    at its last value exactly when it matters: while nothing commits (nodes down, ingest
    stuck), this one keeps growing."""

    NAME = "amlmon_chain_last_block_age_seconds"
    HELP = ("Seconds since the timestamp of the chain's last committed block; grows while "
            "nothing is ingested")

    def __init__(self) -> None:
        self._times: dict[str, float] = {}
        self._lock = threading.Lock()

    def set_block_time(self, chain: str, when: datetime) -> None:
        with self._lock:
            self._times[chain] = when.timestamp()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(self.NAME, self.HELP, labels=["chain"])
        now = time.time()
        with self._lock:
            for chain, stamp in sorted(self._times.items()):
                family.add_metric([chain], max(now - stamp, 0.0))
        yield family

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(self.NAME, self.HELP, labels=["chain"])


chain_last_block_age_seconds = BlockAge()
REGISTRY.register(chain_last_block_age_seconds)
transfers_ingested_total = Counter(
    "amlmon_transfers_ingested_total", "Transfers committed to the database", ["chain", "token"],
    registry=REGISTRY,
)
logs_malformed_total = Counter(
    "amlmon_logs_malformed_total", "Logs skipped because they could not be decoded", ["chain"],
    registry=REGISTRY,
)
logs_skipped_total = Counter(
    "amlmon_logs_skipped_total",
    "Well-formed logs that are not fungible transfers (e.g. ERC-721-shaped Transfer)",
    ["chain", "reason"],
    registry=REGISTRY,
)
rpc_requests_total = Counter(
    "amlmon_rpc_requests_total", "JSON-RPC requests by outcome", ["chain", "method", "outcome"],
    registry=REGISTRY,
)
rpc_request_seconds = Histogram(
    "amlmon_rpc_request_seconds", "JSON-RPC request latency", ["method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
reorgs_total = Counter(
    "amlmon_reorgs_total", "Chain reorganisations detected", ["chain"], registry=REGISTRY
)
reorg_depth_blocks = Histogram(
    "amlmon_reorg_depth_blocks", "Depth of detected reorganisations in blocks",
    buckets=(1, 2, 3, 5, 8, 13, 21, 34, 64, 128), registry=REGISTRY,
)
score_run_seconds = Histogram(
    "amlmon_score_run_seconds", "Duration of a scoring run",
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300), registry=REGISTRY,
)
addresses_scored_total = Counter(
    "amlmon_addresses_scored_total", "Addresses scored", registry=REGISTRY
)
flagged_share = Gauge(
    "amlmon_flagged_share",
    "Share of the token's active addresses that its latest score run flagged; a sudden "
    "rise means a calibration floods", ["token"], registry=REGISTRY,
)
alerts_raised_total = Counter(
    "amlmon_alerts_raised_total", "Alerts raised", ["rule", "severity"], registry=REGISTRY
)
alerts_open = Gauge("amlmon_alerts_open", "Open alerts", ["severity"], registry=REGISTRY)
alert_outcomes_total = Counter(
    "amlmon_alert_outcomes_total",
    "Alerts closed with an outcome (reported, false_positive, inconclusive), by rule",
    ["rule", "outcome"], registry=REGISTRY,
)
notifications_total = Counter(
    "amlmon_notifications_total", "Webhook deliveries by outcome", ["outcome"], registry=REGISTRY
)
model_pr_auc = Gauge(
    "amlmon_model_pr_auc",
    "Cross-validated PR-AUC (average precision) of the token's ranker in force",
    ["token"], registry=REGISTRY,
)
model_trained_timestamp_seconds = Gauge(
    "amlmon_model_trained_timestamp_seconds",
    "Unix time the token's ranker in force was trained", ["token"], registry=REGISTRY,
)
job_last_success_timestamp_seconds = Gauge(
    "amlmon_job_last_success_timestamp_seconds", "Unix time a scheduled job last succeeded",
    ["job"], registry=REGISTRY,
)


def initialise(chains: str | list[str], rules: list[str]) -> None:
    """Create every labelled series at zero, so dashboards and alert rules see them from
    the first scrape instead of only after the first event. `chains`: their `chain` labels
    (the chain ids). The block age appears with the chain's first known block."""
    for chain in [chains] if isinstance(chains, str) else chains:
        for gauge in (chain_head_block, ingested_block, ingest_lag_blocks):
            gauge.labels(chain)
        logs_malformed_total.labels(chain)
        reorgs_total.labels(chain)
    for rule in rules:
        for severity in ("low", "medium", "high", "critical"):
            alerts_raised_total.labels(rule, severity)
        for outcome in CASE_OUTCOMES:
            alert_outcomes_total.labels(rule, outcome)
    for severity in ("low", "medium", "high", "critical"):
        alerts_open.labels(severity)
    for outcome in ("sent", "retry", "failed"):
        notifications_total.labels(outcome)
