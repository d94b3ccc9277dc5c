"""Tables print data as written: rich markup in labels, list names, symbols and key names is
neither parsed (a MarkupError traceback) nor followed (a planted terminal hyperlink)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from models import Transfer
from support.cli import Result, run_cli
from support.history import write_history

BROKEN = "Evil [/Corp]"  # a closing tag with nothing open: MarkupError when parsed
LINK = "[link=http://evil]x[/link]"  # a terminal hyperlink when parsed
SYMBOL = "[/x]"


def cells(result: Result, column: str) -> str:
    """The text of one column of the table printed, rows and folded lines run together
    without spaces (a long value, or header, folds onto further lines of its cell)."""
    assert result.code == 0, result.err
    assert "Traceback" not in result.out + result.err

    def joined(rows: list[list[str]]) -> list[str]:
        columns = zip(*rows, strict=True)
        return ["".join("".join(cell.split()) for cell in column) for column in columns]

    lines = result.out.splitlines()
    header = joined([line.split("┃")[1:-1] for line in lines if line.startswith("┃")])
    body = joined([line.split("│")[1:-1] for line in lines if line.startswith("│")])
    return body[header.index(column)]


def literal(text: str) -> str:
    return "".join(text.split())


def test_tables_print_markup_in_data_literally(
    sqlite_url: str, make_sessions: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AMLMON_DATABASE_URL", sqlite_url)
    monkeypatch.delenv("AMLMON_RPC_URLS", raising=False)
    sessions = make_sessions(sqlite_url)
    write_history(sessions)
    with sessions() as session:
        holder = session.scalars(select(Transfer.to_address).where(
            Transfer.to_address != "0x" + "00" * 20).limit(1)).one()

    added = run_cli(capsys, "token", "add", "--chain-id", "1", "--address", "0x" + "cd" * 20,
                    "--decimals", "6", "--symbol", SYMBOL, "--name", LINK)
    assert added.code == 0, added.err
    tokens = run_cli(capsys, "token", "list")
    assert literal(SYMBOL) in cells(tokens, "symbol")
    assert literal(LINK) in cells(tokens, "name")

    listed = tmp_path / "evil.csv"
    listed.write_text(f"address,label\n{holder},{BROKEN}\n")
    imported = run_cli(capsys, "watchlist", "import", str(listed), "--list", SYMBOL,
                       "--source", LINK)
    assert imported.code == 0 and "re-screened" in imported.out, imported.out
    lists = run_cli(capsys, "watchlist", "list")
    assert literal(SYMBOL) in cells(lists, "name")
    assert literal(LINK) in cells(lists, "source")

    alerts = run_cli(capsys, "alerts", "list", "--rule", "watchlist_exposure", "--limit", "500")
    assert literal(f"is listed on {SYMBOL} (sanctioned: {BROKEN})") in cells(alerts, "detail")

    assert run_cli(capsys, "apikey", "create", "--name", BROKEN, "--role", "viewer").code == 0
    assert run_cli(capsys, "apikey", "create", "--name", LINK, "--role", "viewer").code == 0
    keys = cells(run_cli(capsys, "apikey", "list"), "name")
    assert literal(BROKEN) in keys and literal(LINK) in keys
