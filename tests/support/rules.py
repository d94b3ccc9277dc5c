"""The shipped rules file, which a test keeps equal to the built-in defaults: processes a
test starts from another working directory get the defaults by naming it."""

from pathlib import Path

RULES_FILE = Path(__file__).resolve().parents[2] / "config" / "rules.yaml"
