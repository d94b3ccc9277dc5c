"""goAML STRs built from a case over a real history: replayed onto anvil, ingested, scored,
alerts raised; the case itself is made with the ORM (the cases service is tested apart)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path

import pytest
import xmlschema
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from models import (
    Alert,
    AuditEvent,
    Case,
    CaseAddress,
    CaseAlert,
    CasePattern,
    Pattern,
    PatternMember,
    PatternTransfer,
    Token,
    Transfer,
)
from monitor import db
from monitor.addresses import checksum
from monitor.alerts.raising import raise_from_run
from monitor.amounts import shown
from monitor.cases import goaml
from monitor.cases.evidence import evidence_transfers
from monitor.errors import NotFound, UserError
from monitor.scoring import service
from monitor.scoring.config import DEFAULTS
from monitor.settings import ConfigError, ReportingEntity, default_goaml_schema, load_settings
from monitor.sim import generate_independent
from support.ingest import replayed_database

SCHEMA = default_goaml_schema()
NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
PRICE = Decimal("101.2345678901234567")  # more places than amount_local keeps
NARRATIVE = "Funds minted to a fresh wallet were split across mules within hours."
Key = tuple[int, int, int, int]


@dataclass
class World:
    sessions: sessionmaker[Session]
    token: Token
    case_id: int
    pattern_id: int
    alert_ids: list[int]


@pytest.fixture(scope="module")
def world(pg_server: str) -> Iterator[World]:
    history = generate_independent(23, investors=40, days=30, cases_per_typology=1)
    with replayed_database(pg_server, "amlmon_test_goaml", history) as (_, _, _, sessions):
        with db.transaction(sessions) as session:
            row = session.scalars(select(Token)).one()
            run = service.run(session, row, DEFAULTS)
            assert run is not None
            raise_from_run(session, row, run, DEFAULTS)
        with db.transaction(sessions) as session:
            made = World(sessions, session.scalars(select(Token)).one(), *_case(session))
        yield made


def _case(session: Session) -> tuple[int, int, list[int]]:
    """A case of one pattern, an alert of one of its members (evidence overlapping the
    pattern's), alerts of addresses outside it, and one linked address."""
    pattern = session.scalars(select(Pattern).where(Pattern.transfer_count >= 3)
                              .order_by(Pattern.transfer_count, Pattern.id)).first()
    assert pattern is not None
    members = set(session.scalars(select(PatternMember.address)
                                  .where(PatternMember.pattern_id == pattern.id)))
    alerts = session.scalars(select(Alert).order_by(Alert.id)).all()
    inside = [a for a in alerts if a.address in members][:1]
    outside = [a for a in alerts if a.address not in members][:3]
    assert inside and outside
    case = Case(title="Mint and dispersal", narrative=NARRATIVE, created_by="test")
    session.add(case)
    session.flush()
    session.add(CasePattern(case_id=case.id, pattern_id=pattern.id))
    for alert in inside + outside:
        session.add(CaseAlert(case_id=case.id, alert_id=alert.id))
    session.add(CaseAddress(case_id=case.id, address=outside[0].address))
    session.flush()
    return case.id, pattern.id, [a.id for a in inside + outside]


def entity(world: World, **changes: object) -> ReportingEntity:
    data = {
        "rentity_id": 1234, "rentity_branch": "Head office", "reporting_user_code": "AMLO01",
        "currency_code_local": "EUR",
        "location": {"address_type": "-", "address": "Bahnhofstrasse 1", "city": "Zug",
                     "zip": "6300", "country_code": "CH"},
        "prices": {world.token.address: PRICE},
        **changes,
    }
    return ReportingEntity.model_validate(data)


def expected_keys(session: Session, world: World) -> list[Key]:
    """The evidence worked out apart from monitor.cases.evidence: the pattern's transfers,
    and each alert-cited transfer that touches the alert's address."""
    keys = {(world.token.id, *row) for row in session.execute(
        select(PatternTransfer.block_number, PatternTransfer.log_index, PatternTransfer.sub_index)
        .where(PatternTransfer.pattern_id == world.pattern_id))}
    transfers = session.scalars(select(Transfer).where(Transfer.token_id == world.token.id)).all()
    for alert in session.scalars(select(Alert).where(Alert.id.in_(world.alert_ids))):
        for t in transfers:
            if t.tx_hash in alert.evidence and alert.address in (t.from_address, t.to_address):
                keys.add((t.token_id, t.block_number, t.log_index, t.sub_index))
    return sorted(keys)


def build(world: World, session: Session, **kwargs: object) -> bytes:
    kwargs.setdefault("entity", entity(world))
    return goaml.build_str(session, world.case_id, now=NOW, **kwargs)  # type: ignore[arg-type]


def one_line_error(call: object) -> str:
    with pytest.raises(UserError) as info:
        call()  # type: ignore[operator]
    message = str(info.value)
    assert "\n" not in message and message.startswith("goAML report: "), message
    return message


def test_evidence_is_every_pattern_and_cited_transfer_once_in_chain_order(world: World) -> None:
    with world.sessions() as session:
        evidence = evidence_transfers(session, world.case_id)
        keys = [e.key for e in evidence]
        assert keys == expected_keys(session, world)
        pattern = session.get(Pattern, world.pattern_id)
        assert pattern is not None and len(keys) > pattern.transfer_count  # alerts add some
        stored = {(t.block_number, t.log_index, t.sub_index): t for t in session.scalars(
            select(Transfer).where(Transfer.token_id == world.token.id))}
    for e in evidence:
        row = stored[e.key[1:]]
        assert (e.tx_hash, e.from_address, e.to_address, e.amount) == (
            row.tx_hash, row.from_address, row.to_address, int(row.amount))
        assert e.block_time == db.as_utc(row.block_time)
        assert (e.token.symbol, e.token.decimals) == ("TBOND", 6)


def test_report_validates_and_holds_every_transfer_once_with_exact_amounts(
        world: World) -> None:
    with world.sessions() as session:
        audited = session.scalar(select(func.count()).select_from(AuditEvent))
        document = build(world, session)
        evidence = evidence_transfers(session, world.case_id)
        assert not session.new and not session.dirty and not session.deleted
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == audited
    # Validated apart from the function's own (lxml) check; the XSD declares XML Schema 1.1
    # versioning, so xmlschema's 1.1 validator is the one that reads it whole.
    xmlschema.XMLSchema11(str(SCHEMA)).validate(document)
    root = etree.fromstring(document)
    assert root.tag == "report"
    assert [root.findtext(tag) for tag in (
        "rentity_id", "rentity_branch", "submission_code", "report_code", "submission_date",
        "currency_code_local", "reporting_user_code", "location/city", "location/country_code",
    )] == ["1234", "Head office", "E", "STR", "2026-03-04T05:06:07", "EUR", "AMLO01", "Zug",
           "CH"]
    transactions = root.findall("transaction")
    numbers = [t.findtext("transactionnumber") for t in transactions]
    assert numbers == [f"{e.tx_hash}:{e.log_index}" for e in evidence]
    assert len(set(numbers)) == len(numbers)
    contract = checksum(world.token.address)
    for tx, e in zip(transactions, evidence, strict=True):
        assert tx.findtext("date_transaction") == e.block_time.strftime("%Y-%m-%dT%H:%M:%S")
        description = tx.findtext("transaction_description") or ""
        assert f" of {shown(e.amount, 6)} TBOND (exact; {e.amount} base units" in description
        assert Decimal(tx.findtext("amount_local") or "") == rounded(e.amount, 6, PRICE)
        assert contract in (tx.findtext("transaction_location") or "")
        for side, address in (("from", e.from_address), ("to", e.to_address)):
            account = tx.find(f"t_{side}/{side}_account")
            assert account is not None
            assert account.findtext("account") == checksum(address)
            assert account.findtext("institution_code") == contract
            assert "EVM chain 31337" in (account.findtext("institution_name") or "")


def test_reason_is_the_narrative_then_the_rule_reasons(world: World) -> None:
    with world.sessions() as session:
        root = etree.fromstring(build(world, session))
        alert = session.get(Alert, world.alert_ids[-1])
        assert alert is not None
    reason = root.findtext("reason") or ""
    assert reason.startswith(f"Case {world.case_id}: Mint and dispersal\n\n{NARRATIVE}\n")
    assert f"- Pattern {world.pattern_id} (" in reason
    assert f"- {checksum(alert.address)} on TBOND" in reason
    assert f"  - {alert.rule} (" in reason


def test_long_reasons_are_cut_at_whole_lines_and_a_too_long_narrative_is_refused(
        world: World) -> None:
    with world.sessions() as session:
        case = session.get(Case, world.case_id)
        assert case is not None
        case.narrative = "x" * 7900
        reason = etree.fromstring(build(world, session)).findtext("reason") or ""
        assert len(reason) <= goaml.MAX_COMMENT
        assert re.search(r"\n… \d+ more lines: see the case report\.$", reason), reason[-200:]
        case.narrative = "x" * 8001
        message = one_line_error(lambda: build(world, session))
        assert "reason" in message and "8000" in message
        # Characters XML cannot hold (a pasted control character) do not break the report.
        case.narrative = "wire\x07 from \x1bthe client"
        reason = etree.fromstring(build(world, session)).findtext("reason") or ""
        assert "wire\ufffd from \ufffdthe client" in reason
        session.rollback()


@pytest.mark.parametrize("key", ["rentity_id", "rentity_branch", "reporting_user_code",
                                 "currency_code_local", "location.address", "location.city",
                                 "location.country_code"])
def test_a_missing_reporting_entity_key_is_named(world: World, key: str) -> None:
    config = entity(world).model_dump()
    if "." in key:
        config["location"][key.split(".")[1]] = None
    else:
        config[key] = None
    with world.sessions() as session:
        message = one_line_error(lambda: build(world, session,
                                               entity=ReportingEntity.model_validate(config)))
    assert f"reporting_entity.{key} is not configured" in message


def test_a_missing_price_names_the_token(world: World) -> None:
    with world.sessions() as session:
        message = one_line_error(lambda: build(world, session, entity=entity(world, prices={})))
    assert f"no price in EUR for token TBOND {checksum(world.token.address)}" in message
    assert "EVM chain 31337" in message


def test_a_price_given_at_export_wins(world: World) -> None:
    given = Decimal("0.5")
    with world.sessions() as session:
        root = etree.fromstring(build(world, session, prices={world.token.address.upper()
                                                              .replace("0X", "0x"): given}))
        first = evidence_transfers(session, world.case_id)[0]
    assert Decimal(root.findtext("transaction/amount_local") or "") == rounded(
        first.amount, 6, given)


@pytest.mark.parametrize(("prices", "expected"), [
    ({"0x12": Decimal(1)}, "price: address '0x12' must be 40 hex digits"),
    ({"T": Decimal(1)}, "price: address 'T' must start with 0x"),
    ({"0x" + "a" * 40: Decimal(0)}, "is not a positive decimal"),
    ({"0x" + "a" * 40: Decimal("NaN")}, "is not a positive decimal"),
    ({"0x" + "a" * 40: 1.5}, "1.5 is not a positive decimal"),
    ({"0x" + "a" * 40: "cheap"}, "'cheap' is not a positive decimal"),
])
def test_bad_export_prices_are_refused(world: World, prices: dict, expected: str) -> None:
    with world.sessions() as session:
        assert expected in one_line_error(lambda: build(world, session, prices=prices))


@pytest.mark.parametrize(("changes", "path", "setting"), [
    ({"currency_code_local": "EURO"}, "/report/currency_code_local",
     "reporting_entity.currency_code_local"),
    ({"reporting_user_code": "AB"}, "/report/reporting_user_code",
     "reporting_entity.reporting_user_code"),
    ({"indicators": ["XYZ"]}, "/report/report_indicators/indicator",
     "reporting_entity.indicators"),
    ({"transmode_code": "ZZ"}, "/report/transaction[1]/transmode_code",
     "reporting_entity.transmode_code"),
    ({"location": {"address": "a", "city": "b", "country_code": "Switzerland"}},
     "/report/location/country_code", "reporting_entity.location.country_code"),
])
def test_a_value_the_schema_refuses_names_the_element_and_the_setting(
        world: World, changes: dict, path: str, setting: str) -> None:
    with world.sessions() as session:
        message = one_line_error(lambda: build(world, session, entity=entity(world, **changes)))
    assert path in message and f"({setting})" in message
    assert len(message) < 400  # no enumeration of every code the schema knows


def test_too_large_an_amount_local_names_the_transaction(world: World) -> None:
    with world.sessions() as session:
        message = one_line_error(lambda: build(world, session, prices={
            world.token.address: Decimal("1e30")}))
    assert re.search(r"transaction 0x[0-9a-f]{64}:\d+: amount_local \d+ exceeds", message)


def test_unknown_case_no_evidence_and_missing_schema(world: World, tmp_path: Path) -> None:
    with world.sessions() as session:
        with pytest.raises(NotFound):
            goaml.build_str(session, 10**9, entity(world))
        empty = Case(title="empty", created_by="test")
        session.add(empty)
        session.flush()
        assert "has no evidence transfers" in one_line_error(
            lambda: goaml.build_str(session, empty.id, entity(world)))
        session.rollback()
        missing = tmp_path / "nowhere.xsd"
        assert f"schema not found: {missing}" in one_line_error(
            lambda: build(world, session, schema=missing))
        (tmp_path / "bad.xsd").write_text("<schema>")
        assert "is not XML" in one_line_error(
            lambda: build(world, session, schema=tmp_path / "bad.xsd"))


@given(amount=st.integers(0, 2**256 - 1), decimals=st.integers(0, 77),
       price=st.decimals(min_value=Decimal("1e-30"), max_value=Decimal("1e30"), places=None,
                         allow_nan=False, allow_infinity=False))
def test_amount_local_is_exact_then_rounded_half_even(amount: int, decimals: int,
                                                      price: Decimal) -> None:
    exact = Fraction(amount, 10**decimals) * Fraction(price)
    if exact > goaml.AMOUNT_MAX:
        with pytest.raises(ValueError, match="exceeds the schema's maximum"):
            goaml.amount_local(amount, decimals, price)
        return
    value = goaml.amount_local(amount, decimals, price)
    assert value == rounded(amount, decimals, price)
    text = goaml.decimal_text(value)
    assert Decimal(text) == value and "E" not in text and not text.endswith(".")


def rounded(amount: int, decimals: int, price: Decimal) -> Decimal:
    """amount x price to 13 places, half-even, in exact rational arithmetic."""
    scaled_value = Fraction(amount, 10**decimals) * Fraction(price) * 10**13
    with localcontext() as context:
        context.prec = 100  # scaleb rounds to the context's precision (28 digits by default)
        return Decimal(round(scaled_value)).scaleb(-13)  # round(): half to even


def test_reporting_entity_settings_from_file_and_nested_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "c.yaml"
    path.write_text("reporting_entity:\n  rentity_id: 7\n  location:\n    city: Zug\n"
                    "  prices:\n    '0x7712c34205737192402172409a8F7ccef8aA2AEc': '1.10'\n")
    monkeypatch.setenv("AMLMON_REPORTING_ENTITY__LOCATION__COUNTRY_CODE", "CH")
    monkeypatch.setenv("AMLMON_GOAML_SCHEMA", "/etc/amlmon/goAMLSchema.xsd")
    settings = load_settings(path)
    assert settings.reporting_entity.rentity_id == 7
    assert settings.reporting_entity.location.city == "Zug"
    assert settings.reporting_entity.location.country_code == "CH"
    assert settings.reporting_entity.prices == {
        "0x7712c34205737192402172409a8f7ccef8aa2aec": Decimal("1.10")}
    assert settings.goaml_schema == Path("/etc/amlmon/goAMLSchema.xsd")
    monkeypatch.setenv("AMLMON_REPORTING_ENTITY__RENTITY_ID", "0")
    with pytest.raises(ConfigError, match=r"^invalid config: reporting_entity\.rentity_id: .* "
                                          r"\(from AMLMON_REPORTING_ENTITY__RENTITY_ID or "):
        load_settings(path)
    monkeypatch.delenv("AMLMON_REPORTING_ENTITY__RENTITY_ID")
    path.write_text("reporting_entity:\n  prices: {'0x7712c34205737192402172409a8F7ccef8aA2AEc':"
                    " '-1'}\n")
    with pytest.raises(ConfigError, match=r"reporting_entity\.prices\.0x7712.*greater than 0"):
        load_settings(path)
    path.write_text("reporting_entity:\n  prices: {'BUIDL': '1'}\n")
    with pytest.raises(ConfigError, match=r"reporting_entity\.prices: address 'BUIDL'"):
        load_settings(path)
    path.write_text("reporting_entity:\n  rentity: 1\n")
    with pytest.raises(ConfigError, match=r"reporting_entity\.rentity: unknown setting"):
        load_settings(path)
