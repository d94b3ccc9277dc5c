"""The trained ranker on labelled data sets (issue 21 §4): labels for a random share of the
accounts, as if from past outcomes; a ranker trained on them; the token scored with it;
F1 on the other accounts only.

    .venv/bin/python bench/learned.py            # draws g1-g8 and the 20K sample
    .venv/bin/python bench/learned.py --datasets amlsim-draws --draws g1 g7 --draws-dir /tmp/draws
    .venv/bin/python bench/learned.py --fractions 0.3 --seeds 1 2 3

`main(argv)` is what `bench/detection.py --learned` runs.

Data sets: `amlsim-draws` (draws of IBM's AMLSim generator, monitor.sim.amlsim_draws: read
from `--draws-dir`/NAME, generated there first when bench/detection_draws.py knows the
draw) and `amlsim-neutral` (the 20K sample, monitor.sim.amlsim). Each history's flows are
built in memory and scored by the production `evaluate` (no chain or database: the
pipeline's wiring is tested in tests/ranker/test_training.py). Then, for each labelled
share and label seed:

- `ranker`: the production training (monitor.ranker.training.fit, with the rules file's
  `learned_ranker` settings, `min_labels` included: with too few labels nothing is
  trained and the pipeline is what it was) on the labelled accounts, its ranking fused by
  the production scoring (monitor.scoring.learned), flagged = risk >= flag_min_risk;
- `alone`: the ranker's own flags (its score >= flag_min_risk), without the rules';
- `plain GBM`: the same estimator, folds, calibration and F1 threshold on the raw
  per-account features alone (the `feature:` columns), trained on the same labels;
- `unsupervised`: the rules and the forest without labels.

F1 is measured on the accounts that were not labelled; members of a draw's false alerts
(benign typology-shaped groups) count neither way there, and are labelled legitimate when
drawn for training. Targets (issue 21): at 30% labelled, F1 at least 0.05 above the plain
GBM on every data set, and at least 0.70 where 5% or more of the accounts launder, 0.40
below that; at 5% labelled, F1 never below the unsupervised pipeline's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))

import detection_draws  # noqa: E402
from detection import flows_from_history  # noqa: E402

from monitor.ranker.model import Learned  # noqa: E402
from monitor.ranker.training.fit import fit  # noqa: E402
from monitor.scoring import learned  # noqa: E402
from monitor.scoring.config import RulesConfig, load_rules_config  # noqa: E402
from monitor.scoring.evaluate import Scored, evaluate  # noqa: E402
from monitor.sim import amlsim  # noqa: E402
from monitor.sim.amlsim_draws import FALSE_ALERT, load_draw  # noqa: E402
from monitor.sim.history import History  # noqa: E402
from support.detection import Quality  # noqa: E402

DATASETS = ("amlsim-draws", "amlsim-neutral")
DRAWS = ("g1", "g2", "g3", "g4", "g5", "g6", "g7", "g8")
FRACTIONS = (0.05, 0.10, 0.30, 0.50)
MARGIN, COMMON, RARE, PREVALENCE = 0.05, 0.70, 0.40, 0.05
DEFAULT_DRAWS_DIR = Path.home() / ".cache" / "amlmon-bench" / "draws"


@dataclass(frozen=True)
class Row:
    """One labelled share and seed of one data set."""

    fraction: float
    seed: int
    laundering: int  # labelled accounts of each label
    legitimate: int
    pr_auc: float | None  # the ranker's cross-validated PR-AUC (None: not trained)
    ranker: Quality
    alone: Quality
    plain: Quality | None
    unsupervised: Quality
    seconds: float


def histories(args: argparse.Namespace) -> Iterator[tuple[str, History]]:
    for dataset in args.datasets:
        if dataset == "amlsim-neutral":
            yield "20K sample (neutral)", amlsim.load("neutral").history
            continue
        for name in args.draws:
            yield f"draw {name}", _draw(name, args.draws_dir)


def _draw(name: str, folder: Path) -> History:
    """A draw bench/detection_draws.py knows (generated into `folder` first), else one
    already in folder/NAME."""
    if name in detection_draws.DRAWS:
        return detection_draws.load(name, folder)
    return load_draw(folder / name)


def measure(name: str, history: History, config: RulesConfig, fractions: list[float],
            seeds: list[int]) -> list[Row]:
    started = time.perf_counter()
    scored = evaluate(flows_from_history(history), config, permissioned=True)
    print(f"== {name}: {len(history.transfers):,} transfers, {len(history.investors):,} "
          f"accounts, scored in {time.perf_counter() - started:.1f} s", flush=True)
    names = [str(a) for a in scored.flows.addresses]
    index = {a: i for i, a in enumerate(names)}
    accounts = np.array(sorted(index[a] for a in history.investors if a in index))
    laundering = np.zeros(len(names), dtype=bool)
    laundering[[index[a] for a in history.labels() if a in index]] = True
    uncounted = np.zeros(len(names), dtype=bool)
    uncounted[[index[a] for a, kind in history.lookalikes.items()
               if kind == FALSE_ALERT and a in index]] = True
    base = flagged(scored, config)
    inputs = learned.inputs(scored)
    raw = [column for column in inputs.columns if column.startswith("feature:")]
    params = config.rules.learned_ranker
    rows = []
    for fraction in fractions:
        for seed in seeds:
            started = time.perf_counter()
            rng = np.random.default_rng(seed)
            chosen = np.sort(rng.choice(accounts, size=int(round(fraction * accounts.size)),
                                        replace=False))
            rest = np.setdiff1d(accounts, chosen)
            rest = rest[~uncounted[rest]]
            truth = laundering[chosen]
            positives, negatives = int(truth.sum()), int((~truth).sum())
            weights = np.ones(chosen.size)
            trained = positives >= params.min_labels and negatives >= params.min_labels
            if trained:
                model = fit(inputs, chosen, truth, weights, params)
                model.ranker.training = frozenset(names[i] for i in chosen)
                known = {names[i]: 1.0 if t else -1.0 for i, t in zip(chosen, truth,
                                                                        strict=True)}
                learned.with_ranker(scored, Learned(model.ranker, known), config)
                fused = flagged(scored, config)
                alone = {a for a, r in scored.raw.items() if learned.RULE in r
                         and r[learned.RULE].score * config.weight(learned.RULE)
                         >= config.flag_min_risk}
                learned.with_ranker(scored, None, config)  # back to the rules alone
                plain_model = fit(inputs, chosen, truth, weights, params, names=raw,
                                  labels=False).ranker
                p = plain_model.probability(_columns(inputs, raw, rest))
                plain: set[int] | None = set(rest[p >= plain_model.threshold].tolist())
                pr_auc: float | None = model.metrics["pr_auc"]
            else:
                fused, alone, plain, pr_auc = base, set(), None, None
            on = set(rest.tolist())
            labels = on & set(np.flatnonzero(laundering).tolist())
            rows.append(Row(fraction, seed, positives, negatives, pr_auc,
                            quality(fused & on, labels), quality(alone & on, labels),
                            quality(plain & on, labels) if plain is not None else None,
                            quality(base & on, labels), time.perf_counter() - started))
            _print_row(rows[-1])
    prevalence = laundering[accounts].mean()
    print(f"   {laundering[accounts].sum():,} of the accounts launder ({prevalence:.1%}); "
          f"{int(uncounted.sum()):,} false-alert members count neither way")
    for line in targets(rows, float(prevalence)):
        print(f"   {line}")
    print(flush=True)
    return rows


def _columns(inputs: learned.ranker_features.Inputs, names: list[str],
             rows: np.ndarray) -> np.ndarray:
    return np.column_stack([inputs.columns[name][rows] for name in names])


def flagged(scored: Scored, config: RulesConfig) -> set[int]:
    return {a for a, risk in scored.risk.items() if risk >= config.flag_min_risk}


def quality(found: set[int], labels: set[int]) -> Quality:
    return Quality(len(found), len(found & labels), len(labels))  # by address index


def _print_row(row: Row) -> None:
    if row.pr_auc is None:
        print(f"   {row.fraction:>4.0%} seed {row.seed}: {row.laundering} laundering and "
              f"{row.legitimate} legitimate labelled: too few to train; unsupervised F1 "
              f"{row.unsupervised.f1:.3f}", flush=True)
        return
    assert row.plain is not None
    print(f"   {row.fraction:>4.0%} seed {row.seed}: labelled {row.laundering:,} laundering "
          f"{row.legitimate:,} legitimate; cv PR-AUC {row.pr_auc:.3f}; F1 ranker "
          f"{row.ranker.f1:.3f} (P {row.ranker.precision:.2f} R {row.ranker.recall:.2f}), "
          f"alone {row.alone.f1:.3f}, plain GBM {row.plain.f1:.3f}, unsupervised "
          f"{row.unsupervised.f1:.3f}; {row.seconds:.0f} s", flush=True)


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else 0.0


def targets(rows: list[Row], prevalence: float) -> list[str]:
    """Issue 21's targets on one data set, from the mean over the seeds."""
    lines = []
    at30 = [r for r in rows if r.fraction == 0.30]
    if at30:
        ranker = _mean([r.ranker.f1 for r in at30])
        plain = _mean([r.plain.f1 for r in at30 if r.plain is not None])
        floor = COMMON if prevalence >= PREVALENCE else RARE
        lines.append(f"30% labelled: F1 {ranker:.3f} vs plain GBM {plain:.3f} "
                     f"({ranker - plain:+.3f}, target +{MARGIN}: "
                     f"{_mark(ranker - plain >= MARGIN)}); >= {floor} at "
                     f"{prevalence:.1%} laundering: {_mark(ranker >= floor)}")
    at5 = [r for r in rows if r.fraction == 0.05]
    if at5:
        worst = min(r.ranker.f1 - r.unsupervised.f1 for r in at5)
        lines.append(f"5% labelled: F1 {_mean([r.ranker.f1 for r in at5]):.3f} vs "
                     f"unsupervised {_mean([r.unsupervised.f1 for r in at5]):.3f} (worst seed "
                     f"{worst:+.3f}: {_mark(worst >= 0)})")
    return lines


def _mark(ok: bool) -> str:
    return "met" if ok else "UNMET"


def summary(results: dict[str, list[Row]], fractions: list[float]) -> None:
    print("summary: F1 on the unlabelled accounts, mean over the seeds "
          "(ranker / plain GBM / unsupervised)")
    print(f"{'data set':<22}" + "".join(f"{f:>22.0%}" for f in fractions))
    for name, rows in results.items():
        cells = []
        for fraction in fractions:
            at = [r for r in rows if r.fraction == fraction]
            plain = [r.plain.f1 for r in at if r.plain is not None]
            cells.append(f"{_mean([r.ranker.f1 for r in at]):.3f}/"
                         f"{_mean(plain) if plain else float('nan'):.3f}/"
                         f"{_mean([r.unsupervised.f1 for r in at]):.3f}")
        print(f"{name:<22}" + "".join(f"{c:>22}" for c in cells))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--draws", nargs="+", default=list(DRAWS),
                        help="draw names (bench/detection_draws.py), folders of --draws-dir")
    parser.add_argument("--draws-dir", type=Path, default=DEFAULT_DRAWS_DIR)
    parser.add_argument("--fractions", nargs="+", type=float, default=list(FRACTIONS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1])
    parser.add_argument("--rules", type=Path, default=REPO / "config" / "rules.yaml",
                        help="the rules file (default: the shipped one)")
    args = parser.parse_args(argv)
    if any(not 0 < f < 1 for f in args.fractions):
        parser.error("--fractions: each between 0 and 1")
    config = load_rules_config(args.rules)
    started = time.perf_counter()
    results = {}
    for name, history in histories(args):
        results[name] = measure(name, history, config, args.fractions, args.seeds)
    summary(results, args.fractions)
    print(f"{time.perf_counter() - started:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
