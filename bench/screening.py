"""Cost of sanctions screening: scoring with a 10,000-address list vs without.

    .venv/bin/python bench/screening.py                 # ~1,000,000 transfers
    .venv/bin/python bench/screening.py --transfers 100000

The same simulated history is scored twice in one process by the production scorer
(`evaluate`): once with no watchlist (the baseline) and once with a 10,000-address list in
which 20 of the history's addresses are listed (so exposure propagates). Prints both
times, the ratio, and how many addresses the exposure rule flagged.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detection import flows_from_history  # noqa: E402

from monitor.scoring.config import DEFAULTS  # noqa: E402
from monitor.scoring.evaluate import evaluate  # noqa: E402
from monitor.sim import generate  # noqa: E402
from monitor.watchlist.service import Listing  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=1_000_000)
    parser.add_argument("--list-size", type=int, default=10_000)
    args = parser.parse_args()
    started = time.perf_counter()
    history = generate(31, investors=300, days=60, scale=max(args.transfers / 7000, 1),
                       cases_per_rule=3)
    flows = flows_from_history(history)
    print(f"{flows.n:,} transfers, {flows.n_addresses:,} addresses "
          f"(generated in {time.perf_counter() - started:.0f} s)")
    rng = random.Random(5)
    listed = rng.sample(sorted(history.investors), 20)
    entries = {a: [Listing("bench-sdn", "sanctioned", "listed")] for a in listed}
    while len(entries) < args.list_size:
        entries[f"0x{rng.getrandbits(160):040x}"] = [Listing("bench-sdn", "sanctioned", None)]
    started = time.perf_counter()
    baseline = evaluate(flows, DEFAULTS)
    without = time.perf_counter() - started
    started = time.perf_counter()
    screened = evaluate(flows, DEFAULTS, entries)
    with_list = time.perf_counter() - started
    exposed = sum(1 for reasons in screened.reasons.values()
                  if any(r.rule == "watchlist_exposure" for r in reasons))
    print(f"scoring without lists: {without:.1f} s ({len(baseline.risk):,} addresses with a "
          f"reason)")
    print(f"scoring with a {len(entries):,}-address list: {with_list:.1f} s "
          f"({exposed:,} addresses with watchlist exposure)")
    print(f"ratio with / without: {with_list / without:.2f}")


if __name__ == "__main__":
    main()
