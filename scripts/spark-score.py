"""`amlmon score --engine spark` as a spark-submit application (spark-submit runs .py files):

    spark-submit --master spark://spark-master:7077 --name amlmon-score \
        scripts/spark-score.py [--token 0x…] [--config FILE]

spark-submit's --master, --name and --conf rule (the config file's spark.master and
--spark-master are not used under it); the other `amlmon score` options pass through.
"""

from __future__ import annotations

import sys

from monitor.cli import main

if __name__ == "__main__":
    args = sys.argv[1:]
    # Global options (--config) come before the command.
    head = []
    while args and args[0] == "--config":
        head, args = [*head, *args[:2]], args[2:]
    sys.exit(main([*head, "score", "--engine", "spark", *args]))
