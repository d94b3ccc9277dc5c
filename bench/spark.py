"""`amlmon score --engine spark` (Spark local[2]) against the numpy engine, same run.

    .venv/bin/python bench/spark.py                      # 1M
    .venv/bin/python bench/spark.py --sizes 100000 1000000 --shards 8

Per size: bench/score.py's simulated history is written into a fresh Postgres database,
then `amlmon score` runs as its own process with the numpy engine, then again with
`--engine spark --spark-master local[2]`. Prints each run's wall seconds (process start,
and the JVM's, included) and the process tree's peak RSS (the sum over the process and
all its descendants, the JVM and Spark's Python workers, sampled every 0.1 s from /proc),
and checks that the findings are the same: the Spark run must write no changed score row
over the numpy run's (service._persist writes a row for every address whose risk or
reasons differ), leave every pattern as it was, and leave the stored scores, reasons and
patterns equal.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))

from score import write_history  # noqa: E402
from sqlalchemy import select  # noqa: E402

from models import Pattern, ScoreRun  # noqa: E402
from monitor import db  # noqa: E402
from monitor.scoring import scores  # noqa: E402
from monitor.tokens import find_token  # noqa: E402
from support.postgres import create_database, drop_database, postgres_server  # noqa: E402

TOKEN = "0x" + "ab" * 20


def tree_rss(root: int) -> int:
    """Bytes resident in `root` and all its descendants now."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        try:
            with open(f"/proc/{pid}/statm") as handle:
                total += int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            pass
    return total


def score(url: str, *extra: str) -> tuple[float, float, str]:
    """Seconds, process-tree peak RSS (MiB) and output of one `amlmon score` process."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "monitor.cli", "score", *extra], cwd=REPO,
                             env={**os.environ, "AMLMON_DATABASE_URL": url},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss(child.pid))
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = child.communicate()
    done.set()
    sampler.join()
    seconds = time.perf_counter() - started
    if child.returncode:
        raise SystemExit(err[-4000:])
    return seconds, peak[0] / 2**20, out.strip()


def stored(url: str) -> dict[str, Any]:
    """What the runs left: every address's current risk and reasons, the active patterns
    (key, score, members), the last run's changed-row count."""
    engine = db.make_engine(url)
    sessions = db.session_factory(engine)
    try:
        with sessions() as session:
            token = find_token(session, TOKEN)
            rows = {a: (s.risk_score, s.reasons)
                    for a, s in scores.current_scores(session, token.id).items()}
            patterns = {p.key: (p.score, p.status, p.member_count)
                        for p in session.scalars(select(Pattern)
                                                 .where(Pattern.token_id == token.id))}
            last = session.scalar(select(ScoreRun).where(ScoreRun.token_id == token.id)
                                  .order_by(ScoreRun.id.desc()).limit(1))
            assert last is not None
            return {"scores": rows, "patterns": patterns,
                    "changed": last.model["changed_rows"],
                    "flagged": last.model["flagged_addresses"]}
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    env_before = os.environ.get("AMLMON_SPARK__SHARDS")
    os.environ["AMLMON_SPARK__SHARDS"] = str(args.shards)
    with postgres_server() as server:
        for size in args.sizes:
            url = create_database(server, prefix="amlmon_bench_spark")
            try:
                db.upgrade(url)
                count, _ = write_history(url, size)
                n_sec, n_rss, _ = score(url)
                numpy_state = stored(url)
                s_sec, s_rss, _ = score(url, "--engine", "spark", "--spark-master",
                                        args.master)
                spark_state = stored(url)
                same = (spark_state["changed"] == 0
                        and spark_state["scores"] == numpy_state["scores"]
                        and spark_state["patterns"] == numpy_state["patterns"])
                print(f"{count:>10,} transfers  numpy: {n_sec:6.1f} s {n_rss:7.0f} MiB  "
                      f"spark {args.master} ({args.shards} shards): {s_sec:6.1f} s "
                      f"{s_rss:7.0f} MiB (process tree)  flagged {numpy_state['flagged']} / "
                      f"{spark_state['flagged']}, patterns {len(numpy_state['patterns'])}, "
                      f"spark rows changed {spark_state['changed']}: "
                      f"{'same findings' if same else 'FINDINGS DIFFER'}", flush=True)
                if not same:
                    raise SystemExit(1)
            finally:
                drop_database(url)
    if env_before is None:
        os.environ.pop("AMLMON_SPARK__SHARDS", None)


if __name__ == "__main__":
    main()
