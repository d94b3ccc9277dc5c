"""Rule thresholds and scoring parameters: defaults here, overrides in config/rules.yaml.

Every default is documented, with its meaning, in config/rules.yaml; a test keeps the two
in sync. Amounts are in token units (scaled by the token's decimals), times in seconds.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from monitor.settings import ConfigError

HOUR, DAY = 3600, 86400

DEFAULTS: dict[str, Any] = {
    "flag_min_risk": 50,
    "min_score_change": 5,
    "alerts": {"min_risk": 50, "min_reason_score": 60},
    "feature_windows": {"1h": HOUR, "24h": DAY, "7d": 7 * DAY},
    "large_quantile": 0.95,
    "weights": {"anomaly": 0.45},
    "rules": {
        "structuring": {"reporting_threshold": 10000, "band": 0.9, "window_seconds": 14 * DAY,
                        "min_transfers": 4, "min_share": 0.5},
        "fan_out": {"window_seconds": DAY, "min_recipients": 6, "min_new_share": 0.6},
        "fan_in": {"window_seconds": DAY, "min_senders": 6, "fresh_seconds": 7 * DAY,
                   "max_sender_transfers": 3},
        "scatter_gather": {"max_mule_counterparties": 2, "window_seconds": 3 * DAY,
                           "min_intermediaries": 4, "min_source_share": 0.5},
        "gather_scatter": {"min_counterparties": 5, "max_lifetime_seconds": 7 * DAY,
                           "min_forwarded": 0.8},
        "peel_chain": {"min_carry": 0.6, "max_hold_seconds": 3 * DAY, "min_hops": 3},
        "cycle": {"max_counterparties": 6, "min_length": 3, "max_length": 6,
                  "window_seconds": 14 * DAY, "amount_tolerance": 0.3},
        "rapid_pass_through": {"max_hold_seconds": 2 * HOUR, "min_cycles": 2,
                               "min_forwarded": 0.8, "min_quick_share": 0.6,
                               "match_low": 0.8},
        "velocity_burst": {"window_seconds": HOUR, "min_transfers": 12, "min_factor": 8,
                           "baseline_floor": 0.5, "mint_lookback_seconds": 2 * DAY,
                           "active_hours_per_day": 10},
        "dormant_reactivation": {"min_dormant_seconds": 30 * DAY, "burst_seconds": 7 * DAY},
        "new_address_large_value": {"quantile": 0.99},
        "mint_then_dispersal": {"window_seconds": 2 * DAY, "min_recipients": 5,
                                "min_share": 0.6, "min_new_share": 0.6},
        "frozen_address_activity": {"score": 90},
        "watchlist_exposure": {
            "category_weights": {"sanctioned": 1.0, "mixer": 0.9, "scam": 0.8, "bridge": 0.3,
                                 "exchange": 0.1, "other": 0.5, "kyc_investor": 0.0},
            "max_hops": 3, "hop_decay": 0.7, "min_exposure": 0.05,
        },
        "non_kyc_recipient": {"score": 60},
        "anomaly": {"n_estimators": 200, "max_samples": "auto", "contamination": "auto",
                    "random_state": 7, "min_addresses": 50, "explain_above": 0.8},
    },
}


def load_rules_config(path: Path | None) -> dict[str, Any]:
    """Defaults overlaid by the YAML file (if any); unknown keys are an error."""
    config = copy.deepcopy(DEFAULTS)
    if path is None or not path.exists():
        return config
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"rules file {path} is not valid YAML: {exc}") from None
    _merge(config, data, str(path), "")
    return config


def _merge(base: dict[str, Any], update: Any, path: str, prefix: str) -> None:
    if not isinstance(update, dict):
        raise ConfigError(f"rules file {path}: {prefix or 'top level'} must be a mapping")
    for key, value in update.items():
        name = f"{prefix}{key}"
        if key not in base:
            raise ConfigError(f"rules file {path}: unknown setting {name}")
        if key in ("feature_windows", "weights"):
            # Free-form mappings: window labels, and weights of any rule id.
            if not isinstance(value, dict):
                raise ConfigError(f"rules file {path}: {name} must be a mapping")
            base[key] = value if key == "feature_windows" else {**base[key], **value}
        elif isinstance(base[key], dict):
            _merge(base[key], value, path, f"{name}.")
        else:
            if isinstance(base[key], int | float) and not isinstance(value, int | float):
                raise ConfigError(f"rules file {path}: {name} must be a number, got {value!r}")
            base[key] = value
