"""Samples drawn from IBM's AMLSim generator, as labelled Histories of one RWA token.

`../shared/conformance/amlsim-gen/make_sample.sh` runs the upstream generator (graph
generator, Java simulator, log converter) for a seed, an account count and a typology mix
of our choosing; `draw` calls it, `load_draw` reads what it wrote. The parameters are not
ours and were not drawn with amlmon's rules in mind, so every draw is data we did not
write, and many draws with spread parameters show whether detection holds or was tuned
to one sample.

Read as a token the way the 20K sample is (monitor.sim.amlsim): every account's
`initial_deposit` is minted at step 0, raised where its transfers would overdraw it; a
step is a day; values are token units with two decimals, kept exact.

Labels are per account, from `alert_accounts.csv` (the generator's README says why: the
transfers of `bipartite` and `stack` alerts are written unlabelled). Each SAR alert is one
Case whose rule is the alert's typology; members of false alerts (`is_sar False`:
typology-shaped benign groups) are look-alikes of kind `false_alert`, which the bench
counts neither way.
"""

from __future__ import annotations

import csv
import os
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from monitor.addresses import ZERO
from monitor.sim.amlsim import (
    DAY,
    DECIMALS,
    HOUR_OF_DAY,
    START,
    Row,
    address,
    mint_raises,
    units,
)
from monitor.sim.history import Case, History, SimTransfer

GENERATOR = (Path(__file__).resolve().parents[3] / "shared" / "conformance" / "amlsim-gen"
             / "make_sample.sh")
TYPOLOGIES = ("fan_in", "fan_out", "cycle", "scatter_gather", "gather_scatter", "bipartite",
              "stack", "random")
FALSE_ALERT = "false_alert"


@dataclass(frozen=True)
class Spec:
    """What to draw: the generator's own knobs (make_params.py --help)."""

    seed: int
    accounts: int
    steps: int
    typologies: dict[str, int]  # SAR alerts per typology
    false_alerts: dict[str, int] = field(default_factory=dict)
    options: tuple[str, ...] = ()  # further make_params.py options, e.g. ("--avg-degree", "6")

    @property
    def name(self) -> str:
        return f"seed {self.seed}, {self.accounts:,} accounts, {self.steps} steps"

    def mix(self) -> str:
        return ",".join(f"{t}={n}" for t, n in self.typologies.items())


def draw(spec: Spec, folder: Path) -> Path:
    """Run the generator for `spec` into `folder` (reused when it already holds the draw)."""
    stamp = folder / "spec.txt"
    wanted = repr(spec)
    if stamp.exists() and stamp.read_text() == wanted and (folder / "transactions.csv").exists():
        return folder
    command = [str(GENERATOR), str(folder), str(spec.seed), str(spec.accounts), spec.mix(),
               "--steps", str(spec.steps), *spec.options]
    if spec.false_alerts:
        command += ["--false-alerts", ",".join(f"{t}={n}" for t, n in spec.false_alerts.items())]
    env = {**os.environ, "STEPS": str(spec.steps)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"AMLSim generator failed for {spec.name}: "
                           f"{(done.stderr or done.stdout).strip()[-600:]}")
    stamp.write_text(wanted)
    return folder


def load_draw(folder: Path) -> History:
    """The draw in `folder` as a History: mints at step 0, then every transaction in order."""
    balances = {int(r["acct_id"]): units(r["initial_deposit"])
                for r in _rows(folder / "accounts.csv")}
    days: dict[str, int] = {}
    rows = []
    for r in _rows(folder / "transactions.csv"):
        stamp = r["tran_timestamp"]
        if stamp not in days:
            days[stamp] = int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())
        rows.append(Row(int(r["orig_acct"]), int(r["bene_acct"]), units(r["base_amt"]),
                        days[stamp]))
    first = min(days.values()) if days else 0
    rows = [Row(r.source, r.target, r.amount, 1 + (r.step - first) // DAY) for r in rows]
    rows.sort(key=lambda r: r.step)  # stable: file order within a step
    raised = mint_raises(balances, rows)
    transfers = [SimTransfer(START, ZERO, address(node), balance + raised.get(node, 0), "mint")
                 for node, balance in sorted(balances.items())]
    transfers += [SimTransfer(START + r.step * DAY + HOUR_OF_DAY, address(r.source),
                              address(r.target), r.amount, "transfer") for r in rows]
    members: dict[int, set[int]] = defaultdict(set)
    kind: dict[int, tuple[str, bool]] = {}
    for r in _rows(folder / "alert_accounts.csv"):
        alert = int(r["alert_id"])
        members[alert].add(int(r["acct_id"]))
        kind[alert] = (r["alert_type"], r["is_sar"] == "True")
    cases = [Case(kind[a][0], frozenset(address(m) for m in members[a]), f"AMLSim alert {a}")
             for a in sorted(members) if kind[a][1]]
    laundering = {actor for case in cases for actor in case.actors}
    lookalikes = {address(m): FALSE_ALERT for a in sorted(members) if not kind[a][1]
                  for m in members[a] if address(m) not in laundering}
    return History(
        decimals=DECIMALS, start=START, issuer=ZERO,
        reporting_threshold=10_000 * 10**DECIMALS, transfers=transfers, cases=cases,
        investors=frozenset(address(node) for node in balances), lookalikes=lookalikes,
    )


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))
