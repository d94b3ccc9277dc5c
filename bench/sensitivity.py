"""Are the bounds on a cliff? (issue 20 §4) Each numeric bound of the rules file set to
×0.75 and ×1.25 of its value, the data sets re-scored in memory (the production
`evaluate`, as `bench/detection.py --fast`), the F1 change printed per bound; every bound
whose change moves F1 on some data set by more than 0.10 is named at the end.

    .venv/bin/python bench/detection.py --sensitivity            # draws g1-g8, sim-independent
    .venv/bin/python bench/sensitivity.py --draws g3 g4 --seeds 101 --only rules.cycle

Bounds: every number under `population`, `patterns`, `rules` (but `learned_ranker`, which
trains a model rather than bounding a finding) and `weights`, and `flag_min_risk`. An
integer moves by at least 1; a value the config refuses at ×0.75 or ×1.25 (a share above
1, a count below its minimum) is printed as refused. F1 counts false-alert members of the
draws neither way, as bench/detection.py does. About 13 scorings per bound and factor:
on the eight draws and five seeds, a few hours on 2 cores; `--draws`, `--seeds` and
`--only` narrow it.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))

from detection import flows_from_history  # noqa: E402

from monitor.scoring.config import RulesConfig, load_rules_config, parse  # noqa: E402
from monitor.scoring.evaluate import evaluate  # noqa: E402
from monitor.settings import ConfigError  # noqa: E402
from monitor.sim import History, generate_independent  # noqa: E402
from monitor.sim.amlsim_draws import FALSE_ALERT  # noqa: E402

FACTORS = (0.75, 1.25)
CLIFF = 0.10
SECTIONS = ("population", "patterns", "rules", "weights")
SKIP = ("rules.learned_ranker",)
DRAWS = ("g1", "g2", "g3", "g4", "g5", "g6", "g7", "g8")
DEFAULT_DRAWS_DIR = Path.home() / ".cache" / "amlmon-bench" / "draws"


def bounds(data: dict[str, Any]) -> Iterator[tuple[str, float]]:
    """(dotted key, value) of every numeric bound in the rules file's data."""
    if isinstance(data.get("flag_min_risk"), int | float):
        yield "flag_min_risk", data["flag_min_risk"]

    def walk(prefix: str, node: Any) -> Iterator[tuple[str, float]]:
        if prefix in SKIP:
            return
        if isinstance(node, dict):
            for key, value in node.items():
                yield from walk(f"{prefix}.{key}", value)
        elif isinstance(node, int | float) and not isinstance(node, bool):
            yield prefix, node

    for section in SECTIONS:
        yield from walk(section, data.get(section, {}))


def moved(data: dict[str, Any], key: str, value: float, factor: float) -> dict[str, Any]:
    """A copy of `data` with `key` at `factor` × `value` (an integer moved by 1 at least)."""
    if isinstance(value, int):
        new: float = round(value * factor)
        if new == value:
            new = value + (1 if factor > 1 else -1)
    else:
        new = value * factor
    out = copy.deepcopy(data)
    node, parts = out, key.split(".")
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = new
    return out


def f1(history: History, config: RulesConfig) -> float:
    scored = evaluate(flows_from_history(history), config, permissioned=True)
    uncounted = {a for a, kind in history.lookalikes.items() if kind == FALSE_ALERT}
    flagged = {str(scored.flows.addresses[a]) for a, risk in scored.risk.items()
               if risk >= config.flag_min_risk} - uncounted
    labels = set(history.labels())
    total = len(flagged) + len(labels)
    return 2 * len(flagged & labels) / total if total else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--draws", nargs="+", default=list(DRAWS))
    parser.add_argument("--draws-dir", type=Path, default=DEFAULT_DRAWS_DIR)
    parser.add_argument("--seeds", nargs="*", type=int, default=[101, 102, 103, 104, 105],
                        help="sim-independent seeds (none: --seeds with no value)")
    parser.add_argument("--only", nargs="+", default=[],
                        help="bounds whose dotted key starts with one of these")
    parser.add_argument("--rules", type=Path, default=REPO / "config" / "rules.yaml")
    args = parser.parse_args(argv)
    import detection_draws
    import yaml

    data = yaml.safe_load(args.rules.read_text()) or {}
    config = load_rules_config(args.rules)
    histories: list[tuple[str, History]] = [
        (f"draw {name}", detection_draws.load(name, args.draws_dir)) for name in args.draws]
    histories += [(f"sim-independent {seed}", generate_independent(seed))
                  for seed in args.seeds]
    started = time.perf_counter()
    base = {name: f1(h, config) for name, h in histories}
    print("F1 at the rules file's values: " + ", ".join(
        f"{name} {value:.3f}" for name, value in base.items()), flush=True)
    print(f"{'bound':<52}{'value':>10}{'x0.75':>9}{'x1.25':>9}  largest F1 change (data set)")
    cliffs = []
    for key, value in bounds(data):
        if args.only and not key.startswith(tuple(args.only)):
            continue
        cells, worst = [], (0.0, "")
        for factor in FACTORS:
            try:
                changed = parse(moved(data, key, value, factor), key)
            except ConfigError:
                cells.append("refused")
                continue
            deltas = {name: f1(h, changed) - base[name] for name, h in histories}
            name, delta = max(deltas.items(), key=lambda kv: abs(kv[1]))
            cells.append(f"{delta:+.3f}")
            if abs(delta) > abs(worst[0]):
                worst = (delta, f"{name} at x{factor}")
        print(f"{key:<52}{value:>10g}{cells[0]:>9}{cells[1]:>9}  {worst[0]:+.3f} ({worst[1]})",
              flush=True)
        if abs(worst[0]) > CLIFF:
            cliffs.append(f"{key} ({worst[0]:+.3f}, {worst[1]})")
    print(f"bounds moving F1 by more than {CLIFF}: " + ("; ".join(cliffs) or "none"))
    print(f"{time.perf_counter() - started:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
