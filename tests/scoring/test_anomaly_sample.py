"""The IsolationForest fits on a deterministic sample of a large token's addresses (issue 23):
below `fit_sample` nothing changes; above it the fit reads that many rows, the same ones on
every run, and every address is still scored."""

from __future__ import annotations

import numpy as np

from monitor.scoring import anomaly
from monitor.scoring.config import DEFAULTS

NAMES = ["in_count", "out_count", "log_in_value"]


def _matrix(n: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    matrix = rng.lognormal(size=(n + 1, len(NAMES)))
    matrix[n - 4:] *= 40  # five outliers (rows n-4..n) the forest should isolate
    return matrix


def test_a_token_within_the_sample_is_fitted_on_every_address() -> None:
    params = DEFAULTS.rules.anomaly.model_copy(update={"fit_sample": 2_000})
    matrix = _matrix(1_500)
    rows = np.arange(1, 1_501)
    sampled = anomaly.fit_score(NAMES, matrix, rows, params)
    assert sampled.model["training_size"] == 1_500
    # The same as a cap far above the token: the sample is the whole token.
    whole = anomaly.fit_score(NAMES, matrix, rows,
                              params.model_copy(update={"fit_sample": 10**9}))
    np.testing.assert_array_equal(sampled.scores, whole.scores)


def test_a_larger_token_is_fitted_on_the_same_sample_every_run_and_scored_whole() -> None:
    params = DEFAULTS.rules.anomaly.model_copy(update={"fit_sample": 500})
    matrix = _matrix(3_000)
    rows = np.arange(1, 3_001)
    first = anomaly.fit_score(NAMES, matrix, rows, params)
    again = anomaly.fit_score(NAMES, matrix, rows, params)
    assert first.model["training_size"] == 500
    assert first.model["params"]["fit_sample"] == 500
    np.testing.assert_array_equal(first.scores, again.scores)
    assert np.isfinite(first.scores[rows]).all() and np.isnan(first.scores[0])
    # The outliers are still the most isolated, though most were not in the sample.
    assert set(np.argsort(-np.nan_to_num(first.scores))[:5]) == set(range(2_996, 3_001))
    positions = anomaly.fit_positions(3_000, 500, int(params.random_state))
    assert isinstance(positions, np.ndarray)
    assert positions.size == 500 and (np.diff(positions) > 0).all()
