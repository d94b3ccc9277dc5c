"""Memory of the investigator reads at 1M transfers: a hub's address profile and page, the
flagged report, the watchlist list.

    .venv/bin/python bench/reports.py                      # 1,000,000 transfers
    .venv/bin/python bench/reports.py --transfers 200000

A fresh Postgres database is filled with COPY: one token whose hub address takes part in
every transfer (half received, half sent, among `--counterparties` addresses), `--flagged`
flagged addresses with two score rows each (an older and the current one), and a watchlist
imported three times with `--listed` addresses each. Each read then runs in a process of
its own and twice: first plain, for the seconds taken and how far the process's peak RSS
rose above its RSS just before (the kernel's high-water mark, reset before the read: libpq
holds a query's result outside tracemalloc's view), then under tracemalloc, for the peak of
Python allocations.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]  # this checkout, not an installed one

from monitor import db  # noqa: E402
from support import bulk  # noqa: E402
from support.postgres import create_database, drop_database, postgres_server  # noqa: E402

PAGE = 100


def fill(url: str, transfers: int, counterparties: int, flagged: int, listed: int) -> None:
    engine = db.make_engine(url)
    sessions = db.session_factory(engine)
    try:
        token_id = bulk.write_hub(sessions, transfers, counterparties)
        bulk.write_flagged(sessions, token_id, flagged)
        bulk.write_list_history(sessions, 3, listed)
    finally:
        engine.dispose()


def read(name: str, url: str) -> None:
    """One read, measured, in this process; prints a JSON line."""
    from monitor.reports import export, flagged, html
    from monitor.reports.profile import address_profile
    from monitor.watchlist.service import summaries

    engine = db.make_engine(url)
    sessions = db.session_factory(engine)
    reads = {
        "address profile (API, 100 transfers, 25 counterparties)":
            lambda s: address_profile(s, bulk.HUB, limit=PAGE, counterparties=25),
        "address page (HTML)": lambda s: html.address_page(s, bulk.HUB),
        "flagged report (API, JSON, one page of 500)":
            lambda s: flagged.flagged_page(s, None, 50, 500),
        "flagged report (CLI, whole, JSON, streamed)":
            lambda s: sum(len(chunk) for chunk in export.flagged_report(s, None, 50, "json")),
        "watchlists (API, one page)": lambda s: summaries(s, 101),
    }
    with sessions() as session:
        session.connection()  # connect before measuring
        # First plain, for the time and the RSS; then again under tracemalloc, which slows
        # Python down and takes memory of its own.
        before = _status_kib("VmRSS")
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # the peak RSS (VmHWM) starts again from the current RSS
        started = time.perf_counter()
        reads[name](session)
        seconds = time.perf_counter() - started
        grown = _status_kib("VmHWM") - before
        tracemalloc.start()
        reads[name](session)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    print(json.dumps({"python_peak_mib": peak / 2**20, "rss_growth_mib": max(grown, 0) / 1024,
                      "seconds": seconds}))
    engine.dispose()


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


READS = ("address profile (API, 100 transfers, 25 counterparties)", "address page (HTML)",
         "flagged report (API, JSON, one page of 500)",
         "flagged report (CLI, whole, JSON, streamed)", "watchlists (API, one page)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=1_000_000)
    parser.add_argument("--counterparties", type=int, default=50_000)
    parser.add_argument("--flagged", type=int, default=100_000)
    parser.add_argument("--listed", type=int, default=300_000)
    parser.add_argument("--read", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read:
        read(args.read, args.url)
        return
    with postgres_server() as server:
        url = create_database(server, prefix="amlmon_bench_reports")
        try:
            db.upgrade(url)
            started = time.perf_counter()
            fill(url, args.transfers, args.counterparties, args.flagged, args.listed)
            print(f"{args.transfers:,} transfers of one hub with {args.counterparties:,} "
                  f"counterparties, {args.flagged:,} flagged addresses, a list imported 3 "
                  f"times with {args.listed:,} addresses (written in "
                  f"{time.perf_counter() - started:.0f} s)")
            for name in READS:
                done = subprocess.run([sys.executable, __file__, "--read", name, "--url", url],
                                      capture_output=True, text=True, cwd=REPO)
                if done.returncode:
                    raise SystemExit(done.stderr)
                m = json.loads(done.stdout.strip().splitlines()[-1])
                print(f"  {name}: Python peak {m['python_peak_mib']:.1f} MiB, RSS +"
                      f"{m['rss_growth_mib']:.0f} MiB, {m['seconds']:.2f} s")
        finally:
            drop_database(url)


if __name__ == "__main__":
    main()
