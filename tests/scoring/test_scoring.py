"""Scoring on a simulated history replayed onto anvil and ingested into Postgres."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from models import AddressScore, Pattern, PatternMember, PatternTransfer, ScoreRun, Token, Transfer
from monitor import db
from monitor.addresses import checksum
from monitor.scoring import evaluate, evidence, pattern_store, scores, service
from monitor.scoring.config import DEFAULTS, ROLES
from monitor.scoring.flows import load_flows
from monitor.scoring.scores import current_scores
from monitor.sim import History, generate_independent
from support.anvil import Anvil
from support.cli import run_cli
from support.ingest import ingest, replayed_database
from support.token import TokenOnChain

SEED = 7  # the detection benchmark uses other seeds
MIN_RISK = DEFAULTS.flag_min_risk


@dataclass
class World:
    node: Anvil
    token: TokenOnChain
    history: History
    url: str
    sessions: sessionmaker[Session]
    first_run: ScoreRun


@pytest.fixture(scope="module")
def world(pg_server: str) -> Iterator[World]:
    # Drawn independently of the rules' thresholds (monitor.sim.independent): benign
    # holders, venues and look-alikes, and laundering networks with every member labelled.
    history = generate_independent(SEED, investors=150, days=75, cases_per_typology=1)
    replayed = replayed_database(pg_server, "amlmon_test_scoring", history)
    with replayed as (node, token, url, sessions):
        with db.transaction(sessions) as session:
            run = service.run(session, _token(session), DEFAULTS)
            assert run is not None
            session.expunge(run)
        yield World(node, token, history, url, sessions, run)


def _token(session: Session) -> Token:
    return session.scalars(select(Token)).one()


def _current(world: World) -> dict[str, AddressScore]:
    with world.sessions() as session:
        return current_scores(session, _token(session).id)


def test_every_laundering_network_is_flagged_with_its_members(world: World) -> None:
    scores = _current(world)
    for case in world.history.cases:
        flagged = {a for a in case.actors if a in scores and scores[a].risk_score >= MIN_RISK}
        fired = {a for a in case.actors
                 if a in scores and any(r["rule"] == case.rule for r in scores[a].reasons)}
        assert fired or case.near_miss, (case.rule, case.description)
        # Members, not only the hub: most of every network is flagged with it.
        assert len(flagged) >= 0.8 * len(case.actors), (case.rule, case.description,
                                                        sorted(set(case.actors) - flagged))


def test_benign_look_alikes_and_venues_stay_below_the_flag(world: World) -> None:
    scores = _current(world)
    history = world.history
    flagged = {a for a, s in scores.items() if s.risk_score >= MIN_RISK}
    assert not flagged & history.benign_hubs, sorted(flagged & history.benign_hubs)
    lookalikes = set(history.lookalikes)
    assert len(flagged & lookalikes) <= 0.02 * len(lookalikes), sorted(flagged & lookalikes)
    false = flagged - set(history.labels())
    assert len(false) <= 0.05 * len(flagged), [(a, scores[a].reasons[0]["detail"])
                                               for a in sorted(false)]
    # The flagged share is recorded on the run, for the gauge and the report.
    model = world.first_run.model
    assert model["flagged_addresses"] == len(flagged)
    assert 0 < model["flagged_addresses"] / model["active_addresses"] < 0.5


def test_patterns_are_stored_with_every_member_its_role_and_exact_totals(world: World) -> None:
    amounts = {}
    with world.sessions() as session:
        for row in session.execute(select(Transfer.block_number, Transfer.log_index,
                                          Transfer.sub_index, Transfer.amount)):
            amounts[row[:3]] = int(row[3])
        patterns = session.scalars(select(Pattern).where(Pattern.status == "active")).all()
        assert {p.typology for p in patterns} >= {case.rule for case in world.history.cases
                                                  if not case.near_miss}
        scores = current_scores(session, _token(session).id)
        for pattern in patterns:
            members = session.scalars(select(PatternMember)
                                      .where(PatternMember.pattern_id == pattern.id)).all()
            assert len(members) == pattern.member_count >= 1
            assert pattern.anchor in {m.address for m in members}
            rows = session.execute(select(PatternTransfer.block_number, PatternTransfer.log_index,
                                          PatternTransfer.sub_index)
                                   .where(PatternTransfer.pattern_id == pattern.id)).all()
            assert len(rows) == pattern.transfer_count
            assert pattern.total_value == sum(amounts[tuple(r)] for r in rows)
            for member in members:
                assert member.role in ROLES
                if member.score < MIN_RISK:
                    continue
                reasons = [r for r in scores[member.address].reasons
                           if r.get("pattern_id") == pattern.id]
                strongest = max((r["score"] for r in scores[member.address].reasons
                                 if r["rule"] == pattern.typology), default=0)
                # Its reason for the typology names this pattern, unless a stronger one of
                # the same typology took its place.
                assert reasons or strongest >= member.score, (pattern.title, member.address)
                for reason in reasons:
                    assert reason["rule"] == pattern.typology
                    assert reason["role"] == member.role
                    assert member.role.replace("_", " ") in reason["detail"]


@pytest.mark.parametrize("few", [0, 10**6], ids=["joined", "by-key"])
def test_pattern_totals_are_the_same_summed_either_way(world: World, few: int,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A first run's many patterns are summed through one join, a block's few transfer by
    transfer (pattern_store.FEW): both give the stored exact totals."""
    monkeypatch.setattr(pattern_store, "FEW", few)
    with db.transaction(world.sessions) as session:
        stored = dict(session.execute(select(Pattern.id, Pattern.total_value)).all())
        assert stored and any(value > 0 for value in stored.values())
        session.execute(update(Pattern).values(total_value=0))
        pattern_store._exact_totals(session, _token(session).id, sorted(stored))
        assert dict(session.execute(select(Pattern.id, Pattern.total_value)).all()) == stored


def test_reasons_are_words_with_numbers_and_real_evidence(world: World) -> None:
    with world.sessions() as session:
        stored = set(session.scalars(select(Transfer.tx_hash)))
    for score in _current(world).values():
        for reason in score.reasons:
            assert re.search(r"\d", reason["detail"]), reason
            assert 0 <= reason["score"] <= 100
            if reason["rule"] != "anomaly":
                assert reason["evidence"] and set(reason["evidence"]) <= stored, reason


def test_totals_summed_in_one_pass_equal_those_summed_per_address(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A first run of a big token sums every address's totals in one pass over the token;
    a small run looks each address up, and a first run has the pass made beside its
    evaluation, on a connection of its own that reads the run's snapshot
    (scores.WholeTotals). All give the stored rows' exact totals."""
    current = _current(world)
    with world.sessions() as session:
        token = _token(session)
        up_to = session.scalar(select(func.max(Transfer.block_number)))
        addresses = sorted(current)[::2]  # a pass over the token writes only these
        looked_up = scores._exact_totals(session, token.chain_id, token.id, addresses, up_to)
        monkeypatch.setattr(scores, "WHOLE_TOKEN", 0)
        one_pass = scores._exact_totals(session, token.chain_id, token.id, addresses, up_to)
        beside = scores.WholeTotals(session, token.chain_id, token.id, up_to)
        beside.go()
        assert beside.rows("in", up_to) and beside.rows("out", up_to)
        assert beside.rows("in", up_to - 1) is None  # summed up to another block
        prefetched = scores._exact_totals(session, token.chain_id, token.id, addresses, up_to,
                                          whole=beside)
        abandoned = scores.WholeTotals(session, token.chain_id, token.id, up_to)
        abandoned.close()  # a run that failed: its connection goes back, nothing summed
        assert abandoned.rows("in", up_to) is None
    assert one_pass == looked_up == prefetched and set(one_pass) == set(addresses)
    for address in addresses:
        row = current[address]
        assert (one_pass[address]["in_value"], one_pass[address]["out_value"],
                one_pass[address]["in_count"]) == (int(row.in_value), int(row.out_value),
                                                   row.in_count)


def test_rescoring_is_idempotent(world: World) -> None:
    before = {a: (s.risk_score, s.reasons) for a, s in _current(world).items()}
    with db.transaction(world.sessions) as session:
        run = service.run(session, _token(session), DEFAULTS)
        assert run is not None and run.model["changed_rows"] == 0
        assert service.run(session, _token(session), DEFAULTS, "incremental") is None
    assert {a: (s.risk_score, s.reasons) for a, s in _current(world).items()} == before


@pytest.mark.parametrize("compared", [1, 7, 10**6])
def test_a_full_run_compares_a_range_of_addresses_at_a_time(
        world: World, compared: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full run reads the stored rows a range of addresses at a time (service.COMPARED):
    whatever the range, a run over unchanged transfers writes nothing, and a stored finding
    of an address the token no longer has (a reorg took its transfers) is cleared."""
    monkeypatch.setattr(service, "COMPARED", compared)
    gone = [f"0x{k:040x}" for k in (0x11, 0xffff)] + ["0x" + "f" * 40]  # either end
    with world.sessions() as session:  # rolled back: the module's database stays as it is
        token = _token(session)
        earlier = session.scalar(select(func.max(ScoreRun.id)))
        session.add_all(AddressScore(score_run_id=earlier, token_id=token.id, address=a,
                                     risk_score=60, severity="medium", reasons=[],
                                     features={}) for a in gone)
        session.flush()
        run = service.run(session, token, DEFAULTS)
        assert run is not None and run.model["changed_rows"] == len(gone)
        cleared = current_scores(session, token.id, gone)
        assert {a: (r.risk_score, r.score_run_id) for a, r in cleared.items()} == {
            a: (0, run.id) for a in gone}
        session.rollback()


def test_incremental_run_rescores_the_neighbourhood_as_a_full_run_would(world: World) -> None:
    # A fresh fan-out: an investor pays eight brand-new addresses in one hour.
    source = sorted(world.history.investors)[0]
    recipients = [f"0x{0xfeed0000 + k:040x}" for k in range(8)]
    # The daemon's cache holds the last full run's state; the incremental run appends the
    # new blocks to it and re-scores only the addresses they can affect.
    cache = service.ScoringCache()
    with db.transaction(world.sessions) as session:
        service.run(session, _token(session), DEFAULTS, "full", cache)
        before = cache.state(_token(session).id)
        assert before is not None and before.fitted is not None
        old_flows, fitted, stats = before.flows, before.fitted, before.stats
    world.token.call("batchMint", [source], [10**12])
    world.token.call("batchForcedTransfer", [source] * 8, recipients, [10**9] * 8)
    ingest(world.sessions, [world.node.url])
    with db.transaction(world.sessions) as session:
        incremental = service.run(session, _token(session), DEFAULTS, "incremental", cache)
        assert incremental is not None and incremental.model["changed_rows"] > 0
        state = cache.state(_token(session).id)
        fresh = load_flows(session, _token(session))
    assert state is not None and state.flows.n == old_flows.n + 9 == fresh.n
    assert list(state.flows.addresses[-8:]) == recipients  # appended, not reloaded
    assert state.fitted is fitted  # the forest is refitted by full runs only
    rows = [sorted(zip(f.addresses[f.src], f.addresses[f.dst], f.amount, f.log,
                       strict=True)) for f in (state.flows, fresh)]
    assert rows[0] == rows[1]

    # The incrementally maintained features equal features computed from scratch, for
    # every address and every transfer.
    position = {a: i for i, a in enumerate(fresh.addresses)}
    order = np.array([position[a] for a in state.flows.addresses])
    reference = evaluate.compute_features(fresh, DEFAULTS)
    np.testing.assert_allclose(state.features.matrix[1:], reference.matrix[order][1:])
    np.testing.assert_array_equal(state.features.first_seen[1:], reference.first_seen[order][1:])
    for helper in ("recv_new", "send_first", "hold_seconds", "last_receipt"):
        np.testing.assert_array_equal(getattr(state.features, helper),
                                      getattr(reference, helper))

    # Only a part was re-scored, and the findings (patterns included) are what a full
    # evaluation with the same forest and yardsticks gives: for every address.
    assert incremental.addresses_scored < fresh.n_addresses / 2
    full, patterns = evaluate.findings(state.flows, state.features, DEFAULTS, stats, {})
    evidence.resolve_findings(state.flows, full, patterns)
    assert state.patterns == patterns
    mine = {a: {k: v for k, v in r.items() if k != "anomaly"} for a, r in state.raw.items()}
    assert {a: r for a, r in mine.items() if r} == full
    current = _current(world)
    assert any(r["rule"] == "fan_out" and r["role"] == "source" for r in current[source].reasons)
    assert all(any(r["rule"] == "fan_out" and r["role"] == "recipient"
                   for r in current[a].reasons) for a in recipients)

    # More of the same: the source's new row takes its exact totals from the row the last
    # incremental run wrote plus the transfers since; they must equal the sums over all.
    world.token.call("batchForcedTransfer", [source] * 3,
                     [f"0x{0xfeed1000 + k:040x}" for k in range(3)], [10**9] * 3)
    ingest(world.sessions, [world.node.url])
    with db.transaction(world.sessions) as session:
        again = service.run(session, _token(session), DEFAULTS, "incremental", cache)
        assert again is not None
        rows = list(session.scalars(select(AddressScore)
                                    .where(AddressScore.score_run_id == again.id)))
        assert source in {row.address for row in rows}
        for row in rows:
            for side, column in (("out", Transfer.from_address), ("in", Transfer.to_address)):
                count, total = session.execute(
                    select(func.count(), func.coalesce(func.sum(Transfer.amount), 0))
                    .where(column == row.address)).one()
                assert (getattr(row, f"{side}_count"), int(getattr(row, f"{side}_value"))) \
                    == (count, int(total)), (row.address, side)
    current = _current(world)

    # The next full run refits the forest and moves token-wide statistics; findings stay.
    flagged = {a for a, s in current.items() if s.risk_score >= MIN_RISK}
    with db.transaction(world.sessions) as session:
        assert service.run(session, _token(session), DEFAULTS) is not None
    assert {a for a, s in _current(world).items() if s.risk_score >= MIN_RISK} == flagged


def test_a_held_state_syncs_its_patterns_and_sees_another_writer(world: World) -> None:
    """A long-lived process writes only the patterns a block changed, and trusts what it
    stored last only while nothing else wrote patterns since: a pattern another process
    retired in between (the largest last_run_id moved) is stored active again, because the
    held state still finds it."""
    cache = service.ScoringCache()
    with db.transaction(world.sessions) as session:
        service.run(session, _token(session), DEFAULTS, "full", cache)
        state = cache.state(_token(session).id)
        assert state is not None and state.patterns

    def stored() -> dict[str, str]:
        with world.sessions() as session:
            return dict(session.execute(select(Pattern.key, Pattern.signature)
                                        .where(Pattern.status == "active")).all())

    def held() -> dict[str, str]:
        assert state is not None
        return {key: signature for key, (_, signature) in state.signed.items()}

    assert set(stored()) == set(state.patterns) and stored() == held()
    victim = sorted(state.patterns)[0]
    with db.transaction(world.sessions) as session:  # another process's run
        other = ScoreRun(kind="full", token_id=_token(session).id, status="done")
        session.add(other)
        session.flush()
        session.execute(update(Pattern).where(Pattern.key == victim).values(
            status="retired", last_run_id=other.id))
    source = sorted(world.history.investors)[1]
    world.token.call("batchMint", [source], [10**12])
    world.token.call("batchForcedTransfer", [source], [f"0x{0xfeed2000:040x}"], [10**9])
    ingest(world.sessions, [world.node.url])
    with db.transaction(world.sessions) as session:
        assert service.run(session, _token(session), DEFAULTS, "incremental", cache)
    assert victim in stored()
    assert set(stored()) == set(state.patterns) and stored() == held()
    # The next block, with nobody else writing, stores what the state holds too.
    world.token.call("batchForcedTransfer", [source], [f"0x{0xfeed2001:040x}"], [10**9])
    ingest(world.sessions, [world.node.url])
    with db.transaction(world.sessions) as session:
        assert service.run(session, _token(session), DEFAULTS, "incremental", cache)
    assert set(stored()) == set(state.patterns) and stored() == held()


def test_run_records_the_anomaly_model(world: World) -> None:
    model = world.first_run.model
    assert model["kind"] == "IsolationForest"
    assert model["training_size"] > 100
    assert "pass_through" in model["features"]
    assert model["params"]["n_estimators"] == 200


def test_flagged_report_json_csv_and_html(world: World, capsys: Any, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMLMON_DATABASE_URL", world.url)
    result = run_cli(capsys, "report", "flagged", "--format", "json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    items = report["items"]
    assert items and report["generated_at"].endswith("Z")
    assert [i["risk_score"] for i in items] == sorted((i["risk_score"] for i in items),
                                                      reverse=True)
    first = items[0]
    assert set(first) >= {"chain_id", "token", "address", "risk_score", "severity",
                          "anomaly_score", "reasons", "first_seen", "last_seen", "in_count",
                          "out_count", "in_value", "out_value"}
    assert first["token"] == checksum(world.token.address)
    assert first["severity"] in ("medium", "high", "critical")
    # Values are exact decimal strings of the node's amounts.
    address = first["address"].lower()
    received = sum(t.amount for t in world.history.transfers if t.receiver == address)
    if first["in_value"] and address not in {f"0x{0xfeed0000 + k:040x}" for k in range(8)}:
        assert first["in_value"] == _decimal(received, world.history.decimals)
    table = run_cli(capsys, "report", "flagged", "--format", "csv", "--min-risk", "80")
    rows = list(csv.DictReader(io.StringIO(table.out)))
    assert all(int(r["risk_score"]) >= 80 for r in rows)
    assert rows and rows[0]["rules"]
    single = run_cli(capsys, "report", "address", first["address"])
    assert json.loads(single.out)["tokens"][0]["risk_score"] == first["risk_score"]
    # HTML: the flagged table links each address; the address page is written to a file.
    page = run_cli(capsys, "report", "flagged", "--format", "html")
    assert page.out.count("<tr>") == len(items) + 1 and first["address"] in page.out
    target = tmp_path / "address.html"
    written = run_cli(capsys, "report", "address", first["address"], "--format", "html",
                      "--output", str(target))
    assert written.code == 0, written.err
    html = target.read_text()
    assert '<svg class="flow"' in html and first["reasons"][0]["detail"][:30] in html
    # The flagged share per token, in the JSON and on stderr.
    assert report["flagged_share"][0]["flagged"] == len(items)
    assert result.err.startswith(f"{len(items)} flagged address(es): flagged {len(items)} of")


def test_pattern_reports_through_the_cli(world: World, capsys: Any, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMLMON_DATABASE_URL", world.url)
    listed = run_cli(capsys, "report", "patterns", "--format", "json")
    assert listed.code == 0, listed.err
    patterns = json.loads(listed.out)
    assert patterns and {p["status"] for p in patterns} == {"active"}
    table = run_cli(capsys, "report", "patterns", "--typology", "fan_in")
    assert table.code == 0 and "fan_in" in table.out
    bad = run_cli(capsys, "report", "patterns", "--typology", "laundering")
    assert bad.code != 0 and "unknown typology 'laundering'" in bad.err
    assert bad.err.strip().count("\n") == 0
    biggest = max(patterns, key=lambda p: p["member_count"])
    whole = json.loads(run_cli(capsys, "report", "pattern", str(biggest["id"])).out)
    assert len(whole["members"]) == biggest["member_count"]
    # Every member's flagged entry names the pattern.
    flagged = {i["address"]: i for i in json.loads(
        run_cli(capsys, "report", "flagged", "--format", "json").out)["items"]}
    for member in whole["members"]:
        if member["risk_score"] >= MIN_RISK:
            assert biggest["id"] in flagged[member["address"]]["patterns"]
    target = tmp_path / "pattern.html"
    written = run_cli(capsys, "report", "pattern", str(biggest["id"]), "--format", "html",
                      "--output", str(target))
    assert written.code == 0, written.err
    page = target.read_text()
    assert '<svg class="flow"' in page and whole["members"][0]["address"] in page
    missing = run_cli(capsys, "report", "pattern", "999999999")
    assert missing.code != 0 and "no pattern 999999999" in missing.err


def _decimal(value: int, decimals: int) -> str:
    whole, frac = divmod(value, 10**decimals)
    text = f"{whole}.{frac:0{decimals}d}".rstrip("0").rstrip(".")
    return text


def test_only_material_changes_make_a_new_score_row() -> None:
    """Refit jitter and thresholds moving by cents are not findings; new evidence, a new rule,
    a severity change or a move of min_score_change points are."""
    def reason(rule: str, score: int, detail: str = "d", evidence: tuple[str, ...] = ()) -> dict:
        return {"rule": rule, "score": score, "detail": detail, "evidence": list(evidence)}

    before = AddressScore(risk_score=70, severity="high", reasons=[
        reason("fan_out", 70, "threshold 33,908.96", ("0x1",)), reason("anomaly", 60)])
    material = service._material  # noqa: SLF001 - the rule itself is the unit under test
    assert not material(before, 70, before.reasons, 5)
    assert not material(before, 71, [reason("fan_out", 70, "threshold 33,908.87", ("0x1",)),
                                     reason("anomaly", 62)], 5)
    assert material(before, 75, before.reasons, 5)
    assert material(before, 71, [reason("fan_out", 70, "d", ("0x1", "0x2")),
                                 reason("anomaly", 60)], 5)
    assert material(before, 71, [*before.reasons, reason("cycle", 50)], 5)
    assert material(before, 64, before.reasons, 5)  # high -> medium
    assert material(before, 70, [reason("fan_out", 70, "other words", ("0x1",)),
                                 reason("anomaly", 60)], 0)
