"""A ranker's features in words, with the address's value: "23 distinct senders",
"feeder in a fan-in (80)", "3 counterparties labelled laundering".

Every column a ranker reads has a phrase here (a test holds it); an unknown name (a
model trained by another version) is shown as its name and value.
"""

from __future__ import annotations

import math
import re

from monitor.ranker.features import COUNTERPARTY_MEAN

_COUNTS = {
    "in_count": "incoming transfers", "out_count": "outgoing transfers",
    "in_counterparties": "distinct senders", "out_counterparties": "distinct receivers",
    "pattern_count": "patterns it is a member of",
    "counterparties_flagged": "counterparties the rules flag",
    "thin_senders": "senders that paid it once", "thin_receivers": "receivers it paid once",
    "thin_counterparty_thin_sum": "one-off relationships of its one-off counterparties",
    "pattern_peers": "other members of its patterns",
    "labelled_laundering_counterparties": "counterparties labelled laundering",
    "labelled_legitimate_counterparties": "counterparties labelled legitimate",
    "labelled_laundering_thin_counterparties": "one-off counterparties labelled laundering",
    "labelled_legitimate_thin_counterparties": "one-off counterparties labelled legitimate",
}
_SHARES = {
    "pass_through": "of what it received sent on",
    "share_just_below_threshold": "of its transfers just below the reporting threshold",
    "round_amount_share": "of its transfers in round amounts",
    "share_from_mints": "of what it received from mints",
    "share_to_burns": "of what it sent to burns",
    "thin_share": "of its counterparties dealt with once",
    "labelled_laundering_share": "of its labelled counterparties labelled laundering",
}
_OTHER = {
    "log_in_value": lambda v: f"{math.expm1(v):,.0f} tokens received",
    "log_out_value": lambda v: f"{math.expm1(v):,.0f} tokens sent",
    "log_median_hold_hours": lambda v: f"funds held {math.expm1(v):,.0f} h before sending on "
                                       "(median)",
    "age_days": lambda v: f"{v:,.0f} days since its first transfer",
    "max_gap_days": lambda v: f"silent for up to {v:,.0f} days",
    "anomaly": lambda v: f"isolation score {v:.2f}",
    "rule_max": lambda v: f"strongest rule score {v:.0f}",
    "pattern_size": lambda v: f"in a network of {v:,.0f} members",
    "counterparty_mean_degree": lambda v: f"counterparties with {math.expm1(v):,.1f} "
                                          "counterparties on average",
    "counterparty_max_degree": lambda v: f"a counterparty with {math.expm1(v):,.0f} "
                                         "counterparties",
    "counterparty_mean_rule_max": lambda v: f"counterparties' rule scores {v:.0f} on average",
    "counterparty_max_rule_max": lambda v: f"a counterparty scored {v:.0f} by the rules",
    "counterparty_mean_anomaly": lambda v: f"counterparties' isolation {v:.2f} on average",
    "counterparty_max_anomaly": lambda v: f"a counterparty with isolation score {v:.2f}",
    "thin_counterparty_max_thin": lambda v: f"a one-off counterparty with {v:,.0f} one-off "
                                            "relationships",
    "thin_counterparty_max_rule": lambda v: f"a one-off counterparty scored {v:.0f} by the "
                                            "rules",
}
_WINDOW = re.compile(r"^(max_transfers|burstiness)_(.+)$")
_THIN_BURST = re.compile(r"^thin_(partner_)?burst_(\d+)d$")


def phrase(name: str, value: float, typology: str | None = None) -> str:
    """`name` (a feature, `feature:` prefix optional; `rule:ID`; `role:ROLE`) at `value`.
    A role is said with the typology of the address's pattern in that role, when given."""
    if value != value:  # NaN: not measured
        return f"{name} not measured"
    if name.startswith(COUNTERPARTY_MEAN):
        return f"counterparties' average: {phrase(name[len(COUNTERPARTY_MEAN):], value)}"
    kind, _, base = name.rpartition(":")
    if kind == "rule":
        return f"{base.replace('_', ' ')} finding scored {value:.0f}"
    if kind == "role":
        where = f" in a {typology.replace('_', '-')}" if typology else " in a pattern"
        return f"{base.replace('_', ' ')}{where} ({value:.0f})"
    if base in _COUNTS:
        return f"{value:,.0f} {_COUNTS[base]}"
    if base in _SHARES:
        return f"{value:.0%} {_SHARES[base]}"
    if base in _OTHER:
        return _OTHER[base](value)
    burst = _THIN_BURST.match(base)
    if burst:
        if burst.group(1):
            return (f"a one-off counterparty with {value:,.0f} other one-off transfers within "
                    f"{burst.group(2)} days of theirs")
        return f"{value:,.0f} other one-off transfers within {burst.group(2)} days of one"
    window = _WINDOW.match(base)
    if window:
        if window.group(1) == "max_transfers":
            return f"{value:,.0f} transfers within {window.group(2)}"
        return f"a burst within {window.group(2)} of {math.expm1(value):,.1f}x its usual rate"
    return f"{base.replace('_', ' ')} {value:,.2f}"


def known(name: str) -> bool:
    """Whether `name` has a phrase of its own (not the fallback)."""
    if name.startswith(COUNTERPARTY_MEAN):
        return known(name[len(COUNTERPARTY_MEAN):])
    base = name.rpartition(":")[2]
    return (name.startswith(("rule:", "role:")) or base in _COUNTS or base in _SHARES
            or base in _OTHER or bool(_WINDOW.match(base)) or bool(_THIN_BURST.match(base)))
