"""Scoring time and peak memory at 100k and 1M transfers, full and incremental.

    .venv/bin/python bench/score.py            # 100k and 1M
    .venv/bin/python bench/score.py --sizes 100000
    .venv/bin/python bench/score.py --sizes 1000000 3000000 --daemon-blocks 200   # issue 23
    .venv/bin/python bench/score.py --sizes 10000000 --keep-fixtures   # history written once

A simulated history of the requested size (scale chosen to reach it) is written into a
fresh Postgres database with COPY, then `amlmon score` runs as its own process: a full
run, then an incremental run after one more block of transfers (a fresh process has no
state, so it evaluates the whole token). Prints seconds (process start included) and
peak RSS. Then the daemon's path: after a full run in this process, `--daemon-blocks` new
blocks arrive one at a time and each is scored incrementally (median and max seconds,
and how many addresses each re-scored). The new blocks hold ten transfers, half of them
to or from one of the token's five busiest addresses (issue 23's hub-heavy block), and the
daemon path runs twice: without any watchlist and with a 10,000-address list naming 20 of
the history's addresses (so exposure propagates). Per path: p50, p99 and max seconds per
block and the addresses re-scored, and the held state's numpy bytes per transfer. Each
`amlmon score` is its own child process; its peak RSS is its VmHWM, sampled every 50 ms
(`--daemon-blocks 0` skips the daemon's path).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from sqlalchemy import func, select  # noqa: E402

from models import Transfer, Watchlist, WatchlistEntry  # noqa: E402
from monitor import db  # noqa: E402
from monitor.chain.decode import TransferRecord  # noqa: E402
from monitor.ingest import store  # noqa: E402
from monitor.scoring import service  # noqa: E402
from monitor.scoring.config import load_rules_config  # noqa: E402
from monitor.sim import generate  # noqa: E402
from monitor.tokens import add_token, find_token  # noqa: E402
from support.postgres import (  # noqa: E402
    clone_database,
    create_database,
    drop_database,
    postgres_server,
)

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


def fresh_history(server: str, size: int, keep: bool) -> tuple[str, int, int]:
    """A new database holding the history of `size`: (url, transfers, last block). With
    `keep`, the history is written once into a fixture database and cloned from it."""
    if not keep:
        url = create_database(server, prefix="amlmon_bench_score")
        db.upgrade(url)
        return (url, *write_history(url, size))
    fixture = make_url(server).set(drivername="postgresql+psycopg",
                                   database=f"amlmon_bench_fixture_{size}")
    template = fixture.render_as_string(hide_password=False)
    try:
        engine = db.make_engine(template)
        with engine.connect():
            pass
        engine.dispose()
    except OperationalError:  # not written yet: write it under a temporary name, then
        staging = create_database(server, prefix="amlmon_bench_staging")  # rename it, so
        db.upgrade(staging)  # a run killed half-way leaves no half fixture behind
        write_history(staging, size)
        admin = make_url(server).set(database="postgres")
        with psycopg.connect(admin.set(drivername="postgresql").render_as_string(
                hide_password=False), autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{make_url(staging).database}" '
                         f'RENAME TO "{fixture.database}"')
    db.upgrade(template)  # a fixture from an older schema catches up
    engine = db.make_engine(template)
    with engine.connect() as conn:
        n, last = conn.exec_driver_sql("SELECT count(*), max(block_number) FROM transfers").one()
    engine.dispose()
    return clone_database(template), int(n), int(last)


def hubs(url: str, count: int = 5) -> list[str]:
    """The token's `count` addresses with the most transfers (sent plus received)."""
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT a FROM (SELECT from_address AS a FROM transfers UNION ALL "
                "SELECT to_address FROM transfers) s WHERE a <> '0x" + "0" * 40 + "' "
                f"GROUP BY a ORDER BY count(*) DESC LIMIT {int(count)}").all()
    finally:
        engine.dispose()
    return [r[0] for r in rows]


def add_watchlist(url: str, size: int = 10_000, listed: int = 20) -> None:
    """A `size`-address sanctions list naming `listed` of the token's addresses (drawn
    with a fixed seed among those with a transfer), the rest random addresses."""
    engine = db.make_engine(url)
    sessions = db.session_factory(engine)
    rng = random.Random(5)
    with db.transaction(sessions) as session:
        known = sorted(session.scalars(select(Transfer.to_address).distinct()).all())
        known = [a for a in known if a != "0x" + "0" * 40]
        names = set(rng.sample(known, min(listed, len(known))))
        while len(names) < size:
            names.add(f"0x{rng.getrandbits(160):040x}")
        watchlist = Watchlist(name="bench-sdn", category="sanctioned", entry_count=len(names))
        session.add(watchlist)
        session.flush()
        session.bulk_insert_mappings(WatchlistEntry, [
            {"watchlist_id": watchlist.id, "address": a, "category": "sanctioned",
             "label": None, "program": None, "extra": {}} for a in sorted(names)])
    engine.dispose()


def add_block(url: str, block: int, busiest: list[str] | None = None) -> None:
    """One more block of ten transfers, as ingest would write it: senders, receivers and
    amounts drawn from the latest 1,000 transfers, so busy wallets (exchanges, the issuer)
    are in new blocks about as often as in the history. With `busiest`, every other
    transfer is sent or received (alternately) by one of those addresses."""
    engine = db.make_engine(url)
    sessions = db.session_factory(engine)
    rng = random.Random(block)
    with db.transaction(sessions) as session:
        token_id = find_token(session, TOKEN).id
        recent = session.execute(
            select(Transfer.from_address, Transfer.to_address, Transfer.amount)
            .where(Transfer.token_id == token_id)
            .order_by(Transfer.block_number.desc()).limit(1000)).all()
        # Twelve seconds after the latest block, as a chain's next block comes: a block
        # stamped with today's date would follow the simulated history after months of
        # silence, and every address in it would look like a dormant holder waking up.
        latest = session.scalar(select(func.max(Transfer.block_time))
                                .where(Transfer.token_id == token_id))
        at = (latest or datetime.now(UTC)) + timedelta(seconds=12)
        records = []
        for k in range(10):
            sender, receiver = rng.choice(recent)[0], rng.choice(recent)[1]
            if busiest and k % 2 == 0:
                if k % 4 == 0:
                    sender = rng.choice(busiest)
                else:
                    receiver = rng.choice(busiest)
            records.append(TransferRecord(block, f"0x{block:064x}",
                                          f"0x{(block << 32) + k:064x}", k, 0, TOKEN, sender,
                                          receiver, int(rng.choice(recent)[2])))
        store.write_transfers(session, 31337, {TOKEN: token_id}, records, {block: at})
    engine.dispose()


def score(url: str, *extra: str, snapshots: str | None = None) -> tuple[float, float, str]:
    """Seconds, peak RSS (MiB, this child's own, its VmHWM) and output of one
    `amlmon score` process (reading and writing snapshots in `snapshots`, if given)."""
    started = time.perf_counter()
    env = {**os.environ, "AMLMON_DATABASE_URL": url}
    if snapshots:
        env["AMLMON_SNAPSHOT_DIR"] = snapshots
    child = subprocess.Popen([sys.executable, "-m", "monitor.cli", "score", *extra], cwd=REPO,
                             env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outputs: list[str] = []
    reader = threading.Thread(target=lambda: outputs.extend(child.communicate()))
    reader.start()
    # The child's own high-water mark (VmHWM), sampled until it exits: wait4's ru_maxrss
    # also counts the pages it shared with this process at fork, and this process grows
    # to gigabytes writing a 10M fixture.
    peak = 0
    while reader.is_alive():
        peak = max(peak, _high_water_kib(child.pid))
        reader.join(0.05)
    seconds = time.perf_counter() - started
    if child.returncode:
        raise SystemExit(outputs[1])
    return seconds, peak / 1024, outputs[0].strip()


def _high_water_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:  # exited between two samples
        pass
    return 0


def state_bytes(state: service.Scored) -> int:
    """numpy bytes held by a scoring state's flows and features (views counted once)."""
    seen: dict[int, int] = {}
    for holder in (state.flows, state.features):
        for value in vars(holder).values():
            if isinstance(value, np.ndarray):
                base = value if value.base is None else value.base
                if isinstance(base, np.ndarray):
                    seen[id(base)] = base.nbytes
    return sum(seen.values())


def in_daemon(url: str, block: int, blocks: int, busiest: list[str] | None = None,
              profile: str | None = None) -> tuple[list[tuple[float, int, int]], int]:
    """Incremental runs as `amlmon run` does them, after each of `blocks` new blocks: the
    ScoringCache holds the last full run's state, so only the new block is read and only
    its neighbourhood re-scored. (seconds, addresses re-scored, rows written) per run, and
    the state's bytes per transfer at the end. `profile`: cProfile the middle block into
    that file."""
    engine = db.make_engine(url)
    sessions = db.session_factory(engine)
    cache = service.ScoringCache()
    config = load_rules_config(None)
    runs = []
    try:
        with db.transaction(sessions) as session:
            service.run(session, find_token(session, TOKEN), config, "full", cache)
        for k in range(blocks):
            add_block(url, block + k, busiest)
            profiler = cProfile.Profile() if profile and k == blocks // 2 else None
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            with db.transaction(sessions) as session:
                run = service.run(session, find_token(session, TOKEN), config, "incremental",
                                  cache)
            if profiler:
                profiler.disable()
                profiler.dump_stats(profile)  # type: ignore[arg-type]
            assert run is not None
            runs.append((time.perf_counter() - started, run.addresses_scored,
                         run.model["changed_rows"]))
        state = cache.state(find_token_id(sessions))
        per = state_bytes(state) / max(state.flows.n, 1) if state else 0
        return runs, round(per)
    finally:
        engine.dispose()


def find_token_id(sessions: Any) -> int:
    with db.transaction(sessions) as session:
        return find_token(session, TOKEN).id


def report(label: str, runs: list[tuple[float, int, int]], per_transfer: int) -> None:
    seconds = np.sort([r[0] for r in runs])
    scored = np.array([r[1] for r in runs])
    print(f"  daemon ({label}), {len(runs)} blocks of 10 (5 touching a top-5 hub): "
          f"p50 {np.percentile(seconds, 50):.2f} s, p99 {np.percentile(seconds, 99):.2f} s, "
          f"max {seconds[-1]:.2f} s; addresses re-scored p50 {np.median(scored):.0f}, max "
          f"{scored.max()}; state {per_transfer} B per transfer", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--daemon-blocks", type=int, default=20,
                        help="new blocks scored one at a time in the long-lived process "
                             "(issue 23's figures: 200)")
    parser.add_argument("--no-watchlist", action="store_true",
                        help="skip the daemon path with a 10,000-address watchlist")
    parser.add_argument("--keep-fixtures", action="store_true",
                        help="write each size's history once into a database kept between "
                             "runs (amlmon_bench_fixture_<size>) and score a copy of it")
    parser.add_argument("--profile", metavar="PREFIX",
                        help="cProfile the middle daemon block into PREFIX-<size>-<path>.prof")
    args = parser.parse_args()
    with postgres_server() as server:
        for size in args.sizes:
            url, n, last = fresh_history(server, size, args.keep_fixtures)
            try:
                print(f"{n:,} transfers", flush=True)
                seconds, peak, out = score(url)
                print(f"  full run: {seconds:.1f} s, peak RSS {peak:.0f} MiB — {out}")
                with tempfile.TemporaryDirectory(prefix="amlmon-snapshots-") as snapshots:
                    # The first writes the snapshot; the second reads it (and, the scores
                    # being stored, writes nothing): a daemon's periodic full run.
                    for label in ("writing the snapshot", "from the snapshot"):
                        seconds, peak, out = score(url, snapshots=snapshots)
                        print(f"  full run again, {label}: {seconds:.1f} s, peak RSS "
                              f"{peak:.0f} MiB — {out.splitlines()[0]}", flush=True)
                seconds, _, out = score(url, "--incremental")
                print(f"  incremental, nothing new: {seconds:.1f} s — {out}")
                add_block(url, last + 1)
                seconds, peak, out = score(url, "--incremental")
                print(f"  incremental after one new block: {seconds:.1f} s, peak RSS "
                      f"{peak:.0f} MiB — {out}")
                busiest = hubs(url)
                block = last + 2
                paths = [("no watchlist", False)] + (
                    [] if args.no_watchlist else [("10,000-address watchlist", True)])
                for label, listed in paths if args.daemon_blocks else ():
                    if listed:
                        add_watchlist(url)
                    profile = (f"{args.profile}-{size}-{'list' if listed else 'plain'}.prof"
                               if args.profile else None)
                    runs, per = in_daemon(url, block, args.daemon_blocks, busiest, profile)
                    block += args.daemon_blocks
                    report(label, runs, per)
            finally:
                drop_database(url)


if __name__ == "__main__":
    main()
