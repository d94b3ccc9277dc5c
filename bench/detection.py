"""Detection quality on simulated histories the tests never use.

    .venv/bin/python bench/detection.py                  # seeds 101..105
    .venv/bin/python bench/detection.py --seeds 7 8 --investors 600 --days 90

For each seed: generate a labelled history, score it with the production scorer (the
same `evaluate` that `amlmon score` runs, fed straight from the history instead of
through a chain, so many seeds run in seconds; the tests cover the chain path), then
print per-rule precision/recall (an actor counts as found when the rule fires on it),
the address-level precision/recall/F1 of the flagged set (risk >= flag_min_risk),
precision at K, and benign hubs flagged by severity. Baseline: the share of addresses
that are actors, i.e. the precision of flagging at random.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.addresses import ZERO  # noqa: E402
from monitor.scoring.config import DEFAULTS  # noqa: E402
from monitor.scoring.flows import Flows  # noqa: E402
from monitor.scoring.risk import severity  # noqa: E402
from monitor.scoring.service import Scored, evaluate  # noqa: E402
from monitor.sim import TYPOLOGIES, History, generate  # noqa: E402


def flows_from_history(history: History) -> Flows:
    transfers = history.transfers
    ends = np.array([t.sender for t in transfers] + [t.receiver for t in transfers] + [ZERO],
                    dtype=object)
    addresses, inverse = np.unique(ends, return_inverse=True)
    zero = int(np.flatnonzero(addresses == ZERO)[0])
    order = np.concatenate(([zero], np.delete(np.arange(addresses.size), zero)))
    remap = np.empty_like(order)
    remap[order] = np.arange(order.size)
    inverse = remap[inverse]
    n = len(transfers)
    flows = Flows(
        token_id=1, decimals=history.decimals, addresses=addresses[order],
        t=np.array([t.timestamp for t in transfers], dtype=np.int64),
        block=np.arange(n, dtype=np.int64), src=inverse[:n].astype(np.int64),
        dst=inverse[n:2 * n].astype(np.int64),
        amount=np.array([t.amount for t in transfers], dtype=float) / 10**history.decimals,
        tx=np.array([f"0x{i:064x}" for i in range(n)], dtype=object),
    )
    index = {a: i for i, a in enumerate(flows.addresses)}
    for freeze in history.freezes:
        if freeze.address in index:
            flows.frozen.setdefault(index[freeze.address], []).append((freeze.timestamp, None))
    return flows


def measure(history: History, scored: Scored, min_risk: int) -> dict[str, object]:
    names = scored.flows.addresses
    flagged = {str(names[a]) for a, r in scored.risk.items() if r >= min_risk}
    fired: dict[str, set[str]] = defaultdict(set)
    for address, reasons in scored.reasons.items():
        for reason in reasons:
            fired[reason.rule].add(str(names[address]))
    labels = history.labels()
    actors = set(labels)
    per_rule = {}
    for rule in TYPOLOGIES:
        truth = history.actors(rule)
        if not truth:
            continue
        hits = fired.get(rule, set())
        # strict: actors of this rule; loose: actors of any injected case (a peel chain's
        # first hop is also a new address receiving a large value).
        per_rule[rule] = (len(hits & truth) / max(len(hits), 1),
                          len(hits & actors) / max(len(hits), 1), len(hits & truth) / len(truth))
    tp = len(flagged & actors)
    precision = tp / max(len(flagged), 1)
    recall = tp / max(len(actors), 1)
    ranked = sorted(scored.risk, key=lambda a: -scored.risk[a])
    k = len(actors)
    at_k = sum(1 for a in ranked[:k] if str(names[a]) in actors) / max(k, 1)
    hubs = defaultdict(int)
    for hub in history.benign_hubs:
        index = np.flatnonzero(names == hub)
        risk = scored.risk.get(int(index[0]), 0) if index.size else 0
        hubs[severity(risk)] += 1 if risk >= min_risk else 0
    return {"per_rule": per_rule, "precision": precision, "recall": recall,
            "f1": 2 * precision * recall / max(precision + recall, 1e-9), "at_k": at_k,
            "hubs_flagged": dict(hubs), "actors": len(actors), "flagged": len(flagged),
            "addresses": int(names.size - 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 102, 103, 104, 105])
    parser.add_argument("--investors", type=int, default=300)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--cases", type=int, default=2)
    args = parser.parse_args()
    min_risk = DEFAULTS["flag_min_risk"]
    totals: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    summary = []
    for seed in args.seeds:
        history = generate(seed, investors=args.investors, days=args.days,
                           cases_per_rule=args.cases)
        started = time.perf_counter()
        scored = evaluate(flows_from_history(history), DEFAULTS)
        seconds = time.perf_counter() - started
        m = measure(history, scored, min_risk)
        summary.append(m)
        for rule, pr in m["per_rule"].items():  # type: ignore[union-attr]
            totals[rule].append(pr)
        print(f"seed {seed}: {len(history.transfers):,} transfers, {m['addresses']:,} addresses, "
              f"{m['actors']} actors, {m['flagged']} flagged; precision {m['precision']:.2f} "
              f"recall {m['recall']:.2f} F1 {m['f1']:.2f} P@K {m['at_k']:.2f}; benign hubs "
              f"flagged {m['hubs_flagged'] or 0}; random-flag precision "
              f"{m['actors'] / m['addresses']:.3f}; scored in {seconds:.2f} s")
    print("\nper rule (mean over seeds)   precision strict / any actor   recall")
    for rule in TYPOLOGIES:
        if totals[rule]:
            p, loose, r = (np.mean([x[k] for x in totals[rule]]) for k in range(3))
            print(f"  {rule:<30} {p:9.2f} {loose:12.2f} {r:12.2f}")
    f1 = np.mean([m["f1"] for m in summary])
    print(f"\noverall: F1 {f1:.2f}, precision "
          f"{np.mean([m['precision'] for m in summary]):.2f}, recall "
          f"{np.mean([m['recall'] for m in summary]):.2f}")


if __name__ == "__main__":
    main()
