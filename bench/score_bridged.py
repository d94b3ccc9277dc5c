"""The daemon's per-block path on a bridged token, against the same token without bridge
history, in one run: does cross-chain scoring add an O(history) step per block?

    .venv/bin/python bench/score_bridged.py                 # 300k transfers; 0 and 20,000 legs
    .venv/bin/python bench/score_bridged.py --size 1000000 --legs 0 50000

bench/score.py's history is written once per leg count into a fresh Postgres database,
plus that many historical bridge sends out of the token (a burn here, a mint on a second
token, a linked bridge_transfers row). After a full run, 20 blocks arrive one at a time,
each with 10 transfers and 2 bridge sends, while the relayer links the previous block's 2
sends late (queue.mark_bridge_link, as monitor.bridges.linking does); each block is
scored incrementally. Prints median and max seconds per block and the ratio of the
medians to the run without legs.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent / "tests")]

import score as bs  # noqa: E402  (bench/score.py: the history and its token)
from sqlalchemy import func, select  # noqa: E402

from models import BridgeTransfer, Transfer  # noqa: E402
from monitor import db  # noqa: E402
from monitor.addresses import ZERO  # noqa: E402
from monitor.chain.decode import TransferRecord  # noqa: E402
from monitor.ingest import store  # noqa: E402
from monitor.scoring import queue, service  # noqa: E402
from monitor.scoring.config import load_rules_config  # noqa: E402
from monitor.tokens import add_token, find_token  # noqa: E402
from support.postgres import create_database, drop_database, postgres_server  # noqa: E402

OTHER = "0x" + "cd" * 20
BLOCKS = 20


def add_block(url: str, block: int, last: int) -> None:
    """bench/score.py's add_block, drawing from the history's latest 1,000 transfers (not
    from the bridge sends added after it), so that both benches touch the same wallets."""
    engine = db.make_engine(url)
    sessions = db.session_factory(engine)
    rng = random.Random(block)
    with db.transaction(sessions) as session:
        token_id = find_token(session, bs.TOKEN).id
        recent = session.execute(
            select(Transfer.from_address, Transfer.to_address, Transfer.amount)
            .where(Transfer.token_id == token_id, Transfer.block_number <= last)
            .order_by(Transfer.block_number.desc()).limit(1000)).all()
        records = [TransferRecord(block, f"0x{block:064x}", f"0x{(block << 32) + k:064x}", k, 0,
                                  bs.TOKEN, rng.choice(recent)[0], rng.choice(recent)[1],
                                  int(rng.choice(recent)[2]))
                   for k in range(10)]
        store.write_transfers(session, 31337, {bs.TOKEN: token_id}, records,
                              {block: datetime.now(UTC)})
    engine.dispose()


def per_block(server: str, size: int, legs: int) -> tuple[int, list[float], list[int]]:
    """(transfers, seconds per block, addresses re-scored per block) with `legs` legs."""
    url = create_database(server, prefix="amlmon_bench_bridged")
    try:
        db.upgrade(url)
        count, last = bs.write_history(url, size)
        engine = db.make_engine(url)
        sessions = db.session_factory(engine)
        rng = random.Random(5)
        with db.transaction(sessions) as session:
            token = find_token(session, bs.TOKEN)
            other = add_token(session, chain_id=2, address=OTHER, decimals=6).id
            holders = [a for (a,) in session.execute(
                select(Transfer.to_address).where(Transfer.token_id == token.id,
                                                  Transfer.to_address != ZERO)
                .distinct().limit(3000))]
            t0 = session.scalar(select(func.max(Transfer.block_time))
                                .where(Transfer.token_id == token.id))
        block = last + 1
        # legs historical bridge sends out of token 1 (burn rows), linked, one per block.
        with db.transaction(sessions) as session:
            for k in range(legs):
                who, to = rng.choice(holders), rng.choice(holders)
                at = t0 + timedelta(seconds=12 * k)
                tx = f"0x{(1 << 60) + k:064x}"
                session.add(Transfer(token_id=token.id, block_number=block, log_index=0,
                                     sub_index=0, chain_id=31337, tx_hash=tx, block_hash=tx,
                                     block_time=at, from_address=who, to_address=ZERO,
                                     amount=10**9))
                dtx = f"0x{(2 << 60) + k:064x}"
                session.add(Transfer(token_id=other, block_number=k + 1, log_index=0,
                                     sub_index=0, chain_id=2, tx_hash=dtx, block_hash=dtx,
                                     block_time=at + timedelta(minutes=5), from_address=ZERO,
                                     to_address=to, amount=10**9))
                session.add(BridgeTransfer(
                    protocol="layerzero-oft", message_id=f"0x{k:064x}", status="linked",
                    source_chain_id=31337, source_token_id=token.id, source_block=block,
                    source_log_index=1, source_tx_hash=tx, sender=who,
                    destination_chain_id=2, destination_token_id=other,
                    destination_block=k + 1, destination_log_index=1,
                    destination_tx_hash=dtx, recipient=to, amount_sent=10**9,
                    amount_received=10**9, sent_at=at,
                    received_at=at + timedelta(minutes=5)))
                block += 1
        cache = service.ScoringCache()
        config = load_rules_config(None)
        with db.transaction(sessions) as session:
            started = time.perf_counter()
            service.run(session, find_token(session, bs.TOKEN), config, "full", cache)
            print(f"{legs:,} legs: full run {time.perf_counter() - started:.1f} s")
        runs = []
        pending: list[int] = []
        for k in range(BLOCKS):
            add_block(url, block, last)
            with db.transaction(sessions) as session:
                # the relayer links last block's sends now, and this block has two more
                for bid in pending:
                    row = session.get(BridgeTransfer, bid)
                    row.status = "linked"
                    row.destination_chain_id, row.destination_token_id = 2, other
                    row.destination_block, row.destination_log_index = 10**6 + bid, 1
                    row.destination_tx_hash = f"0x{(3 << 60) + bid:064x}"
                    row.recipient = rng.choice(holders)
                    row.received_at = datetime.now(UTC)
                    session.flush()
                    queue.mark_bridge_link(session, row)
                pending = []
                for j in range(2):
                    who = rng.choice(holders)
                    tx = f"0x{(4 << 60) + k * 10 + j:064x}"
                    session.add(Transfer(token_id=find_token(session, bs.TOKEN).id,
                                         block_number=block, log_index=100 + j, sub_index=0,
                                         chain_id=31337, tx_hash=tx, block_hash=tx,
                                         block_time=datetime.now(UTC), from_address=who,
                                         to_address=ZERO, amount=10**9))
                    row = BridgeTransfer(protocol="layerzero-oft",
                                         message_id=f"0x{(9 << 60) + k * 10 + j:064x}",
                                         status="pending", source_chain_id=31337,
                                         source_token_id=find_token(session, bs.TOKEN).id,
                                         source_block=block, source_log_index=101 + j,
                                         source_tx_hash=tx, sender=who, amount_sent=10**9,
                                         amount_received=10**9, sent_at=datetime.now(UTC))
                    session.add(row)
                    session.flush()
                    pending.append(row.id)
            block += 1
            started = time.perf_counter()
            with db.transaction(sessions) as session:
                run = service.run(session, find_token(session, bs.TOKEN), config,
                                  "incremental", cache)
            runs.append((time.perf_counter() - started, run.addresses_scored))
        engine.dispose()
        return count, [r[0] for r in runs], [r[1] for r in runs]
    finally:
        drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=300_000, help="transfers in the history")
    parser.add_argument("--legs", type=int, nargs="+", default=[0, 20_000],
                        help="historical bridge legs; the first is the baseline")
    args = parser.parse_args()
    base: float | None = None
    with postgres_server() as server:
        for legs in args.legs:
            count, seconds, scored = per_block(server, args.size, legs)
            median = statistics.median(seconds)
            base = median if base is None else base
            print(f"{count:,} transfers + {legs:,} bridge legs; per block (10 transfers, 2 "
                  f"bridge sends, the previous block's 2 linked late): median {median:.2f} s, "
                  f"max {max(seconds):.2f} s, {median / base:.2f}x the first; addresses "
                  f"re-scored median {statistics.median(scored)}, max {max(scored)}")


if __name__ == "__main__":
    main()
