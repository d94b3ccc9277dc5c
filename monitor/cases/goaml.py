"""A case as a goAML 5.0.1 suspicious-transaction report (`report_code` STR), the XML that
financial intelligence units running UNODC's goAML accept as an upload.

What goes where:
- the reporting entity (id, branch, user code, location, local currency) comes from the
  `reporting_entity` settings; a key that is not configured is refused by name;
- `reason`: the case title and narrative, then the linked patterns and the rule reasons
  of the case's addresses (their current scores) in words, cut at whole lines to the
  schema's 8,000 characters;
- one `transaction` per evidence transfer (monitor.cases.evidence): number = tx hash and
  log index, date = block time (UTC), `amount_local` = exact token amount x price, the
  token amount and symbol in the description, both sides as accounts whose number is the
  address, held at the "institution" named by the token contract and the chain.

Every report is validated against the XML schema (the `goaml_schema` setting) before it is
returned; an invalid one raises UserError naming the element, its path and the value.
Reads only: nothing is written.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    AddressScore,
    Alert,
    Case,
    CaseAddress,
    CaseAlert,
    CasePattern,
    Pattern,
    PatternMember,
    Token,
)
from monitor.addresses import ZERO, checksum, parse_address
from monitor.amounts import shown
from monitor.cases.evidence import EvidenceToken, EvidenceTransfer, evidence_transfers
from monitor.errors import NotFound, UserError
from monitor.scoring.scores import current_scores
from monitor.settings import ReportingEntity, default_goaml_schema
from monitor.timefmt import iso

MAX_COMMENT = 8000  # comments_type: reason, descriptions
AMOUNT_PLACES = 13  # sql_decimal's fractionDigits
AMOUNT_MAX = Decimal("7900000000000000")  # sql_decimal's maxInclusive
UNKNOWN = "-"  # the schema's "unknown" code of every lookup (a counterparty's country)

# Configured elements, so that an invalid value names the setting it came from.
_CONFIGURED = {
    "/report/rentity_id": "rentity_id",
    "/report/rentity_branch": "rentity_branch",
    "/report/currency_code_local": "currency_code_local",
    "/report/reporting_user_code": "reporting_user_code",
    "/report/report_indicators": "indicators",
    "transmode_code": "transmode_code",
    "from_funds_code": "funds_code",
    "to_funds_code": "funds_code",
}
_REQUIRED = ("rentity_id", "rentity_branch", "reporting_user_code", "currency_code_local",
             "location.address", "location.city", "location.country_code")
# Characters XML 1.0 cannot carry; free text (a narrative, a symbol a contract chose) shows
# them as U+FFFD rather than failing the report.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ENUMERATION = re.compile(r" is not an element of the set \{.*\}")

_checksum = functools.lru_cache(maxsize=4096)(checksum)


def build_str(session: Session, case_id: int, entity: ReportingEntity,
              prices: Mapping[str, Decimal] | None = None, *, schema: Path | None = None,
              now: datetime | None = None) -> bytes:
    """The case as a goAML STR document (UTF-8 XML), validated against `schema` (default:
    the repository's shared copy). `prices` (token address -> price of one whole token in
    the local currency) override the configured ones. Raises UserError naming the missing
    or bad value, NotFound for an unknown case."""
    _require(entity)
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    transfers = evidence_transfers(session, case_id)
    if not transfers:
        raise UserError(f"goAML report: case {case_id} has no evidence transfers (link a "
                        "pattern or alerts with evidence): a report needs a transaction")
    price_of = {**entity.prices, **_given_prices(prices or {})}
    root = etree.Element("report")
    _header(root, case, entity, now or datetime.now(UTC))
    _add(root, "reason", _reason(session, case))
    for transfer in transfers:
        _transaction(root, transfer, entity, _price(price_of, transfer.token, entity))
    indicators = _add(root, "report_indicators")
    for code in entity.indicators:
        _add(indicators, "indicator", code)
    document = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    validate(document, schema or default_goaml_schema())
    return document


def validate(document: bytes, schema: Path) -> None:
    """Raise UserError unless `document` is valid against the XSD at `schema`: one line with
    the first error's element path and message, and the setting behind the value."""
    validator, lock = _schema(str(Path(schema).resolve()))
    tree = etree.fromstring(document, _parser())
    with lock:  # an XMLSchema keeps its error log on itself: one validation at a time
        if validator.validate(tree):
            return
        error = validator.error_log[0]
    message = _ENUMERATION.sub(" is not a code the schema allows", error.message).rstrip(". ")
    raise UserError(f"goAML report: {error.path}: {message}{_setting_of(error.path)}"
                    .replace("\n", " "))


def amount_local(amount: int, decimals: int, price: Decimal) -> Decimal:
    """amount (base units) x price, exact, then rounded half-even to the schema's 13 places;
    ValueError when it exceeds what the schema's decimal type holds."""
    digits = len(str(amount)) + len(price.as_tuple().digits) + AMOUNT_PLACES + 20
    with localcontext() as context:
        context.prec = digits  # enough that neither the product nor the rounding is inexact
        exact = Decimal(amount).scaleb(-decimals) * price
        if exact > AMOUNT_MAX:
            raise ValueError(f"amount_local {exact:f} exceeds the schema's maximum "
                             f"{AMOUNT_MAX}")
        return exact.quantize(Decimal(1).scaleb(-AMOUNT_PLACES), rounding=ROUND_HALF_EVEN)


def decimal_text(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros: 12.5000 -> '12.5', 0E-13 -> '0'."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# --- the document -------------------------------------------------------------------------

def _header(root: Any, case: Case, entity: ReportingEntity, now: datetime) -> None:
    _add(root, "rentity_id", entity.rentity_id)
    _add(root, "rentity_branch", entity.rentity_branch)
    _add(root, "submission_code", "E")  # electronic
    _add(root, "report_code", "STR")
    _add(root, "entity_reference", f"amlmon case {case.id}")
    _add(root, "submission_date", _date(now))
    _add(root, "currency_code_local", entity.currency_code_local)
    _add(root, "reporting_user_code", entity.reporting_user_code)
    location = _add(root, "location")
    where = entity.location
    # t_address: the order is the schema's; optional parts only when configured.
    for tag, value in (("address_type", where.address_type), ("address", where.address),
                       ("town", where.town), ("city", where.city), ("zip", where.zip),
                       ("country_code", where.country_code), ("state", where.state)):
        if value is not None:
            _add(location, tag, value)


def _transaction(root: Any, transfer: EvidenceTransfer, entity: ReportingEntity,
                 price: Decimal) -> None:
    token = transfer.token
    contract = _checksum(token.address)
    symbol = token.symbol or "units"
    amount = shown(transfer.amount, token.decimals)
    item = "" if transfer.item_id is None else f", item id {transfer.item_id}"
    kind = ("mint" if transfer.from_address == ZERO
            else "burn" if transfer.to_address == ZERO else "transfer")
    number = f"{transfer.tx_hash}:{transfer.log_index}"
    if token.standard == "erc1155":  # a TransferBatch log holds several items
        number += f":{transfer.sub_index}"
    try:
        local = amount_local(transfer.amount, token.decimals, price)
    except ValueError as exc:
        raise UserError(f"goAML report: transaction {number}: {exc}") from None
    tx = _add(root, "transaction")
    _add(tx, "transactionnumber", number)
    _add(tx, "internal_ref_number", f"{token.chain_id}:{contract}:{transfer.block_number}:"
                                    f"{transfer.log_index}:{transfer.sub_index}")
    _add(tx, "transaction_location", f"EVM chain {token.chain_id}, token contract {contract}")
    _add(tx, "transaction_description",
         f"Token {kind} of {amount} {symbol} (exact; {transfer.amount} base units, "
         f"{token.decimals} decimals{item}) of token contract {contract} on EVM chain "
         f"{token.chain_id}, block {transfer.block_number}, log {transfer.log_index}; "
         f"valued at {price:f} {entity.currency_code_local} per {symbol}.")
    _add(tx, "date_transaction", _date(transfer.block_time))
    _add(tx, "transmode_code", entity.transmode_code)
    _add(tx, "transmode_comment", f"{token.standard} token {kind}")
    _add(tx, "amount_local", decimal_text(local))
    _party(tx, "from", transfer.from_address, token, entity.funds_code)
    _party(tx, "to", transfer.to_address, token, entity.funds_code)


def _party(tx: Any, side: str, address: str, token: EvidenceToken, funds_code: str) -> None:
    contract = _checksum(token.address)
    party = _add(tx, f"t_{side}")
    _add(party, f"{side}_funds_code", funds_code)
    _add(party, f"{side}_funds_comment", f"{token.symbol or 'tokens'} of token contract "
                                         f"{contract} on EVM chain {token.chain_id}")
    account = _add(party, f"{side}_account")
    _add(account, "institution_name", f"{token.symbol or 'token'} token contract {contract} "
                                      f"on EVM chain {token.chain_id}")
    _add(account, "institution_code", contract)
    _add(account, "non_bank_institution", "true")
    _add(account, "branch", f"EVM chain {token.chain_id}")
    _add(account, "account", _checksum(address))
    if address == ZERO:
        _add(account, "comments", "The zero address: tokens minted from it or burned to it.")
    else:
        _add(account, "comments", f"EVM address on chain {token.chain_id}")
    _add(party, f"{side}_country", UNKNOWN)  # nothing on chain says where an address is


def _add(parent: Any, tag: str, text: object = None) -> Any:
    element = etree.SubElement(parent, tag)
    if text is not None:
        element.text = _NOT_XML.sub("\ufffd", str(text))
    return element


def _date(when: datetime) -> str:
    # sql_date is an xs:dateTime compared with a zone-less minimum: write UTC without a zone.
    moment = when if when.tzinfo else when.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


# --- the reason ---------------------------------------------------------------------------

def _reason(session: Session, case: Case) -> str:
    head = f"Case {case.id}: {case.title}"
    if case.narrative.strip():
        head += f"\n\n{case.narrative.strip()}"
    if len(head) > MAX_COMMENT:
        raise UserError(f"goAML report: reason: the case's title and narrative are {len(head)} "
                        f"characters, goAML allows {MAX_COMMENT}")
    patterns = _pattern_lines(session, case.id)
    reasons = _reason_lines(session, case.id)
    lines = ([""] + ["Patterns:"] + patterns if patterns else []) + (
        ["", "Rule reasons (current scores):"] + reasons if reasons else [])
    return _fit(head, lines)


def _fit(head: str, lines: list[str]) -> str:
    """head and as many whole lines as fit in MAX_COMMENT, then how many were left out."""
    text, kept = head, 0
    for line in lines:
        left = len(lines) - kept - 1
        note = f"\n… {left} more lines: see the case report." if left else ""
        if len(text) + 1 + len(line) + len(note) > MAX_COMMENT:
            break
        text += "\n" + line
        kept += 1
    if kept < len(lines):
        text += f"\n… {len(lines) - kept} more lines: see the case report."
    return text


def _pattern_lines(session: Session, case_id: int) -> list[str]:
    rows = session.execute(
        select(Pattern, Token).join(Token, Token.id == Pattern.token_id)
        .join(CasePattern, CasePattern.pattern_id == Pattern.id)
        .where(CasePattern.case_id == case_id).order_by(Pattern.id)
    ).all()
    return [f"- Pattern {p.id} ({p.typology}, score {p.score}, {p.status}) on "
            f"{_token_name(t)}: {p.title}; {p.member_count} members, {p.transfer_count} "
            f"transfers, {shown(int(p.total_value), t.decimals)} {t.symbol or 'units'} in "
            f"total, {iso(p.first_time)} to {iso(p.last_time)}."
            for p, t in rows]


def _reason_lines(session: Session, case_id: int) -> list[str]:
    """Every address of the case (linked, alerted, pattern members) per token, riskiest
    first, with its current reasons."""
    wanted: dict[int, set[str]] = {}
    for query in (
        select(Alert.token_id, Alert.address).join(CaseAlert, CaseAlert.alert_id == Alert.id)
        .where(CaseAlert.case_id == case_id),
        select(Pattern.token_id, PatternMember.address)
        .join(PatternMember, PatternMember.pattern_id == Pattern.id)
        .join(CasePattern, CasePattern.pattern_id == Pattern.id)
        .where(CasePattern.case_id == case_id),
        # A linked address names no token: every token that scored it.
        select(AddressScore.token_id, AddressScore.address).distinct()
        .join(CaseAddress, CaseAddress.address == AddressScore.address)
        .where(CaseAddress.case_id == case_id),
    ):
        for token_id, address in session.execute(query):
            wanted.setdefault(token_id, set()).add(address)
    tokens = {t.id: t for t in session.scalars(select(Token).where(Token.id.in_(wanted)))}
    scored = [(score, tokens[token_id])
              for token_id, addresses in sorted(wanted.items())
              for score in current_scores(session, token_id, sorted(addresses)).values()
              if score.reasons]
    scored.sort(key=lambda pair: (-pair[0].risk_score, pair[1].id, pair[0].address))
    lines = []
    for score, token in scored:
        lines.append(f"- {checksum(score.address)} on {_token_name(token)}: risk "
                     f"{score.risk_score} ({score.severity})")
        for reason in score.reasons:
            pattern = (f" [pattern {reason['pattern_id']}, {reason.get('role')}]"
                       if reason.get("pattern_id") is not None else "")
            lines.append(f"  - {reason['rule']} ({reason['score']}){pattern}: "
                         f"{reason.get('detail', '')}")
    return lines


def _token_name(token: Token) -> str:
    return f"{token.symbol or 'token'} {checksum(token.address)} (EVM chain {token.chain_id})"


# --- settings and prices ------------------------------------------------------------------

def _require(entity: ReportingEntity) -> None:
    for key in _REQUIRED:
        value: Any = entity
        for part in key.split("."):
            value = getattr(value, part)
        if value is None:
            variable = "AMLMON_REPORTING_ENTITY__" + key.replace(".", "__").upper()
            raise UserError(f"goAML report: reporting_entity.{key} is not configured "
                            f"(config file or {variable})")


def price_pairs(pairs: Iterable[str], option: str) -> dict[str, Decimal]:
    """Prices given at export as `TOKEN=PRICE` pairs (the CLI's --price, the API's price
    query); a malformed pair is a UserError naming `option` and the pair."""
    prices = {}
    for pair in pairs:
        token, _, value = pair.partition("=")
        try:
            address = parse_address(token)
        except ValueError as exc:
            raise UserError(f"{option} {pair!r}: {exc} (give TOKEN=PRICE)") from None
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite() or amount <= 0:
            raise UserError(f"{option} {pair!r}: the price must be a positive decimal number")
        prices[address] = amount
    return prices


def _given_prices(prices: Mapping[str, Any]) -> dict[str, Decimal]:
    """Prices given at export, checked like configured ones: never a float, finite, > 0."""
    checked = {}
    for key, value in prices.items():
        try:
            address = parse_address(str(key))
        except ValueError as exc:
            raise UserError(f"goAML report: price: {exc}") from None
        try:
            if isinstance(value, float):
                raise InvalidOperation  # a float has already lost the price's digits
            price = Decimal(value) if isinstance(value, Decimal | int) else Decimal(str(value))
        except (InvalidOperation, ValueError):
            price = Decimal("NaN")
        if not price.is_finite() or price <= 0:
            raise UserError(f"goAML report: price of token {key}: {value!r} is not a positive "
                            "decimal")
        checked[address] = price
    return checked


def _price(prices: Mapping[str, Decimal], token: EvidenceToken,
           entity: ReportingEntity) -> Decimal:
    if token.address not in prices:
        symbol = f"{token.symbol} " if token.symbol else ""
        raise UserError(
            f"goAML report: no price in {entity.currency_code_local} for token {symbol}"
            f"{_checksum(token.address)} (EVM chain {token.chain_id}): set "
            "reporting_entity.prices or give one at export")
    return prices[token.address]


# --- the schema ---------------------------------------------------------------------------

def _parser() -> Any:
    # Our own documents and a schema file we ship or are pointed at: still, never fetch or
    # expand anything.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@functools.lru_cache(maxsize=4)
def _schema(path: str) -> tuple[Any, threading.Lock]:
    """The parsed XSD, once per process and path (a failure is not cached)."""
    try:
        document = etree.parse(path, _parser())
    except OSError:
        raise UserError(f"goAML report: schema not found: {path} (set goaml_schema or "
                        "AMLMON_GOAML_SCHEMA)") from None
    except etree.XMLSyntaxError as exc:
        raise UserError(f"goAML report: schema {path} is not XML: {exc}") from None
    try:
        return etree.XMLSchema(document), threading.Lock()
    except etree.XMLSchemaParseError as exc:
        raise UserError(f"goAML report: schema {path} is not an XML schema: "
                        f"{str(exc).splitlines()[0]}") from None


def _setting_of(path: str | None) -> str:
    if not path:
        return ""
    plain = re.sub(r"\[\d+\]", "", path)
    if plain.startswith("/report/location/"):
        return f" (reporting_entity.location.{plain.rsplit('/', 1)[1]})"
    for element, key in _CONFIGURED.items():
        if plain.startswith(element) or plain.rsplit("/", 1)[-1] == element:
            return f" (reporting_entity.{key})"
    return ""
