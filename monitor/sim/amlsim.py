"""IBM AMLSim's published sample as a labelled History of one RWA token.

The sample (`../shared/conformance/amlsim/`, see its README) is read straight from its
tgz: every account's `init_balance` is minted at step 0, a step is one day, the rows of a
step keep their file order, and values are token units, kept exact in base units of
`DECIMALS`. Two variants: *published* (amounts as they are) and *neutral*, where every
value below 50 -- in this sample only laundering transfers are that small -- is
quantile-mapped onto the values of 50 and above, so that what is left to find is
structure and timing, not a marker no real token has.

AMLSim lets balances go negative and a token cannot, so an account's mint is its
`init_balance` raised by the deepest deficit its transfers would reach; measured on the
published sample, the size of that raise says nothing about the label (AUC 0.52).
The sample does not say which pattern an account is in: the labels are one Case, rule
"amlsim", holding every `isFraud=1` account.
"""

from __future__ import annotations

import csv
import io
import tarfile
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from eth_utils import keccak

from monitor.addresses import ZERO
from monitor.sim.history import Case, History, SimTransfer

SAMPLE = (Path(__file__).resolve().parents[3] / "shared" / "conformance" / "amlsim"
          / "20K_fanin200cycle200.tgz")
VARIANTS = ("published", "neutral")
DECIMALS = 2  # the sample's values have at most two decimals
MARKER = 50 * 10**DECIMALS  # below this, a value marks a laundering transfer (README)
DAY = 86400
START = 1_704_067_200  # 2024-01-01T00:00:00Z; step s happens on day s
HOUR_OF_DAY = 12 * 3600


@dataclass(frozen=True)
class Row:
    """One transaction of the sample, amounts in base units."""

    source: int
    target: int
    amount: int
    step: int


@dataclass(frozen=True)
class Sample:
    """The parsed sample, before it becomes a History."""

    balances: dict[int, int]  # node id -> init_balance, base units
    fraud: frozenset[int]
    rows: list[Row]  # in step order, file order within a step


@dataclass(frozen=True)
class AmlSimHistory:
    history: History
    variant: str
    raised: dict[str, int]  # address -> base units added to its mint so it never overdraws
    marked: frozenset[str]  # labelled addresses in at least one transfer below 50 (published)


def address(node: int) -> str:
    """The account's address: deterministic, derived from its node id, never zero."""
    return "0x" + keccak(text=f"amlsim:{node}")[-20:].hex()


def read_sample(path: Path = SAMPLE) -> Sample:
    """nodes.csv and transactions.csv, read from the tgz with the standard library."""
    with tarfile.open(path, "r:gz") as archive:
        nodes = list(_csv(archive, "nodes.csv"))
        transactions = list(_csv(archive, "transactions.csv"))
    balances = {int(n["nodeid"]): units(n["init_balance"]) for n in nodes}
    fraud = frozenset(int(n["nodeid"]) for n in nodes if n["isFraud"] == "1")
    rows = [Row(int(t["sourceNodeId"]), int(t["targetNodeId"]), units(t["value"]), int(t["time"]))
            for t in transactions]
    steps = [r.step for r in rows]
    if steps != sorted(steps) or steps[0] < 1:
        raise ValueError(f"{path}: transactions are expected in step order, from step 1")
    return Sample(balances, fraud, rows)


def _csv(archive: tarfile.TarFile, name: str) -> Iterator[dict[str, str]]:
    member = next((m for m in archive.getmembers() if m.name.endswith(f"/{name}")), None)
    if member is None:
        raise ValueError(f"{archive.name!s}: no {name} inside")
    handle = archive.extractfile(member)
    assert handle is not None
    yield from csv.DictReader(io.TextIOWrapper(handle, encoding="utf-8"))


def units(text: str) -> int:
    """'163.3' -> 16330 base units, exactly (no float on the way)."""
    whole, _, fraction = text.strip().partition(".")
    if len(fraction) > DECIMALS or not (whole + fraction).isdigit():
        raise ValueError(f"not an amount with at most {DECIMALS} decimals: {text!r}")
    return int(whole) * 10**DECIMALS + int(fraction.ljust(DECIMALS, "0") or 0)


def neutral_amounts(amounts: list[int]) -> dict[int, int]:
    """Each value below MARKER -> the value at the same rank among those at or above it.

    A value's rank is the middle of its run of equal values, so equal values stay equal
    and the mapping never reverses an order."""
    low = sorted(a for a in amounts if a < MARKER)
    high = sorted(a for a in amounts if a >= MARKER)
    if len(low) < 2 or not high:
        return {a: high[-1] if high else a for a in low}
    mapped = {}
    for value in set(low):
        rank = (bisect_left(low, value) + bisect_right(low, value) - 1) / 2 / (len(low) - 1)
        mapped[value] = high[round(rank * (len(high) - 1))]
    return mapped


def mint_raises(balances: dict[int, int], rows: list[Row]) -> dict[int, int]:
    """node -> how much its mint must grow so that no transfer, in order, overdraws it."""
    running = dict(balances)
    deepest: dict[int, int] = {}
    for row in rows:
        running[row.source] -= row.amount
        if running[row.source] < deepest.get(row.source, 0):
            deepest[row.source] = running[row.source]
        running[row.target] += row.amount
    return {node: -low for node, low in deepest.items() if low < 0}


def load(variant: str = "neutral", path: Path = SAMPLE) -> AmlSimHistory:
    """The sample as a History: mints at step 0, then every transaction in order."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown AMLSim variant {variant!r}; one of {', '.join(VARIANTS)}")
    sample = read_sample(path)
    marked = frozenset(address(node) for row in sample.rows if row.amount < MARKER
                       for node in (row.source, row.target) if node in sample.fraud)
    rows = sample.rows
    if variant == "neutral":
        mapping = neutral_amounts([r.amount for r in rows])
        rows = [Row(r.source, r.target, mapping.get(r.amount, r.amount), r.step) for r in rows]
    raised = mint_raises(sample.balances, rows)
    transfers = [SimTransfer(_time(0), ZERO, address(node), balance + raised.get(node, 0), "mint")
                 for node, balance in sorted(sample.balances.items())]
    transfers += [SimTransfer(_time(r.step), address(r.source), address(r.target), r.amount,
                              "transfer") for r in rows]
    accounts = frozenset(address(node) for node in sample.balances)
    history = History(
        decimals=DECIMALS, start=START, issuer=ZERO,
        reporting_threshold=10_000 * 10**DECIMALS, transfers=transfers,
        cases=[Case("amlsim", frozenset(address(n) for n in sample.fraud),
                    "every account of an AMLSim pattern (200 cycles, 200 fan-ins)")],
        investors=accounts,
    )
    return AmlSimHistory(history, variant, {address(n): v for n, v in raised.items()}, marked)


def _time(step: int) -> int:
    return START + step * DAY + HOUR_OF_DAY
