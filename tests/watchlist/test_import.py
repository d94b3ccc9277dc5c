"""Watchlist import: real published lists, OFAC XML fixtures, atomic replacement, bad input."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from eth_utils import to_checksum_address
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.main import TyperInfo
from typer.testing import CliRunner

import monitor.cli as cli_module
from models.watchlist import Watchlist, WatchlistEntry, WatchlistImport
from monitor.cli import watchlist as watchlist_cli
from monitor.cli.context import AppContext
from monitor.db import transaction
from monitor.errors import UserError
from monitor.scoring.service import ScoringCache
from monitor.watchlist.parsers import ListFormat, ListFormatError, detect_format, parse_list
from monitor.watchlist.service import (
    Listing,
    import_list,
    list_watchlists,
    listed_addresses,
)
from support.cli import assert_one_line_error, run_cli

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
OFAC = CONFORMANCE / "ofac"
B10C_TXT = OFAC / "0xB10C-lists" / "sanctioned_addresses_ETH.txt"
B10C_JSON = OFAC / "0xB10C-lists" / "sanctioned_addresses_ETH.json"
ULTRASOUND = OFAC / "ultrasoundmoney" / "data.csv"
MOOV = OFAC / "moov-io-watchman-sdn-csv-samples"
MOOV_TINY = MOOV / "internal_ofactest_testdata"
MOOV_COMMENTS = MOOV / "pkg_sources_ofac_testdata"

# `grep -oE "Digital Currency Address - ETH 0x[0-9a-fA-F]{40}" sdn*.csv | sort -u`
MOOV_TINY_ETH = {
    "0x19aa5fe80d33a56d56c78e82ea5e50e5d80b4dff",
    "0x2f389ce8bd8ff92de3402ffce4691d17fc4f6535",
    "0x308ed4b7b49797e1a98d3818bff6fe5385410370",
    "0x901bb9583b24d97e995513c6778dc6888ab6870e",
    "0xa7e5d5a720f06526557c513402f2e6b5fa20b008",
    "0xe7aa314c77f4233c18c6cc84384a9247c0cf367b",
}
MOOV_COMMENTS_ETH_COUNT = 100

LIFSHITS_1 = "0x901bb9583b24d97e995513c6778dc6888ab6870e"
LIFSHITS_2 = "0xa7e5d5a720f06526557c513402f2e6b5fa20b008"
SUEX = "0x2f389ce8bd8ff92de3402ffce4691d17fc4f6535"
LAZARUS = "0x098b716b8aaf21512996dc57eb0615e2383e2f96"


@pytest.fixture(scope="module", autouse=True)
def conformance_data() -> None:
    missing = [
        p for p in (B10C_TXT, B10C_JSON, ULTRASOUND, MOOV_TINY, MOOV_COMMENTS) if not p.exists()
    ]
    if missing:
        pytest.fail(
            f"conformance data missing under {CONFORMANCE}: "
            f"{', '.join(str(p) for p in missing)} (see shared/conformance/README.md)"
        )


@pytest.fixture
def sessions(
    any_db_url: str, make_sessions: Callable[[str], sessionmaker[Session]]
) -> sessionmaker[Session]:
    return make_sessions(any_db_url)


@pytest.fixture
def pg_sessions(
    pg_url: str, make_sessions: Callable[[str], sessionmaker[Session]]
) -> sessionmaker[Session]:
    return make_sessions(pg_url)


def grep_eth(*files: Path) -> set[str]:
    text = "".join(f.read_text(encoding="utf-8", errors="replace") for f in files)
    return {
        m.lower() for m in re.findall(r"Digital Currency Address - ETH (0x[0-9a-fA-F]{40})", text)
    }


def stored(sessions: sessionmaker[Session], name: str) -> dict[str, WatchlistEntry]:
    with transaction(sessions) as session:
        rows = session.scalars(
            select(WatchlistEntry).join(Watchlist).where(Watchlist.name == name)
        ).all()
        return {row.address: row for row in rows}


def import_count(sessions: sessionmaker[Session]) -> int:
    with transaction(sessions) as session:
        return session.scalar(select(func.count()).select_from(WatchlistImport)) or 0


# ------------------------------------------------------------------ real published lists


def test_0xb10c_text_and_json_give_the_same_152_addresses(sessions) -> None:
    with transaction(sessions) as session:
        text = import_list(session, B10C_TXT, "ofac-txt")
        as_json = import_list(session, B10C_JSON, "ofac-json")
    assert text.total == as_json.total == 152
    assert len(text.added) == 152 and text.removed == []
    assert set(text.added) == set(as_json.added)
    published = {line.strip().lower() for line in B10C_TXT.read_text().splitlines() if line.strip()}
    assert set(stored(sessions, "ofac-txt")) == published
    entry = stored(sessions, "ofac-json")[next(iter(published))]
    assert entry.category == "sanctioned" and entry.label is None
    assert all(a == a.lower() for a in stored(sessions, "ofac-txt"))


def test_ultrasoundmoney_csv_97_addresses_with_names(sessions) -> None:
    with transaction(sessions) as session:
        result = import_list(session, ULTRASOUND, "ultrasound", category="sanctioned")
    assert result.total == 97 and len(result.added) == 97
    rows = stored(sessions, "ultrasound")
    assert rows[LAZARUS].label == "LAZARUS GROUP"
    assert len({r.label for r in rows.values()}) == 39


def test_moov_tiny_ofac_csv_directory_and_sdn_csv_path(sessions) -> None:
    assert grep_eth(MOOV_TINY / "sdn.csv", MOOV_TINY / "sdn_comments.csv") == MOOV_TINY_ETH
    with transaction(sessions) as session:
        by_dir = import_list(session, MOOV_TINY, "tiny-dir")
        by_file = import_list(session, MOOV_TINY / "sdn.csv", "tiny-file")
    assert by_dir.format == by_file.format == "ofac-csv"
    assert set(by_dir.added) == set(by_file.added) == MOOV_TINY_ETH
    rows = stored(sessions, "tiny-dir")
    assert rows[LIFSHITS_1].label == rows[LIFSHITS_2].label == "LIFSHITS, Artem Mikhaylovich"
    assert rows[LIFSHITS_1].program == "CYBER2; ELECTION-EO13848"
    # SUEX's ETH addresses are in the remarks overflow file; listed as USDT as well.
    assert rows[SUEX].label == "SUEX OTC, S.R.O."
    assert rows[SUEX].extra["currencies"] == ["ETH", "USDT"]


def test_moov_comments_overflow_file_alone(sessions) -> None:
    expected = grep_eth(MOOV_COMMENTS / "sdn_comments.csv")
    assert len(expected) == MOOV_COMMENTS_ETH_COUNT
    with transaction(sessions) as session:
        result = import_list(session, MOOV_COMMENTS, "comments")
    assert result.total == MOOV_COMMENTS_ETH_COUNT
    assert set(result.added) == expected
    parsed = parse_list(MOOV_COMMENTS / "sdn_comments.csv")
    assert {e.address for e in parsed.entries} == expected


# ------------------------------------------------------------------ OFAC XML fixtures


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("sdn_sample.xml", ListFormat.sdn_xml),
        ("sdn_advanced_sample.xml", ListFormat.sdn_advanced_xml),
    ],
)
def test_xml_fixture_parse(name: str, fmt: ListFormat) -> None:
    assert detect_format(FIXTURES / name) is fmt
    parsed = parse_list(FIXTURES / name)
    assert parsed.format is fmt and parsed.warnings == []
    entries = {e.address: e for e in parsed.entries}
    # Two ETH addresses for LIFSHITS, SUEX's address once (ETH + USDT); XBT, Tron and the
    # non-crypto entry ignored.
    assert list(entries) == [LIFSHITS_1, LIFSHITS_2, SUEX]
    assert entries[LIFSHITS_1].label == "LIFSHITS, Artem Mikhaylovich"
    assert entries[LIFSHITS_2].program == "CYBER2; ELECTION-EO13848"
    assert entries[SUEX].label == "SUEX OTC, S.R.O."
    assert entries[SUEX].program == "CYBER2"
    assert entries[SUEX].extra == {
        "uid": "33151",
        "currencies": ["ETH", "USDT"],
        "sdn_type": "Entity",
    }
    assert entries[LIFSHITS_1].extra["sdn_type"] == "Individual"


def test_classic_and_advanced_xml_import_identically(sessions) -> None:
    with transaction(sessions) as session:
        classic = import_list(session, FIXTURES / "sdn_sample.xml", "classic")
        advanced = import_list(session, FIXTURES / "sdn_advanced_sample.xml", "advanced")
    assert classic.added == advanced.added == sorted([LIFSHITS_1, LIFSHITS_2, SUEX])

    def facts(rows: dict[str, WatchlistEntry]) -> dict[str, tuple]:
        return {a: (r.category, r.label, r.program, r.extra) for a, r in rows.items()}

    assert facts(stored(sessions, "classic")) == facts(stored(sessions, "advanced"))


def test_xml_bad_eth_address_names_the_entry(tmp_path: Path) -> None:
    bad = tmp_path / "sdn.xml"
    bad.write_text(
        (FIXTURES / "sdn_sample.xml")
        .read_text()
        .replace("0xA7e5d5A720f06526557c513402f2e6B5fA20b008", "0xA7e5d5A720f0652655")
    )
    with pytest.raises(ListFormatError, match=r"sdnEntry uid 29702: .*must be 40 hex digits"):
        parse_list(bad)
    adv = tmp_path / "adv.xml"
    adv.write_text(
        (FIXTURES / "sdn_advanced_sample.xml")
        .read_text()
        .replace(
            "0x2f389cE8bD8ff92De3402FFCe4691d17fC4f6535</",
            "0x2f389cE8bD8ff92De3402FFCe4691d17fC4f65zz</",
        )
    )
    with pytest.raises(ListFormatError, match=r"DistinctParty FixedRef 33151: .*non-hex"):
        parse_list(adv)


# ------------------------------------------------------------------ replacement and history


def test_reimport_replaces_atomically_and_records_the_diff(sessions) -> None:
    with transaction(sessions) as session:
        first = import_list(session, B10C_TXT, "ofac", source="0xB10C 2024-09")
    b10c = set(first.added)
    ultrasound = {
        line.split(",")[0].lower()
        for line in ULTRASOUND.read_text().splitlines()[1:]
        if line.strip()
    }
    with transaction(sessions) as session:
        second = import_list(session, ULTRASOUND, "ofac", category="sanctioned")
    assert second.total == 97
    assert set(second.added) == ultrasound - b10c and len(second.added) == 35
    assert set(second.removed) == b10c - ultrasound and len(second.removed) == 90
    assert second.changed == 62  # the overlap gained names
    rows = stored(sessions, "ofac")
    assert set(rows) == ultrasound and rows[LAZARUS].label == "LAZARUS GROUP"
    with transaction(sessions) as session:
        (watchlist,) = list_watchlists(session)
        assert watchlist.entry_count == 97 and watchlist.source == str(ULTRASOUND)
        history = session.scalars(select(WatchlistImport).order_by(WatchlistImport.id)).all()
        assert [(len(h.added), len(h.removed)) for h in history] == [(152, 0), (35, 90)]
        assert history[0].source == "0xB10C 2024-09"
        assert sorted(history[1].removed) == sorted(b10c - ultrasound)
    # The same file again changes nothing but is still recorded.
    with transaction(sessions) as session:
        again = import_list(session, ULTRASOUND, "ofac")
    assert (again.added, again.removed, again.changed, again.total) == ([], [], 0, 97)
    assert import_count(sessions) == 3


def test_entry_category_overrides_the_list_category(sessions, tmp_path: Path) -> None:
    listing = tmp_path / "mixed.csv"
    listing.write_text(
        f"address,label,category,program,source_url\n"
        f"{to_checksum_address(LAZARUS)},Lazarus,,DPRK3,https://x\n"
        f"{SUEX},Suex,Exchange,,\n"
    )
    with transaction(sessions) as session:
        import_list(session, listing, "mixed", category="scam")
    rows = stored(sessions, "mixed")
    assert rows[LAZARUS].category == "scam" and rows[LAZARUS].program == "DPRK3"
    assert rows[LAZARUS].extra == {"source_url": "https://x"}
    assert rows[SUEX].category == "exchange" and rows[SUEX].label == "Suex"


def test_listed_addresses_across_lists(sessions, tmp_path: Path) -> None:
    mixers = tmp_path / "mixers.json"
    mixers.write_text(json.dumps([{"address": SUEX, "name": "SUEX as mixer"}]))
    with transaction(sessions) as session:
        import_list(session, FIXTURES / "sdn_sample.xml", "ofac-sdn")
        import_list(session, mixers, "mixers", category="mixer")
    with transaction(sessions) as session:
        everything = listed_addresses(session)
        sanctioned = listed_addresses(session, categories=["sanctioned"])
        subset = listed_addresses(session, addresses=[SUEX.upper().replace("0X", "0x"), LAZARUS])
    assert set(everything) == {LIFSHITS_1, LIFSHITS_2, SUEX}
    assert everything[SUEX] == [
        Listing("mixers", "mixer", "SUEX as mixer"),
        Listing("ofac-sdn", "sanctioned", "SUEX OTC, S.R.O."),
    ]
    assert sanctioned[SUEX] == [Listing("ofac-sdn", "sanctioned", "SUEX OTC, S.R.O.")]
    assert list(subset) == [SUEX]
    with transaction(sessions) as session, pytest.raises(UserError, match="unknown category"):
        listed_addresses(session, categories=["sanctionned"])


# ------------------------------------------------------------------ bad input


def test_malformed_xml_names_line_and_column_and_changes_nothing(sessions, tmp_path) -> None:
    with transaction(sessions) as session:
        import_list(session, FIXTURES / "sdn_sample.xml", "ofac-sdn")
    broken = tmp_path / "SDN.XML"
    lines = (FIXTURES / "sdn_sample.xml").read_text().splitlines()
    bad_line = next(i for i, line in enumerate(lines, 1) if "<uid>33151</uid>" in line)
    lines[bad_line - 1] = lines[bad_line - 1].replace("</uid>", "</uidd>")
    broken.write_text("\n".join(lines) + "\n")
    with pytest.raises(ListFormatError) as caught, transaction(sessions) as session:
        import_list(session, broken, "ofac-sdn")
    message = str(caught.value)
    assert str(broken) in message and f"line {bad_line}, column" in message
    assert set(stored(sessions, "ofac-sdn")) == {LIFSHITS_1, LIFSHITS_2, SUEX}
    assert import_count(sessions) == 1


def test_bad_address_on_line_n_changes_nothing(sessions, tmp_path: Path) -> None:
    with transaction(sessions) as session:
        import_list(session, B10C_TXT, "ofac")
    lines = B10C_TXT.read_text().splitlines()
    lines.insert(99, "0x12345")  # becomes line 100
    bad = tmp_path / "list.txt"
    bad.write_text("\n".join(lines) + "\n")
    with (
        pytest.raises(ListFormatError, match=re.escape(f"{bad}:100: ") + ".*40 hex digits"),
        transaction(sessions) as session,
    ):
        import_list(session, bad, "ofac")
    assert len(stored(sessions, "ofac")) == 152
    assert import_count(sessions) == 1


@pytest.mark.parametrize(
    ("filename", "content", "fmt", "fragment"),
    [
        (
            "l.txt",
            "# comment\n\n0x" + "a" * 40 + "\nnot-an-address\n",
            None,
            "l.txt:4: address 'not-an-address' must start with 0x",
        ),
        (
            "l.csv",
            "address,name\n0x" + "a" * 40 + ",ok\n0x" + "g" * 40 + ",bad\n",
            None,
            "l.csv:3: address",
        ),
        ("l.csv", "wallet,name\n0x" + "a" * 40 + ",x\n", None, "no 'address' column"),
        (
            "l.csv",
            "address,category\n0x" + "a" * 40 + ",nonsense\n",
            None,
            "l.csv:2: unknown category 'nonsense'",
        ),
        ("l.json", '["0x' + "a" * 40 + '", 42]', None, "l.json: entry 1: expected an address"),
        ("l.json", '["0x' + "a" * 40 + '",', None, "invalid JSON at line 1"),
        ("l.json", '{"x": 1}', None, "expected a JSON array"),
        ("l.xml", "<root><a/></root>", None, "unrecognized XML"),
        ("l.xml", "<sdnList><sdnEntry>", None, "malformed XML at line 1, column 20"),
        ("l.txt", "# nothing here\n", None, "no EVM addresses found"),
        ("l.txt", "0x" + "a" * 40 + "\n", "sdn-xml", "malformed XML at line 1"),
    ],
)
def test_bad_files(
    sessions, tmp_path: Path, filename: str, content: str, fmt: str | None, fragment: str
) -> None:
    path = tmp_path / filename
    path.write_text(content)
    with (
        pytest.raises(ListFormatError, match=re.escape(fragment)),
        transaction(sessions) as session,
    ):
        import_list(session, path, "bad", fmt=fmt)
    with transaction(sessions) as session:
        assert list_watchlists(session) == []


def test_checksum_mismatch_is_accepted_with_a_warning(tmp_path: Path) -> None:
    good = to_checksum_address(LAZARUS)
    i = max(n for n, c in enumerate(good) if c in "abcdefABCDEF")
    flipped = good[:i] + good[i].swapcase() + good[i + 1 :]
    path = tmp_path / "l.txt"
    path.write_text(f"{flipped}\n{LAZARUS.upper().replace('0X', '0x')}\n")
    parsed = parse_list(path)
    assert [e.address for e in parsed.entries] == [LAZARUS]  # deduped, case-insensitive
    assert len(parsed.warnings) == 1 and f"{path}:1" in parsed.warnings[0]


def test_unknown_category_and_empty_name_are_refused(sessions) -> None:
    with (
        pytest.raises(UserError, match="unknown category 'sanctionned'"),
        transaction(sessions) as session,
    ):
        import_list(session, B10C_TXT, "x", category="sanctionned")
    with pytest.raises(UserError, match="must not be empty"), transaction(sessions) as session:
        import_list(session, B10C_TXT, "  ")


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        (B10C_TXT, ListFormat.text),
        (B10C_JSON, ListFormat.json),
        (ULTRASOUND, ListFormat.csv),
        (MOOV_TINY, ListFormat.ofac_csv),
        (MOOV_TINY / "sdn.csv", ListFormat.ofac_csv),
        (MOOV_COMMENTS / "sdn_comments.csv", ListFormat.ofac_csv),
        (FIXTURES / "sdn_sample.xml", ListFormat.sdn_xml),
        (FIXTURES / "sdn_advanced_sample.xml", ListFormat.sdn_advanced_xml),
    ],
)
def test_detect_format(path: Path, fmt: ListFormat) -> None:
    assert detect_format(path) is fmt


def test_detect_by_content_without_extension(tmp_path: Path) -> None:
    cases = {
        "a": ('["0x' + "a" * 40 + '"]', ListFormat.json),
        "b": ("address,label\n0x" + "a" * 40 + ",x\n", ListFormat.csv),
        "c": ("0x" + "a" * 40 + "\n", ListFormat.text),
        "d": ((FIXTURES / "sdn_advanced_sample.xml").read_text(), ListFormat.sdn_advanced_xml),
        "e": ((MOOV_TINY / "sdn.csv").read_text(), ListFormat.ofac_csv),
    }
    for name, (content, fmt) in cases.items():
        (tmp_path / name).write_text(content)
        assert detect_format(tmp_path / name) is fmt, name


# ------------------------------------------------------------------ CLI


@pytest.fixture
def cli_env(any_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AMLMON_DATABASE_URL", any_db_url)
    monkeypatch.delenv("AMLMON_CONFIG", raising=False)
    yield any_db_url


def invoke(*args: str):
    context = AppContext()
    try:
        return CliRunner().invoke(watchlist_cli.app, list(args), obj=context)
    finally:
        context.close()


def test_cli_import_and_list(cli_env: str) -> None:
    result = invoke("import", str(B10C_TXT), "--list", "ofac-sdn")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("list ofac-sdn: 152 address(es), +152 added, -0 removed")
    result = invoke("import", str(ULTRASOUND), "--list", "ofac-sdn", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert "list ofac-sdn: 97 address(es), +35 added, -90 removed, 62 updated" in result.output
    default_name = invoke(
        "import", str(FIXTURES / "sdn_advanced_sample.xml"), "--category", "mixer"
    )
    assert "list sdn_advanced_sample: 3 address(es)" in default_name.output
    listed = invoke("list", "--format", "json")
    assert listed.exit_code == 0, listed.output
    rows = {row["name"]: row for row in json.loads(listed.output)}
    assert rows["ofac-sdn"]["entries"] == 97 and rows["ofac-sdn"]["last_removed"] == 90
    assert rows["sdn_advanced_sample"]["category"] == "mixer"
    table = invoke("list")
    assert table.exit_code == 0 and "ofac-sdn" in table.output


def test_cli_bad_input_is_an_error(cli_env: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("0x" + "a" * 40 + "\n0xnope\n")
    result = invoke("import", str(bad))
    assert result.exit_code != 0
    assert isinstance(result.exception, ListFormatError)
    assert f"{bad}:2:" in str(result.exception)
    assert invoke("import", str(bad), "--category", "nope").exit_code == 2
    assert invoke("import", str(bad), "--format", "yaml").exit_code == 2
    assert json.loads(invoke("list", "--format", "json").output) == []


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mount the sub-app on the real `amlmon` app for this test, unless already mounted."""
    groups = cli_module.app.registered_groups
    if not any(g.name == "watchlist" for g in groups):
        monkeypatch.setattr(
            cli_module.app,
            "registered_groups",
            [*groups, TyperInfo(watchlist_cli.app, name="watchlist")],
        )


def test_cli_errors_are_one_line_through_main(cli_env, registered, tmp_path, capsys) -> None:
    broken = tmp_path / "SDN.XML"
    broken.write_text("<sdnList>\n<sdnEntry><uid>1</uid>\n</sdnList>\n")
    assert_one_line_error(
        run_cli(capsys, "watchlist", "import", str(broken)), "malformed XML at line 3"
    )
    bad = tmp_path / "list.csv"
    bad.write_text("address,name\n0x" + "b" * 39 + ",short\n")
    assert_one_line_error(run_cli(capsys, "watchlist", "import", str(bad)), f"{bad}:2:")
    assert_one_line_error(
        run_cli(capsys, "watchlist", "import", str(tmp_path / "absent.txt")), "no such file"
    )
    assert_one_line_error(
        run_cli(capsys, "watchlist", "import", str(bad), "--category", "x"), "--category"
    )
    ok = run_cli(capsys, "watchlist", "import", str(B10C_JSON), "--list", "b10c")
    assert ok.code == 0 and "list b10c: 152 address(es), +152 added, -0 removed" in ok.out


# ------------------------------------------------------------------ scale


def test_10k_address_list_imports_in_batches(pg_sessions, tmp_path: Path) -> None:
    # Counted in statements, not timed: a per-address round trip shows on any machine.
    statements: list[str] = []
    event.listen(pg_sessions.kw["bind"], "before_cursor_execute",
                 lambda _conn, _cursor, statement, *_: statements.append(statement))
    first = tmp_path / "big.txt"
    addresses = ["0x" + secrets.token_hex(20) for _ in range(10_000)]
    first.write_text("\n".join(to_checksum_address(a) for a in addresses) + "\n")
    with transaction(pg_sessions) as session:
        result = import_list(session, first, "big")
    assert result.total == 10_000
    assert len(statements) < 100, len(statements)
    # Replace half of it.
    second = tmp_path / "big2.txt"
    replacement = addresses[:5000] + ["0x" + secrets.token_hex(20) for _ in range(5000)]
    second.write_text("\n".join(replacement) + "\n")
    statements.clear()
    with transaction(pg_sessions) as session:
        again = import_list(session, second, "big")
    assert (len(again.added), len(again.removed), again.total) == (5000, 5000, 10_000)
    assert len(statements) < 100, len(statements)


def test_ofac_csv_under_another_name_without_its_overflow(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_bytes((MOOV_TINY / "sdn.csv").read_bytes())
    parsed = parse_list(export)
    assert parsed.format is ListFormat.ofac_csv
    # Only LIFSHITS's addresses are in sdn.csv itself; SUEX's sit in the overflow file.
    assert {e.address for e in parsed.entries} == {LIFSHITS_1, LIFSHITS_2}


def test_a_long_lived_scorer_reads_the_lists_again_only_after_a_change(
        sessions, tmp_path: Path) -> None:
    """ScoringCache.listed keeps the listed addresses between blocks and reads them again
    when an import added, removed or changed an entry (the same file again changes none)."""
    cache = ScoringCache()
    with transaction(sessions) as session:
        import_list(session, B10C_TXT, "ofac", source="0xB10C 2024-09")
    with transaction(sessions) as session:
        first = cache.listed(session)
        assert first == listed_addresses(session) and len(first) == 152
    with transaction(sessions) as session:
        assert cache.listed(session) is first
    relabelled = tmp_path / "relabelled.csv"
    relabelled.write_text("address,label\n" + "".join(f"{a},renamed\n" for a in first))
    with transaction(sessions) as session:
        changed = import_list(session, relabelled, "ofac")
    assert changed.changed == 152 and not changed.added and not changed.removed
    with transaction(sessions) as session:
        second = cache.listed(session)
        assert second is not first and second == listed_addresses(session)
        assert {e.label for entries in second.values() for e in entries} == {"renamed"}
    with transaction(sessions) as session:
        import_list(session, ULTRASOUND, "ofac", category="sanctioned")
    with transaction(sessions) as session:
        assert cache.listed(session) == listed_addresses(session)
        assert len(cache.listed(session)) == 97
