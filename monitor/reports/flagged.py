"""The flagged-address report (JSON and CSV), and the report ITEM every address view shows
(the single-address report is monitor.reports.address).

Schema: docs/reports.md. Values are exact decimal strings scaled by
the token's decimals, computed from uint256 integers (never floats).

The report is filtered, ordered and cut into pages by the database (the latest score row
of each address at or above the threshold; highest risk first, then token and address),
so the API's pages and the CLI's whole report hold one page of rows at a time, however
many addresses are flagged.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from models import AddressScore, ScoreRun, Token
from monitor.addresses import checksum
from monitor.amounts import scaled
from monitor.scoring.pattern_store import pattern_ids
from monitor.timefmt import iso, now_iso

PAGE = 500  # rows per database round trip when the whole report is read
CSV_FIELDS = (
    "chain_id", "token", "address", "risk_score", "severity", "anomaly_score", "rules",
    "reasons", "evidence", "first_seen", "last_seen", "in_count", "out_count", "in_value",
    "out_value",
)


CURSOR = r"^[0-9]{1,3}\.[0-9]{1,18}\.0x[0-9a-f]{40}$"  # what str(Cursor) writes


class Cursor(NamedTuple):
    """Where a page ended: its last row's (risk, token id, address)."""

    risk: int
    token_id: int
    address: str

    def __str__(self) -> str:
        return f"{self.risk}.{self.token_id}.{self.address}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        risk, token_id, address = text.split(".")
        return cls(int(risk), int(token_id), address)


# A report repeats a few token addresses on every row; checksumming (keccak) is half its cost.
_token_checksum = functools.lru_cache(maxsize=256)(checksum)


def item(token: Token, score: AddressScore, patterns: list[int] | None = None,
         ) -> dict[str, Any]:
    """One address's entry, as every report and the API show it; `patterns`: the ids of
    the active patterns (networks) it is a member of."""
    return {
        "chain_id": token.chain_id,
        "token": _token_checksum(token.address),
        "symbol": token.symbol,
        "address": checksum(score.address),
        "risk_score": score.risk_score,
        "severity": score.severity,
        "anomaly_score": None if score.anomaly_score is None else round(score.anomaly_score, 4),
        "reasons": score.reasons,
        "first_seen": iso(score.first_seen),
        "last_seen": iso(score.last_seen),
        "in_count": score.in_count,
        "out_count": score.out_count,
        "in_value": scaled(int(score.in_value), token.decimals),
        "out_value": scaled(int(score.out_value), token.decimals),
        "patterns": patterns or [],
    }


def _items(session: Session, rows: Iterable[Any]) -> list[dict[str, Any]]:
    """Items of (score, token) rows, with each address's pattern ids looked up at once."""
    rows = list(rows)
    by_token: dict[int, list[str]] = {}
    for score, token in rows:
        by_token.setdefault(token.id, []).append(score.address)
    patterns = {token_id: pattern_ids(session, token_id, addresses)
                for token_id, addresses in by_token.items()}
    return [item(token, score, patterns[token.id].get(score.address)) for score, token in rows]


def _flagged_rows(token_ids: list[int] | None, min_risk: int,
                  ) -> Select[AddressScore, Token]:
    """Current score rows at or above `min_risk`, in report order. "Current" is "no later
    row for the same address", which the (token, address, run) index answers per row."""
    later = aliased(AddressScore)
    statement = (
        select(AddressScore, Token)
        .join(Token, Token.id == AddressScore.token_id)
        .where(AddressScore.risk_score >= min_risk,
               ~exists().where(later.token_id == AddressScore.token_id,
                               later.address == AddressScore.address,
                               later.score_run_id > AddressScore.score_run_id))
        .order_by(AddressScore.risk_score.desc(), AddressScore.token_id, AddressScore.address)
    )
    if token_ids is not None:
        statement = statement.where(AddressScore.token_id.in_(token_ids))
    return statement


def flagged_page(session: Session, token_ids: list[int] | None, min_risk: int, limit: int,
                 after: Cursor | None = None) -> tuple[list[dict[str, Any]], Cursor | None]:
    """Up to `limit` items after `after`, and the cursor of the next page (None at the end)."""
    statement = _flagged_rows(token_ids, min_risk).limit(limit + 1)
    if after is not None:
        statement = statement.where(or_(
            AddressScore.risk_score < after.risk,
            and_(AddressScore.risk_score == after.risk, or_(
                AddressScore.token_id > after.token_id,
                and_(AddressScore.token_id == after.token_id,
                     AddressScore.address > after.address)))))
    rows = session.execute(statement).all()
    page, following = rows[:limit], None
    if len(rows) > limit:
        last = page[-1][0]
        following = Cursor(last.risk_score, last.token_id, last.address)
    return _items(session, page), following


def flagged_items(session: Session, token_ids: list[int] | None,
                  min_risk: int) -> Iterator[dict[str, Any]]:
    """Every item of the report in order, read from a server-side cursor PAGE rows at a time."""
    rows = session.execute(_flagged_rows(token_ids, min_risk).execution_options(
        yield_per=PAGE))
    for page in rows.partitions():
        yield from _items(session, page)


def flagged_count(session: Session, token_ids: list[int] | None, min_risk: int) -> int:
    rows = _flagged_rows(token_ids, min_risk).order_by(None).with_only_columns(
        AddressScore.id).subquery()
    return int(session.scalar(select(func.count()).select_from(rows)) or 0)


def flagged_shares(session: Session, token_ids: list[int] | None,
                   min_risk: int) -> list[dict[str, Any]]:
    """Per scored token: how many of its active addresses (as its latest run counted
    them) are flagged at `min_risk`, so an operator sees at once when a calibration
    floods."""
    shares = []
    tokens = session.scalars(select(Token).order_by(Token.id))
    for token in tokens:
        if token_ids is not None and token.id not in token_ids:
            continue
        run = session.scalar(select(ScoreRun).where(ScoreRun.token_id == token.id,
                                                    ScoreRun.status == "done")
                             .order_by(ScoreRun.id.desc()).limit(1))
        if run is None:
            continue
        active = int(run.model.get("active_addresses", 0))
        count = flagged_count(session, [token.id], min_risk)
        shares.append({"chain_id": token.chain_id, "token": checksum(token.address),
                       "active_addresses": active, "flagged": count,
                       "flagged_share": round(count / active, 4) if active else 0.0})
    return shares


def share_line(shares: list[dict[str, Any]]) -> str:
    """The flagged share in words: "flagged 112 of 2,031 active addresses (5.5%) of 0x…"."""
    return "; ".join(f"flagged {s['flagged']:,} of {s['active_addresses']:,} active addresses "
                     f"({100 * s['flagged_share']:.1f}%) of {s['token']}" for s in shares)


def flagged(session: Session, token_ids: list[int] | None, min_risk: int) -> dict[str, Any]:
    """The whole report as one object, for small histories (the demo); everything else
    reads it page by page (flagged_page, flagged_items)."""
    return {"generated_at": now_iso(), "min_risk": min_risk,
            "flagged_share": flagged_shares(session, token_ids, min_risk),
            "items": list(flagged_items(session, token_ids, min_risk))}


def json_chunks(min_risk: int, items: Iterable[dict[str, Any]],
                shares: list[dict[str, Any]]) -> Iterator[str]:
    """The report as JSON text (generated_at, min_risk, flagged_share, items), one item
    at a time."""
    yield "{\n" + f'  "generated_at": "{now_iso()}",\n  "min_risk": {min_risk},\n'
    yield '  "flagged_share": ' + orjson.dumps(shares).decode() + ",\n"
    yield '  "items": ['
    separator = "\n"
    for entry in items:
        text = orjson.dumps(entry, option=orjson.OPT_INDENT_2).decode()
        yield separator + "    " + text.replace("\n", "\n    ")
        separator = ",\n"
    yield ("\n  ]\n}\n" if separator != "\n" else "]\n}\n")


def csv_chunks(items: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The report as CSV (CSV_FIELDS; reasons joined), the header then one row at a time."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for entry in items:
        reasons = entry["reasons"]
        writer.writerow({
            **{k: entry[k] for k in CSV_FIELDS if k in entry and k != "reasons"},
            "rules": "; ".join(r["rule"] for r in reasons),
            "reasons": " | ".join(
                f"{r['rule']} ({r['score']}{', suppressed' if r.get('suppressed') else ''}): "
                f"{r['detail']}" for r in reasons),
            "evidence": " ".join(tx for r in reasons for tx in r["evidence"]),
        })
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    yield out.getvalue()
