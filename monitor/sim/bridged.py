"""A history of one token issued on two chains and bridged between them: the demo's and
the end-to-end tests' cross-chain case.

Investors on each chain trade among themselves; some investors bridge once to their own
address on the other chain and hold; a market maker rebalances between the chains every
few days with round amounts to itself (the benign look-alikes). Two laundering cases
cross the bridge:

- **hop and U-turn**: an origin collects from several payers, bridges the sum to a hop
  address on the other chain, which bridges it straight back to a fresh destination on
  the origin's chain, which pays it out;
- **bridge then spread**: an origin bridges to a different recipient on the other chain,
  which splits the funds over fresh addresses within hours.

Steps are chain-agnostic ("a" and "b"); the executor maps them onto two nodes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

DAY = 86_400
HOUR = 3_600
UNIT = 10**6  # the demo token has 6 decimals


@dataclass(frozen=True)
class Step:
    timestamp: int
    chain: str  # "a" or "b": where the transaction is sent
    kind: str  # mint | transfer | send (a bridge send to the other chain)
    sender: str | None  # None for a mint
    recipient: str
    amount: int  # exact base units
    relayed: bool = True  # a send the relayer never delivers when False (a lost message)


@dataclass
class BridgedHistory:
    steps: list[Step]
    # Laundering members: address -> role (origin | hop | destination), per case: the
    # roles chain_hopping gives them.
    cases: list[dict[str, str]] = field(default_factory=list)
    # Benign look-alikes that bridge: address -> kind (bridge_once | market_maker).
    lookalikes: dict[str, str] = field(default_factory=dict)


def _address(rng: random.Random) -> str:
    return "0x" + "".join(rng.choice("0123456789abcdef") for _ in range(40))


def generate(seed: int, start: int, investors: int = 40, days: int = 30) -> BridgedHistory:
    """A deterministic history starting at unix time `start`."""
    rng = random.Random(seed)
    steps: list[Step] = []
    holders = {chain: [_address(rng) for _ in range(investors)] for chain in ("a", "b")}
    for chain, people in holders.items():
        for i, person in enumerate(people):
            steps.append(Step(start + i, chain, "mint", None, person,
                              rng.randint(500, 5_000) * 1_000 * UNIT))
    # Everyday trading: a few transfers a day per chain, ordinary sizes.
    for day in range(1, days):
        for chain, people in holders.items():
            for _ in range(rng.randint(4, 8)):
                sender, recipient = rng.sample(people, 2)
                steps.append(Step(start + day * DAY + rng.randint(0, DAY - 1), chain,
                                  "transfer", sender, recipient,
                                  rng.randint(1, 20) * 1_000 * UNIT + rng.randint(0, 999) * UNIT))
    lookalikes: dict[str, str] = {}
    # Holders who buy, bridge once to themselves and hold.
    for _ in range(3):
        person = _address(rng)
        day = rng.randint(3, days - 3)
        amount = rng.randint(10, 40) * 1_000 * UNIT
        steps.append(Step(start + 200, "a", "mint", None, person, amount))
        steps.append(Step(start + day * DAY + rng.randint(0, DAY - 1), "a", "send", person,
                          person, amount))
        lookalikes[person] = "bridge_once"
    # A market maker: funded on both chains, rebalances to itself every three days.
    maker = _address(rng)
    lookalikes[maker] = "market_maker"
    steps.append(Step(start + 100, "a", "mint", None, maker, 2_000_000 * UNIT))
    steps.append(Step(start + 100, "b", "mint", None, maker, 2_000_000 * UNIT))
    for k, day in enumerate(range(2, days, 3)):
        chain = "a" if k % 2 == 0 else "b"
        steps.append(Step(start + day * DAY + 9 * HOUR, chain, "send", maker, maker,
                          250_000 * UNIT))
    cases = [_hop_and_u_turn(rng, start + 10 * DAY, holders["a"], steps),
             _bridge_then_spread(rng, start + 18 * DAY, holders["b"], steps)]
    steps.sort(key=lambda s: (s.timestamp, s.chain))
    return BridgedHistory(steps, cases, lookalikes)


def _hop_and_u_turn(rng: random.Random, at: int, payers: list[str],
                    steps: list[Step]) -> dict[str, str]:
    origin, hop, destination = _address(rng), _address(rng), _address(rng)
    collected = 0
    for i, payer in enumerate(rng.sample(payers, 5)):
        amount = rng.randint(8, 12) * 1_000 * UNIT
        steps.append(Step(at + i * 2 * HOUR, "a", "transfer", payer, origin, amount))
        collected += amount
    at += 12 * HOUR
    steps.append(Step(at, "a", "send", origin, hop, collected))
    steps.append(Step(at + 2 * HOUR, "b", "send", hop, destination, collected))
    cash_out = [_address(rng) for _ in range(3)]
    share = collected // len(cash_out)
    for i, person in enumerate(cash_out):
        steps.append(Step(at + 4 * HOUR + i * 600, "a", "transfer", destination, person,
                          share))
    return {origin: "origin", hop: "hop", destination: "destination"}


def _bridge_then_spread(rng: random.Random, at: int, payers: list[str],
                        steps: list[Step]) -> dict[str, str]:
    origin, recipient = _address(rng), _address(rng)
    funded = rng.randint(60, 90) * 1_000 * UNIT
    steps.append(Step(at, "b", "transfer", rng.choice(payers), origin, funded))
    steps.append(Step(at + 3 * HOUR, "b", "send", origin, recipient, funded))
    spread = [_address(rng) for _ in range(7)]
    share = funded // len(spread)
    for i, person in enumerate(spread):
        steps.append(Step(at + 5 * HOUR + i * 900, "a", "transfer", recipient, person, share))
    # The recipient relays what it received: the hop; the addresses it spreads to are the
    # destinations.
    return {origin: "origin", recipient: "hop", **{person: "destination" for person in spread}}
