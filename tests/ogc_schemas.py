"""JSON Schemas of the OGC API – Features responses, one per requirement, for jsonschema.

Written here from the requirements of OGC 17-069r4 (Part 1: Core 1.0, requirement classes
core, geojson, oas30), OGC 18-058 (Part 2: CRS by reference) and OGC 19-079r2 (Part 3:
queryables): the response documents' required members and types, as the standard's OpenAPI
components (``ogcapi-features-1-oas31.yaml``: landingPage, confClasses, collections,
collection, extent, link, featureCollectionGeoJSON, featureGeoJSON, the GeoJSON geometries,
numberMatched, numberReturned, timeStamp) state them. The link relations each document must
carry are checked by the tests (``tests/test_ogc.py``), not by these schemas.
"""

from __future__ import annotations

from jsonschema import Draft202012Validator, FormatChecker

_NUMBERS = {"type": "array", "items": {"type": "number"}}
_POSITION = {**_NUMBERS, "minItems": 2}
_RING = {"type": "array", "minItems": 4, "items": _POSITION}

DEFS = {
    "link": {"type": "object", "required": ["href", "rel"], "properties": {
        "href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"},
        "hreflang": {"type": "string"}, "title": {"type": "string"},
        "length": {"type": "integer"}}},
    "links": {"type": "array", "items": {"$ref": "#/$defs/link"}},
    "bbox": {"type": "array", "items": {"type": "number"},
             "oneOf": [{"minItems": 4, "maxItems": 4}, {"minItems": 6, "maxItems": 6}]},
    "extent": {"type": "object", "properties": {
        "spatial": {"type": "object", "properties": {
            "bbox": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/bbox"}},
            "crs": {"const": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}}},
        "temporal": {"type": "object"}}},
    "collection": {"type": "object", "required": ["id", "links"], "properties": {
        "id": {"type": "string"}, "title": {"type": "string"},
        "description": {"type": "string"}, "links": {"$ref": "#/$defs/links"},
        "extent": {"$ref": "#/$defs/extent"}, "itemType": {"type": "string"},
        # Part 2: the CRSs offered, and the one the data is stored in.
        "crs": {"type": "array", "minItems": 1, "items": {"type": "string", "format": "uri"}},
        "storageCrs": {"type": "string", "format": "uri"}}},
    "geometry": {"oneOf": [
        {"type": "object", "required": ["type", "coordinates"], "properties": {
            "type": {"const": "Point"}, "coordinates": _POSITION}},
        {"type": "object", "required": ["type", "coordinates"], "properties": {
            "type": {"const": "Polygon"}, "coordinates": {"type": "array", "items": _RING}}},
        {"type": "object", "required": ["type", "coordinates"], "properties": {
            "type": {"const": "MultiPolygon"},
            "coordinates": {"type": "array", "items": {"type": "array", "items": _RING}}}},
    ]},
    "feature": {"type": "object", "required": ["type", "geometry", "properties"],
                "properties": {
                    "type": {"const": "Feature"},
                    "geometry": {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/geometry"}]},
                    "properties": {"type": ["object", "null"]},
                    "id": {"type": ["string", "integer"]},
                    "links": {"$ref": "#/$defs/links"}}},
}

SCHEMAS = {
    # /req/core/root-success
    "landing": {"type": "object", "required": ["links"], "properties": {
        "title": {"type": "string"}, "description": {"type": "string"},
        "links": {"$ref": "#/$defs/links"}}},
    # /req/core/conformance-success
    "conformance": {"type": "object", "required": ["conformsTo"], "properties": {
        "conformsTo": {"type": "array", "items": {"type": "string", "format": "uri"}}}},
    # /req/core/fc-md-success
    "collections": {"type": "object", "required": ["links", "collections"], "properties": {
        "links": {"$ref": "#/$defs/links"},
        "collections": {"type": "array", "items": {"$ref": "#/$defs/collection"}}}},
    # /req/core/sfc-md-success
    "collection": {"$ref": "#/$defs/collection"},
    # /req/geojson/content: items
    "items": {"type": "object", "required": ["type", "features"], "properties": {
        "type": {"const": "FeatureCollection"},
        "features": {"type": "array", "items": {"$ref": "#/$defs/feature"}},
        "links": {"$ref": "#/$defs/links"},
        "timeStamp": {"type": "string", "format": "date-time"},
        "numberMatched": {"type": "integer", "minimum": 0},
        "numberReturned": {"type": "integer", "minimum": 0}}},
    # /req/geojson/content: a feature
    "item": {"$ref": "#/$defs/feature"},
    # Part 3 /req/queryables/get-queryables-response: a JSON Schema of an object
    "queryables": {"type": "object", "required": ["type", "properties"], "properties": {
        "$schema": {"const": "https://json-schema.org/draft/2020-12/schema"},
        "$id": {"type": "string", "format": "uri"},
        "type": {"const": "object"},
        "properties": {"type": "object", "additionalProperties": {"type": "object"}}}},
    # /req/oas30/oas-definition-2: an OpenAPI 3.0 document
    "openapi": {"type": "object", "required": ["openapi", "info", "paths"], "properties": {
        "openapi": {"type": "string", "pattern": r"^3\.0\.\d+$"},
        "info": {"type": "object", "required": ["title", "version"]},
        "paths": {"type": "object", "minProperties": 1}}},
}


def validator(kind: str) -> Draft202012Validator:
    """A validator of one response kind (``SCHEMAS``' keys), with formats checked."""
    return Draft202012Validator({**SCHEMAS[kind], "$defs": DEFS}, format_checker=FormatChecker())
