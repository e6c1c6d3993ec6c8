"""Fuzzing against our own OpenAPI document (schemathesis): no 5xx, every answer as documented.

schemathesis generates valid and invalid queries for every operation of the document the app
serves at /api/v1/openapi.json, and calls the WSGI app in process (the same code gunicorn
serves) with the real data. Every response must be no server error and must match the
document's status codes, content types and schemas.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from locator.openapi import openapi_document

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]

# The document is a pure function of the code (no data): reading it here loads nothing.
schema = schemathesis.openapi.from_dict(openapi_document())
# Valid queries (must answer 200 or a documented 404) and invalid ones (must answer a
# documented 400), never a 5xx; deterministic, so a run is repeatable.
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
    deterministic=True,
)


@pytest.fixture(scope="module")
def fuzz_app(state):
    from locator import create_app

    return create_app({"TESTING": False, "LOCATOR_STATE": state})


def test_the_fuzzed_document_is_the_served_one(fuzz_app):
    served = fuzz_app.test_client().get("/api/v1/openapi.json")
    assert served.status_code == 200
    assert json.loads(served.data) == json.loads(json.dumps(openapi_document()))


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case, fuzz_app):
    # Called in process, an answer is not decompressed as an HTTP client would: ask for none
    # (compression itself is tested in test_widget_delivery.py).
    case.call_and_validate(app=fuzz_app, checks=CHECKS, headers={"Accept-Encoding": "identity"})


SEARCHES = ["/api/v1/offices/nearest", "/api/v1/offices/within", "/api/v1/responsible"]


@pytest.mark.slow
@pytest.mark.parametrize("path", SEARCHES)
def test_valid_searches_are_answered_not_refused(path, fuzz_app):
    """The document says a search takes exactly one origin (a oneOf of the three forms), so
    schemathesis' valid queries are queries the app accepts: many must be answered 200 (a
    random postcode or place is mostly unknown: 404), none is a 5xx, and the only 400 is a
    position on the far side of the globe, which has no planar distance (service.py)."""
    operation = schema[path]["GET"]
    statuses: Counter[int] = Counter()
    forms: Counter[str] = Counter()
    refused: list[str] = []

    @given(case=operation.as_strategy(schemathesis.GenerationMode.POSITIVE))
    @settings(max_examples=100, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case) -> None:
        response = case.call(app=fuzz_app, headers={"Accept-Encoding": "identity"})
        case.validate_response(response, checks=CHECKS)
        statuses[response.status_code] += 1
        if response.status_code == 400:
            refused.append(response.json()["detail"])
        forms[next(k for k in ("lat", "postcode", "q") if k in (case.query or {}))] += 1

    run()
    assert statuses[200] >= 25, (statuses, forms)
    assert set(statuses) <= {200, 400, 404}, (statuses, forms)
    assert all("too far from Bavaria" in detail for detail in refused), refused
    assert all(forms[k] >= 5 for k in ("lat", "postcode", "q")), forms  # all three forms
