"""Detection quality on labelled data sets nobody tuned amlmon against (issue 14 §4).

    .venv/bin/python bench/detection.py                 # three data sets, full pipeline
    .venv/bin/python bench/detection.py --datasets amlsim-neutral --fast
    .venv/bin/python bench/detection.py --datasets sim-independent --investors 1000 --fast
    .venv/bin/python bench/detection.py --datasets sim-generate --seeds 101 102
    .venv/bin/python bench/detection.py --datasets amlsim-draws --fast --draws g1 g7
    .venv/bin/python bench/detection.py --learned [bench/learned.py options]

Data sets: `amlsim-draws` (eight draws of IBM's AMLSim generator, bench/detection_draws.py,
generated into `--draws-dir` the first time), `amlsim-published` and `amlsim-neutral` (IBM
AMLSim's sample, monitor/sim/amlsim), `sim-independent` (monitor.sim.independent, drawn
without reading the rules), and, on request only, `sim-generate` (monitor.sim.generate,
written together with the rules: it shows that nothing regressed, not that detection
holds, so it has no target). By default each history goes through amlmon as a new user runs it
(tests/support/pipeline.py: anvil, the repo's token, replay, `amlmon token add`, `ingest
--once`, `score`, `report flagged`, default settings, a throwaway Postgres database per
run). `--fast` scores flows built straight from the history with the same `evaluate`
instead, in seconds.

Printed per run: precision, recall and F1 of the flagged set, precision at K (K = the
number of labelled addresses, ranked by risk), the flagged share of active addresses and
seconds per stage; beside them the baselines (tests/support/detection.py) at amlmon's
flag budget and at K; per-typology recall and precision, near-miss recall, per-role recall
and the benign look-alikes flagged when the data set has them. Runs of one data set are
pooled (counts summed) into the closing table, which marks the targets of issue 14; the
generator's draws are not pooled: each is a line of its own, then the worst and the median,
against issue 20's targets (false-alert members count neither way).

`--learned` runs bench/learned.py instead (issue 21: a ranker trained on a labelled share
of the accounts, F1 on the rest), `--sensitivity` bench/sensitivity.py (issue 20: each
bound of the rules file at ×0.75 and ×1.25); the other arguments go to them.
"""

from __future__ import annotations

import argparse
import operator
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import reduce
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from monitor.addresses import ZERO  # noqa: E402
from monitor.scoring.config import RulesConfig, load_rules_config  # noqa: E402
from monitor.scoring.flows import Flows  # noqa: E402
from monitor.sim import History, amlsim, generate, generate_independent  # noqa: E402
from monitor.sim.amlsim_draws import FALSE_ALERT  # noqa: E402
from support import detection as d  # noqa: E402
from support.pipeline import RULES_FILE, run_pipeline  # noqa: E402
from support.postgres import create_database, drop_database, postgres_server  # noqa: E402

DATASETS = ("amlsim-draws", "amlsim-published", "amlsim-neutral", "sim-generate", "sim-independent")
SIM_TARGETS = {"f1": 0.90, "typology_recall": 0.85, "lookalikes": 0.02}
AMLSIM_TARGETS = {"f1": 0.75, "over_degree": 1.3, "split_off": 0.55}  # split_off: issue 20
# issue 20: F1 floors by prevalence (at or above 5% laundering / below) and the ratio to the
# better of the degree and IsolationForest baselines at K
DRAW_TARGETS = {"common": 0.45, "rare": 0.25, "prevalence": 0.05, "over_baseline": 2.0}
DEFAULT_DRAWS_DIR = Path.home() / ".cache" / "amlmon-bench" / "draws"


@dataclass
class Outcome:
    """What amlmon said about one history, however it ran."""

    findings: dict[str, d.Finding]
    flagged: set[str]
    transfers: list[d.Flow]
    seconds: dict[str, float]
    # --fast only: per rule, the addresses its finding alone flags (weight × score), and
    # the flagged set when split_transfers is switched off (its weight 0)
    alone: dict[str, set[str]] = field(default_factory=dict)
    split_off: set[str] | None = None


@dataclass
class Measures:
    """One run's figures, as counts so that seeds pool by summing."""

    amlmon: d.Quality
    at_k: d.Share
    share: d.Share  # flagged / active addresses
    at_budget: dict[str, d.Quality]
    at_labels: dict[str, d.Quality]
    typology: dict[str, d.Share]
    precision: dict[str, d.Share]
    near_miss: dict[str, d.Share]
    roles: dict[tuple[str, str], d.Share]
    lookalikes: dict[str, d.Share]
    seconds: dict[str, float] = field(default_factory=dict)
    alone: dict[str, d.Share] = field(default_factory=dict)  # rule -> true positives alone
    split_off: d.Quality | None = None

    def __add__(self, other: Measures) -> Measures:
        return Measures(**{name: _add(getattr(self, name), getattr(other, name))
                           for name in self.__dataclass_fields__})


def _add(a: Any, b: Any) -> Any:
    """Counts, Shares and Qualities add; dicts of them add key by key."""
    if a is None or b is None:
        return None
    if isinstance(a, dict):
        return {k: _add(a[k], b[k]) if k in a and k in b else a.get(k, b.get(k))
                for k in {**a, **b}}
    return a + b


def flows_from_history(history: History) -> Flows:
    """The scoring input amlmon would load after ingesting `history`, without a chain."""
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


def run_fast(history: History, config: RulesConfig) -> Outcome:
    """Score the history's flows in memory with the production `evaluate`, the token
    registered as erc3643 as the pipeline registers it; then again with split_transfers
    switched off."""
    from monitor.scoring.evaluate import evaluate

    started = time.perf_counter()
    flows = flows_from_history(history)
    scored = evaluate(flows, config, permissioned=True)
    seconds = {"score": time.perf_counter() - started}
    alone: dict[str, set[str]] = defaultdict(set)
    for index, reasons in scored.raw.items():
        for rule, reason in reasons.items():
            if config.weight(rule) * reason.score >= config.flag_min_risk:
                alone[rule].add(str(scored.flows.addresses[index]))
    off = config.model_copy(update={"weights": {**config.weights, "split_transfers": 0.0}})
    without = evaluate(flows, off, permissioned=True)
    split_off = {str(without.flows.addresses[a]) for a, risk in without.risk.items()
                 if risk >= config.flag_min_risk}
    names = scored.flows.addresses
    findings = {}
    for index, risk in scored.risk.items():
        anomaly = scored.anomaly_scores[index]
        findings[str(names[index])] = d.Finding(
            int(risk), None if np.isnan(anomaly) else round(float(anomaly), 4),
            frozenset(r.rule for r in scored.reasons.get(index, [])))
    flagged = {a for a, f in findings.items() if f.risk >= config.flag_min_risk}
    unit = 10.0 ** history.decimals
    transfers = [(t.sender, t.receiver, t.amount / unit) for t in history.transfers]
    return Outcome(findings, flagged, transfers, seconds, dict(alone), split_off)


def run_full(history: History, server: str, keep_db: bool) -> Outcome:
    url = create_database(server, prefix="amlmon_bench_detection")
    try:
        with tempfile.TemporaryDirectory(prefix="amlmon-bench-") as folder:
            result = run_pipeline(history, url, Path(folder))
    finally:
        if keep_db:
            print(f"   database kept: {url}")
        else:
            drop_database(url)
    return Outcome(result.findings, result.flagged, result.transfers, result.seconds)


def measure(history: History, outcome: Outcome) -> Measures:
    labels = set(history.labels())
    active = d.active_addresses(outcome.transfers)
    # a generator's false alerts are built like its SAR groups: they count neither way
    # (reported apart as look-alikes flagged)
    uncounted = {a for a, kind in history.lookalikes.items() if kind == FALSE_ALERT}
    flagged, k = outcome.flagged - uncounted, len(labels)
    active -= uncounted
    return Measures(
        amlmon=d.quality(flagged, labels),
        at_k=d.precision_at(d.ranked(outcome.findings, active), labels, k),
        share=d.Share(len(flagged), len(active)),
        at_budget=d.baselines(outcome.transfers, len(flagged), labels, uncounted),
        at_labels=d.baselines(outcome.transfers, k, labels, uncounted),
        typology=d.typology_recall(history, flagged),
        precision=d.typology_precision(history, outcome.findings, flagged),
        near_miss=d.typology_recall(history, flagged, near_miss=True),
        roles=d.role_recall(history, flagged),
        lookalikes=d.lookalike_flagged(history, outcome.flagged),
        seconds=outcome.seconds,
        alone={rule: d.Share(len(found & flagged & labels), len(flagged & labels))
               for rule, found in sorted(outcome.alone.items())},
        split_off=(d.quality(outcome.split_off - uncounted, labels)
                   if outcome.split_off is not None else None),
    )


def histories(name: str, args: argparse.Namespace) -> Iterator[tuple[str, History, str]]:
    """(run label, history, a line about it) for each run of data set `name`."""
    if name == "amlsim-draws":
        import detection_draws

        for draw in args.draws:
            spec = detection_draws.DRAWS[draw]
            yield f"draw {draw}", detection_draws.load(draw, args.draws_dir), (
                f"{spec.name}, SAR alerts {spec.mix()}, false alerts "
                + ",".join(f"{t}={n}" for t, n in spec.false_alerts.items()))
    elif name.startswith("amlsim-"):
        loaded = amlsim.load(name.removeprefix("amlsim-"))
        yield name, loaded.history, _amlsim_line(loaded)
    elif name == "sim-generate":
        for seed in args.seeds:
            yield f"{name} seed {seed}", generate(
                seed, investors=args.investors or 300, days=args.days,
                cases_per_rule=args.cases), ""
    else:
        for seed in args.seeds:
            yield f"{name} seed {seed}", (
                generate_independent(seed, investors=args.investors) if args.investors
                else generate_independent(seed)), ""


def _amlsim_line(loaded: amlsim.AmlSimHistory) -> str:
    from sklearn.metrics import roc_auc_score

    history = loaded.history
    labels = set(history.labels())
    accounts = sorted(history.investors)
    raise_auc = roc_auc_score([a in labels for a in accounts],
                              [loaded.raised.get(a, 0) for a in accounts])
    return (f"mints raised so that no transfer overdraws: {len(loaded.raised):,} accounts "
            f"(AUC of the raise for the label {raise_auc:.2f}); labelled accounts in a "
            f"transfer below 50 (published amounts): {len(loaded.marked):,} of {len(labels):,}")


def report_run(label: str, mode: str, history: History, m: Measures, note: str) -> None:
    print(f"== {label} ({mode})")
    print(f"   {len(history.transfers):,} transfers, {m.share.total:,} active addresses, "
          f"{m.amlmon.labels:,} labelled")
    if note:
        print(f"   {note}")
    print("   seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in m.seconds.items()))
    print_quality(m, "   ")
    print_rules(m, "   ")
    print_typologies(m, "   ")
    print()


def print_quality(m: Measures, pad: str) -> None:
    print(f"{pad}{'':<30}{'budget':>8}{'precision':>11}{'recall':>8}{'F1':>7}")
    print(f"{pad}{'amlmon':<30}{m.amlmon.flagged:>8,}{m.amlmon.precision:>11.3f}"
          f"{m.amlmon.recall:>8.3f}{m.amlmon.f1:>7.3f}   P@K {m.at_k.value:.3f}, flagged "
          f"{m.share.value:.1%} of active addresses")
    for budget, baselines in (("amlmon's", m.at_budget), ("K", m.at_labels)):
        for name, q in baselines.items():
            print(f"{pad}{name + ' at ' + budget:<30}{q.flagged:>8,}{q.precision:>11.3f}"
                  f"{q.recall:>8.3f}{q.f1:>7.3f}")


def print_rules(m: Measures, pad: str) -> None:
    """What the figure rests on (--fast): each rule's share of the true positives that its
    finding alone flags, and F1 with split_transfers off."""
    if m.alone:
        ranked = sorted(m.alone.items(), key=lambda kv: -kv[1].hits)
        print(f"{pad}true positives a rule alone flags: " + ", ".join(
            f"{rule} {s.value:.0%} ({s.hits:,}/{s.total:,})" for rule, s in ranked if s.hits))
    if m.split_off is not None:
        print(f"{pad}split_transfers off: F1 {m.split_off.f1:.3f} (P "
              f"{m.split_off.precision:.3f}, R {m.split_off.recall:.3f}, "
              f"{m.split_off.flagged:,} flagged)")


def print_typologies(m: Measures, pad: str) -> None:
    if not m.typology:
        return
    print(f"{pad}{'typology':<26}{'recall':>16}{'precision':>16}{'near-miss recall':>20}")
    for rule, recall in m.typology.items():
        precision = m.precision.get(rule)
        near = m.near_miss.get(rule)
        print(f"{pad}{rule:<26}{_share(recall):>16}"
              f"{_share(precision) if precision else '-':>16}"
              f"{_share(near) if near else '-':>20}")
    if m.near_miss:
        print(f"{pad}near-miss cases: recall {_share(_sum(m.near_miss.values()))}")
    roles: dict[str, list[str]] = defaultdict(list)
    for (rule, role), share in m.roles.items():
        roles[rule].append(f"{role} {share.hits}/{share.total}")
    for rule, parts in roles.items():
        print(f"{pad}roles flagged, {rule}: {', '.join(parts)}")
    if m.lookalikes:
        print(f"{pad}benign look-alikes flagged: " + ", ".join(
            f"{kind} {s.hits}/{s.total}" for kind, s in m.lookalikes.items())
            + f"; all {_share(_sum(m.lookalikes.values()))}")


def _share(s: d.Share) -> str:
    return f"{s.value:.2f} ({s.hits:,}/{s.total:,})"


def _sum(shares: Iterable[d.Share]) -> d.Share:
    return reduce(operator.add, shares, d.Share(0, 0))


def targets(name: str, m: Measures) -> str:
    """The issue 14 targets this data set has, each marked met or unmet."""
    def mark(ok: bool) -> str:
        return "met" if ok else "UNMET"

    if name == "amlsim-neutral":
        degree = m.at_budget["degree"].f1
        ratio = m.amlmon.f1 / degree if degree else float("inf")
        off = "" if m.split_off is None else (
            f"; split_transfers off F1 {m.split_off.f1:.2f} >= {AMLSIM_TARGETS['split_off']} "
            f"{mark(m.split_off.f1 >= AMLSIM_TARGETS['split_off'])}")
        return (f"F1 {m.amlmon.f1:.2f} >= {AMLSIM_TARGETS['f1']} {mark(m.amlmon.f1 >= 0.75)}; "
                f"{ratio:.2f}x degree >= {AMLSIM_TARGETS['over_degree']}x "
                f"{mark(ratio >= AMLSIM_TARGETS['over_degree'])}{off}")
    if name == "sim-independent":
        worst = min(m.typology.items(), key=lambda kv: kv[1].value)
        looks = _sum(m.lookalikes.values())
        return (f"F1 {m.amlmon.f1:.2f} >= {SIM_TARGETS['f1']} "
                f"{mark(m.amlmon.f1 >= SIM_TARGETS['f1'])}; lowest typology recall "
                f"{worst[1].value:.2f} ({worst[0]}) >= {SIM_TARGETS['typology_recall']} "
                f"{mark(worst[1].value >= SIM_TARGETS['typology_recall'])}; look-alikes "
                f"flagged {looks.value:.1%} <= {SIM_TARGETS['lookalikes']:.0%} "
                f"{mark(looks.value <= SIM_TARGETS['lookalikes'])}")
    if name == "amlsim-draws":
        prevalence = m.amlmon.labels / m.share.total if m.share.total else 0.0
        floor = (DRAW_TARGETS["common"] if prevalence >= DRAW_TARGETS["prevalence"]
                 else DRAW_TARGETS["rare"])
        best = max(m.at_labels["degree"].f1, m.at_labels["isolation forest"].f1)
        ratio = m.amlmon.f1 / best if best else float("inf")
        return (f"F1 {m.amlmon.f1:.3f} >= {floor} at {prevalence:.1%} laundering "
                f"{mark(m.amlmon.f1 >= floor)}; {ratio:.2f}x the better baseline at K "
                f"({best:.3f}) >= {DRAW_TARGETS['over_baseline']}x "
                f"{mark(ratio >= DRAW_TARGETS['over_baseline'])}")
    if name == "sim-generate":
        return "no target (written with the rules)"
    return "no target (the amounts mark the laundering transfers)"


def main() -> None:
    if "--learned" in sys.argv[1:]:
        import learned

        sys.exit(learned.main([a for a in sys.argv[1:] if a != "--learned"]))
    if "--sensitivity" in sys.argv[1:]:
        import sensitivity

        sys.exit(sensitivity.main([a for a in sys.argv[1:] if a != "--sensitivity"]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learned", action="store_true",
                        help="run bench/learned.py (issue 21) with the other arguments")
    parser.add_argument("--sensitivity", action="store_true",
                        help="run bench/sensitivity.py (issue 20: each bound at x0.75 and "
                             "x1.25) with the other arguments")
    parser.add_argument("--datasets", nargs="+", choices=DATASETS,
                        default=[d for d in DATASETS if d != "sim-generate"])
    parser.add_argument("--draws", nargs="+", default=["g1", "g2", "g3", "g4", "g5", "g6",
                                                        "g7", "g8"],
                        help="amlsim-draws: which of bench/detection_draws.py's draws")
    parser.add_argument("--draws-dir", type=Path, default=DEFAULT_DRAWS_DIR,
                        help="amlsim-draws: where draws are generated and read")
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 102, 103, 104, 105],
                        help="simulator seeds (the tests use others)")
    parser.add_argument("--investors", type=int, default=None,
                        help="simulators' benign holders (default: sim-generate 300, "
                             "sim-independent 400)")
    parser.add_argument("--days", type=int, default=60, help="sim-generate")
    parser.add_argument("--cases", type=int, default=2, help="sim-generate: cases per rule")
    parser.add_argument("--fast", action="store_true",
                        help="score flows built from the history in memory: no anvil, no "
                             "database, no CLI")
    parser.add_argument("--keep-db", action="store_true", help="keep each run's database")
    args = parser.parse_args()
    mode = ("fast: flows from the history, monitor.scoring.evaluate in memory" if args.fast
            else "full pipeline: anvil replay, amlmon ingest --once, score, report flagged")
    print(f"mode: {mode}; rules {RULES_FILE.relative_to(REPO)}\n")
    config = load_rules_config(RULES_FILE)
    pooled: dict[str, list[Measures]] = defaultdict(list)
    with postgres_server() as server:
        for name in args.datasets:
            for label, history, note in histories(name, args):
                outcome = (run_fast(history, config) if args.fast
                           else run_full(history, server, args.keep_db))
                m = measure(history, outcome)
                report_run(label, "fast" if args.fast else "full", history, m, note)
                pooled[name].append(m)
    print(f"summary ({'fast' if args.fast else 'full pipeline'}; runs of a data set pooled; "
          "baselines at amlmon's flag budget)")
    print(f"{'data set':<18}{'runs':>5}{'flagged':>9}{'share':>7}{'P':>7}{'R':>7}{'F1':>7}"
          f"{'P@K':>7}{'degree':>8}{'IF':>7}  targets")
    draws = pooled.pop("amlsim-draws", [])
    for label, m in zip([f"draw {g}" for g in args.draws], draws, strict=False):
        print(f"{label:<18}{1:>5}{m.amlmon.flagged:>9,}{m.share.value:>7.1%}"
              f"{m.amlmon.precision:>7.3f}{m.amlmon.recall:>7.3f}{m.amlmon.f1:>7.3f}"
              f"{m.at_k.value:>7.3f}{m.at_budget['degree'].f1:>8.3f}"
              f"{m.at_budget['isolation forest'].f1:>7.3f}  {targets('amlsim-draws', m)}")
    if draws:
        f1s = sorted((m.amlmon.f1, g) for g, m in zip(args.draws, draws, strict=False))
        print(f"{'draws':<18} worst F1 {f1s[0][0]:.3f} ({f1s[0][1]}), median "
              f"{statistics.median(f for f, _ in f1s):.3f}")
    for name, runs in pooled.items():
        m = reduce(operator.add, runs)
        print(f"{name:<18}{len(runs):>5}{m.amlmon.flagged:>9,}{m.share.value:>7.1%}"
              f"{m.amlmon.precision:>7.3f}{m.amlmon.recall:>7.3f}{m.amlmon.f1:>7.3f}"
              f"{m.at_k.value:>7.3f}{m.at_budget['degree'].f1:>8.3f}"
              f"{m.at_budget['isolation forest'].f1:>7.3f}  {targets(name, m)}")


if __name__ == "__main__":
    main()
