"""What Spark SQL measures of a token: address ids, the population yardsticks with exact
percentiles, the service and deposit sides, and exact per-address sums as DECIMAL(38,0).

Each definition is the kernel's (monitor.scoring.population, monitor.scoring.features),
written as SQL over the token's transfers, `transfers(row, t, src, dst, amount)` with
integer address ids (0 the zero address) and float64 token units; `raw(src, dst,
amount)` with lower-case addresses and amounts in base units as decimal strings for ids
and exact sums. Percentiles are numpy's default (linear) ones: the two order statistics
around numpy's virtual index are read in SQL (`row_number`) and interpolated with numpy's
own formula, so the result is numpy's to the bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from monitor.addresses import ZERO
from monitor.scoring import population
from monitor.scoring.config import RulesConfig

DAY = 86400


def address_ids(spark: Any, raw: str = "raw") -> Any:
    """address -> id: the zero address 0, the others from 1 in byte order of their
    lower-case hex, as load_flows numbers them."""
    return spark.sql(f"""
        WITH a AS (SELECT src AS address FROM {raw} UNION SELECT dst FROM {raw})
        SELECT address, CAST(row_number() OVER (ORDER BY address) AS BIGINT) AS id
        FROM a WHERE address <> '{ZERO}'
        UNION ALL SELECT '{ZERO}', CAST(0 AS BIGINT)""")


def exact_sums(spark: Any, raw: str = "raw") -> Any:
    """Per address: base units received and sent, exact, as DECIMAL(38,0). A uint256 of
    more than 38 digits does not fit: `try_cast` makes it null, and such an address's
    sums are null with `overflow` counting its rows (its totals come from the database,
    NUMERIC(78,0), as reports' do)."""
    return spark.sql(f"""
        WITH e AS (
          SELECT dst AS address, try_cast(amount AS DECIMAL(38,0)) AS v, 1 AS incoming
          FROM {raw}
          UNION ALL
          SELECT src, try_cast(amount AS DECIMAL(38,0)), 0 FROM {raw})
        SELECT address,
               CASE WHEN count_if(v IS NULL) = 0
                    THEN try_sum(CASE WHEN incoming = 1 THEN v END) END AS received,
               CASE WHEN count_if(v IS NULL) = 0
                    THEN try_sum(CASE WHEN incoming = 0 THEN v END) END AS sent,
               count_if(v IS NULL) AS overflow
        FROM e GROUP BY address""")


def quantile(spark: Any, view: str, column: str, q: float) -> float:
    """numpy.quantile(values, q) (method "linear") of `view.column`, exactly: numpy's
    virtual index and interpolation over the two order statistics SQL reads."""
    n = int(spark.sql(f"SELECT count(*) AS n FROM {view}").first()["n"])
    virtual = np.float64(n) * q + (1 + q * (1 - 1 - 1)) - 1  # _compute_virtual_index
    low = np.floor(virtual)
    gamma = np.float64(virtual - low)
    lo = int(min(max(low, 0), n - 1))
    hi = int(min(max(low + 1, 0), n - 1))
    a, b = _order_stats(spark, view, column, (lo, hi))
    diff = b - a  # numpy's _lerp
    return float(b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma)


def median(spark: Any, view: str, column: str) -> float:
    """numpy.median: the mean of the two middle values."""
    n = int(spark.sql(f"SELECT count(*) AS n FROM {view}").first()["n"])
    a, b = _order_stats(spark, view, column, ((n - 1) // 2, n // 2))
    return float(np.mean(np.array([a, b], dtype=np.float64)))


def _order_stats(spark: Any, view: str, column: str,
                 ks: tuple[int, int]) -> tuple[np.float64, np.float64]:
    row = spark.sql(f"""
        SELECT max(CASE WHEN k = {ks[0]} THEN x END) AS a,
               max(CASE WHEN k = {ks[1]} THEN x END) AS b
        FROM (SELECT CAST({column} AS DOUBLE) AS x,
                     row_number() OVER (ORDER BY {column}) - 1 AS k FROM {view})""").first()
    return np.float64(row["a"]), np.float64(row["b"])


def per_address(spark: Any) -> None:
    """The view `addr_stats`: per address id, its degree (distinct counterparties in +
    out, the zero address counted), lifetime (seconds, first to last transfer), active
    UTC days and longest silence (seconds, rounded through days as the kernel's
    max_gap_days is)."""
    spark.sql(f"""
        WITH ends AS (
          SELECT src AS a, t FROM transfers UNION ALL SELECT dst, t FROM transfers),
        deg AS (
          SELECT a, count(DISTINCT CASE WHEN side = 0 THEN b END)
                    + count(DISTINCT CASE WHEN side = 1 THEN b END) AS degree
          FROM (SELECT dst AS a, src AS b, 0 AS side FROM transfers
                UNION ALL SELECT src, dst, 1 FROM transfers) GROUP BY a),
        gaps AS (
          SELECT a, max(t - prev) AS gap FROM (
            SELECT a, t, lag(t) OVER (PARTITION BY a ORDER BY t) AS prev FROM ends)
          GROUP BY a),
        life AS (
          SELECT a, min(t) AS first, max(t) AS last,
                 count(DISTINCT floor(t / {DAY})) AS days
          FROM ends GROUP BY a)
        SELECT life.a, deg.degree, greatest(life.last - life.first, 0) AS lifetime,
               life.days, coalesce(CAST(gaps.gap AS DOUBLE) / {DAY} * {DAY}, 0D) AS gap
        FROM life JOIN deg ON life.a = deg.a LEFT JOIN gaps ON life.a = gaps.a
        """).cache().createOrReplaceTempView("addr_stats")


def measure(spark: Any, n_addresses: int, config: RulesConfig,
            permissioned: bool) -> tuple[population.Yardsticks, tuple[np.ndarray, np.ndarray]]:
    """population.measure and population.sides in Spark SQL over the view `transfers`."""
    p = config.population
    structuring = config.rules.structuring
    threshold = float(structuring.reporting_threshold)
    band = float(structuring.band) * threshold
    per_address(spark)
    spark.sql("SELECT degree FROM addr_stats WHERE a > 0 AND degree > 0"
              ).createOrReplaceTempView("degrees")
    spark.sql("SELECT gap FROM addr_stats WHERE a > 0 AND gap > 0"
              ).createOrReplaceTempView("silences")
    has_degrees = spark.sql("SELECT count(*) AS n FROM degrees").first()["n"] > 0
    service = (p.service_min_factor * median(spark, "degrees", "degree") if has_degrees
               else np.inf)
    has_gaps = spark.sql("SELECT count(*) AS n FROM silences").first()["n"] > 0
    long_silence = (quantile(spark, "silences", "gap", p.silence_quantile) if has_gaps
                    else np.inf)
    secondary = spark.sql("""SELECT amount FROM transfers WHERE src <> 0 AND dst <> 0
                             ORDER BY amount""").toPandas()["amount"].to_numpy(np.float64)
    in_band = spark.sql(f"""
        SELECT count_if(amount >= {band!r} AND amount < {threshold!r}) AS k, count(*) AS n
        FROM transfers WHERE src <> 0 AND dst <> 0""").first()
    stats = population.Yardsticks(
        secondary_amounts=secondary,
        service_degree=service, service_lifetime=float(p.service_min_lifetime_seconds),
        service_days=p.service_min_active_days, long_silence=long_silence,
        silence_rank=p.silence_quantile, burst_share=np.ones(2),
        deposit_burst_share=np.ones(2),
        in_band_share=float(np.float64(in_band["k"]) / in_band["n"]) if in_band["n"] else 0.0,
        permissioned=permissioned)
    sides = _sides(spark, n_addresses, stats)
    window = int(config.rules.split_transfers.window_seconds)
    stats.burst_share = _burst_share(spark, "NOT payee_side", window)
    stats.deposit_burst_share = _burst_share(spark, "payee_side", window)
    return stats, sides


def _sides(spark: Any, n: int, stats: population.Yardsticks) -> tuple[np.ndarray, np.ndarray]:
    """population.sides: service wallets, and deposit addresses (at least 99% of what
    they send to holders goes to service wallets), as a join of the transfers with the
    wallets."""
    spark.sql(f"""
        SELECT a FROM addr_stats WHERE a > 0 AND degree >= {float(stats.service_degree)!r}
          AND lifetime >= {stats.service_lifetime!r} AND days >= {int(stats.service_days)}
        """).createOrReplaceTempView("wallets")
    spark.sql("""
        SELECT t.src AS a, sum(t.amount) AS sent,
               sum(CASE WHEN w.a IS NULL THEN 0D ELSE t.amount END) AS to_wallets
        FROM transfers t LEFT JOIN wallets w ON t.dst = w.a
        WHERE t.dst <> 0 GROUP BY t.src""").createOrReplaceTempView("sent")
    rows = spark.sql("""
        SELECT a, true AS wallet FROM wallets
        UNION ALL
        SELECT s.a, false FROM sent s LEFT JOIN wallets w ON s.a = w.a
        WHERE w.a IS NULL AND s.sent > 0 AND s.to_wallets >= 0.99D * s.sent""").toPandas()
    wallets = np.zeros(n, dtype=bool)
    deposits = np.zeros(n, dtype=bool)
    at = rows["a"].to_numpy(np.int64)
    kind = rows["wallet"].to_numpy(bool)
    wallets[at[kind]] = True
    deposits[at[~kind]] = True
    wallets[0] = True
    deposits[0] = False
    # The service side is small: a relation of its own, broadcast to every join.
    import pandas as pd

    spark.createDataFrame(pd.DataFrame({"a": np.flatnonzero(wallets | deposits)}))\
        .cache().createOrReplaceTempView("service_side")
    return wallets, deposits


def _burst_share(spark: Any, payee: str, window: int) -> np.ndarray:
    """population._burst_share: per sender (not a service side), its busiest pair burst
    (most transfers to one receiver within `window` seconds) among payments to a payee
    of the kind `payee` says; the share of senders reaching each count."""
    rows = spark.sql(f"""
        WITH r AS (
          SELECT /*+ BROADCAST(s1, s2) */ t.src, t.dst, t.t, s2.a IS NOT NULL AS payee_side
          FROM transfers t LEFT JOIN service_side s1 ON t.src = s1.a
               LEFT JOIN service_side s2 ON t.dst = s2.a
          WHERE t.src <> 0 AND t.dst <> 0 AND s1.a IS NULL),
        bursts AS (
          SELECT src, count(*) OVER (PARTITION BY src, dst ORDER BY t
                                     RANGE BETWEEN CURRENT ROW AND {window} FOLLOWING) AS c
          FROM r WHERE {payee}),
        senders AS (SELECT src, max(c) AS best FROM bursts GROUP BY src)
        SELECT best, count(*) AS k FROM senders GROUP BY best""").toPandas()
    if rows.empty:
        return np.ones(2)
    hist = np.zeros(int(rows["best"].max()) + 1, dtype=np.int64)
    hist[rows["best"].to_numpy(np.int64)] = rows["k"].to_numpy(np.int64)
    n_senders = int(hist.sum())
    at_least = np.cumsum(hist[::-1])[::-1]
    return at_least / max(n_senders, 1)
