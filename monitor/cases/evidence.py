"""The transfers a case rests on: every transfer of its patterns, and each transfer its
alerts cite as evidence, once each, in chain order. The goAML report lists them as its
transactions and the HTML case report as its timeline, so both show the same evidence."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, and_, or_, select
from sqlalchemy.orm import Session

from models import Alert, CaseAlert, CasePattern, Pattern, PatternTransfer, Token, Transfer
from monitor.db import as_utc

CHUNK = 1000  # bound parameters per IN list


@dataclass(frozen=True)
class EvidenceToken:
    """The token contract of an evidence transfer (a detached copy of its Token row)."""

    id: int
    chain_id: int
    address: str
    symbol: str | None
    name: str | None
    decimals: int
    standard: str


@dataclass(frozen=True)
class EvidenceTransfer:
    """One transfer of a case's evidence. `amount` is in base units, exact."""

    token: EvidenceToken
    block_number: int
    log_index: int
    sub_index: int
    block_time: datetime  # UTC, aware
    tx_hash: str
    from_address: str
    to_address: str
    amount: int
    item_id: int | None = None  # ERC-1155 only

    @property
    def key(self) -> tuple[int, int, int, int]:
        """The transfer's place on the chain: (token, block, log, sub_index)."""
        return (self.token.id, self.block_number, self.log_index, self.sub_index)


_COLUMNS = (Transfer.token_id, Transfer.block_number, Transfer.log_index, Transfer.sub_index,
            Transfer.block_time, Transfer.tx_hash, Transfer.from_address, Transfer.to_address,
            Transfer.amount, Transfer.item_id)


def evidence_transfers(session: Session, case_id: int) -> list[EvidenceTransfer]:
    """Every transfer of the case's patterns and every transfer its alerts cite, each once,
    ordered by (token, block, log, sub_index). Reads only."""
    rows: dict[tuple[int, int, int, int], Row] = {}
    for row in _pattern_rows(session, case_id):
        rows[tuple(row[:4])] = row
    for row in _alert_rows(session, case_id):
        rows.setdefault(tuple(row[:4]), row)
    tokens = _tokens(session, {key[0] for key in rows})
    return [EvidenceTransfer(
        token=tokens[row.token_id], block_number=row.block_number, log_index=row.log_index,
        sub_index=row.sub_index, block_time=as_utc(row.block_time), tx_hash=row.tx_hash,
        from_address=row.from_address, to_address=row.to_address, amount=int(row.amount),
        item_id=None if row.item_id is None else int(row.item_id),
    ) for _, row in sorted(rows.items())]


def _pattern_rows(session: Session, case_id: int) -> list[Row]:
    # A pattern names its transfers by place within its token; the token is the pattern's.
    return list(session.execute(
        select(*_COLUMNS)
        .select_from(CasePattern)
        .join(Pattern, Pattern.id == CasePattern.pattern_id)
        .join(PatternTransfer, PatternTransfer.pattern_id == Pattern.id)
        .join(Transfer, and_(Transfer.token_id == Pattern.token_id,
                             Transfer.block_number == PatternTransfer.block_number,
                             Transfer.log_index == PatternTransfer.log_index,
                             Transfer.sub_index == PatternTransfer.sub_index))
        .where(CasePattern.case_id == case_id)
    ).all())


def _alert_rows(session: Session, case_id: int) -> list[Row]:
    """Transfers in an alert's evidence that touch the alert's own address: a tx hash alone
    may name other movements of the same transaction (a swap, a batch) that are not it."""
    alerts = session.execute(
        select(Alert.token_id, Alert.address, Alert.evidence)
        .join(CaseAlert, CaseAlert.alert_id == Alert.id)
        .where(CaseAlert.case_id == case_id)
    ).all()
    # Per token: which (tx hash, address) pairs are cited.
    cited: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for token_id, address, evidence in alerts:
        for tx_hash in evidence or []:
            cited[token_id].add((str(tx_hash).lower(), address))
    found: list[Row] = []
    for token_id, pairs in cited.items():
        hashes = sorted({tx for tx, _ in pairs})
        addresses = sorted({address for _, address in pairs})
        for start in range(0, len(hashes), CHUNK):
            for row in session.execute(
                select(*_COLUMNS).where(
                    Transfer.token_id == token_id,
                    Transfer.tx_hash.in_(hashes[start:start + CHUNK]),
                    or_(Transfer.from_address.in_(addresses),
                        Transfer.to_address.in_(addresses)))
            ):
                if ((row.tx_hash, row.from_address) in pairs
                        or (row.tx_hash, row.to_address) in pairs):
                    found.append(row)
    return found


def _tokens(session: Session, ids: set[int]) -> dict[int, EvidenceToken]:
    if not ids:
        return {}
    return {t.id: EvidenceToken(t.id, t.chain_id, t.address, t.symbol, t.name, t.decimals,
                                t.standard)
            for t in session.scalars(select(Token).where(Token.id.in_(sorted(ids))))}
