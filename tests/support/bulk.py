"""Large histories written fast (COPY), for tests and benchmarks of what reads them: a hub
address in every transfer, many flagged addresses, a watchlist with long import records."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from monitor import db
from monitor.chain.decode import TransferRecord
from monitor.ingest import store
from monitor.tokens import add_token

TOKEN = "0x" + "ab" * 20
HUB = "0x" + "42" * 20
START = datetime(2026, 1, 1, tzinfo=UTC)


def write_hub(sessions: sessionmaker[Session], transfers: int, counterparties: int) -> int:
    """A token whose hub takes part in every transfer, alternately receiving and sending,
    among `counterparties` random addresses (amounts up to 2**80); its id."""
    rng = random.Random(7)
    others = [f"0x{rng.getrandbits(160):040x}" for _ in range(counterparties)]
    with db.transaction(sessions) as session:
        token_id = add_token(session, chain_id=1, address=TOKEN, decimals=18).id
    for first in range(0, transfers, 100_000):
        records, times = [], {}
        for i in range(first, min(first + 100_000, transfers)):
            block = i // 50
            other = others[rng.randrange(counterparties)]
            sender, receiver = (HUB, other) if i % 2 else (other, HUB)
            records.append(TransferRecord(block, f"0x{block:064x}", f"0x{i:064x}", i % 50, 0,
                                          TOKEN, sender, receiver, rng.getrandbits(80)))
            times[block] = START + timedelta(seconds=12 * block)
        with db.transaction(sessions) as session:
            store.write_transfers(session, 1, {TOKEN: token_id}, records, times)
    return token_id


def write_flagged(sessions: sessionmaker[Session], token_id: int, addresses: int) -> None:
    """`addresses` flagged addresses (risk 50-99), each with an older and a current score
    row, as two finished score runs would leave them (Postgres: COPY)."""
    reasons = json.dumps([{"rule": "fan_out", "score": 80, "detail": "sent to 31 new "
                           "addresses within 2 h (usual for this token: 3)",
                           "evidence": [f"0x{i:064x}" for i in range(5)]}])
    with db.transaction(sessions) as session:
        raw = session.connection().connection.dbapi_connection
        assert raw is not None
        with raw.cursor() as cur:
            runs = [cur.execute("INSERT INTO score_runs (kind, token_id, status, started_at, "
                                "addresses_scored, model) VALUES ('full', %s, 'done', now(), "
                                "0, '{}') RETURNING id", (token_id,)).fetchone()[0]
                    for _ in range(2)]
            with cur.copy("COPY address_scores (score_run_id, token_id, address, risk_score, "
                          "severity, anomaly_score, reasons, features, first_seen, last_seen, "
                          "in_count, out_count, in_value, out_value, computed_at) "
                          "FROM STDIN") as copy:
                for run in runs:
                    for k in range(addresses):
                        copy.write_row((run, token_id, f"0x{k:040x}", 50 + (k * 7 + run) % 50,
                                        "high", 0.5, reasons, "{}", START, START, 3, 4,
                                        10**24 + k, 10**24, START))


def write_list_history(sessions: sessionmaker[Session], imports: int, addresses: int) -> None:
    """A watchlist whose every one of `imports` imports added `addresses` addresses and
    removed half as many (the import records only: their arrays are what a listing must
    not load)."""
    rng = random.Random(11)
    names = [f"0x{rng.getrandbits(160):040x}" for _ in range(addresses)]
    with db.transaction(sessions) as session:
        raw = session.connection().connection.dbapi_connection
        assert raw is not None
        with raw.cursor() as cur:
            list_id = cur.execute("INSERT INTO watchlists (name, category, source, entry_count, "
                                  "updated_at) VALUES ('big', 'sanctioned', 'bulk', %s, now()) "
                                  "RETURNING id", (addresses,)).fetchone()[0]
            for _ in range(imports):
                cur.execute("INSERT INTO watchlist_imports (watchlist_id, at, source, added, "
                            "removed) VALUES (%s, now(), 'bulk', %s, %s)",
                            (list_id, json.dumps(names), json.dumps(names[: addresses // 2])))
