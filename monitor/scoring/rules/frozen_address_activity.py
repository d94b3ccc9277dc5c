"""frozen_address_activity: value moves to or from an address while the issuer has it frozen.

On a permissioned (ERC-3643) token the issuer freezes an address for a reason — a
court order, a failed KYC refresh, a sanctions hit. Any movement while frozen (forced
transfers by an agent, or a misconfigured compliance module) needs a human look.
"""

from __future__ import annotations

import numpy as np

from monitor.scoring.config import FixedScore
from monitor.scoring.context import Context, Hit


def detect(ctx: Context[FixedScore]) -> list[Hit]:
    f = ctx.flows
    hits = []
    for address, spans in f.frozen.items():
        rows = f.touching(address)
        during = np.zeros(rows.size, dtype=bool)
        for start, end in spans:
            during |= (f.t[rows] >= start) & ((f.t[rows] <= end) if end is not None else True)
        idx = rows[during]
        if idx.size == 0:
            continue
        sent = f.amount[idx][f.src[idx] == address].sum()
        received = f.amount[idx][f.dst[idx] == address].sum()
        detail = (
            f"{idx.size} transfer(s) while the issuer had the address frozen: sent "
            f"{ctx.amount(sent)}, received {ctx.amount(received)}"
        )
        hits.append(Hit(int(address), float(ctx.params.score), detail, ctx.evidence(idx)))
    return hits
