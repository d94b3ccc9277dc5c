"""`amlmon demo --serve` end to end, as a newcomer runs it: pipeline, table, reports,
then the API and /metrics up with a key to try, until Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from support.anvil import free_port
from support.api import wait_until_healthy
from support.cli import REPO
from support.rules import RULES_FILE


def test_demo_runs_the_whole_pipeline_and_serves_the_api(tmp_path: Path) -> None:
    out, log = tmp_path / "demo", tmp_path / "demo.log"
    port = free_port()
    env = {**os.environ, "AMLMON_RULES_FILE": str(RULES_FILE),
           "AMLMON_API_PORT": str(port)}
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "demo", "--out", str(out), "--serve"],
            cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 300
        while "demo admin key:" not in log.read_text():
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the demo did not start serving"
            time.sleep(0.5)
        printed = log.read_text()
        key = re.search(r"demo admin key: (amk_\S+)", printed)
        assert key, printed
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(base)  # uvicorn binds just after the banner
        with httpx.Client(base_url=base, headers={"X-API-Key": key.group(1)}, timeout=10) as api:
            assert api.get("/readyz").json()["status"] == "ready"
            alerts = api.get("/api/v1/alerts", params={"limit": 5}).json()["items"]
            assert len(alerts) == 5
            assert "amlmon_alerts_open" in api.get("/metrics").text
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0, log.read_text()[-2000:]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    report = json.loads((out / "flagged.json").read_text())
    rules = {r["rule"] for item in report["items"] for r in item["reasons"]}
    assert len(report["items"]) >= 15
    assert {"peel_chain", "structuring", "fan_out", "cycle", "frozen_address_activity",
            "chain_hopping"} <= rules
    # Both chains: the bond on alpha, the bridged fund on alpha and beta.
    assert {item["chain_id"] for item in report["items"]} == {31337, 31338}
    assert "Top flagged address per typology" in printed
    assert "flagged report:" in printed
    # The HTML report is a folder that works offline: the table links to address pages.
    flagged = (out / "flagged.html").read_text()
    top = report["items"][0]["address"]
    assert f'href="addresses/{top}.html"' in flagged
    assert '<svg class="flow"' in (out / "addresses" / f"{top}.html").read_text()
