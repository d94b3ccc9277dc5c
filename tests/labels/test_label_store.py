"""Labels in the database on both backends: a source replaced atomically and audited,
listed, removed, and read back as one verdict per address; and the CLI over them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from models import AuditEvent, Label
from monitor import db
from monitor.errors import NotFound, UserError
from monitor.labels import store
from monitor.labels.csvfile import LabelRow
from support.cli import assert_one_line_error, run_cli

A, B, C = ("0x" + c * 40 for c in "abc")


def _labels(session: Any, source: str) -> set[tuple[str, int | None, str, float]]:
    return {(row.address, row.chain_id, row.label, row.confidence) for row in session.scalars(
        select(Label).where(Label.source == source))}


def _audit(session: Any) -> list[tuple[str, str, Any, Any]]:
    return [(e.action, e.object_id, e.before, e.after) for e in session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "label").order_by(AuditEvent.id))]


def test_importing_a_source_again_replaces_it(any_db_url: str, make_sessions: Any) -> None:
    sessions = make_sessions(any_db_url)
    with db.transaction(sessions) as session:
        first = store.replace_source(session, "fiu-2026", [
            LabelRow(A, "laundering"), LabelRow(B, "legitimate", 1, 0.5)], "alice")
    assert (first.total, first.added, first.removed, first.changed) == (2, 2, 0, 0)
    with db.transaction(sessions) as session:
        again = store.replace_source(session, "fiu-2026", [
            LabelRow(B, "legitimate", 1, 0.8), LabelRow(C, "laundering", None, 1.0, "mule")],
            "bob")
        assert _labels(session, "fiu-2026") == {(B, 1, "legitimate", 0.8),
                                                (C, None, "laundering", 1.0)}
    assert (again.added, again.removed, again.changed) == (1, 1, 1)
    with sessions() as session:
        assert _audit(session) == [
            ("label.import", "fiu-2026", None, {"labels": 2, "laundering": 1, "legitimate": 1,
                                                "added": 2, "removed": 0, "changed": 0}),
            ("label.replace", "fiu-2026", {"labels": 2, "laundering": 1, "legitimate": 1},
             {"labels": 2, "laundering": 1, "legitimate": 1, "added": 1, "removed": 1,
              "changed": 1})]
        assert session.scalars(select(AuditEvent.actor).where(
            AuditEvent.object_type == "label")).all() == ["alice", "bob"]


def test_a_failed_import_leaves_the_source_as_it_was(any_db_url: str,
                                                     make_sessions: Any) -> None:
    sessions = make_sessions(any_db_url)
    with db.transaction(sessions) as session:
        store.replace_source(session, "list", [LabelRow(A, "laundering")], "alice")
    with pytest.raises(RuntimeError), db.transaction(sessions) as session:
        store.replace_source(session, "list", [LabelRow(B, "legitimate")], "alice")
        raise RuntimeError("the transaction fails after the replace")
    with sessions() as session:
        assert _labels(session, "list") == {(A, None, "laundering", 1.0)}
        assert len(_audit(session)) == 1


@pytest.mark.parametrize("source", ["case:12", "alert:3", " ", "x" * 129, "tab\there"])
def test_outcome_sources_and_bad_names_are_refused(any_db_url: str, make_sessions: Any,
                                                   source: str) -> None:
    with pytest.raises(UserError, match="source: "), \
            db.transaction(make_sessions(any_db_url)) as session:
        store.replace_source(session, source, [LabelRow(A, "laundering")], "alice")


def test_remove_a_source_or_one_address(any_db_url: str, make_sessions: Any) -> None:
    sessions = make_sessions(any_db_url)
    with db.transaction(sessions) as session:
        store.replace_source(session, "s", [LabelRow(A, "laundering"), LabelRow(B, "legitimate"),
                                            LabelRow(B, "laundering", 5)], "alice")
    with db.transaction(sessions) as session:
        assert store.remove(session, "s", "bob", B) == 2
    with db.transaction(sessions) as session:
        assert _labels(session, "s") == {(A, None, "laundering", 1.0)}
        assert store.remove(session, "s", "bob") == 1
    with pytest.raises(NotFound, match="source s has no labels"), \
            db.transaction(sessions) as session:
        store.remove(session, "s", "bob")
    with sessions() as session:
        actions = [(a, before) for a, _, before, _ in _audit(session)]
        assert actions[1:] == [("label.remove", {"labels": 2, "laundering": 1, "legitimate": 1}),
                               ("label.remove", {"labels": 1, "laundering": 1, "legitimate": 0})]


def test_verdicts_laundering_outweighs_and_chains_apply(any_db_url: str,
                                                       make_sessions: Any) -> None:
    sessions = make_sessions(any_db_url)
    with db.transaction(sessions) as session:
        store.replace_source(session, "vendor", [
            LabelRow(A, "legitimate", None, 1.0), LabelRow(B, "legitimate", 1, 0.4),
            LabelRow(C, "laundering", 137, 1.0)], "alice")
        store.replace_source(session, "fiu", [
            LabelRow(A, "laundering", 1, 0.6), LabelRow(B, "legitimate", None, 0.9)], "alice")
    with sessions() as session:
        on_mainnet = store.verdicts(session, 1)
        on_polygon = store.verdicts(session, 137)
    assert on_mainnet[A] == store.Verdict(True, 0.6, ("fiu",))
    assert on_mainnet[B] == store.Verdict(False, 0.9, ("fiu", "vendor"))
    assert C not in on_mainnet
    assert on_polygon[A] == store.Verdict(False, 1.0, ("vendor",))
    assert on_polygon[C].laundering
    assert store.digest(on_mainnet) != store.digest(on_polygon)
    assert store.digest(on_mainnet) == store.digest(dict(reversed(on_mainnet.items())))


def test_the_labels_cli(any_db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str], make_sessions: Any) -> None:
    monkeypatch.setenv("AMLMON_DATABASE_URL", any_db_url)
    bad = tmp_path / "bad.csv"
    bad.write_text(f"address,label,confidence\n{A},laundering,1\n{B},laundered,1\n")
    assert_one_line_error(run_cli(capsys, "labels", "import", str(bad), "--source", "s"),
                          f"{bad} line 3: unknown label 'laundered'")
    good = tmp_path / "good.csv"
    good.write_text(f"address,label,note\n{A},laundering,mule\n{B},legitimate,\n")
    done = run_cli(capsys, "labels", "import", str(good), "--source", "s", "--actor", "alice")
    assert done.code == 0, done.err
    assert done.out.strip() == ("source s: 2 label(s) (1 laundering, 1 legitimate), +2 added, "
                                "-0 removed, 0 changed")
    listed = json.loads(run_cli(capsys, "labels", "list", "--format", "json").out)
    assert [(row["address"].lower(), row["label"], row["note"], row["created_by"])
            for row in listed] == [(B, "legitimate", None, "alice"),
                                   (A, "laundering", "mule", "alice")]
    only = json.loads(run_cli(capsys, "labels", "list", "--label", "laundering",
                              "--format", "json").out)
    assert [row["address"].lower() for row in only] == [A]
    sources = json.loads(run_cli(capsys, "labels", "list", "--sources", "--format",
                                 "json").out)
    assert sources == [{"source": "s", "laundering": 1, "legitimate": 1}]
    assert_one_line_error(run_cli(capsys, "labels", "import", str(good), "--source",
                                  "case:1"), "reserved")
    assert_one_line_error(run_cli(capsys, "labels", "list", "--address", "0x12"),
                          "--address: address '0x12'")
    removed = run_cli(capsys, "labels", "remove", "--source", "s", "--address", A)
    assert removed.out.strip() == "source s: 1 label(s) removed"
    assert_one_line_error(run_cli(capsys, "labels", "remove", "--source", "s", "--address", A),
                          f"source s has no label of {A}")
    with make_sessions(any_db_url)() as session:
        assert session.scalars(select(Label.address)).all() == [B]
