"""config/rules.yaml documents exactly the built-in defaults; overrides are checked."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.scoring.config import DEFAULTS, load_rules_config
from monitor.settings import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_shipped_rules_file_equals_the_defaults() -> None:
    assert yaml.safe_load((REPO / "config/rules.yaml").read_text()) == DEFAULTS


def test_overrides_merge_and_bad_keys_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  fan_out:\n    min_recipients: 9\nweights:\n  cycle: 0.5\n")
    config = load_rules_config(path)
    assert config["rules"]["fan_out"]["min_recipients"] == 9
    assert config["rules"]["fan_out"]["window_seconds"] == DEFAULTS["rules"]["fan_out"][
        "window_seconds"]
    assert config["weights"] == {"anomaly": 0.45, "cycle": 0.5}
    path.write_text("rules:\n  fan_out:\n    min_recipents: 9\n")
    with pytest.raises(ConfigError, match="unknown setting rules.fan_out.min_recipents"):
        load_rules_config(path)
    path.write_text("rules:\n  cycle:\n    max_length: many\n")
    with pytest.raises(ConfigError, match="rules.cycle.max_length must be a number"):
        load_rules_config(path)
    assert load_rules_config(tmp_path / "absent.yaml") == DEFAULTS
