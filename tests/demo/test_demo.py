"""`amlmon demo` end to end, as a newcomer runs it."""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import run_cli_process


def test_demo_runs_the_whole_pipeline(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = run_cli_process("demo", "--out", str(out), timeout=300,
                             env={"AMLMON_RULES_FILE": str(tmp_path / "defaults.yaml")})
    assert result.code == 0, result.err
    report = json.loads((out / "flagged.json").read_text())
    rules = {r["rule"] for item in report["items"] for r in item["reasons"]}
    assert len(report["items"]) >= 15
    assert {"peel_chain", "structuring", "fan_out", "cycle", "frozen_address_activity"} <= rules
    assert "Top flagged address per typology" in result.out
    assert "flagged report:" in result.out
    # The HTML report is a folder that works offline: the table links to address pages.
    flagged = (out / "flagged.html").read_text()
    top = report["items"][0]["address"]
    assert f'href="addresses/{top}.html"' in flagged
    assert '<svg class="flow"' in (out / "addresses" / f"{top}.html").read_text()
