"""Property-based fuzzing of the API from its own OpenAPI schema (schemathesis): whatever
the generated parameters and bodies, no response is a 5xx, and every response matches the
schema the API documents for it (errors included).

Cases come from schemathesis' Hypothesis strategies and are sent to the real server over
HTTP. (schemathesis' own pytest plugin does not run under pytest 9, so the operations are
parametrised here from the app's schema, which needs no database to build.)
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from monitor.api.app import create_app
from monitor.settings import Settings

DOCUMENT = create_app(Settings(database_url="sqlite://", rules_file=None), None).openapi()  # type: ignore[arg-type]
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


def _takes_input(operation: Any) -> bool:
    spec = DOCUMENT["paths"][operation.path][operation.method.lower()]
    return bool(spec.get("parameters") or spec.get("requestBody"))


CASES = [
    pytest.param(op, mode, id=f"{op.label}-{mode.value}")
    for op in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or _takes_input(op)  # nothing to break without input
]


@pytest.mark.parametrize(("operation", "mode"), CASES)
def test_no_input_makes_a_server_error(operation: Any, mode: GenerationMode, api: Any) -> None:
    """Valid inputs (by the schema) and deliberately invalid ones."""
    headers = {"X-API-Key": api.keys["admin"]}  # reaches every handler; auth has its own tests
    statuses: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=60, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        response = case.call_and_validate(
            base_url=api.base, headers=headers,
            checks=[not_a_server_error, response_schema_conformance], timeout=60)
        statuses.append(response.status_code)

    check()
    assert statuses, "no case was sent"
    if mode is GenerationMode.NEGATIVE:
        assert any(400 <= s < 500 for s in statuses), statuses
