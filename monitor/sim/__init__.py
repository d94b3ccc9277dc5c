"""A labelled simulator of RWA token activity with injected laundering cases (see generate),
and an independent one whose ranges were drawn without the detection thresholds (see
independent)."""

from monitor.sim.generate import TYPOLOGIES, generate
from monitor.sim.history import Case, History, SimFreeze, SimTransfer
from monitor.sim.independent import INDEPENDENT_TYPOLOGIES, generate_independent

__all__ = ["INDEPENDENT_TYPOLOGIES", "TYPOLOGIES", "Case", "History", "SimFreeze",
           "SimTransfer", "generate", "generate_independent"]
