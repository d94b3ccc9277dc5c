"""Training, fusing, guarding and rolling back rankers on a real Postgres database, through
the CLI: too few labels change nothing and say why; a model trained on imported labels is
stored with its metrics, features and training set, audited, and `amlmon score` fuses it
as `learned_ranker` with its features in words; a worse model is refused; a rollback puts
the previous one back; the daemon's retrain trains only when labels changed."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from models import AuditEvent, RankerModel, Token
from monitor import db, jobs, metrics
from monitor.labels import store as labels
from monitor.labels.csvfile import LabelRow
from monitor.scoring.scores import current_scores
from monitor.settings import Settings
from monitor.sim import generate
from support.cli import assert_one_line_error, run_cli
from support.history import TOKEN, write_history


@pytest.fixture
def history_db(pg_url: str, monkeypatch: pytest.MonkeyPatch, make_sessions: Any) -> Any:
    monkeypatch.setenv("AMLMON_DATABASE_URL", pg_url)
    sessions = make_sessions(pg_url)
    write_history(sessions)
    return sessions


def _write_labels(path: Path, flip: float = 0.0, seed: int = 3) -> tuple[set[str], set[str]]:
    """Labels of 60% of write_history's addresses, as the history knows them (a share
    `flip` of them turned over); the laundering ones and the legitimate ones written."""
    history = generate(21, investors=80, days=60, cases_per_rule=1)
    laundering = set(history.labels())
    everyone = _everyone()
    rng = random.Random(seed)
    chosen = [a for a in everyone if rng.random() < 0.6]
    rows, bad, good = ["address,label"], set(), set()
    for address in chosen:
        launders = (address in laundering) != (rng.random() < flip)
        (bad if launders else good).add(address)
        rows.append(f"{address},{'laundering' if launders else 'legitimate'}")
    path.write_text("\n".join(rows) + "\n")
    return bad, good


def _everyone() -> list[str]:
    """write_history's addresses, the zero address left out."""
    history = generate(21, investors=80, days=60, cases_per_rule=1)
    return sorted(({t.sender for t in history.transfers}
                   | {t.receiver for t in history.transfers}) - {"0x" + "0" * 40})


def _learned(sessions: Any) -> dict[str, dict[str, Any]]:
    with sessions() as session:
        token = session.scalars(select(Token)).one()
        return {a: r for a, row in current_scores(session, token.id).items()
                for r in row.reasons if r["rule"] == "learned_ranker"}


def test_train_fuse_refuse_and_roll_back(history_db: Any, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    sessions = history_db
    before = run_cli(capsys, "model", "train")
    assert before.code == 0 and before.out.strip() == (
        f"{TOKEN}: not trained: 0 laundering and 0 legitimate labelled addresses take part "
        "in its transfers; it takes at least 20 of each (rules.learned_ranker.min_labels); "
        "nothing changed")
    path = tmp_path / "labels.csv"
    bad, good = _write_labels(path)
    assert run_cli(capsys, "labels", "import", str(path), "--source", "past").code == 0
    trained = run_cli(capsys, "model", "train", "--token", TOKEN, "--actor", "alice")
    assert trained.code == 0, trained.err
    assert trained.out.startswith(f"{TOKEN}: model v1 trained and in force (PR-AUC ")
    assert f"on {len(bad)} laundering and {len(good)} legitimate addresses" in trained.out
    with sessions() as session:
        v1 = session.get_one(RankerModel, 1)
        assert v1.status == "current" and v1.created_by == "alice"
        assert {a for a, label, _ in v1.training_set if label == "laundering"} == bad
        assert "role:feeder" in v1.features and "feature:in_count" in v1.features
        assert 0 < v1.pr_auc <= 1 and v1.metrics["folds"] == 5
    assert metrics.model_pr_auc.labels(TOKEN)._value.get() == pytest.approx(v1.pr_auc)  # noqa: SLF001
    shown = json.loads(run_cli(capsys, "model", "show", "1", "--format", "json").out)
    assert shown["status"] == "current" and len(shown["training_set"]) == len(bad | good)
    assert "PR-AUC" in run_cli(capsys, "model", "show", "1").out

    assert run_cli(capsys, "score").code == 0
    ranked = _learned(sessions)
    assert ranked, "the ranker gave no reason"
    assert not set(ranked) & (bad | good)  # the addresses it learned from get none
    for reason in ranked.values():
        assert reason["detail"].startswith("ranked like ") and " by model v1 (" in reason[
            "detail"]
        assert reason["detail"].split("): ", 1)[1]  # its top features, in words

    # Noisy labels train a worse model: stored, refused, v1 stays.
    _write_labels(path, flip=0.45, seed=4)
    assert run_cli(capsys, "labels", "import", str(path), "--source", "past").code == 0
    refused = run_cli(capsys, "model", "train", "--actor", "bob")
    assert "model v2 trained but rejected: cross-validated PR-AUC" in refused.out
    assert refused.out.strip().endswith("v1 stays")
    listed = json.loads(run_cli(capsys, "model", "list", "--format", "json").out)
    assert [(m["version"], m["status"]) for m in listed] == [(2, "rejected"), (1, "current")]

    rolled = run_cli(capsys, "model", "rollback", "--token", TOKEN, "--actor", "carol")
    assert rolled.out.strip() == ("model v1 retired; no model is in force (none to go back "
                                  "to); the next score run ranks with it")
    assert_one_line_error(run_cli(capsys, "model", "rollback", "--token", TOKEN),
                          "has no model in force to roll back")
    assert run_cli(capsys, "score", "--incremental").code == 0  # the model changed: re-ranks
    assert _learned(sessions) == {}
    with sessions() as session:
        trail = [(e.action, e.actor, e.object_id) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.object_type == "model")
            .order_by(AuditEvent.id))]
    assert trail == [("model.train", "alice", "1"), ("model.train", "bob", "2"),
                     ("model.rollback", "carol", "1")]
    assert_one_line_error(run_cli(capsys, "model", "show", "9"), "model 9 not found")


def test_a_rollback_puts_the_replaced_model_back(history_db: Any, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "labels.csv"
    _write_labels(path)
    run_cli(capsys, "labels", "import", str(path), "--source", "past")
    run_cli(capsys, "model", "train")
    # The same labels train the same model again (a fixed random state): its PR-AUC is not
    # worse, so it replaces v1.
    second = run_cli(capsys, "model", "train").out
    assert "model v2 trained and in force" in second and "replaces v1" in second
    rolled = run_cli(capsys, "model", "rollback", "--token", TOKEN)
    assert rolled.out.startswith("model v2 retired; v1 is in force again")
    with history_db() as session:
        assert session.get_one(RankerModel, 1).status == "current"
        assert "back in force after v2 was rolled back" in (
            session.get_one(RankerModel, 1).note or "")


def test_the_retrain_job_trains_when_labels_changed(history_db: Any, pg_url: str,
                                                    tmp_path: Path) -> None:
    sessions = history_db
    settings = Settings(database_url=pg_url)
    assert [line for line in jobs.retrain_rankers(sessions, settings)
            if "not trained" not in line] == []
    path = tmp_path / "labels.csv"
    bad, good = _write_labels(path)
    from monitor.labels.csvfile import read_file

    with db.transaction(sessions) as session:
        labels.replace_source(session, "past", read_file(path), "alice")
    [line] = jobs.retrain_rankers(sessions, settings)
    assert "model v1 trained and in force" in line
    assert jobs.retrain_rankers(sessions, settings) == []  # nothing new to learn from
    with db.transaction(sessions) as session:  # an outcome on an address no label named
        fresh = sorted(set(_everyone()) - bad - good)[0]
        labels.write(session, "case:77", [LabelRow(fresh, "legitimate")], "carol")
    [line] = jobs.retrain_rankers(sessions, settings)
    assert "model v2 trained" in line
    with sessions() as session:
        assert session.scalars(select(AuditEvent.actor).where(
            AuditEvent.action == "model.train")).all() == ["amlmon", "amlmon"]
