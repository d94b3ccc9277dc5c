"""The eight AMLSim generator draws the detection benches score (issues 20 and 21).

Spread over what the generator can vary, none chosen by how amlmon scores on it:
3k-20k accounts, 60-200 steps, about 2% to 18% of the accounts laundering, every typology
absent from some draw and dominant in another, false alerts (benign typology-shaped
groups) in every draw. `load(name, folder)` generates a draw into folder/NAME the first
time (about 15 s per 10k accounts; needs a JDK, which `scripts/setup.sh bench` installs)
and reads it as a History.
"""

from __future__ import annotations

from pathlib import Path

from monitor.sim.amlsim_draws import Spec, draw, load_draw
from monitor.sim.history import History

DRAWS: dict[str, Spec] = {
    # every typology, 8% laundering
    "g1": Spec(101, 10_000, 150,
               {"fan_in": 15, "fan_out": 15, "cycle": 15, "scatter_gather": 15,
                "gather_scatter": 15, "bipartite": 15, "stack": 15, "random": 15},
               {"fan_in": 5, "cycle": 5, "scatter_gather": 5}),
    # the largest and longest, 2% laundering
    "g2": Spec(202, 20_000, 200,
               {"fan_in": 10, "fan_out": 10, "cycle": 10, "scatter_gather": 8,
                "gather_scatter": 8, "bipartite": 6, "stack": 4, "random": 4},
               {"fan_in": 4, "fan_out": 4, "cycle": 4, "gather_scatter": 4}),
    # the smallest and shortest, cycles dominant
    "g3": Spec(303, 3_000, 60, {"cycle": 40, "fan_in": 5, "stack": 5}, {"cycle": 6}),
    # layering through intermediaries dominant
    "g4": Spec(404, 5_000, 100, {"scatter_gather": 30, "gather_scatter": 30, "fan_out": 5},
               {"scatter_gather": 5, "gather_scatter": 5}),
    # bipartite and stack layers dominant
    "g5": Spec(505, 8_000, 120, {"bipartite": 40, "stack": 40, "random": 5},
               {"bipartite": 5, "stack": 5}),
    # fan-ins of accounts that also do normal business, denser graph
    "g6": Spec(606, 15_000, 180, {"fan_in": 80, "cycle": 5, "random": 5}, {"fan_in": 10},
               ("--avg-degree", "8")),
    # fan-outs dominant, the highest prevalence
    "g7": Spec(707, 6_000, 90, {"fan_out": 120, "gather_scatter": 20},
               {"fan_out": 10}),
    # random walks dominant, no cycles or layers
    "g8": Spec(808, 12_000, 160, {"random": 60, "fan_in": 10, "scatter_gather": 10},
               {"random": 5, "fan_out": 5}),
}


def load(name: str, folder: Path) -> History:
    """Draw `name` into folder/NAME (unless already there) and read it."""
    target = folder / name
    target.mkdir(parents=True, exist_ok=True)
    return load_draw(draw(DRAWS[name], target))
