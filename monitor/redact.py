"""Redaction of URLs that carry credentials, before they leave the process.

Node providers put API keys in a URL's path or query (`https://mainnet.infura.io/v3/<key>`,
`…?apikey=<key>`), database URLs carry a password, webhook URLs a token. Logs, error
messages and metric labels show such a URL only as scheme, host and port, plus a short hash
of the whole URL: two endpoints on one host stay apart, and an operator can tell which
configured URL is meant (the same string always gives the same hash), while six hex digits
say nothing useful about a key.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# A URL inside free text: up to whitespace, a quote or a bracket.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>\\`]+")
_TRAILING = ".,;:)]}"
# Providers put keys in the path or query of these; a database URL's path is its name.
_KEYED_SCHEMES = ("http", "https", "ws", "wss")


def redact_url(url: str) -> str:
    """`scheme://host:port`, with `/…#<hash>` when the URL has anything beyond that.

    A string that is not `scheme://…` (a typo such as `postgres//user:pw@db`) cannot be
    split safely, so nothing of it is shown but the hash.
    """
    digest = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()[:6]
    if not _SCHEME.match(url):
        return f"…#{digest}"
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:  # a port that is not a number, a bad IPv6 literal
        return f"{url.split('://', 1)[0].lower()}://…#{digest}"
    shown = f"{parts.scheme}://{f'[{host}]' if ':' in host else host}"
    if port is not None:
        shown += f":{port}"
    if parts.username or parts.password or parts.path not in ("", "/") or parts.query or (
        parts.fragment
    ):
        shown += f"/…#{digest}"
    return shown


def secrets_of(url: str) -> list[str]:
    """Parts of a URL that may be credentials, as other text may quote them without the
    rest (requests says `Max retries exceeded with url: /v3/<key>`): the password, and for
    http(s)/ws(s) the path and query, where providers put keys."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return [url]
    found = [url]
    if password:
        found.append(password)
    if parts.scheme in _KEYED_SCHEMES and (parts.path not in ("", "/") or parts.query):
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
        found += [part for part in (parts.path, parts.query) if len(part) > 1]
    return found


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every URL in it redacted and every one of `secrets` (see secrets_of)
    replaced by `…`, longest first, so a secret inside a longer one goes with it."""
    text = _URL_IN_TEXT.sub(_redact_match, text)
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= 4 and secret in text:
            text = text.replace(secret, "…")
    return text


def _redact_match(match: re.Match[str]) -> str:
    url = match.group(0)
    stripped = url.rstrip(_TRAILING)
    return redact_url(stripped) + url[len(stripped):]
