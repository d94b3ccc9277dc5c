"""Hostile or broken list files: text that is not UTF-8, binary files, XML entity bombs and
external entities. Each is a one-line error naming the file; nothing is imported."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from monitor import db
from monitor.api.app import create_app
from monitor.apikeys import create_key
from monitor.db import transaction
from monitor.settings import Settings
from monitor.watchlist.parsers import ListFormatError
from monitor.watchlist.service import import_list, list_watchlists
from support.api import client, serve_app
from support.cli import assert_one_line_error, run_cli

ADDRESS = b"0x" + b"ab" * 20
SECRET_ADDRESS = "0x" + "5e" * 20

# Paths the process opened while the audit hook listens (hooks cannot be removed, so one
# per process, recording only while `listening` holds something).
listening: list[bool] = []
opened: list[str] = []


def _audit(event: str, args: tuple[object, ...]) -> None:
    if listening and event == "open" and args:
        opened.append(str(args[0]))


sys.addaudithook(_audit)


@pytest.fixture
def sessions(
    any_db_url: str, make_sessions: Callable[[str], sessionmaker[Session]]
) -> sessionmaker[Session]:
    return make_sessions(any_db_url)


def refused(sessions: sessionmaker[Session], path: Path, fmt: str | None = None) -> str:
    """The one-line error of importing `path`, after checking nothing was imported."""
    with pytest.raises(ListFormatError) as caught, transaction(sessions) as session:
        import_list(session, path, "hostile", fmt=fmt)
    with transaction(sessions) as session:
        assert list_watchlists(session) == []
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    return message


# ------------------------------------------------------------------ not UTF-8


@pytest.mark.parametrize(
    ("name", "before", "after", "line"),
    [
        # (file name, the bytes before the first bad one, the bad one and the rest, its line)
        ("latin1.txt", ADDRESS + b"\n# M", b"\xfcller\n", 2),
        ("latin1.csv", b"address,label\n" + ADDRESS + b",M", b"\xfcller GmbH\n", 2),
        ("latin1.json", b'[{"address": "' + ADDRESS + b'", "label": "', b'\xe9"}]', 1),
        # Past the first 64 KiB chunk, with a multi-byte character across its edge: the
        # offset is the file's, not the chunk's.
        ("long.txt", b"#" + b"x" * 65533 + "\u20ac".encode() + b"\n" + ADDRESS * 2, b"\xff\n",
         2),
        ("truncated.txt", ADDRESS + b"\n", b"\xe2\x82", 2),
        ("binary.bin", bytes(range(128)), bytes(range(128, 256)) * 4, 2),
        ("latin1.xml", b'<?xml version="1.0"?>\n<sdnList>\n<sdnEntry><uid>1</uid><lastName>M',
         b"\xfcller</lastName></sdnEntry>\n</sdnList>\n", 3),
    ],
)
def test_not_utf8_names_the_file_and_the_byte_offset(
    sessions, tmp_path: Path, name: str, before: bytes, after: bytes, line: int
) -> None:
    path = tmp_path / name
    path.write_bytes(before + after)
    message = refused(sessions, path)
    assert f"{path}: not UTF-8 text: byte 0x{after[0]:02x} at byte offset {len(before)} " \
           f"(line {line})" in message, message


def test_a_binary_line_is_named_not_printed(sessions, tmp_path: Path) -> None:
    path = tmp_path / "zeros.txt"
    path.write_bytes(b"\0" * 100_000)  # valid UTF-8, and no address
    message = refused(sessions, path)
    assert f"{path}:1: expected an address, got 100000 characters" in message
    assert len(message) < 200 + len(str(path))


def test_cli_import_of_a_binary_file_is_one_line(any_db_url: str, monkeypatch, capsys,
                                                tmp_path: Path) -> None:
    monkeypatch.setenv("AMLMON_DATABASE_URL", any_db_url)
    monkeypatch.delenv("AMLMON_CONFIG", raising=False)
    path = tmp_path / "list.txt"
    path.write_bytes(ADDRESS + b"\n" + bytes(range(128, 256)))
    result = run_cli(capsys, "watchlist", "import", str(path))
    assert_one_line_error(result, f"{path}: not UTF-8 text: byte 0x80 at byte offset 43")
    assert run_cli(capsys, "watchlist", "list", "--format", "json").out.strip() == "[]"


@pytest.fixture
def api(pg_url: str) -> Iterator[httpx.Client]:
    engine = db.make_engine(pg_url)
    try:
        sessions = db.session_factory(engine)
        with transaction(sessions) as session:
            key = create_key(session, "admin", "admin")[1]
        app = create_app(Settings(database_url=pg_url, rules_file=None), sessions)
        with serve_app(app) as base, client(base, key) as http:
            yield http
    finally:
        engine.dispose()


def test_api_upload_that_is_not_utf8_is_a_4xx(api: httpx.Client) -> None:
    reply = api.put("/api/v1/watchlists/hostile", content=ADDRESS + b"\n\xff\xfe\n",
                    headers={"content-type": "text/plain"})
    assert 400 <= reply.status_code < 500, reply.text
    error = reply.json()["error"]
    assert "\n" not in error and ("UTF-8" in error or "unicode" in error), error
    assert api.get("/api/v1/watchlists").json()["items"] == []


# ------------------------------------------------------------------ XML entities


def _laughs(levels: int) -> str:
    """A billion-laughs document: each level ten references to the one below."""
    entities = ['<!ENTITY l0 "lollollollol">'] + [
        f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, levels + 1)
    ]
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE sdnList [\n' + "\n".join(entities) + "\n]>\n"
        "<sdnList><sdnEntry><uid>1</uid>"
        f"<lastName>&l{levels};</lastName><idList><id>"
        "<idType>Digital Currency Address - ETH</idType>"
        f"<idNumber>{ADDRESS.decode()}</idNumber></id></idList></sdnEntry></sdnList>\n"
    )


@pytest.mark.parametrize(
    "levels",
    [
        # 120 kB from 600 bytes: under the amplification guard of expat 2.5, so the
        # standard library's parser imported it as a label.
        4,
        9,  # 12 GB: expat >= 2.4 stops it too, older ones (and Pythons built with them) not
    ],
)
def test_billion_laughs_is_refused(sessions, tmp_path: Path, levels: int) -> None:
    path = tmp_path / "SDN.XML"
    path.write_text(_laughs(levels))
    message = refused(sessions, path)
    assert "refused XML: declares entity 'l0'" in message, message


@pytest.mark.parametrize(
    "declaration",
    [
        '<!ENTITY x SYSTEM "file://{secret}">',
        '<!ENTITY % x SYSTEM "file://{secret}"> %x;',
        '<!ENTITY x SYSTEM "file:///etc/passwd">',
    ],
)
def test_external_entities_are_refused_and_nothing_is_read(
    sessions, tmp_path: Path, declaration: str
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET_ADDRESS + "\n")
    path = tmp_path / "SDN.XML"
    path.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE sdnList [ {declaration.format(secret=secret)} ]>\n'
        "<sdnList><sdnEntry><uid>1</uid><lastName>X</lastName><idList><id>"
        "<idType>Digital Currency Address - ETH</idType><idNumber>&x;</idNumber>"
        "</id></idList></sdnEntry></sdnList>\n"
    )
    listening.append(True)
    try:
        message = refused(sessions, path)
    finally:
        listening.clear()
    assert "refused XML: declares entity 'x'" in message, message
    assert SECRET_ADDRESS not in message
    assert not [p for p in opened if p.endswith(("secret.txt", "passwd"))], opened
