"""The detection benchmark's measures (tests/support/detection.py), checked by hand."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from monitor.addresses import ZERO
from monitor.sim.history import Case, History
from support import detection as d

A, B, C, D, E, F, G = (f"0x{i:040x}" for i in range(1, 8))


@dataclass(frozen=True)
class RichCase(Case):
    """A Case with the fields the independent generator adds."""

    roles: dict[str, str] = field(default_factory=dict)
    near_miss: bool = False


@dataclass
class RichHistory(History):
    lookalikes: dict[str, str] = field(default_factory=dict)


def _finding(risk: int, anomaly: float | None = None, *rules: str) -> d.Finding:
    return d.Finding(risk, anomaly, frozenset(rules))


FINDINGS = {A: _finding(80, 0.5, "fan_in"), B: _finding(60, 0.9, "fan_in"),
            D: _finding(60, 0.95, "fan_in"), E: _finding(55, None, "cycle"),
            F: _finding(10, 0.7, "anomaly")}
FLAGGED = {A, B, D, E}
TRANSFERS = [(ZERO, A, 5.0), (A, B, 1.0), (A, C, 2.0), (A, B, 3.0), (D, A, 4.0), (C, D, 1.0),
             (ZERO, G, 1.0)]


def test_quality_precision_at_k_and_share() -> None:
    q = d.quality(FLAGGED, {A, B, C})
    assert (q.flagged, q.true, q.labels) == (4, 2, 3)
    assert q.precision == 0.5 and q.recall == pytest.approx(2 / 3)
    assert q.f1 == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))  # 4/7
    pooled = q + d.quality({C}, {C})
    assert (pooled.flagged, pooled.true, pooled.labels) == (5, 3, 4)
    active = d.active_addresses(TRANSFERS)
    assert active == {A, B, C, D, G}
    ranking = d.ranked(FINDINGS, active)
    # risk first, then the anomaly score, then the address; unscored addresses last
    assert ranking == [A, D, B, E, F, C, G]
    assert d.precision_at(ranking, {A, B, C}, 3) == d.Share(2, 3)
    assert d.precision_at(ranking, {A, B, C}, 3).value == pytest.approx(2 / 3)


def test_baselines_count_transfers_between_accounts_and_break_ties_by_address() -> None:
    assert d.degree_scores(TRANSFERS) == {A: 4, B: 2, C: 2, D: 2}
    assert d.counterparty_scores(TRANSFERS) == {A: 3, B: 1, C: 2, D: 2}
    assert d.top(d.degree_scores(TRANSFERS), 2) == {A, B}
    assert d.top(d.counterparty_scores(TRANSFERS), 2) == {A, C}
    forest = d.iforest_scores(TRANSFERS)
    assert set(forest) == {A, B, C, D} and forest == d.iforest_scores(TRANSFERS)
    at_two = d.baselines(TRANSFERS, 2, {A, C})
    assert at_two["degree"] == d.Quality(2, 1, 2)
    assert at_two["counterparties"] == d.Quality(2, 2, 2)


def test_typology_near_miss_role_and_lookalike_measures() -> None:
    history = RichHistory(
        decimals=0, start=0, issuer=ZERO, reporting_threshold=0,
        cases=[RichCase("fan_in", frozenset({A, B}), "", roles={A: "collector", B: "feeder"}),
               RichCase("fan_in", frozenset({G}), "", roles={G: "feeder"}, near_miss=True),
               RichCase("cycle", frozenset({C}), "")],
        benign_hubs=frozenset({E}), lookalikes={F: "distribution", D: "market_maker"})
    assert d.typology_recall(history, FLAGGED) == {"fan_in": d.Share(2, 3),
                                                   "cycle": d.Share(0, 1)}
    assert d.typology_recall(history, FLAGGED, near_miss=True) == {"fan_in": d.Share(0, 1)}
    assert d.typology_recall(history, FLAGGED, near_miss=False) == {"fan_in": d.Share(2, 2),
                                                                    "cycle": d.Share(0, 1)}
    assert d.role_recall(history, FLAGGED) == {("fan_in", "collector"): d.Share(1, 1),
                                               ("fan_in", "feeder"): d.Share(1, 2)}
    # of the flagged addresses with a fan_in reason (A, B, D), A and B are fan_in actors
    assert d.typology_precision(history, FINDINGS, FLAGGED) == {"fan_in": d.Share(2, 3),
                                                                "cycle": d.Share(0, 1)}
    assert d.lookalike_flagged(history, FLAGGED) == {
        "distribution": d.Share(0, 1), "hub": d.Share(1, 1), "market_maker": d.Share(1, 1)}


def test_findings_from_a_flagged_report() -> None:
    report = {"items": [{"address": "0xAbC0000000000000000000000000000000000001",
                         "risk_score": 70, "anomaly_score": None,
                         "reasons": [{"rule": "cycle"}, {"rule": "anomaly"}]}]}
    assert d.findings_from_report(report) == {
        "0xabc0000000000000000000000000000000000001": _finding(70, None, "cycle", "anomaly")}
