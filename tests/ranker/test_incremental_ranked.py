"""A ranker in force under incremental re-scoring: after every step the state holds the
learned reasons a fresh ranking of it gives, and the addresses a step re-scores include
every one whose learned reason changed (so persistence writes them)."""

from __future__ import annotations

import numpy as np

from monitor.addresses import ZERO
from monitor.ranker.model import Learned
from monitor.ranker.training.fit import fit
from monitor.scoring import evaluate, incremental, learned
from monitor.scoring.config import DEFAULTS
from monitor.sim import generate
from support.flows import history_flows

RULE = learned.RULE


def _held(state: evaluate.Scored) -> dict[int, object]:
    return {a: r[RULE] for a, r in state.raw.items() if RULE in r}


def test_learned_reasons_follow_every_step() -> None:
    history = generate(7, investors=80, days=40, cases_per_rule=1)
    laundering = set(history.labels())
    numbering = [ZERO]
    start = int(len(history.transfers) * 0.6)
    state = evaluate.evaluate(history_flows(history, start, numbering), DEFAULTS)
    names = [str(a) for a in state.flows.addresses]
    rng = np.random.default_rng(2)
    rows = np.array([i for i in range(1, len(names)) if rng.random() < 0.5])
    truth = np.array([names[i] in laundering for i in rows])
    params = DEFAULTS.rules.learned_ranker.model_copy(update={"max_iter": 50,
                                                              "min_samples_leaf": 5})
    fitted = fit(learned.inputs(state), rows, truth, np.ones(rows.size), params)
    fitted.ranker.training = frozenset(names[i] for i in rows)
    known = {names[i]: 1.0 if t else -1.0 for i, t in zip(rows, truth, strict=True)}
    state = learned.with_ranker(state, Learned(fitted.ranker, known), DEFAULTS)
    assert _held(state), "the ranker gave no reason"
    steps = np.linspace(start, len(history.transfers), 12).astype(int)[1:]
    for count in steps:
        before = _held(state)
        region = incremental.rescore(state, history_flows(history, int(count), numbering),
                                     DEFAULTS, {})
        after = _held(state)
        assert after == learned.reasons(state, state.learned, DEFAULTS)
        changed = {a for a in set(before) | set(after) if before.get(a) != after.get(a)}
        assert changed <= set(region.tolist()), sorted(changed - set(region.tolist()))
