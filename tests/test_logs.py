"""Log lines leave the process without credentials, whoever logs them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from monitor import logs
from monitor.settings import Settings

KEY = "K3y0123456789abcdef"
RPC = f"https://mainnet.example:8443/v3/{KEY}?apikey=Q{KEY}"
DATABASE = f"postgresql+psycopg://amlmon:Pw{KEY}@db.example/amlmon"


@pytest.fixture
def configured(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    """What the configured root handler writes (it writes to stderr otherwise)."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    names = ("monitor", "amlmon", "apscheduler")
    levels = {name: logging.getLogger(name).level for name in names}
    logs.configure(Settings(
        database_url=DATABASE, rpc_urls=[RPC], webhook_url=f"https://hooks.example/T/{KEY}",
        webhook_secret=SecretStr(f"whsec{KEY}"), log_format=request.param, rules_file=None,
    ))
    output = io.StringIO()
    assert isinstance(root.handlers[0], logging.StreamHandler)
    root.handlers[0].setStream(output)
    try:
        yield output
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize("configured", ["json", "console"], indirect=True)
def test_no_line_holds_a_configured_secret(configured: io.StringIO) -> None:
    # What libraries say about an endpoint, quoted the way they quote it.
    logging.getLogger("web3.providers.HTTPProvider").warning(
        "Making request HTTP. URI: %s, Method: eth_chainId", RPC)
    logging.getLogger("monitor.test").error(
        "HTTPConnectionPool(host='mainnet.example', port=8443): Max retries exceeded with "
        "url: /v3/%s?apikey=Q%s", KEY, KEY)
    try:
        raise ConnectionError(f"could not connect to {DATABASE} (signed with whsec{KEY})")
    except ConnectionError:
        logging.getLogger("monitor.test").exception("unhandled error")
    err = configured.getvalue()
    assert KEY not in err, err
    if err.startswith("{"):
        events = [json.loads(line) for line in err.splitlines()]
        assert [event["level"] for event in events] == ["warning", "error", "error"]
        err = "\n".join(f"{event['msg']} {event.get('exc', '')}" for event in events)
        assert KEY not in err, err
    # The endpoint is still named, by host and port.
    assert "Making request HTTP. URI: https://mainnet.example:8443/…#" in err
    assert "Max retries exceeded with url: …" in err
    assert "could not connect to postgresql+psycopg://db.example/…#" in err
