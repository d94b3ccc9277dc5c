"""The rules file in force (the `rules_file` setting): the one reader of it.

Reload rule: every use reads the file again (each score tick of `amlmon run`, each API
request that needs the rules, each command), so an edit takes effect at its next use
without a restart. A file that does not load is refused at every use with one line that
names the key, until it is fixed: nothing scores with rules nobody could read back.
`amlmon run` records a change between two score ticks in the audit log (`config.reload`,
with the `state` before and after).
"""

from __future__ import annotations

import hashlib
from typing import Any

from monitor.scoring.config import RulesConfig, load_rules_config
from monitor.settings import Settings


def load(settings: Settings) -> RulesConfig:
    """The rules in force now: the defaults overlaid by the file, read again."""
    return load_rules_config(settings.rules_file)


def state(settings: Settings) -> dict[str, Any] | None:
    """The rules file's path and the SHA-256 of its content (None: no file, the built-in
    defaults; sha256 None: the file cannot be read, which loading it will report)."""
    path = settings.rules_file
    if path is None:
        return None
    try:
        digest: str | None = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        digest = None
    return {"path": str(path), "sha256": digest}
