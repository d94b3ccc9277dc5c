"""docs/ holds the contracts users rely on; these tests keep each document true to the code
(docs/README.md says which part holds what)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from prometheus_client.metrics import MetricWrapperBase

from monitor import metrics
from monitor.api import schemas
from monitor.api.app import create_app
from monitor.daemon import job_failures_total
from monitor.reports.flagged import CSV_FIELDS
from monitor.scoring.config import ROLES, RULE_IDS
from monitor.settings import Settings
from support.routes import api_routes

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"


def _read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def test_the_generated_references_are_current() -> None:
    done = subprocess.run([sys.executable, "scripts/docs.py", "--check"], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_every_metric_is_documented_with_its_labels() -> None:
    text = _read("metrics.md")
    found = [o for o in vars(metrics).values() if isinstance(o, MetricWrapperBase)]
    found.append(job_failures_total)
    for metric in found:
        name = metric._name + ("_total" if metric._type == "counter" else "")  # noqa: SLF001
        row = next((line for line in text.splitlines() if f"`{name}`" in line), None)
        assert row is not None, f"{name} is not in docs/metrics.md"
        for label in metric._labelnames:  # noqa: SLF001
            assert f"`{label}`" in row, (name, label)


def test_every_rule_id_and_role_is_documented() -> None:
    text = _read("rules.md")
    for rule in RULE_IDS:
        assert f"| `{rule}` |" in text, rule
    for role in ROLES:
        assert f"| `{role}` |" in text, role


def test_every_report_field_is_documented() -> None:
    text = _read("reports.md")
    models = (schemas.ScoreItem, schemas.ReasonOut, schemas.FlaggedShare,
              schemas.PatternReport, schemas.PatternTransferOut, schemas.AddressReport,
              schemas.ChainOut, schemas.ChainToken, schemas.BridgeTransferOut)
    fields = {info.alias or name for model in models
              for name, info in model.model_fields.items()}
    for field in {*fields, *CSV_FIELDS, "next_cursor"}:
        assert re.search(rf"\b{re.escape(field)}\b", text), field


def test_every_api_route_is_documented_with_its_least_role() -> None:
    text = _read("api.md")
    app = create_app(Settings(database_url="sqlite://", rules_file=None), None)  # type: ignore[arg-type]
    for method, path, _ in api_routes(app):
        assert re.search(rf"\| `{method} {re.escape(path)}` \| \w+ \|", text), (method, path)


def test_every_command_group_is_in_the_cli_reference() -> None:
    text = _read("cli.md")
    from monitor.cli import _COMMANDS  # noqa: PLC0415 - the table of lazily loaded groups

    for name in _COMMANDS:
        assert f"## `amlmon {name}" in text, name


def test_nothing_points_at_a_design_document_users_do_not_have() -> None:
    places = [REPO / "README.md", *DOCS.glob("*.md"), *(REPO / "monitor").rglob("*.py")]
    stale = [str(p.relative_to(REPO)) for p in places if "DESIGN" in p.read_text("utf-8")]
    assert not stale, stale
