"""The `anomaly` rule: an IsolationForest over the per-address feature matrix.

Fitted per token on the current matrix, robustly scaled (median/IQR), so that a handful
of giant hubs do not squash everyone else into one corner. Scores are normalised to
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


def fit_score(names: list[str], matrix: np.ndarray, rows: np.ndarray,
              params: dict[str, Any]) -> AnomalyResult:
    """Fit on `rows` of the matrix (real addresses) and score them."""
    scores = np.full(matrix.shape[0], np.nan)
    model: dict[str, Any] = {"kind": "IsolationForest", "features": names,
                             "training_size": int(rows.size),
                             "params": {k: params[k] for k in
                                        ("n_estimators", "max_samples", "contamination",
                                         "random_state")}}
    if rows.size < params["min_addresses"]:
        model["skipped"] = f"fewer than {params['min_addresses']} addresses"
        return AnomalyResult(scores, {}, model)
    started = time.perf_counter()
    x = matrix[rows]
    # scikit-learn takes ~0.9 s to import: load it when a model is fitted, not with the CLI.
    from sklearn.ensemble import IsolationForest
    from sklearn.preprocessing import RobustScaler

    scaled = RobustScaler(quantile_range=(10.0, 90.0)).fit_transform(x)
    scaled = np.clip(np.nan_to_num(scaled), -50, 50)
    forest = IsolationForest(
        n_estimators=int(params["n_estimators"]), max_samples=params["max_samples"],
        contamination=params["contamination"], random_state=int(params["random_state"]),
        n_jobs=1,
    ).fit(scaled)
    raw = -forest.score_samples(scaled)  # higher = more anomalous, ~0.3..0.8
    low, high = np.quantile(raw, 0.5), raw.max()
    norm = np.clip((raw - low) / max(high - low, 1e-9), 0.0, 1.0)
    scores[rows] = norm
    model["fit_seconds"] = round(time.perf_counter() - started, 3)
    model["fitted_at"] = time.time()
    explanations = {}
    flagged = np.flatnonzero(norm >= params["explain_above"])
    for k in flagged:
        top = np.argsort(-np.abs(scaled[k]))[:3]
        parts = []
        for j in top:
            word = FEATURE_WORDS.get(names[j], names[j].replace("_", " "))
            direction = "unusually high" if scaled[k, j] > 0 else "unusually low"
            parts.append(f"{word} {direction} ({scaled[k, j]:+.1f} robust z)")
        explanations[int(rows[k])] = "isolated by the model: " + "; ".join(parts)
    return AnomalyResult(scores, explanations, model)
