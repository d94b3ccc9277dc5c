"""What a full run computes a chunk at a time, so that its temporaries stay bounded on a big
token, equals one pass over every event, whatever the chunk size: velocity_burst's hits
and fan_in's feeding transfers (addresses a range at a time), the busiest-window features,
the largest gaps and the active days (keys a chunk at a time)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from monitor.addresses import ZERO
from monitor.scoring import evaluate, features, population
from monitor.scoring.config import DEFAULTS
from monitor.scoring.rules import fan_in, velocity_burst
from monitor.sim import generate
from support.flows import history_flows


@pytest.mark.parametrize("chunk", [1, 50, 997])
@pytest.mark.parametrize(("rule", "module", "constant"),
                         [("velocity_burst", velocity_burst, "CHUNK_EVENTS"),
                          ("fan_in", fan_in, "CHUNK_ROWS")])
def test_chunked_findings_equal_one_pass(rule: str, module: Any, constant: str, chunk: int,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    history = generate(5, investors=80, days=40, cases_per_rule=2)
    flows = history_flows(history, len(history.transfers), [ZERO])
    feats = evaluate.compute_features(flows, DEFAULTS)
    stats = population.measure(flows, feats, DEFAULTS, False)
    focus = np.zeros(flows.n_addresses, dtype=bool)
    focus[::3] = True
    for wanted in (None, focus):
        # Each pass its own context: a rule keeps what it computes in the shared results.
        contexts = [evaluate.contexts(flows, feats, DEFAULTS, stats, {}, wanted)[rule]
                    for _ in range(2)]
        monkeypatch.setattr(module, constant, 1 << 40)
        whole = module.detect(contexts[0])
        monkeypatch.setattr(module, constant, chunk)
        assert module.detect(contexts[1]) == whole
        if wanted is None:
            assert whole  # the history's cases of the rule are found
    if module is fan_in:  # and the transfers that feed them, row for row
        monkeypatch.setattr(module, constant, 1 << 40)
        feeding = fan_in._feeding(contexts[0])
        monkeypatch.setattr(module, constant, chunk)
        np.testing.assert_array_equal(fan_in._feeding(contexts[1]), feeding)


@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_busiest_windows_chunked_equal_one_pass(chunk: int,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(4)
    group = rng.integers(0, 40, 3000)
    t = rng.integers(0, 5 * 86400, 3000)
    keys = features.event_keys(group, t)
    whole = features.sliding_max_count(keys, 3600, 40)
    monkeypatch.setattr(features, "SLIDING_CHUNK", chunk)
    np.testing.assert_array_equal(features.sliding_max_count(keys, 3600, 40), whole)
    assert whole.max() > 1


@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_gaps_and_active_days_chunked_equal_one_pass_and_a_plain_count(
        chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(8)
    group = rng.integers(0, 40, 3000)
    t = rng.integers(0, 30 * 86400, 3000)
    keys = features.event_keys(group, t)
    gaps, days = features._gaps_and_days(keys, 40)
    for g in range(40):
        mine = np.sort(t[group == g])
        assert gaps[g] == (float(np.diff(mine).max()) if mine.size > 1 else 0.0)
        assert days[g] == np.unique(mine // 86400).size
    monkeypatch.setattr(features, "SLIDING_CHUNK", chunk)
    chunked = features._gaps_and_days(keys, 40)
    np.testing.assert_array_equal(chunked[0], gaps)
    np.testing.assert_array_equal(chunked[1], days)
