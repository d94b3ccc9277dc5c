"""``sdn-advanced-xml``: OFAC's ``SDN_ADVANCED.XML``, whose ``DistinctParty`` profiles carry
``Feature``s whose types are resolved through ``ReferenceValueSets``."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from monitor.watchlist.parsers.base import (
    Collector,
    ListFormat,
    ListFormatError,
    ParsedList,
    currency_of,
    is_evm_claim,
)
from monitor.watchlist.parsers.xmltree import (
    child_named,
    children_named,
    descendants_named,
    finished,
    local_name,
    text_of,
)


@dataclass
class _Party:
    ref: str
    profile_id: str | None
    name_parts: list[tuple[str, str]]  # (NamePartTypeID, value), primary alias, in order
    party_type_id: str | None
    features: list[tuple[str, str]]  # (FeatureTypeID, VersionDetail text)


def parse_sdn_advanced_xml(path: Path) -> ParsedList:
    feature_types: dict[str, str] = {}  # FeatureType ID → text
    sanctions_types: dict[str, str] = {}  # SanctionsType ID → text
    party_subtypes: dict[str, tuple[str, str]] = {}  # PartySubType ID → (text, PartyTypeID)
    party_types: dict[str, str] = {}  # PartyType ID → text ("Individual", "Entity", …)
    name_part_types: dict[str, str] = {}  # NamePartType ID → text ("Last Name", …)
    parties: list[_Party] = []
    measures: dict[str, list[tuple[str, str]]] = {}  # ProfileID → [(SanctionsTypeID, text)]
    seen_parties = False
    for element, parent in finished(path):
        name = local_name(element.tag)
        if name == "FeatureType":
            feature_types[element.get("ID", "")] = (element.text or "").strip()
        elif name == "SanctionsType":
            sanctions_types[element.get("ID", "")] = (element.text or "").strip()
        elif name == "PartySubType":
            party_subtypes[element.get("ID", "")] = (
                (element.text or "").strip(),
                element.get("PartyTypeID", ""),
            )
        elif name == "PartyType":
            party_types[element.get("ID", "")] = (element.text or "").strip()
        elif name == "NamePartType":
            name_part_types[element.get("ID", "")] = (element.text or "").strip()
        elif name == "DistinctParty" and parent is not None:
            seen_parties = True
            party = _distinct_party(element, feature_types)
            if party.features:
                parties.append(party)
            parent.clear()
        elif name == "SanctionsEntry" and parent is not None:
            profile = element.get("ProfileID")
            if profile:
                for measure in children_named(element, "SanctionsMeasure"):
                    comment = text_of(child_named(measure, "Comment"))
                    if comment:
                        measures.setdefault(profile, []).append(
                            (measure.get("SanctionsTypeID", ""), comment)
                        )
            parent.clear()
        elif name in ("Locations", "IDRegDocuments", "ProfileRelationships") and (
            parent is not None
        ):
            parent.remove(element)
    if not seen_parties:
        raise ListFormatError(
            f"{path}: not an OFAC SDN_ADVANCED.XML file (no DistinctParty elements)"
        )
    collector = Collector()
    for party in parties:
        programs = [
            text
            for type_id, text in measures.get(party.profile_id or "", [])
            if sanctions_types.get(type_id, "").lower() == "program"
        ]
        for type_id, value in party.features:
            currency = currency_of(feature_types.get(type_id))
            if currency is None or not is_evm_claim(currency, value):
                continue
            subtype, kind = party_subtypes.get(party.party_type_id or "", ("", ""))
            party_type = party_types.get(kind) if subtype in ("", "Unknown") else subtype
            collector.add_ofac(value, f"{path}: DistinctParty FixedRef {party.ref}", party.ref,
                               currency, party_type, _party_name(party.name_parts,
                                                                 name_part_types),
                               "; ".join(dict.fromkeys(programs)) or None)
    return ParsedList(path, ListFormat.sdn_advanced_xml, collector.entries(), collector.warnings)


def _distinct_party(element: ET.Element, feature_types: dict[str, str]) -> _Party:
    ref = element.get("FixedRef") or "?"
    profile = child_named(element, "Profile")
    if profile is None:
        return _Party(ref, None, [], None, [])
    features: list[tuple[str, str]] = []
    for feature in descendants_named(profile, "Feature"):
        type_id = feature.get("FeatureTypeID", "")
        # With the reference values already read (the published order), keep only
        # digital-currency features; otherwise keep all and resolve at the end.
        if feature_types and currency_of(feature_types.get(type_id)) is None:
            continue
        for detail in descendants_named(feature, "VersionDetail"):
            value = text_of(detail)
            if value:
                features.append((type_id, value))
    return _Party(
        ref,
        profile.get("ID"),
        _primary_name_parts(profile),
        profile.get("PartySubTypeID"),
        features,
    )


def _primary_name_parts(profile: ET.Element) -> list[tuple[str, str]]:
    """The primary alias's first documented name, as (NamePartTypeID, value) pairs."""
    group_types = {
        group.get("ID", ""): group.get("NamePartTypeID", "")
        for group in descendants_named(profile, "NamePartGroup")
    }
    aliases = list(descendants_named(profile, "Alias"))
    aliases.sort(key=lambda a: a.get("Primary", "").lower() != "true")
    for alias in aliases:
        for documented in descendants_named(alias, "DocumentedName"):
            parts = [
                (group_types.get(v.get("NamePartGroupID", ""), ""), text_of(v))
                for v in descendants_named(documented, "NamePartValue")
            ]
            found = [(type_id, value) for type_id, value in parts if value]
            if found:
                return found
    return []


def _party_name(parts: list[tuple[str, str]], part_types: dict[str, str]) -> str | None:
    """``LAST, First Middle`` for people (as sdn.csv writes it), the name as-is otherwise."""
    last = [v for t, v in parts if part_types.get(t, "").lower() == "last name"]
    rest = [v for t, v in parts if part_types.get(t, "").lower() != "last name"]
    if last and rest:
        return f"{' '.join(last)}, {' '.join(rest)}"
    return " ".join(v for _t, v in parts) or None
