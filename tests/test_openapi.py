"""The OpenAPI document matches the app: its paths exist, and real answers fit its schemas."""

from __future__ import annotations

import jsonschema
import pytest

from locator.openapi import openapi_document

DOC = openapi_document()


def schema_of(path: str, status: int, media: str) -> dict:
    response = DOC["paths"][path]["get"]["responses"][str(status)]
    schema = response["content"][media]["schema"]
    # The components travel along so that "#/components/..." references resolve.
    return {**schema, "components": DOC["components"]}


def test_document_is_valid_openapi_shape(client):
    served = client.get("/api/v1/openapi.json").get_json()
    assert served == DOC
    assert served["openapi"].startswith("3.1")
    for schema in DOC["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_every_api_route_is_documented_and_every_documented_path_exists(app):
    routes = {
        rule.rule.replace("<", "{").replace(">", "}")
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") or rule.rule == "/healthz"
    } - {"/api/v1/openapi.json", "/api/v1/docs"}
    assert routes == set(DOC["paths"])


CASES = [
    ("/api/v1/offices", "/api/v1/offices", 200, "application/geo+json"),
    ("/api/v1/offices/stadt-hof", "/api/v1/offices/{office_id}", 200, "application/geo+json"),
    ("/api/v1/offices/nope", "/api/v1/offices/{office_id}", 404, "application/problem+json"),
    ("/api/v1/offices/nearest?lat=47.5459&lon=9.684&limit=3", "/api/v1/offices/nearest", 200,
     "application/geo+json"),
    ("/api/v1/offices/nearest?q=Lindau", "/api/v1/offices/nearest", 200, "application/geo+json"),
    ("/api/v1/offices/nearest?limit=0&postcode=88131", "/api/v1/offices/nearest", 400,
     "application/problem+json"),
    ("/api/v1/offices/within?postcode=95028&radius_km=40", "/api/v1/offices/within", 200,
     "application/geo+json"),
    ("/api/v1/offices/within?postcode=00000&radius_km=40", "/api/v1/offices/within", 404,
     "application/problem+json"),
    ("/api/v1/responsible?postcode=84032", "/api/v1/responsible", 200, "application/json"),
    # A name of several places: origin.alternatives (issue 10).
    ("/api/v1/responsible?q=Pfaffenhofen", "/api/v1/responsible", 200, "application/json"),
    ("/api/v1/offices/within?q=Neustadt&radius_km=30", "/api/v1/offices/within", 200,
     "application/geo+json"),
    ("/api/v1/responsible?lat=48.5667&lon=13.4319", "/api/v1/responsible", 200,
     "application/json"),
    ("/api/v1/responsible?lat=x&lon=1", "/api/v1/responsible", 400, "application/problem+json"),
    ("/api/v1/postcodes/87491", "/api/v1/postcodes/{postcode}", 200, "application/json"),
    ("/api/v1/postcodes/9", "/api/v1/postcodes/{postcode}", 400, "application/problem+json"),
    ("/api/v1/places?q=Hof", "/api/v1/places", 200, "application/json"),
    ("/api/v1/places?q=87", "/api/v1/places", 200, "application/json"),
    ("/api/v1/places", "/api/v1/places", 400, "application/problem+json"),
    ("/healthz", "/healthz", 200, "application/json"),
]


@pytest.mark.parametrize(("url", "path", "status", "media"), CASES)
def test_answers_fit_the_document(client, url, path, status, media):
    r = client.get(url)
    assert r.status_code == status
    assert r.mimetype == media
    jsonschema.validate(r.get_json(), schema_of(path, status, media),
                        cls=jsonschema.Draft202012Validator)


def test_alternatives_schema_is_not_vacuous(client):
    body = client.get("/api/v1/responsible?q=Kirchdorf").get_json()
    del body["origin"]["alternatives"][0]["label"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(body, schema_of("/api/v1/responsible", 200, "application/json"),
                            cls=jsonschema.Draft202012Validator)


def test_schema_check_is_not_vacuous():
    broken = {"type": "FeatureCollection", "features": [{"type": "Feature", "id": "x"}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema_of("/api/v1/offices", 200, "application/geo+json"),
                            cls=jsonschema.Draft202012Validator)
