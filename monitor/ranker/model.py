"""A fitted ranker: calibrated probabilities, the threshold chosen for F1, and why.

The estimator is the committee of scikit-learn HistGradientBoostingClassifiers that grouped
cross-validation fitted, one per fold (monitor.ranker.training.fit): their mean score, on
the scale the threshold was chosen on, calibrated by a map fitted on their out-of-fold
scores — as CalibratedClassifierCV does, which could not recompute the label context per
fold.

Explanations are occlusions: a feature's contribution to an address's probability is how
much the probability falls when that feature alone takes the value typical of the
legitimate addresses the model was trained on (their median). The ones that raise it
most are named in the reason, in words (monitor.ranker.words).

Stored as joblib bytes in `ranker_models.artifact`. Unpickling runs code: amlmon only
loads artifacts it wrote to its own database, which is as trusted as the code.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np

FORMAT = "amlmon-ranker/1 joblib"


def one_thread() -> Any:
    """A context in which scikit-learn's OpenMP code runs on one thread. Its threads spin
    while they wait for work: on a busy host (the daemon shares it with ingest and the
    API, tests and benchmarks with each other) a fit took ten times longer with a thread
    per core than with one."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


class Committee:
    """The cross-validation's fold models, averaged: each scored its held-out fold when the
    threshold was chosen, so their average scores new addresses on the scale the
    threshold was chosen on (one model refitted on every label is more confident than any
    of them, and the threshold would not carry over)."""

    def __init__(self, members: list[Any]) -> None:
        self.members = members

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return np.mean([member.predict_proba(x) for member in self.members], axis=0)


@dataclass
class Ranker:
    features: list[str]
    estimator: Any  # a Committee of sklearn HistGradientBoostingClassifiers
    calibrator: Any  # an object with .predict(raw scores) -> probabilities
    threshold: float  # calibrated probability from which the ranker flags
    reference: np.ndarray  # per feature: the legitimate training addresses' median
    positives: np.ndarray  # sorted out-of-fold probabilities of the laundering-labelled
    version: int | None = None  # ranker_models.id, once stored
    training: frozenset[str] = field(default_factory=frozenset)  # its addresses, lower-case

    def raw(self, x: np.ndarray) -> np.ndarray:
        if x.shape[0] == 0:
            return np.zeros(0)
        with one_thread():
            return np.asarray(self.estimator.predict_proba(x)[:, 1], dtype=float)

    def probability(self, x: np.ndarray) -> np.ndarray:
        """Calibrated probability of laundering per row of `x` (columns: `features`)."""
        raw = self.raw(x)
        return np.clip(np.asarray(self.calibrator.predict(raw), dtype=float), 0.0, 1.0) \
            if raw.size else raw

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """rows × features: how much each feature raises each row's probability above what
        it would be with that feature at the legitimate median (occlusion)."""
        n, k = x.shape
        if n == 0:
            return np.zeros((0, k))
        base = self.probability(x)
        occluded = np.repeat(x, k, axis=0)
        columns = np.tile(np.arange(k), n)
        occluded[np.arange(n * k), columns] = self.reference[columns]
        return base[:, None] - self.probability(occluded).reshape(n, k)

    def like(self, probability: float) -> int:
        """How many laundering-labelled training addresses scored (out of fold) at most
        `probability`: the reported addresses an address ranks like."""
        return int(np.searchsorted(self.positives, probability, side="right"))

    def dumps(self) -> bytes:
        import joblib

        buffer = io.BytesIO()
        joblib.dump({"estimator": self.estimator, "calibrator": self.calibrator,
                     "reference": self.reference, "positives": self.positives}, buffer,
                    compress=3)
        return buffer.getvalue()


def loads(data: bytes, features: list[str], threshold: float, version: int | None,
          training: frozenset[str]) -> Ranker:
    import joblib

    held = joblib.load(io.BytesIO(data))
    return Ranker(features, held["estimator"], held["calibrator"], threshold,
                  np.asarray(held["reference"], dtype=float),
                  np.asarray(held["positives"], dtype=float), version, training)


class Sigmoid:
    """Platt scaling of raw scores (the `sigmoid` calibration): a logistic regression on
    their log-odds."""

    def __init__(self, regression: Any) -> None:
        self.regression = regression

    @staticmethod
    def logit(raw: np.ndarray) -> np.ndarray:
        clipped = np.clip(np.asarray(raw, dtype=float), 1e-6, 1 - 1e-6)
        return np.log(clipped / (1 - clipped))[:, None]

    def predict(self, raw: np.ndarray) -> np.ndarray:
        return np.asarray(self.regression.predict_proba(self.logit(raw))[:, 1], dtype=float)


@dataclass
class Learned:
    """What scoring needs to rank a token's addresses: the ranker in force and the labels
    it may read (lower-case address -> +confidence laundering, -confidence legitimate)."""

    ranker: Ranker
    known: dict[str, float]
