"""Fuzzing against our own OpenAPI document (schemathesis): no 5xx, every answer as documented.

schemathesis generates valid and invalid queries for every operation of the document the app
serves at /api/v1/openapi.json, and calls the WSGI app in process (the same code gunicorn
serves) with the real data. Every response must be no server error and must match the
document's status codes, content types and schemas.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
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
