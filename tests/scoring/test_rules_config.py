"""config/rules.yaml documents exactly the built-in defaults; a bad rules file is one line
that names the key, at the start of every command that scores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.scoring.config import DEFAULTS, RULE_IDS, load_rules_config
from monitor.scoring.evaluate import ADDRESS_RULES, PATTERN_RULES
from monitor.settings import ConfigError
from support.cli import run_cli

REPO = Path(__file__).resolve().parents[2]


def test_shipped_rules_file_equals_the_defaults() -> None:
    shipped = yaml.safe_load((REPO / "config/rules.yaml").read_text())
    assert shipped == DEFAULTS.model_dump(mode="json")
    assert load_rules_config(REPO / "config/rules.yaml") == DEFAULTS


def test_rule_ids_are_the_rules_evaluate_runs() -> None:
    """RULE_IDS (the sections of the rules file) is the one list of rule ids: every one but
    the IsolationForest's `anomaly` and the trained `learned_ranker` is a rule that
    evaluate runs, and nothing else is."""
    assert sorted((*PATTERN_RULES, *ADDRESS_RULES, "anomaly", "learned_ranker")) == sorted(
        RULE_IDS)
    assert not set(PATTERN_RULES) & set(ADDRESS_RULES)


def test_every_parameter_is_documented_in_the_shipped_file() -> None:
    """Each scalar parameter carries a comment on its line (a top-level one, on the line
    above); the free-form mappings (windows, weights) by the comment above their section."""
    free = ("alerts", "feature_windows", "weights", "role_weights", "category_weights")
    section, bare, before = "", [], ""
    for line in (REPO / "config/rules.yaml").read_text().splitlines():
        code = line.split("#")[0]
        if code.strip() and ":" in code:
            key, value = (part.strip() for part in code.split(":", 1))
            if not value:
                section = key
            elif line.startswith(" "):
                if section not in free and "#" not in line:
                    bare.append(key)
            elif not before.startswith("#"):
                bare.append(key)
        if line.strip():
            before = line.strip()
    assert not bare, bare


def test_overrides_merge_key_by_key(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  fan_out:\n    min_recipients: 9\nweights:\n  cycle: 0.5\n"
                    "patterns:\n  role_weights:\n    feeder: 0.7\n")
    config = load_rules_config(path)
    assert config.rules.fan_out.min_recipients == 9
    assert config.rules.fan_out.window_seconds == DEFAULTS.rules.fan_out.window_seconds
    assert config.weights == {"anomaly": 0.45, "cycle": 0.5}
    assert config.patterns.role_weights["feeder"] == 0.7
    assert config.patterns.role_weights["collector"] == 1.0
    path.write_text("feature_windows:\n  2h: 7200\n")
    assert load_rules_config(path).feature_windows == {"2h": 7200}


def test_a_retired_key_is_read_and_ignored_with_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Files of an earlier version still load: split_transfers' switch was replaced by a
    graded score (issue 20)."""
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  split_transfers:\n    max_sender_share: 0.05\n"
                    "    habit_days: 4\n")
    with caplog.at_level("WARNING"):
        config = load_rules_config(path)
    assert config.rules.split_transfers.habit_days == 4
    assert "rules.split_transfers.max_sender_share is retired" in caplog.text


@pytest.mark.parametrize(("text", "message"), [
    ("rules:\n  fan_out:\n    min_recipents: 9\n", "unknown setting rules.fan_out.min_recipents"),
    ("colour: blue\n", "unknown setting colour"),
    ("weights:\n  anomaly: high\n", "weights.anomaly: input should be a valid number"),
    ("weights:\n  no_such_rule: 0.5\n", "weights: unknown rule id 'no_such_rule'"),
    ("patterns:\n  role_weights:\n    boss: 0.5\n", "patterns.role_weights.boss.[key]: unknown "
     "role 'boss' (one of source, feeder"),
    ("rules:\n  cycle:\n    window_seconds: -5\n", "rules.cycle.window_seconds: input should be "
     "greater than 0 (got -5)"),
    ("rules:\n  structuring:\n    band: 1.5\n", "rules.structuring.band: input should be less "
     "than 1 (got 1.5)"),
    ("rules:\n  cycle:\n    max_length: 2\n", "max_length must be at least min_length"),
    ("population:\n  silence_quantile: 2\n", "population.silence_quantile: input should be less "
     "than or equal to 1"),
    ("rules: [1, 2]\n", "rules: input should be a valid dictionary"),
    ("[1, 2]\n", "the top level must be a mapping"),
    ("rules: {fan_out: [\n", "is not valid YAML (line"),
])
def test_a_bad_rules_file_is_one_line_naming_the_key(tmp_path: Path, text: str,
                                                      message: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_rules_config(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_a_missing_rules_file_is_an_error_unless_it_is_the_default(tmp_path: Path,
                                                                    monkeypatch: Any) -> None:
    with pytest.raises(ConfigError, match="absent.yaml does not exist"):
        load_rules_config(tmp_path / "absent.yaml")
    monkeypatch.chdir(tmp_path)  # no config/rules.yaml here: the built-in defaults
    assert load_rules_config(Path("config/rules.yaml")) == DEFAULTS
    assert load_rules_config(None) == DEFAULTS


@pytest.mark.parametrize("command", [("score",), ("run", "--no-api"), ("api",),
                                     ("demo", "--out", "x")])
def test_commands_that_score_refuse_a_bad_rules_file_before_anything_else(
        tmp_path: Path, capsys: Any, monkeypatch: Any, command: tuple[str, ...]) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("weights:\n  anomaly: high\n")
    monkeypatch.setenv("AMLMON_RULES_FILE", str(path))
    # No database, no node, nothing to score: the rules are checked first all the same.
    monkeypatch.setenv("AMLMON_DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    result = run_cli(capsys, *command)
    assert result.code == 2, (result.out, result.err)
    assert result.err.strip().count("\n") == 0
    assert "weights.anomaly: input should be a valid number" in result.err
    assert not (tmp_path / "none.db").exists()
