"""Ingest throughput, memory and alert-path latency against a fresh local anvil.

    .venv/bin/python bench/ingest.py                    # 200,000 transfers
    .venv/bin/python bench/ingest.py --transfers 1000000  # the memory figure

Steps, all in one run on the same node and range:
1. deploy the test RWA token on a fresh anvil and create the transfers (batch forced
   transfers of up to 500 items per transaction);
2. in each of `--rounds` rounds (default 3), one right after the other:
   a. raw baseline: the fastest plain client we can write — keep-alive HTTP, orjson,
      eth_getLogs in ~10k-log ranges, fields pulled into tuples — sequential and with two
      threads, best kept; in this process, nothing stored;
   b. cryo baseline (PyPI `cryo`, the `bench` extra; skipped with a note when missing):
      `cryo.freeze("erc20_transfers", …)` over the same node, token and blocks, as its own
      process (the wheel ships no CLI binary, so a `python -c` that calls it: start-up
      included, as for amlmon). cryo fetches the token's Transfer logs (eth_getLogs, one
      block per request, concurrently), decodes them (hashes and addresses to bytes,
      amounts as exact decimal strings, binary and f64) and writes one lz4 Parquet file
      to a temporary directory; its row count is checked;
   c. `amlmon ingest --once` end to end into a fresh Postgres database, as its own
      process (start-up included): fetch, decode and validate, block headers, the
      parent-hash checks of the reorg window, and COPY into `transfers` committed with
      the cursor batch by batch; a backfill this large defers the secondary indexes and
      builds them at its end (monitor.ingest.indexes), inside the time — more work than
      either baseline, which store nothing durable;
   then the medians over the rounds, amlmon's ratio to each baseline, and the peak RSS of
   the ingests.
   Shared 2-core machines swing single runs by ±20%, so one pair of runs says little;
   each round pairs runs made seconds apart, and the medians are what to quote;
3. alert path: `amlmon ingest` following the head with confirmations 0 and a 1 s poll;
   time from a transfer's block being mined until its row is in the database.

The harness (anvil, Postgres, token helpers) is the test suite's, under tests/support.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson
import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from monitor import db  # noqa: E402
from monitor.chain.events import TRANSFER  # noqa: E402
from support.anvil import Anvil, run_anvil  # noqa: E402
from support.postgres import _libpq, create_database, drop_database, postgres_server  # noqa: E402
from support.token import TokenOnChain, deploy  # noqa: E402

BATCH = 500
JSON = {"content-type": "application/json"}


def make_transfers(token: TokenOnChain, node: Anvil, total: int, seed: int = 1) -> int:
    rng = random.Random(seed)
    holders = [f"0x{rng.getrandbits(160):040x}" for _ in range(2000)]
    for start in range(0, len(holders), BATCH):
        chunk = holders[start:start + BATCH]
        token.batch_mint(chunk, [10**15] * len(chunk))
    made = len(holders)
    while made < total:
        n = min(BATCH, total - made)
        froms = [rng.choice(holders) for _ in range(n)]
        tos = [rng.choice(holders) for _ in range(n)]
        token.batch_forced_transfer(froms, tos, [rng.randrange(1, 10**6) for _ in range(n)])
        made += n
        if made % 50_000 < BATCH:
            print(f"  created {made:,} transfers (block {node.block_number()})", flush=True)
    return made


def baseline(url: str, token: str, head: int, made: int, threads: int) -> tuple[int, float]:
    """Plain eth_getLogs + orjson + tuple extraction over [0, head]; (logs, seconds)."""
    span = max(int((head + 1) * 10_000 / made), 1)  # ~10k logs per request, as ingest aims
    ranges = [(low, min(low + span - 1, head)) for low in range(0, head + 1, span)]
    clients = threading.local()

    def fetch(bounds: tuple[int, int]) -> int:
        if not hasattr(clients, "http"):
            clients.http = httpx.Client(timeout=120)
        return _get_logs(clients.http, url, token, *bounds)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        logs = sum(pool.map(fetch, ranges))
    return logs, time.perf_counter() - started


def _get_logs(http: httpx.Client, url: str, token: str, low: int, high: int) -> int:
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs", "params": [{
        "fromBlock": hex(low), "toBlock": hex(high), "address": [token], "topics": [[TRANSFER]],
    }]}
    reply = orjson.loads(http.post(url, content=orjson.dumps(body), headers=JSON).content)
    if "error" in reply:
        raise SystemExit(f"eth_getLogs [{low}, {high}]: {reply['error']}")
    logs = reply["result"]
    rows = [
        (lg["transactionHash"], int(lg["logIndex"], 16), int(lg["blockNumber"], 16),
         "0x" + lg["topics"][1][26:], "0x" + lg["topics"][2][26:], int(lg["data"], 16))
        for lg in logs
    ]
    return len(rows)


_CRYO = """
import sys, cryo
cryo.freeze("erc20_transfers", start_block=0, end_block=int(sys.argv[3]) + 1, rpc=sys.argv[1],
            contract=[sys.argv[2]], output_dir=sys.argv[4], verbose=True)
"""


def have_cryo() -> bool:
    done = subprocess.run([sys.executable, "-c", "import cryo"], capture_output=True)
    return done.returncode == 0


def cryo_baseline(url: str, token: str, head: int, made: int) -> float:
    """cryo's erc20_transfers over blocks [0, head] of `token`, Parquet to a temporary
    directory, as a child process; transfers/s (process start included)."""
    out = tempfile.mkdtemp(prefix="amlmon-cryo-")
    try:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _CRYO, url, token, str(head), out],
                              capture_output=True, text=True)
        seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(out, ignore_errors=True)
    if done.returncode != 0:
        raise SystemExit(f"cryo failed: {done.stderr.strip()[-2000:]}")
    rows = re.search(r"rows written: ([\d,]+)", done.stdout)
    collect = re.search(r"total duration: ([\d.]+) seconds", done.stdout)
    if rows is None or int(rows.group(1).replace(",", "")) != made:
        raise SystemExit(f"cryo wrote {rows and rows.group(1)} rows, expected {made:,}")
    inner = f" (its own collection timer {float(collect.group(1)):.2f} s)" if collect else ""
    print(f"  cryo erc20_transfers -> Parquet, own process: {seconds:.2f} s = "
          f"{made / seconds:,.0f} transfers/s{inner}")
    return made / seconds


def run_ingest(env: dict[str, str], code: Path = REPO) -> tuple[float, int, str, float]:
    """`amlmon ingest --once` as a child process, from the checkout `code`: (seconds, peak
    RSS bytes, its summary, its CPU-seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "ingest", "--once"],
        env={**env, "PYTHONPATH": str(code)}, cwd=code, capture_output=True, text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"ingest failed: {done.stderr.strip()}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    # The largest child reaped so far (the others are `token add` runs): the ingests' peak.
    return seconds, after.ru_maxrss * 1024, done.stdout.strip(), cpu


def compare(server: str, node: Anvil, token: TokenOnChain, made: int, before: Path,
            pairs: int) -> None:
    """`amlmon ingest --once` from `before` (another checkout, e.g. a git worktree of the
    previous commit) and from this one, alternating which goes first, on the same node,
    each into a fresh database: wall and CPU-seconds of each run, then the medians."""
    runs: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
    for pair in range(pairs):
        order = [("before", before), ("after", REPO)]
        for name, code in order if pair % 2 == 0 else order[::-1]:
            url, env = prepared_database(server, node, token)
            try:
                seconds, _, summary, cpu = run_ingest(env, code)
            finally:
                drop_database(url)
            if f" {made} new transfer(s)" not in summary:
                raise SystemExit(f"{name} ingest did not store {made:,} transfers: {summary}")
            runs[name].append((seconds, cpu))
            print(f"  pair {pair + 1}/{pairs} {name}: {seconds:.2f} s wall, "
                  f"{cpu:.2f} CPU-s of the ingest process", flush=True)
    for name, values in runs.items():
        walls, cpus = [w for w, _ in values], [c for _, c in values]
        where = before if name == "before" else REPO
        print(f"{name} ({where}): median {statistics.median(walls):.2f} s wall "
              f"({min(walls):.2f}-{max(walls):.2f}), median "
              f"{statistics.median(cpus):.2f} CPU-s ({min(cpus):.2f}-{max(cpus):.2f})")
    faster = sum(a[0] < b[0] for a, b in zip(runs["after"], runs["before"], strict=True))
    print(f"after faster in {faster} of {pairs} pairs")


def alert_latency(env: dict[str, str], node: Anvil, token: TokenOnChain, url: str,
                  samples: int) -> list[float]:
    follow = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "ingest"],
        env={**env, "AMLMON_POLL_INTERVAL_SECONDS": "1"}, cwd=REPO,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    latencies = []
    try:
        time.sleep(3)  # startup and catch-up
        with psycopg.connect(_libpq(url), autocommit=True) as conn:
            for i in range(samples):
                time.sleep(random.uniform(0.2, 1.2))  # land anywhere in the poll cycle
                tx = token.batch_forced_transfer([token.agent], [f"0x{i + 1:040x}"], [1])
                mined = time.perf_counter()  # eth_sendTransaction returns once auto-mined
                while not conn.execute(
                    "SELECT 1 FROM transfers WHERE tx_hash = %s", (tx,)
                ).fetchone():
                    time.sleep(0.01)
                latencies.append(time.perf_counter() - mined)
    finally:
        follow.terminate()
        follow.wait(timeout=30)
    return latencies


def best_baseline(url: str, token: str, head: int, made: int) -> float:
    """The faster of the sequential and the two-thread baseline, in transfers/s."""
    best = 0.0
    for threads in (1, 2):
        logs, seconds = baseline(url, token, head, made, threads)
        if logs != made:
            raise SystemExit(f"baseline read {logs:,} logs, expected {made:,}")
        best = max(best, logs / seconds)
        print(f"  baseline eth_getLogs+orjson, {threads} thread(s): {seconds:.2f} s = "
              f"{logs / seconds:,.0f} transfers/s")
    return best


def prepared_database(server: str, node: Anvil, token: TokenOnChain) -> tuple[str, dict[str, str]]:
    """A fresh migrated database with the token registered, and the environment to use it."""
    url = create_database(server, prefix="amlmon_bench")
    db.upgrade(url)
    env = {**os.environ, "AMLMON_DATABASE_URL": url, "AMLMON_RPC_URLS": node.url,
           "AMLMON_CONFIRMATIONS": "0", "AMLMON_LOG_LEVEL": "WARNING"}
    subprocess.run(
        [sys.executable, "-m", "monitor.cli", "token", "add", "--chain-id", "31337",
         "--address", token.address, "--decimals", "6", "--symbol", "TBOND",
         "--name", "Bench Bond", "--standard", "erc3643", "--start-block", "0"],
        env=env, cwd=REPO, check=True, capture_output=True,
    )
    return url, env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3,
                        help="baseline + ingest pairs; medians are reported")
    parser.add_argument("--latency-samples", type=int, default=10)
    parser.add_argument("--before", type=Path, metavar="CHECKOUT",
                        help="instead of the rounds: alternate `amlmon ingest --once` from "
                             "this other checkout (e.g. `git worktree add /tmp/before HEAD~1`)"
                             " and from this one on the same node; wall and CPU-seconds")
    parser.add_argument("--pairs", type=int, default=5, help="with --before: run pairs")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.before is not None and not (args.before / "monitor" / "cli").is_dir():
        parser.error(f"--before {args.before}: not a checkout of this repository")

    with run_anvil("--gas-limit", "100000000") as node, \
            postgres_server() as server:
        token = deploy(node)
        print(f"anvil {node.url}, token {token.address}; creating {args.transfers:,} transfers")
        started = time.perf_counter()
        token.batch_mint([token.agent], [10**30])
        made = make_transfers(token, node, args.transfers) + 1
        head = node.block_number()
        print(f"  {made:,} transfers in {head} blocks ({time.perf_counter() - started:.0f} s)")
        if args.before is not None:
            compare(server, node, token, made, args.before.resolve(), args.pairs)
            return

        baselines: list[float] = []
        cryos: list[float] = []
        ingests: list[float] = []
        with_cryo = have_cryo()
        if not with_cryo:
            print("  cryo is not installed (pip install -e '.[bench]'): no cryo baseline")
        url, env, summary = None, {}, ""
        try:
            for round_ in range(1, args.rounds + 1):
                print(f"round {round_}/{args.rounds}")
                best = best_baseline(node.url, token.address, head, made)
                if with_cryo:
                    cryos.append(cryo_baseline(node.url, token.address, head, made))
                if url is not None:
                    drop_database(url)
                url, env = prepared_database(server, node, token)
                seconds, peak, summary, cpu = run_ingest(env)
                if f" {made} new transfer(s)" not in summary:
                    raise SystemExit(f"ingest did not store {made:,} transfers: {summary}")
                rate = made / seconds
                versus_cryo = f", {rate / cryos[-1]:.2f} of cryo" if with_cryo else ""
                print(f"  amlmon ingest --once into Postgres: {seconds:.2f} s = "
                      f"{rate:,.0f} transfers/s (process start included; {cpu:.2f} CPU-s);"
                      f" ratio {rate / best:.2f} of raw eth_getLogs{versus_cryo}")
                baselines.append(best)
                ingests.append(rate)
            print(f"  last ingest: {summary}")
            base, rate = statistics.median(baselines), statistics.median(ingests)
            print(f"median over {args.rounds} round(s): raw eth_getLogs {base:,.0f} "
                  f"transfers/s, amlmon ingest {rate:,.0f} transfers/s")
            ratios = ", ".join(f"{i / b:.2f}" for b, i in zip(baselines, ingests, strict=True))
            print(f"ratio ingest / raw eth_getLogs: {rate / base:.2f} (medians; per round "
                  f"{ratios})")
            if with_cryo:
                median_cryo = statistics.median(cryos)
                ratios = ", ".join(f"{i / c:.2f}" for c, i in zip(cryos, ingests, strict=True))
                print(f"ratio ingest / cryo erc20_transfers ({median_cryo:,.0f} transfers/s): "
                      f"{rate / median_cryo:.2f} (medians; per round {ratios})")
            print(f"peak RSS of the ingest processes: {peak / 2**20:.0f} MiB")

            # The last round's database is caught up: follow the head from there.
            latencies = alert_latency(env, node, token, url, args.latency_samples)
            print(f"alert path (confirmations 0, poll 1 s), mined -> in database over "
                  f"{len(latencies)} transfers: median {statistics.median(latencies):.2f} s, "
                  f"max {max(latencies):.2f} s")
        finally:
            if url is not None:
                drop_database(url)


if __name__ == "__main__":
    main()
