"""`amlmon score --engine spark`: a token scored on Apache Spark, written back through
the same persistence path as the numpy engine.

A run: the token's flows are loaded as `service.load` loads them (the database is the
source of truth); Spark SQL measures the yardsticks and the service/deposit sides
(monitor.scoring.spark.sql); the driver computes the features (numpy, the kernel's) and
each address's shard (monitor.scoring.spark.shards.plan); Spark joins every transfer to
the shards that need it, and each shard is judged by the kernel's rules in
`applyInPandas` with the token-wide features, yardsticks, sides and listings broadcast;
the driver puts the findings together, runs the watchlist rules on the whole token and
fits and scores the IsolationForest on the same matrix as `evaluate` (so its scores are
the numpy path's), and `service.run` persists the `Scored` state as for any run.
"""

from __future__ import annotations

import logging
import os
import pickle
import sys
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from monitor.ranker.model import Learned
from monitor.scoring import evaluate, evidence, learned, population, service
from monitor.scoring.config import RulesConfig
from monitor.scoring.evaluate import Scored
from monitor.scoring.features import Features
from monitor.scoring.flows import Flows
from monitor.scoring.spark import shards, sql
from monitor.watchlist.service import Listing, listed_addresses

SHARD_SCHEMA = "shard BIGINT, payload BINARY"
log = logging.getLogger(__name__)


def session(master: str, app_name: str = "amlmon", shuffle_partitions: int = 8,
            conf: dict[str, str] | None = None) -> Any:
    """A SparkSession (pyspark is imported here: the `spark` extra)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - the extra is missing
        from monitor.errors import UserError

        raise UserError("--engine spark needs PySpark: pip install -e '.[spark]'") from exc
    # The workers run this interpreter, where monitor is installed.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        # Under spark-submit (which starts the JVM and sets this), its --master and --name
        # rule: the application runs where it was submitted.
        builder = builder.master(master).appName(app_name)
    builder = (builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false"))
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def transfers_frame(spark: Any, flows: Flows, feats: Features) -> Any:
    """The token's transfers as a Spark DataFrame (view `transfers`), with the per-transfer
    feature helpers the rules read."""
    import pandas as pd

    frame = pd.DataFrame({
        "row": np.arange(flows.n, dtype=np.int64), "t": flows.t, "block": flows.block,
        "log": flows.log, "src": flows.src, "dst": flows.dst, "amount": flows.amount,
        "bridge": flows.bridge, "recv_new": feats.recv_new,
        "send_first": feats.send_first, "hold_seconds": feats.hold_seconds,
        "last_receipt": feats.last_receipt})
    df = spark.createDataFrame(frame).cache()
    df.createOrReplaceTempView("transfers")
    return df


def _judge(held: Any) -> Any:
    """The function each shard runs (pandas rows of one shard -> its findings, pickled)."""
    import pandas as pd

    def judge(frame: pd.DataFrame) -> pd.DataFrame:
        shared = pickle.loads(held.value)
        frame = frame.sort_values("row", kind="stable")
        shard = int(frame["shard"].iloc[0])
        rows = frame["row"].to_numpy(np.int64)
        whole: Features = shared["features"]
        receipt = frame["last_receipt"].to_numpy(np.int64)
        at = np.searchsorted(rows, receipt)
        inside = (receipt >= 0) & (at < rows.size) & (rows[np.minimum(at, rows.size - 1)]
                                                       == receipt)
        feats = Features(whole.names, whole.matrix, whole.first_seen, whole.last_seen,
                         frame["recv_new"].to_numpy(bool), frame["send_first"].to_numpy(bool),
                         frame["hold_seconds"].to_numpy(np.float64),
                         np.where(inside, at, -1).astype(np.int64), whole.in_value,
                         whole.out_value, whole.bought_value, whole.active_days)
        flows = Flows(token_id=shared["token_id"], decimals=shared["decimals"],
                      addresses=shared["addresses"], t=frame["t"].to_numpy(np.int64),
                      block=frame["block"].to_numpy(np.int64),
                      src=frame["src"].to_numpy(np.int64), dst=frame["dst"].to_numpy(np.int64),
                      amount=frame["amount"].to_numpy(np.float64),
                      log=frame["log"].to_numpy(np.int64),
                      frozen=shared["frozen"], bridge=frame["bridge"].to_numpy(np.int64),
                      legs=shared["legs"])
        found = shards.judge(flows, feats, shared["config"], shared["stats"], shared["sides"],
                             shared["listings"], shared["shard_of"] == shard)
        return pd.DataFrame({"shard": [shard], "payload": [pickle.dumps(found)]})

    return judge


def shard_rows(spark: Any, plan: shards.Plan) -> Any:
    """(row, shard): every transfer each shard needs, as joins (shards.shard_rows in SQL).
    A shard's region is its anchors and every counterparty of its low-degree anchors
    (their low-degree counterparties are anchors of the same shard: one component); its
    rows are those touching the region, and those touching the low-degree ends of these.
    The view `shard_keys(a, shard, low)` holds each address's shard and whether it has at
    most `degree_limit` counterparties (never the zero address); `transfers` the rows."""
    import pandas as pd

    low = population.degree(plan.feats) <= plan.limit
    low[0] = False
    spark.createDataFrame(pd.DataFrame({
        "a": np.arange(low.size, dtype=np.int64), "shard": plan.shard_of,
        "low": low})).createOrReplaceTempView("shard_keys")
    return spark.sql("""
        WITH e AS (SELECT row, src AS a, dst AS b FROM transfers
                   UNION ALL SELECT row, dst, src FROM transfers),
        region AS (
          SELECT a, shard FROM shard_keys WHERE a <> 0
          UNION
          SELECT e.b, k.shard FROM e JOIN shard_keys k ON e.a = k.a
          WHERE k.low AND e.b <> 0),
        touch AS (SELECT DISTINCT e.row, r.shard FROM e JOIN region r ON e.a = r.a),
        ends AS (
          SELECT DISTINCT e.b AS a, t.shard FROM touch t JOIN e ON e.row = t.row
          JOIN shard_keys k ON e.b = k.a WHERE k.low),
        more AS (SELECT e.row, x.shard FROM ends x JOIN e ON e.a = x.a)
        SELECT row, shard FROM touch UNION SELECT row, shard FROM more""")


def evaluate_spark(spark: Any, flows: Flows, config: RulesConfig,
                   listings: dict[str, list[Listing]] | None = None,
                   permissioned: bool = False, k: int = 8) -> Scored:
    """`evaluate` on Spark with `k` shards: the same `Scored` state."""

    seconds: dict[str, float] = {}
    started = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal started
        now = time.perf_counter()
        seconds[name] = round(now - started, 2)
        started = now

    feats = evaluate.compute_features(flows, config)
    lap("features")
    transfers = transfers_frame(spark, flows, feats)
    lap("to_spark")
    try:
        stats, sides = sql.measure(spark, flows.n_addresses, config, permissioned)
        lap("yardsticks_sql")
        plan = shards.plan(flows, config, k, permissioned, feats=feats, stats=stats,
                           sides=sides)
        lap("components")
        index = evaluate.listing_index(flows, listings)
        assignment = shard_rows(spark, plan)
        held = spark.sparkContext.broadcast(pickle.dumps({
            "features": Features(feats.names, feats.matrix, feats.first_seen,
                                 feats.last_seen, np.zeros(0, bool), np.zeros(0, bool),
                                 np.zeros(0), np.zeros(0, np.int64), feats.in_value,
                                 feats.out_value, feats.bought_value, feats.active_days),
            "addresses": flows.addresses, "token_id": flows.token_id,
            "decimals": flows.decimals, "frozen": flows.frozen, "legs": flows.legs,
            "config": config, "stats": stats, "sides": sides, "listings": index,
            "shard_of": plan.shard_of}))
        try:
            rows = (assignment.join(transfers, "row")
                    .groupBy("shard").applyInPandas(_judge(held), SHARD_SCHEMA).collect())
        finally:
            held.unpersist()
        found: Iterable[shards.Found] = [pickle.loads(r["payload"]) for r in rows]
        lap("shards")
        scored = shards.assemble(flows, plan, config, index, found)
        evidence.resolve(scored)  # the shards hold no tx hashes: their evidence names keys
        lap("assemble_forest")
        log.info("spark run of %s transfers: %s", flows.n, seconds)
        return scored
    finally:
        transfers.unpersist()


class SparkScoring(service.ScoringCache):
    """A scoring "cache" that keeps no state: every run evaluates the token on Spark
    (service.run persists it as any full run)."""

    def __init__(self, spark: Any, shards: int = 8) -> None:
        super().__init__()
        self.spark = spark
        self.shards = shards

    def score(self, session: Any, token: Any, newest: int | None, config: RulesConfig,
              full: bool, run_id: int, ranked: Learned | None = None,
              bridged: Iterable[str] = (), bridged_since: datetime | None = None,
              snapshots: Path | None = None, loaded: Callable[[], None] | None = None,
              ) -> tuple[Scored, np.ndarray | None, int]:
        flows = service.load(session, token, config, snapshots)
        if loaded is not None:
            loaded()
        scored = evaluate_spark(self.spark, flows, config, listed_addresses(session),
                                token.standard == "erc3643", self.shards)
        return learned.with_ranker(scored, ranked, config), None, run_id
