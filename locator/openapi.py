"""The OpenAPI 3.1 description of /api/v1; tests/test_openapi.py holds the responses to it."""

from __future__ import annotations

from functools import cache

from .service import MAX_LIMIT, MAX_RADIUS_KM

_NULLABLE_STR = {"type": ["string", "null"]}


def _param(name: str, schema: dict, description: str, *, where: str = "query",
           required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required, "schema": schema,
            "description": description}


_LAT = {"type": "number", "minimum": -90, "maximum": 90, "description": "Latitude (WGS84)."}
_LON = {"type": "number", "minimum": -180, "maximum": 180, "description": "Longitude (WGS84)."}
_POSTCODE = {"type": "string", "pattern": r"^[0-9]{5}$", "description": "German postcode."}
_Q = {"type": "string", "minLength": 1, "maxLength": 200,
      "description": "Postcode or place name, e.g. 'Neustadt bei Coburg', 'Garmisch'. A name "
                     "shared by places of similar standing in different districts "
                     "('Pfaffenhofen') is not resolved to one: the answer lists them in "
                     "origin.alternatives."}


def _origin_form(title: str, **properties: dict) -> dict:
    return {"title": title, "type": "object", "properties": properties,
            "required": list(properties), "additionalProperties": False}


# A search takes exactly one origin: lat and lon, or postcode, or q. One exploded form
# parameter (OpenAPI 3.1 §4.8.12.4: each property is its own query parameter, lat=…&lon=…)
# whose schema is a oneOf of the three forms says so in a way clients and schemathesis read;
# two origins, or none, are answered 400.
ORIGIN_PARAMS = [{
    "name": "origin", "in": "query", "required": True, "style": "form", "explode": True,
    "description": "Exactly one origin: lat and lon (WGS84), or postcode, or q (postcode or "
                   "place name). Each is its own query parameter: ?lat=49.3&lon=10.6, "
                   "?postcode=96450, ?q=Coburg.",
    "schema": {"oneOf": [_origin_form("coordinates", lat=_LAT, lon=_LON),
                         _origin_form("postcode", postcode=_POSTCODE),
                         _origin_form("place", q=_Q)]},
}]

SCHEMAS: dict[str, dict] = {
    "Problem": {
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"}, "title": {"type": "string"},
            "status": {"type": "integer"}, "detail": {"type": "string"},
            "instance": {"type": "string"}, "parameter": {"type": "string"},
        },
    },
    "OfficeProperties": {
        "type": "object",
        "required": ["id", "name", "district_ags", "district_name", "district_type",
                     "regierungsbezirk", "lat", "lon", "location_precision", "opening_hours",
                     "contact_level", "sources", "checked_on", "opening_hours_week",
                     "opening_hours_exceptions"],
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "district_ags": {"type": "string", "pattern": r"^09\d{3}$"},
            "district_name": {"type": "string"},
            "district_type": {"enum": ["Landkreis", "kreisfreie Stadt"]},
            "regierungsbezirk": {"type": "string"},
            "street": _NULLABLE_STR, "postcode": _NULLABLE_STR, "city": _NULLABLE_STR,
            "phone": _NULLABLE_STR, "email": _NULLABLE_STR, "website": _NULLABLE_STR,
            "phone_uri": {"type": ["string", "null"], "pattern": r"^tel:\+\d+$",
                          "description": "The phone as a tel: URI (E.164)."},
            "opening_hours": {"type": ["string", "null"],
                              "description": "OpenStreetMap opening_hours syntax, e.g. "
                                             "'Mo-Th 08:00-12:00; PH off'."},
            "opening_hours_week": {
                "type": ["array", "null"], "minItems": 7, "maxItems": 7,
                "description": "The regular week, Monday first: per day the open intervals "
                               "[from, to] (local time, 'HH:MM', '24:00' ends a day). Null "
                               "when no hours are known or they keep no weekly rhythm.",
                "items": {"type": "array", "items": {
                    "type": "array", "minItems": 2, "maxItems": 2,
                    "items": {"type": "string", "pattern": r"^([01]\d|2[0-4]):[0-5]\d$"}}}},
            "opening_hours_exceptions": {
                "type": "array", "items": {"type": "string", "format": "date"},
                "description": "Dates in the coming year on which the regular week does not "
                               "apply (public holidays, seasonal rules)."},
            "contact_level": {"enum": ["koki", "jugendamt", "verwaltung", None],
                              "description": "Whose contact this is: the KoKi's own, the "
                                             "Jugendamt's, or the administration's general."},
            "sources": {"type": "array", "items": {"type": "string", "format": "uri"},
                        "description": "Where the contact facts were read (empty: none)."},
            "checked_on": {"type": ["string", "null"], "format": "date",
                           "description": "The date the source shows, or when it was read."},
            "lat": {"type": "number"}, "lon": {"type": "number"},
            "location_precision": {"enum": ["address", "street", "postcode", "place"]},
            "distance_km": {"type": "number", "minimum": 0,
                            "description": "Projected distance (ETRS89 / UTM 32N) in km."},
            "responsible": {"type": "boolean",
                            "description": "The office's district is responsible for the origin."},
        },
    },
    "Office": {
        "type": "object",
        "required": ["type", "id", "geometry", "properties"],
        "properties": {
            "type": {"const": "Feature"},
            "id": {"type": "string"},
            "geometry": {
                "type": "object", "required": ["type", "coordinates"],
                "properties": {
                    "type": {"const": "Point"},
                    "coordinates": {"type": "array", "items": {"type": "number"},
                                    "minItems": 2, "maxItems": 2,
                                    "description": "[lon, lat] (RFC 7946)."},
                },
            },
            "properties": {"$ref": "#/components/schemas/OfficeProperties"},
        },
    },
    "OfficeCollection": {
        "type": "object",
        "required": ["type", "features"],
        "properties": {
            "type": {"const": "FeatureCollection"},
            "features": {"type": "array", "items": {"$ref": "#/components/schemas/Office"}},
        },
    },
    "District": {
        "type": "object", "required": ["ags", "name"],
        "properties": {"ags": {"type": "string"}, "name": {"type": "string"}},
    },
    "Origin": {
        "type": "object",
        "required": ["lat", "lon", "resolved_by", "precision", "label", "postcode"],
        "properties": {
            "lat": {"type": "number"}, "lon": {"type": "number"},
            "resolved_by": {"enum": ["coordinates", "postcode", "place"]},
            "precision": {"enum": ["coordinates", "postcode", "place"]},
            "label": _NULLABLE_STR, "postcode": _NULLABLE_STR,
            "alternatives": {
                "type": "array", "minItems": 2,
                "items": {"$ref": "#/components/schemas/Alternative"},
                "description": (
                    "Only when q names places of similar standing in different districts "
                    "(none has five times the inhabitants of each other): all of them, best "
                    "first (Bavarian, kreisfreie Stadt or Kreisstadt, population). lat/lon "
                    "and label of the origin are the first one's; responsible covers all "
                    "their districts with ambiguous: true. Search again with one's label as "
                    "q to get that place alone."),
            },
        },
    },
    "Alternative": {
        "type": "object",
        "required": ["label", "name", "district_ags", "district_name", "postcode", "lat",
                     "lon"],
        "properties": {
            "label": {"type": "string",
                      "description": "'85276 Pfaffenhofen an der Ilm': as q, this place alone."},
            "name": {"type": "string"}, "district_ags": _NULLABLE_STR,
            "district_name": _NULLABLE_STR, "postcode": _NULLABLE_STR,
            "lat": {"type": "number"}, "lon": {"type": "number"},
        },
    },
    "Responsibility": {
        "type": "object",
        "required": ["in_bavaria", "ambiguous", "districts", "offices"],
        "properties": {
            "in_bavaria": {"type": "boolean"},
            "ambiguous": {"type": "boolean",
                          "description": "The origin spans several districts: a postcode "
                                         "that does, or a place name with alternatives."},
            "districts": {"type": "array", "items": {"$ref": "#/components/schemas/District"}},
            "offices": {"$ref": "#/components/schemas/OfficeCollection"},
        },
    },
    "Search": {
        "allOf": [
            {"$ref": "#/components/schemas/OfficeCollection"},
            {"type": "object", "required": ["origin", "responsible"],
             "properties": {
                 "origin": {"$ref": "#/components/schemas/Origin"},
                 "responsible": {"$ref": "#/components/schemas/Responsibility"},
                 "limit": {"type": "integer"}, "radius_km": {"type": "number"},
             }},
        ],
    },
    "Place": {
        "type": "object",
        "required": ["name", "district_ags", "district_name", "in_bavaria", "lat", "lon"],
        "properties": {
            "name": {"type": "string"}, "district_ags": _NULLABLE_STR,
            "district_name": _NULLABLE_STR, "in_bavaria": {"type": "boolean"},
            "lat": {"type": "number"}, "lon": {"type": "number"},
        },
    },
    "Suggestion": {
        "allOf": [
            {"$ref": "#/components/schemas/Place"},
            {"type": "object", "required": ["kind", "label", "postcode"],
             "properties": {"kind": {"enum": ["postcode", "place"]}, "label": {"type": "string"},
                            "postcode": _NULLABLE_STR}},
        ],
    },
}


def _ok(schema: str, media: str = "application/json", description: str = "OK") -> dict:
    return {"description": description,
            "content": {media: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _problems(*codes: int) -> dict:
    text = {400: "Malformed or out-of-range parameter, a parameter given twice, or more than 20",
            404: "Unknown postcode, place or office"}
    return {str(c): {"description": text[c], "content": {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        for c in codes}


@cache
def openapi_document() -> dict:
    """The API description as a dict (served at /api/v1/openapi.json)."""
    geo = "application/geo+json"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "KoKi-Locator API",
            "version": "1.0.0",
            "description": (
                "Find the Bavarian KoKi – Netzwerk frühe Kindheit offices near a position, "
                "postcode or place, and the office responsible for it. Coordinates are WGS84 "
                "(lat, lon); distances are projected in ETRS89 / UTM 32N (EPSG:25832). "
                "Queries are personal data: they are neither logged nor stored."
            ),
            "license": {"name": "Data: GeoNames postal codes, CC BY 4.0"},
        },
        "servers": [{"url": "/"}],
        "paths": {
            "/api/v1/offices": {"get": {
                "summary": "All offices",
                "description": "Cacheable: carries an ETag and answers If-None-Match with 304.",
                "responses": {"200": _ok("OfficeCollection", geo),
                              "304": {"description": "Not modified"}},
            }},
            "/api/v1/offices/{office_id}": {"get": {
                "summary": "One office",
                "parameters": [_param("office_id", {"type": "string"}, "Office id.",
                                      where="path", required=True)],
                "responses": {"200": _ok("Office", geo), **_problems(404)},
            }},
            "/api/v1/offices/nearest": {"get": {
                "summary": "Nearest offices to an origin",
                "parameters": [*ORIGIN_PARAMS, _param(
                    "limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                              "default": 5}, "How many offices.")],
                "responses": {"200": _ok("Search", geo), **_problems(400, 404)},
            }},
            "/api/v1/offices/within": {"get": {
                "summary": "All offices within a radius of an origin, nearest first",
                "parameters": [*ORIGIN_PARAMS, _param(
                    "radius_km", {"type": "number", "exclusiveMinimum": 0,
                                  "maximum": MAX_RADIUS_KM}, "Radius in km.", required=True)],
                "responses": {"200": _ok("Search", geo), **_problems(400, 404)},
            }},
            "/api/v1/responsible": {"get": {
                "summary": "Districts and offices responsible for an origin",
                "parameters": ORIGIN_PARAMS,
                "responses": {"200": {"description": "OK", "content": {"application/json": {
                    "schema": {"allOf": [
                        {"$ref": "#/components/schemas/Responsibility"},
                        {"type": "object", "required": ["origin"], "properties": {
                            "origin": {"$ref": "#/components/schemas/Origin"}}},
                    ]}}}}, **_problems(400, 404)},
            }},
            "/api/v1/postcodes/{postcode}": {"get": {
                "summary": "A postcode's point, places and districts",
                "parameters": [_param("postcode", {"type": "string", "pattern": r"^[0-9]{5}$"},
                                      "German postcode.", where="path", required=True)],
                "responses": {"200": {"description": "OK", "content": {"application/json": {
                    "schema": {"type": "object",
                               "required": ["postcode", "lat", "lon", "in_bavaria", "places",
                                            "districts"],
                               "properties": {
                                   "postcode": {"type": "string"},
                                   "lat": {"type": "number"}, "lon": {"type": "number"},
                                   "in_bavaria": {"type": "boolean"},
                                   "places": {"type": "array",
                                              "items": {"$ref": "#/components/schemas/Place"}},
                                   "districts": {"type": "array", "items": {
                                       "$ref": "#/components/schemas/District"}},
                               }}}}}, **_problems(400, 404)},
            }},
            "/api/v1/places": {"get": {
                "summary": "Suggestions for a postcode or place-name prefix",
                "parameters": [
                    _param("q", {"type": "string", "minLength": 1, "maxLength": 100},
                           "Start of a postcode or place name; accent- and case-insensitive.",
                           required=True),
                    _param("limit", {"type": "integer", "minimum": 1, "maximum": 10,
                                     "default": 10}, "How many suggestions."),
                ],
                "responses": {"200": {"description": "OK", "content": {"application/json": {
                    "schema": {"type": "object", "required": ["suggestions"], "properties": {
                        "suggestions": {"type": "array", "maxItems": 10, "items": {
                            "$ref": "#/components/schemas/Suggestion"}}}}}}},
                    **_problems(400)},
            }},
            "/healthz": {"get": {
                "summary": "Liveness, office count and data version",
                "responses": {"200": {"description": "OK", "content": {"application/json": {
                    "schema": {"type": "object",
                               "required": ["status", "offices", "data_version"],
                               "properties": {"status": {"const": "ok"},
                                              "offices": {"type": "integer"},
                                              "data_version": {"type": "string"},
                                              "district_areas": {"type": "string"}}}}}}},
            }},
        },
        "components": {"schemas": SCHEMAS},
    }
