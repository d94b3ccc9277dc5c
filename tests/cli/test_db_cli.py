"""`amlmon db upgrade` is the only command that creates an embedded SQLite database."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.cli import assert_one_line_error, run_cli


@pytest.mark.parametrize("command", [
    ["token", "list"], ["watchlist", "list"], ["alerts", "list"], ["apikey", "list"],
    ["score"], ["report", "flagged"],
    ["token", "add", "--chain-id", "1", "--address", "0x" + "ab" * 20, "--decimals", "6"],
], ids=" ".join)
def test_commands_on_a_missing_sqlite_file_create_nothing(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    database = tmp_path / "typo" / "amlmon.db"
    monkeypatch.setenv("AMLMON_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.delenv("AMLMON_RPC_URLS", raising=False)
    assert_one_line_error(run_cli(capsys, *command), "run `amlmon db upgrade`")
    assert list(tmp_path.iterdir()) == []


def test_db_upgrade_creates_the_file_and_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    database = tmp_path / "data" / "amlmon.db"
    monkeypatch.setenv("AMLMON_DATABASE_URL", f"sqlite:///{database}")
    upgraded = run_cli(capsys, "db", "upgrade")
    assert upgraded.code == 0 and "at revision" in upgraded.out, upgraded.err
    assert database.is_file()
    listed = run_cli(capsys, "token", "list", "--format", "json")
    assert listed.code == 0 and listed.out.strip() == "[]", listed.err
