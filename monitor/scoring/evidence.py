"""Evidence: the transactions a finding names, resolved after the rules ran.

Flows read from the database hold no tx hashes (monitor.scoring.flows.TxHashes says why):
a finding's evidence names its transfers by key, `#<block>:<log position>`, and one query
per run turns the keys of every finding into hashes before anything is stored or shown.
Flows built in memory (tests, benches) hold their hashes and name them directly; Spark
shards hold none and name keys, which the driver resolves from its flows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from monitor.scoring.evaluate import Patterns, Reasons, Scored
from monitor.scoring.flows import EVIDENCE_KEY as KEY
from monitor.scoring.flows import Flows, evidence_key
from monitor.scoring.patterns import Pattern


def resolve(scored: Scored, addresses: Iterable[int] | None = None) -> None:
    """Replace the keys in the evidence of `addresses`' reasons (all when None) and of the
    patterns with the tx hashes they name, in place. A key whose transfer a reorg removed
    since the rows were read is dropped: that address is queued for a re-score. A pattern
    that is the object the last pattern sync stored was resolved before it (a long-lived
    process's block looks at the few it found again, not at every pattern)."""
    resolve_findings(scored.flows, scored.raw, scored.patterns, addresses,
                     [scored.patterns[key] for key in scored.unsynced()])


def resolve_findings(flows: Flows, raw: Reasons, patterns: Patterns,
                     addresses: Iterable[int] | None = None,
                     unresolved: Iterable[Pattern] | None = None) -> None:
    """`resolve` on findings as evaluate.findings returns them; of the patterns, those in
    `unresolved` (all when None)."""
    lists = [reason.evidence
             for address in (raw if addresses is None else addresses)
             for reason in raw.get(int(address), {}).values()
             if any(e.startswith(KEY) for e in reason.evidence)]
    keyed = [p for p in (patterns.values() if unresolved is None else unresolved)
             if any(e.startswith(KEY) for e in p.evidence)]
    wanted = {e for held in lists for e in held if e.startswith(KEY)}
    wanted.update(e for p in keyed for e in p.evidence if e.startswith(KEY))
    if not wanted:
        return
    keys = sorted((int(b), int(log)) for b, log in (e[1:].split(":") for e in wanted))
    found = {evidence_key(b, log): tx for (b, log), tx in flows.hashes_of(keys).items()}

    def named(evidence: Iterable[str]) -> list[str]:
        return list(dict.fromkeys(h for e in evidence
                                  if (h := found.get(e, "") if e.startswith(KEY) else e)))

    for held in lists:
        held[:] = named(held)  # shared by the raw and the fused reasons
    for pattern in keyed:
        patterns[pattern.key] = replace(pattern, evidence=tuple(named(pattern.evidence)))
