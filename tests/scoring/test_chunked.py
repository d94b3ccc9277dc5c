"""What a full run computes a chunk at a time, so that its temporaries stay bounded on a big
token, equals one pass over every event, whatever the chunk size: velocity_burst's hits
(addresses a range at a time) and the busiest-window features (keys a chunk at a time)."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.addresses import ZERO
from monitor.scoring import evaluate, features, population
from monitor.scoring.config import DEFAULTS
from monitor.scoring.rules import velocity_burst
from monitor.sim import generate
from support.flows import history_flows


@pytest.mark.parametrize("chunk", [1, 50, 997])
def test_chunked_hits_equal_one_pass(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    history = generate(5, investors=80, days=40, cases_per_rule=2)
    flows = history_flows(history, len(history.transfers), [ZERO])
    feats = evaluate.compute_features(flows, DEFAULTS)
    stats = population.measure(flows, feats, DEFAULTS, False)
    focus = np.zeros(flows.n_addresses, dtype=bool)
    focus[::3] = True
    for wanted in (None, focus):
        ctx = evaluate.contexts(flows, feats, DEFAULTS, stats, {}, wanted)["velocity_burst"]
        monkeypatch.setattr(velocity_burst, "CHUNK_EVENTS", 1 << 40)
        whole = velocity_burst.detect(ctx)
        monkeypatch.setattr(velocity_burst, "CHUNK_EVENTS", chunk)
        assert velocity_burst.detect(ctx) == whole
        if wanted is None:
            assert whole  # the history's velocity cases are found


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
