"""Log output: one JSON object per line for machines, or plain lines for people.

Every line is scrubbed of credentials on its way out: URLs are redacted, and the secret
parts of the configured URLs and the webhook secret are blanked wherever a library quotes
them (web3 logs its endpoint, requests quotes a URL's path in its errors).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from monitor.redact import scrub, secrets_of
from monitor.settings import Settings


class JsonFormatter(logging.Formatter):
    def __init__(self, secrets: Sequence[str] = ()) -> None:
        super().__init__()
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        event = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": scrub(record.getMessage(), self.secrets),
            "thread": record.threadName,
        }
        if record.exc_info:
            event["exc"] = scrub(self.formatException(record.exc_info), self.secrets)
        return json.dumps(event, default=str)


class ConsoleFormatter(logging.Formatter):
    def __init__(self, secrets: Sequence[str] = ()) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record), self.secrets)


def settings_secrets(settings: Settings) -> list[str]:
    """Everything in the settings that must not appear in output."""
    urls = [settings.database_url, settings.read_database_url, settings.webhook_url,
            *settings.all_rpc_urls()]
    found = [secret for url in urls if url for secret in secrets_of(url)]
    if settings.webhook_secret is not None:
        found.append(settings.webhook_secret.get_secret_value())
    return found


def configure(settings: Settings) -> None:
    """Root handler per `log_format` (auto: json unless stderr is a terminal)."""
    as_json = settings.log_format == "json" or (
        settings.log_format == "auto" and not sys.stderr.isatty())
    secrets = settings_secrets(settings)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(secrets) if as_json else ConsoleFormatter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    for name in ("monitor", "amlmon"):
        logging.getLogger(name).setLevel(settings.log_level)
    # APScheduler's own per-run INFO lines drown the useful ones.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
