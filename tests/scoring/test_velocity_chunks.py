"""velocity_burst judges addresses a range at a time (bounded temporaries on a big token):
the hits are those of one pass over every event, whatever the chunk size."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.addresses import ZERO
from monitor.scoring import evaluate, population
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
