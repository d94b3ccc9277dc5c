"""A labelled simulator of RWA token activity with injected laundering cases (see generate)."""

from monitor.sim.generate import TYPOLOGIES, generate
from monitor.sim.history import Case, History, SimFreeze, SimTransfer

__all__ = ["TYPOLOGIES", "Case", "History", "SimFreeze", "SimTransfer", "generate"]
