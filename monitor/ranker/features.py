"""What a ranker reads about each address: its own columns (assembled by scoring: the
per-address features, every rule's and pattern role's raw score, the IsolationForest's
score) and the graph around it, computed here from the transfers.

Graph context, label-free: the counterparties' degree, rule scores and anomaly (mean and
largest), the mean of their per-address features and thin context (two hops), how many of
them the rules flag, and *thin* relationships — counterparties
dealt with once (THIN transfers at most, both ways): laundering networks are mostly made
of one-off payments between addresses that otherwise deal with their usual
counterparties again and again.

Label context: how many counterparties and one-off counterparties carry a laundering or a
legitimate label, and the laundering share of the labelled ones, counting only addresses
outside the address's own network (the addresses it shares a pattern with, transitively). Training
and evaluation keep a network together (monitor.ranker.training.fit), so the labels of
an address's own network are never known when it is evaluated; reading them in force
would use what cross-validation never measured. The label context is computed from the
labels a model may know: in cross-validation, only the training folds'.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

THIN = 1  # transfers (both ways) of a relationship that counts as thin (one-off)
DAY = 86400
# Windows (days) of the thin bursts: an address's own one-off transfers within one of
# another, and its one-off counterparties' around the transfer they made with it. The
# members of a laundering network make their one-off payments together; most addresses'
# one-off payments are scattered.
BURST_DAYS = (3, 15)
FLAGGED = 50  # a counterparty whose strongest rule score reaches this counts as flagged
# Own columns whose counterparties' mean and largest values are context.
NEIGHBOUR_COLUMNS = ("degree", "rule_max", "anomaly")
LABEL_PREFIX = "labelled_"
# The counterparties' average of an own column is the column COUNTERPARTY_MEAN + its name;
# averaged: every `feature:` column and these.
COUNTERPARTY_MEAN = "counterparty_mean:"
TWO_HOP = ("thin_share", "thin_burst_3d", "thin_partner_burst_3d", "thin_senders",
           "thin_receivers", "counterparty_mean_degree")


@dataclass
class Inputs:
    """One token's addresses as a ranker sees them (row 0, the zero address, unused)."""

    columns: dict[str, np.ndarray]  # own columns, float per address; NaN: not measured
    src: np.ndarray  # transfers between addresses (the zero address left out), by index
    dst: np.ndarray
    t: np.ndarray  # their unix seconds
    pattern: np.ndarray  # memberships: pattern number and member address, pairwise
    member: np.ndarray
    groups: np.ndarray  # per address: its network (addresses sharing a pattern), for folds

    @property
    def n(self) -> int:
        return int(self.groups.size)


@dataclass
class Graph:
    """The label-free context of Inputs, computed once per token."""

    adjacency: sparse.csr_matrix  # undirected, one per counterparty pair
    thin: sparse.csr_matrix  # the pairs with at most THIN transfers
    # For the label context: counterparties and thin ones outside the address's network.
    outside: sparse.csr_matrix
    thin_outside: sparse.csr_matrix
    columns: dict[str, np.ndarray] = field(default_factory=dict)


def graph(inputs: Inputs) -> Graph:
    n = inputs.n
    counts = sparse.coo_matrix((np.ones(inputs.src.size), (inputs.src, inputs.dst)),
                               shape=(n, n)).tocsr()
    both = (counts + counts.T).tocsr()
    both.setdiag(0)
    both.eliminate_zeros()
    adjacency = both.copy()
    adjacency.data = np.ones_like(adjacency.data)
    thin = both.copy()
    thin.data = (thin.data <= THIN).astype(float)
    thin.eliminate_zeros()
    once = counts.copy()  # directed: a thin pair's one transfer, sent or received
    once.data = (once.data <= THIN).astype(float)
    once = once.multiply(thin).tocsr()
    adjacency, thin = adjacency.tocsr(), thin.tocsr()
    held = Graph(adjacency, thin, _outside(adjacency, inputs.groups),
                 _outside(thin, inputs.groups))
    degree = _sum(adjacency)
    thin_degree = _sum(thin)
    own = {"degree": np.log1p(degree), "rule_max": _own(inputs, "rule_max"),
           "anomaly": _own(inputs, "anomaly")}
    columns = held.columns
    for name in NEIGHBOUR_COLUMNS:
        value = own[name]
        columns[f"counterparty_mean_{name}"] = adjacency @ value / np.maximum(degree, 1)
        columns[f"counterparty_max_{name}"] = _row_max(adjacency, value)
    columns["counterparties_flagged"] = adjacency @ (own["rule_max"] >= FLAGGED).astype(float)
    columns["thin_senders"] = _sum(once, axis=0)
    columns["thin_receivers"] = _sum(once, axis=1)
    columns["thin_share"] = thin_degree / np.maximum(degree, 1)
    columns["thin_counterparty_max_thin"] = _row_max(thin, thin_degree)
    columns["thin_counterparty_thin_sum"] = thin @ thin_degree
    columns["thin_counterparty_max_rule"] = _row_max(thin, own["rule_max"])
    # Addresses its patterns hold besides itself, counted per pattern: a pattern of
    # thousands of members would make the pairwise count quadratic.
    sizes = np.bincount(inputs.pattern, minlength=int(inputs.pattern.max()) + 1
                        if inputs.pattern.size else 0)
    columns["pattern_peers"] = np.bincount(inputs.member, weights=sizes[inputs.pattern] - 1.0,
                                           minlength=n).astype(float)
    columns.update(_thin_bursts(inputs, n))
    # Two hops: the counterparties' own features and thin context, averaged. A laundering
    # account's counterparties are the network's other members, whose activity differs
    # from a normal account's counterparties even where its own does not (on AMLSim draws
    # g1 and g2, 30% labelled, F1 of the ranker alone +0.01 and +0.08).
    share = adjacency.multiply(1.0 / np.maximum(degree, 1)[:, None]).tocsr()
    for name in [c for c in inputs.columns if c.startswith("feature:")] + list(TWO_HOP):
        value = inputs.columns[name] if name in inputs.columns else columns[name]
        columns[f"{COUNTERPARTY_MEAN}{name}"] = share @ np.nan_to_num(value, nan=0.0)
    return held


def _thin_bursts(inputs: Inputs, n: int) -> dict[str, np.ndarray]:
    """Per address, the most one-off transfers it made within BURST_DAYS of one of its own
    (`thin_burst_Nd`), and the most its one-off counterparty made within as long of the
    transfer between them (`thin_partner_burst_Nd`)."""
    lo, hi = np.minimum(inputs.src, inputs.dst), np.maximum(inputs.src, inputs.dst)
    _, inverse, counts = np.unique(lo.astype(np.int64) * n + hi, return_inverse=True,
                                   return_counts=True)
    once = counts[inverse] <= THIN
    src, dst, t = inputs.src[once], inputs.dst[once], inputs.t[once]
    keys = np.sort(np.concatenate([src, dst]).astype(np.int64) * (1 << 40)
                   + np.concatenate([t, t]))
    out = {}
    for days in BURST_DAYS:
        window = days * DAY

        def around(who: np.ndarray, window: int = window) -> np.ndarray:
            """One-off transfers of `who` within `window` of each transfer's time, besides
            that transfer."""
            base = who.astype(np.int64) * (1 << 40) + t
            return (np.searchsorted(keys, base + window, side="right")
                    - np.searchsorted(keys, base - window, side="left") - 1).astype(float)

        own, partner = np.zeros(n), np.zeros(n)
        if src.size:
            np.maximum.at(own, src, around(src))
            np.maximum.at(own, dst, around(dst))
            np.maximum.at(partner, src, around(dst))
            np.maximum.at(partner, dst, around(src))
        out[f"thin_burst_{days}d"] = own
        out[f"thin_partner_burst_{days}d"] = partner
    return out


def label_columns(held: Graph, known: np.ndarray) -> dict[str, np.ndarray]:
    """Label context from `known` (per address: +weight laundering, -weight legitimate,
    0 unknown)."""
    laundering = np.maximum(known, 0.0)
    legitimate = np.maximum(-known, 0.0)
    bad = held.outside @ laundering
    good = held.outside @ legitimate
    return {
        f"{LABEL_PREFIX}laundering_counterparties": bad,
        f"{LABEL_PREFIX}legitimate_counterparties": good,
        f"{LABEL_PREFIX}laundering_share": bad / np.maximum(bad + good, 1e-9),
        f"{LABEL_PREFIX}laundering_thin_counterparties": held.thin_outside @ laundering,
        f"{LABEL_PREFIX}legitimate_thin_counterparties": held.thin_outside @ legitimate,
    }


def available(inputs: Inputs, held: Graph, labels: bool = True) -> list[str]:
    """Every column a ranker can be trained on, in a fixed order."""
    names = [*inputs.columns, *held.columns]
    if labels:
        names += list(label_columns(held, np.zeros(inputs.n)))
    return names


def matrix(inputs: Inputs, held: Graph, known: np.ndarray | None, names: list[str],
           rows: np.ndarray) -> np.ndarray:
    """The `names` columns at `rows`; a column this version does not compute is NaN
    (missing, to the trees), so that a model trained by another version still ranks."""
    labelled = label_columns(held, known) if known is not None else {}
    out = np.full((rows.size, len(names)), np.nan)
    for j, name in enumerate(names):
        column = inputs.columns.get(name)
        if column is None:
            column = held.columns.get(name)
        if column is None:
            column = labelled.get(name)
        if column is not None:
            out[:, j] = column[rows]
    return out


def _outside(matrix: sparse.csr_matrix, groups: np.ndarray) -> sparse.csr_matrix:
    """`matrix` without the entries that join two addresses of one network (the diagonal
    included)."""
    coo = matrix.tocoo()
    keep = groups[coo.row] != groups[coo.col]
    return sparse.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])),
                             shape=matrix.shape)


def _sum(matrix: sparse.spmatrix, axis: int = 1) -> np.ndarray:
    return np.asarray(matrix.sum(axis=axis)).ravel().astype(float)


def _row_max(matrix: sparse.csr_matrix, value: np.ndarray) -> np.ndarray:
    """Per row, the largest `value` among its non-zero columns (0 without any)."""
    out = np.zeros(matrix.shape[0])
    if matrix.nnz:
        rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
        np.maximum.at(out, rows, value[matrix.indices])
    return out


def _own(inputs: Inputs, name: str) -> np.ndarray:
    value = inputs.columns.get(name)
    return np.zeros(inputs.n) if value is None else np.nan_to_num(value, nan=0.0)
