"""The `anomaly` rule: an IsolationForest over the per-address feature matrix.

Fitted per token on the current matrix, robustly scaled (median/IQR), so that a handful
of giant hubs do not squash everyone else into one corner. A token with more than
`fit_sample` addresses is fitted on that many, drawn with `random_state` (so a rerun, or
another engine, draws the same ones): the fit's cost and memory stop growing with the
token, while every address is still scored. Scores are normalised to
0-1 (1 = most isolated). Each flagged address is explained by the features whose robust
z-scores are largest in magnitude, in words.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

FEATURE_WORDS = {
    "in_count": "incoming transfers", "out_count": "outgoing transfers",
    "log_in_value": "value received", "log_out_value": "value sent",
    "in_counterparties": "distinct senders", "out_counterparties": "distinct receivers",
    "pass_through": "share of received value sent on",
    "log_median_hold_hours": "holding time before sending on",
    "share_just_below_threshold": "share of transfers just below the reporting threshold",
    "round_amount_share": "share of round amounts", "age_days": "address age",
    "max_gap_days": "longest silence", "share_from_mints": "share received from mints",
    "share_to_burns": "share sent to burns",
}


@dataclass
class AnomalyResult:
    scores: np.ndarray  # 0-1 per address (index 0 and unscored rows: nan)
    explanations: dict[int, str]
    model: dict[str, Any]
    fitted: Fitted | None = None  # to score more rows later without refitting


@dataclass
class Fitted:
    """A fitted forest with its scaler and the normalisation of the run that fitted it, so
    an incremental run scores touched addresses on the same scale as the full run did."""

    names: list[str]
    scaler: Any  # sklearn RobustScaler
    forest: Any  # sklearn IsolationForest
    low: float
    high: float
    explain_above: float

    def score(self, matrix: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, dict[int, str]]:
        """Normalised scores (0-1) of `rows` of the matrix, and words for the anomalous ones."""
        if rows.size == 0:
            return np.zeros(0), {}
        scaled = np.clip(np.nan_to_num(self.scaler.transform(matrix[rows])), -50, 50)
        return self.rate(scaled, -self.forest.score_samples(scaled), rows)

    def rate(self, scaled: np.ndarray, raw: np.ndarray,
             rows: np.ndarray) -> tuple[np.ndarray, dict[int, str]]:
        """Scores from raw path-length scores (higher = more anomalous, ~0.3..0.8)."""
        norm = np.clip((raw - self.low) / max(self.high - self.low, 1e-9), 0.0, 1.0)
        explanations = {}
        for k in np.flatnonzero(norm >= self.explain_above):
            top = np.argsort(-np.abs(scaled[k]))[:3]
            parts = []
            for j in top:
                word = FEATURE_WORDS.get(self.names[j], self.names[j].replace("_", " "))
                direction = "unusually high" if scaled[k, j] > 0 else "unusually low"
                parts.append(f"{word} {direction} ({scaled[k, j]:+.1f} robust z)")
            explanations[int(rows[k])] = "isolated by the model: " + "; ".join(parts)
        return norm, explanations


SCORING_MEMORY = 64


def fit_score(names: list[str], matrix: np.ndarray, rows: np.ndarray,
              params: Any) -> AnomalyResult:
    """Fit on `rows` of the matrix (real addresses) and score them."""
    scores = np.full(matrix.shape[0], np.nan)
    model: dict[str, Any] = {"kind": "IsolationForest", "features": names,
                             "training_size": int(rows.size),
                             "params": {k: getattr(params, k) for k in
                                        ("n_estimators", "max_samples", "contamination",
                                         "random_state", "fit_sample")}}
    if rows.size < params.min_addresses:
        model["skipped"] = f"fewer than {params.min_addresses} addresses"
        return AnomalyResult(scores, {}, model)
    started = time.perf_counter()
    x = matrix[rows]
    fit = fit_positions(rows.size, int(params.fit_sample), int(params.random_state))
    model["training_size"] = int(x[fit].shape[0])
    # scikit-learn takes ~0.9 s to import: load it when a model is fitted, not with the CLI.
    from sklearn import config_context
    from sklearn.ensemble import IsolationForest
    from sklearn.preprocessing import RobustScaler

    scaler = RobustScaler(quantile_range=(10.0, 90.0)).fit(x[fit])
    scaled = scaler.transform(x)
    np.clip(np.nan_to_num(scaled, copy=False), -50, 50, out=scaled)
    forest = IsolationForest(
        n_estimators=int(params.n_estimators), max_samples=params.max_samples,
        contamination=params.contamination, random_state=int(params.random_state),
        n_jobs=1,
    ).fit(scaled[fit])
    # Scored in chunks of SCORING_MEMORY MiB of path lengths (scikit-learn's default is a
    # GiB: a third of a 10^7-transfer run's peak). Each row's score is the same either way.
    with config_context(working_memory=SCORING_MEMORY):
        raw = -forest.score_samples(scaled)
    fitted = Fitted(names, scaler, forest, float(np.quantile(raw, 0.5)), float(raw.max()),
                    float(params.explain_above))
    norm, explanations = fitted.rate(scaled, raw, rows)
    scores[rows] = norm
    model["fit_seconds"] = round(time.perf_counter() - started, 3)
    model["fitted_at"] = time.time()
    return AnomalyResult(scores, explanations, model, fitted)


def fit_positions(n: int, size: int, seed: int) -> slice | np.ndarray:
    """Which of `n` rows the model is fitted on: all of them up to `size`, else `size` of
    them drawn with `seed`, in their order (rows are numbered in address byte order, so the
    draw is the same for the same addresses whatever computed the matrix)."""
    if n <= size:
        return slice(None)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))
