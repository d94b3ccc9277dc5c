"""Scoring time and peak memory at 100k and 1M transfers, full and incremental.

    .venv/bin/python bench/score.py            # 100k and 1M
    .venv/bin/python bench/score.py --sizes 100000

A simulated history of the requested size (scale chosen to reach it) is written into a
fresh Postgres database with COPY, then `amlmon score` runs as its own process: a full
run, then an incremental run after one more block of transfers (a fresh process has no
state, so it evaluates the whole token). Prints seconds (process start included) and
peak RSS. Then the daemon's path: after a full run in this process, `--daemon-blocks` new
blocks arrive one at a time and each is scored incrementally (median and max seconds,
and how many addresses each re-scored).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from sqlalchemy import select  # noqa: E402

from models import Transfer  # noqa: E402
from monitor import db  # noqa: E402
from monitor.chain.decode import TransferRecord  # noqa: E402
from monitor.ingest import store  # noqa: E402
from monitor.scoring import service  # noqa: E402
from monitor.scoring.config import load_rules_config  # noqa: E402
from monitor.sim import generate  # noqa: E402
from monitor.tokens import add_token, find_token  # noqa: E402
from support.postgres import create_database, drop_database, postgres_server  # noqa: E402

TOKEN = "0x" + "ab" * 20


def write_history(url: str, size: int) -> tuple[int, int]:
    """The history's transfers into `url`; (count, last block)."""
    scale = max(size / 7000, 1)
    history = generate(11, investors=300, days=60, scale=scale, cases_per_rule=3)
    engine = db.make_engine(url)
    sessions = db.session_factory(engine)
    with db.transaction(sessions) as session:
        token_id = add_token(session, chain_id=31337, address=TOKEN, decimals=6).id
    records, times = [], {}
    for i, t in enumerate(history.transfers):
        records.append(TransferRecord(i // 50, f"0x{i // 50:064x}", f"0x{i:064x}", i % 50, 0, TOKEN,
                                      t.sender, t.receiver, t.amount))
        times[i // 50] = datetime.fromtimestamp(t.timestamp, UTC)
    for start in range(0, len(records), 50_000):
        with db.transaction(sessions) as session:
            store.write_transfers(session, 31337, {TOKEN: token_id},
                                  records[start:start + 50_000], times)
    engine.dispose()
    return len(records), records[-1].block_number if records else 0


def add_block(url: str, block: int) -> None:
    """One more block of ten transfers, as ingest would write it: senders, receivers and
    amounts drawn from the latest 1,000 transfers, so busy wallets (exchanges, the issuer)
    are in new blocks about as often as in the history."""
    engine = db.make_engine(url)
    sessions = db.session_factory(engine)
    rng = random.Random(block)
    with db.transaction(sessions) as session:
        token_id = find_token(session, TOKEN).id
        recent = session.execute(
            select(Transfer.from_address, Transfer.to_address, Transfer.amount)
            .where(Transfer.token_id == token_id)
            .order_by(Transfer.block_number.desc()).limit(1000)).all()
        records = [TransferRecord(block, f"0x{block:064x}", f"0x{(block << 32) + k:064x}", k, 0,
                                  TOKEN, rng.choice(recent)[0], rng.choice(recent)[1],
                                  int(rng.choice(recent)[2]))
                   for k in range(10)]
        store.write_transfers(session, 31337, {TOKEN: token_id}, records,
                              {block: datetime.now(UTC)})
    engine.dispose()


def score(url: str, *extra: str) -> tuple[float, float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "monitor.cli", "score", *extra], cwd=REPO,
                          env={**os.environ, "AMLMON_DATABASE_URL": url},
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(done.stderr)
    # RUSAGE_CHILDREN keeps the maximum over all children so far: runs go smallest first.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, peak / 1024, done.stdout.strip()


def in_daemon(url: str, block: int, blocks: int) -> list[tuple[float, int, int]]:
    """Incremental runs as `amlmon run` does them, after each of `blocks` new blocks: the
    ScoringCache holds the last full run's state, so only the new block is read and only
    its neighbourhood re-scored. (seconds, addresses re-scored, rows written) per run."""
    engine = db.make_engine(url)
    sessions = db.session_factory(engine)
    cache = service.ScoringCache()
    config = load_rules_config(None)
    runs = []
    try:
        with db.transaction(sessions) as session:
            service.run(session, find_token(session, TOKEN), config, "full", cache)
        for k in range(blocks):
            add_block(url, block + k)
            started = time.perf_counter()
            with db.transaction(sessions) as session:
                run = service.run(session, find_token(session, TOKEN), config, "incremental",
                                  cache)
            assert run is not None
            runs.append((time.perf_counter() - started, run.addresses_scored,
                         run.model["changed_rows"]))
        return runs
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--daemon-blocks", type=int, default=20,
                        help="new blocks scored one at a time in the long-lived process")
    args = parser.parse_args()
    with postgres_server() as server:
        for size in args.sizes:
            url = create_database(server, prefix="amlmon_bench_score")
            try:
                db.upgrade(url)
                n, last = write_history(url, size)
                print(f"{n:,} transfers")
                seconds, peak, out = score(url)
                print(f"  full run: {seconds:.1f} s, peak RSS {peak:.0f} MiB — {out}")
                seconds, _, out = score(url, "--incremental")
                print(f"  incremental, nothing new: {seconds:.1f} s — {out}")
                add_block(url, last + 1)
                seconds, peak, out = score(url, "--incremental")
                print(f"  incremental after one new block: {seconds:.1f} s, peak RSS "
                      f"{peak:.0f} MiB — {out}")
                runs = in_daemon(url, last + 2, args.daemon_blocks)
                seconds = sorted(r[0] for r in runs)
                print(f"  in a long-lived process (amlmon run), one new block at a time, "
                      f"{len(runs)} blocks: median {statistics.median(seconds):.2f} s, max "
                      f"{seconds[-1]:.2f} s; addresses re-scored per block median "
                      f"{statistics.median(r[1] for r in runs):.0f}, max "
                      f"{max(r[1] for r in runs)}")
            finally:
                drop_database(url)


if __name__ == "__main__":
    main()
