"""Prometheus rules and the Grafana dashboard against the real metrics and real tools."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor import metrics
from support.anvil import free_port, run_anvil
from support.cli import REPO
from support.ingest import register
from support.rules import RULES_FILE
from support.token import deploy

CONFIG = REPO / "config"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: scripts/setup.sh installs Debian's prometheus package")
    return path


def _known_series() -> set[str]:
    """Every series name our metrics can produce, labelled or not yet observed."""
    import monitor.daemon  # noqa: F401 - registers amlmon_job_failures_total

    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"),
                "gauge": ("",), "summary": ("_sum", "_count")}
    names = set()
    for family in metrics.REGISTRY.collect():
        for suffix in suffixes.get(family.type, ("",)):
            names.add(family.name + suffix)
    return names


def test_alert_rules_are_valid_and_behave_as_specified() -> None:
    promtool = _tool("promtool")
    check = subprocess.run([promtool, "check", "rules", str(CONFIG / "prometheus/alerts.yml")],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    test = subprocess.run([promtool, "test", "rules", "alerts_test.yml"],
                          cwd=CONFIG / "prometheus", capture_output=True, text=True)
    assert test.returncode == 0, test.stdout + test.stderr


def _metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\bamlmon_[a-z_]+", expr))


def test_every_metric_the_dashboard_and_rules_query_exists() -> None:
    known = _known_series()
    dashboard = json.loads((CONFIG / "grafana/dashboards/amlmon.json").read_text())
    queried = {name for panel in dashboard["panels"] for target in panel["targets"]
               for name in _metric_names(target["expr"])}
    rules = (CONFIG / "prometheus/alerts.yml").read_text()
    queried |= _metric_names(rules)
    assert queried, "no queries found"
    missing = {name for name in queried if name not in known}
    assert not missing, missing
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for topic in ("lag", "transfers", "rpc errors", "latency", "reorgs", "scoring", "alerts"):
        assert topic in titles


def test_real_prometheus_scrapes_a_running_daemon(pg_url: str, make_sessions: Any,
                                                  tmp_path: Path) -> None:
    prometheus = _tool("prometheus")
    metrics_port, prom_port = free_port(), free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: ['{CONFIG / 'prometheus/alerts.yml'}']\n"
        "scrape_configs:\n  - job_name: amlmon\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{metrics_port}']\n"
    )
    sessions = make_sessions(pg_url)
    with run_anvil() as node:
        token = deploy(node)
        register(sessions, token)
        token.mint("0x" + "11" * 20, 10**9)
        env = {**os.environ, "AMLMON_DATABASE_URL": pg_url, "AMLMON_RPC_URLS": node.url,
               "AMLMON_CONFIRMATIONS": "0", "AMLMON_POLL_INTERVAL_SECONDS": "0.5",
               "AMLMON_API_PORT": str(metrics_port),  # `run` serves /metrics with the API
               "AMLMON_RULES_FILE": str(RULES_FILE)}
        daemon = subprocess.Popen([sys.executable, "-m", "monitor.cli", "run"],
                                  env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        server = subprocess.Popen(
            [prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{prom_port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            api = f"http://127.0.0.1:{prom_port}/api/v1"
            deadline = time.monotonic() + 90
            up = ingested = None
            while time.monotonic() < deadline:
                try:
                    targets = httpx.get(f"{api}/targets", timeout=2).json()["data"]
                    up = [t["health"] for t in targets["activeTargets"]]
                    result = httpx.get(f"{api}/query", params={
                        "query": "amlmon_ingested_block"}, timeout=2).json()["data"]["result"]
                    ingested = [float(r["value"][1]) for r in result]
                    if up == ["up"] and ingested and ingested[0] >= 1:
                        break
                except (httpx.HTTPError, KeyError, ValueError):
                    pass
                time.sleep(0.5)
            assert up == ["up"], up
            assert ingested and ingested[0] >= node.block_number() - 1
            rules = httpx.get(f"{api}/rules", timeout=2).json()["data"]["groups"]
            assert {g["name"] for g in rules} == {"amlmon-ingest", "amlmon-scoring"}
            # The same process serves the API: health for the Docker HEALTHCHECK, readiness,
            # and /api/v1 behind a key.
            amlmon = f"http://127.0.0.1:{metrics_port}"
            assert httpx.get(f"{amlmon}/healthz", timeout=5).json() == {"status": "ok"}
            assert httpx.get(f"{amlmon}/readyz", timeout=5).json()["status"] == "ready"
            assert httpx.get(f"{amlmon}/api/v1/tokens", timeout=5).status_code == 401
        finally:
            server.terminate()
            daemon.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
            assert daemon.wait(timeout=30) == 0
