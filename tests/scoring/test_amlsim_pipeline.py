"""IBM AMLSim's sample, neutral amounts, through the real pipeline (issue 14 §5).

The history is replayed onto anvil, ingested, scored and reported by `amlmon` processes
with default settings (tests/support/pipeline.py, which bench/detection.py runs too).
What amlmon flags must clear a floor and beat the top-degree accounts at the same flag
budget, computed here from the same ingested transfers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from monitor.scoring.config import load_rules_config
from monitor.sim import amlsim
from support.detection import Quality, degree_scores, quality, top
from support.pipeline import RULES_FILE, PipelineResult, run_pipeline
from support.postgres import create_database, drop_database

pytestmark = pytest.mark.slow  # 1-2 min: replay ~22 s, ingest ~7 s, `amlmon score` 10-40 s

# The target is F1 >= 0.75 and 1.3x the degree baseline (bench/detection.py reports
# both); the floor sits a little under the measured figure (0.76) so that a regression
# fails CI, and "well above" the baseline means twice its F1 here (it is 2.3x).
F1_FLOOR = 0.72
OVER_DEGREE = 2.0  # amlmon's F1 over the degree baseline's, at amlmon's flag budget


@dataclass
class Run:
    result: PipelineResult
    labels: set[str]
    ours: Quality
    degree: Quality


@pytest.fixture(scope="module")
def neutral(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    if not amlsim.SAMPLE.exists():
        pytest.fail(f"conformance data missing: {amlsim.SAMPLE} (the shared/ folder sits "
                    "next to the repo; see shared/conformance/README.md)")
    history = amlsim.load("neutral").history
    url = create_database(pg_server, prefix="amlmon_test_amlsim")
    try:
        result = run_pipeline(history, url, tmp_path_factory.mktemp("amlsim"))
    finally:
        drop_database(url)
    labels = set(history.labels())
    yield Run(result, labels, quality(result.flagged, labels),
              quality(top(degree_scores(result.transfers), len(result.flagged)), labels))


def test_the_pipeline_measures_what_the_sample_holds(neutral: Run) -> None:
    """Every transfer arrived, the degree baseline reproduces the conformance README's
    reference point (F1 0.377 at K = the labels, ties there broken by node id, here by
    address), and the flagged report is the scored addresses at the flag threshold."""
    result = neutral.result
    assert len(result.transfers) == 20_000 + 120_558
    assert len(neutral.labels) == 1_804
    k = len(neutral.labels)
    at_k = quality(top(degree_scores(result.transfers), k), neutral.labels)
    assert 0.36 <= at_k.f1 <= 0.39, at_k
    threshold = load_rules_config(RULES_FILE).flag_min_risk
    assert result.flagged == {a for a, f in result.findings.items() if f.risk >= threshold}


def test_amlmon_beats_the_degree_baseline_on_neutral_amlsim(neutral: Run) -> None:
    ours, degree = neutral.ours, neutral.degree
    assert ours.f1 >= F1_FLOOR, (
        f"F1 {ours.f1:.3f} (precision {ours.precision:.3f}, recall {ours.recall:.3f}, "
        f"{ours.flagged} flagged) is below the floor {F1_FLOOR}")
    assert ours.f1 >= OVER_DEGREE * degree.f1, (
        f"F1 {ours.f1:.3f} is not {OVER_DEGREE}x the degree baseline's {degree.f1:.3f} "
        f"at the same budget of {ours.flagged} addresses")
