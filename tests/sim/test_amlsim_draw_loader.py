"""A draw of IBM's AMLSim generator read as a token history: labels per account from
alert_accounts.csv, false alerts as look-alikes, a ledger that never overdraws, the same
seed the same history."""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from monitor.addresses import ZERO
from monitor.sim.amlsim import address
from monitor.sim.amlsim_draws import FALSE_ALERT, GENERATOR, Spec, draw, load_draw
from monitor.sim.history import History

SPEC = Spec(7, 1_000, 40, {"fan_in": 3, "cycle": 3, "scatter_gather": 2}, {"cycle": 2})


def _generator_or_skip() -> None:
    if not GENERATOR.exists():
        pytest.fail(f"conformance data missing: {GENERATOR} (the shared/ folder sits next to "
                    "the repo)")
    if shutil.which("javac") is None:
        pytest.skip("no JDK (javac) to build IBM's AMLSim generator: scripts/setup.sh all "
                    "installs one")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _generator_or_skip()
    return draw(SPEC, tmp_path_factory.mktemp("draw"))


@pytest.fixture(scope="module")
def history(folder: Path) -> History:
    return load_draw(folder)


def _alerts(folder: Path) -> dict[tuple[int, str, bool], set[str]]:
    alerts: dict[tuple[int, str, bool], set[str]] = defaultdict(set)
    with (folder / "alert_accounts.csv").open(newline="") as handle:
        for r in csv.DictReader(handle):
            alerts[(int(r["alert_id"]), r["alert_type"], r["is_sar"] == "True")].add(
                address(int(r["acct_id"])))
    return alerts


def test_labels_are_the_sar_alert_members(folder: Path, history: History) -> None:
    alerts = _alerts(folder)
    sar = {key: members for key, members in alerts.items() if key[2]}
    assert len(history.cases) == len(sar) == sum(SPEC.typologies.values())
    assert {case.rule for case in history.cases} == set(SPEC.typologies)
    assert set(history.labels()) == set().union(*sar.values())
    for case in history.cases:
        assert case.actors in sar.values()


def test_false_alert_members_are_lookalikes_not_labels(folder: Path, history: History) -> None:
    benign = set().union(*(m for key, m in _alerts(folder).items() if not key[2]))
    laundering = set(history.labels())
    assert benign - laundering, "the spec asks for false alerts"
    assert history.lookalikes == dict.fromkeys(sorted(benign - laundering), FALSE_ALERT)


def test_every_transaction_is_a_transfer_and_nothing_overdraws(folder: Path,
                                                               history: History) -> None:
    with (folder / "transactions.csv").open(newline="") as handle:
        count = sum(1 for _ in csv.DictReader(handle))
    transfers = [t for t in history.transfers if t.sender != ZERO]
    assert len(transfers) == count
    assert all(isinstance(t.amount, int) and t.amount > 0 for t in history.transfers)
    times = [t.timestamp for t in history.transfers]
    assert times == sorted(times)
    balance: dict[str, int] = defaultdict(int)
    for t in history.transfers:
        if t.sender != ZERO:
            balance[t.sender] -= t.amount
            assert balance[t.sender] >= 0, f"{t.sender} overdraws"
        balance[t.receiver] += t.amount


def test_the_same_seed_gives_the_same_history(history: History,
                                              tmp_path: Path) -> None:
    again = load_draw(draw(SPEC, tmp_path))
    assert again.transfers == history.transfers
    assert again.cases == history.cases
