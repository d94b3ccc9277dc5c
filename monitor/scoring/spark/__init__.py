"""Scoring a token on shards, and on Apache Spark (the optional `spark` extra).

`shards` is plain numpy: it cuts a token into shards that each hold everything the rules
need to judge their anchors, judges one shard with the scoring kernel, and puts the
shards' findings back together into the same `Scored` state `evaluate` produces. The
Spark runner (`runner`, `sql`) runs that shard function with `applyInPandas` and measures
the population's yardsticks and the service/deposit sides in Spark SQL. The kernel
(monitor.scoring) never imports this package; only `runner` and `sql` import pyspark.
"""
