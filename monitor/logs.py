"""Log output: one JSON object per line for machines, or plain lines for people."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from monitor.settings import Settings


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "thread": record.threadName,
        }
        if record.exc_info:
            event["exc"] = self.formatException(record.exc_info)
        return json.dumps(event, default=str)


def configure(settings: Settings) -> None:
    """Root handler per `log_format` (auto: json unless stderr is a terminal)."""
    as_json = settings.log_format == "json" or (
        settings.log_format == "auto" and not sys.stderr.isatty())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if as_json else logging.Formatter(
        "%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    for name in ("monitor", "amlmon"):
        logging.getLogger(name).setLevel(settings.log_level)
    # APScheduler's own per-run INFO lines drown the useful ones.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
