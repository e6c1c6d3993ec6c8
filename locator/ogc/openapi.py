"""The OpenAPI 3.0 document of /ogc (requirement class oas30): every path, with its limits."""

from __future__ import annotations

from .collections import CRS84, CRSS, QUERYABLES, Collection
from .query import DEFAULT_LIMIT, MAX_LIMIT


def _param(name: str, schema: dict, description: str, *, where: str = "query") -> dict:
    return {"name": name, "in": where, "required": where == "path", "schema": schema,
            "description": description, **({"style": "form", "explode": False}
                                           if where == "query" else {})}


F = _param("f", {"type": "string", "enum": ["json", "html"]},
           "Format of the answer; without it the Accept header decides (JSON by default).")
LIMIT = _param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                         "default": DEFAULT_LIMIT},
               f"Features per page: default {DEFAULT_LIMIT}, at most {MAX_LIMIT} (a larger "
               "value gives the maximum).")
OFFSET = _param("offset", {"type": "integer", "minimum": 0, "default": 0},
                "Number of matching features to skip (the next link carries it).")
BBOX = _param("bbox", {"type": "array", "minItems": 4, "maxItems": 6,
                       "items": {"type": "number"}},
              "Only features whose geometry intersects the box: minx,miny,maxx,maxy in "
              "bbox-crs (default CRS84 longitude/latitude).")
BBOX_CRS = _param("bbox-crs", {"type": "string", "format": "uri", "enum": list(CRSS),
                               "default": CRS84}, "CRS of bbox (Part 2).")
CRS = _param("crs", {"type": "string", "format": "uri", "enum": list(CRSS), "default": CRS84},
             "CRS of the geometries in the answer (Part 2); the Content-Crs header names it.")
DATETIME = _param("datetime", {"type": "string"},
                  "Accepted for conformance; the features have no time, so all match.")
FILTERS = [_param(name, {"type": "string"}, description)
           for name, description in QUERYABLES.items()]


def _get(summary: str, operation_id: str, parameters: list[dict], media_types: tuple[str, ...],
         *, not_found: bool = False) -> dict:
    responses = {
        "200": {"description": summary,
                "content": {m: {"schema": {"type": "string"} if m == "text/html"
                                else {"type": "object"}} for m in media_types}},
        "400": {"$ref": "#/components/responses/Problem"},
    }
    if not_found:
        responses["404"] = {"$ref": "#/components/responses/Problem"}
    return {"get": {"summary": summary, "operationId": operation_id, "parameters": parameters,
                    "responses": responses}}


def openapi_document(prefix: str, collections: dict[str, Collection]) -> dict:
    """The document for the API under ``prefix`` (e.g. http://host/ogc)."""
    json_html = ("application/json", "text/html")
    paths = {
        "/": _get("Landing page", "getLandingPage", [F], json_html),
        "/conformance": _get("Conformance classes", "getConformance", [F], json_html),
        "/api": _get("This document", "getApi", [F],
                     ("application/vnd.oai.openapi+json;version=3.0", "text/html")),
        "/collections": _get("The feature collections", "getCollections", [F], json_html),
    }
    for c in collections.values():
        base = f"/collections/{c.id}"
        paths[base] = _get(c.title, f"describe-{c.id}", [F], json_html)
        paths[f"{base}/queryables"] = _get(f"Queryables of {c.id}", f"queryables-{c.id}", [F],
                                           ("application/schema+json", "text/html"))
        paths[f"{base}/items"] = _get(
            f"Features of {c.id}", f"items-{c.id}",
            [F, LIMIT, OFFSET, BBOX, BBOX_CRS, CRS, DATETIME, *FILTERS],
            ("application/geo+json", "text/html"))
        paths[f"{base}/items/{{featureId}}"] = _get(
            f"One feature of {c.id}", f"item-{c.id}",
            [_param("featureId", {"type": "string"}, "The feature's id.", where="path"), F, CRS],
            ("application/geo+json", "text/html"), not_found=True)
    return {
        "openapi": "3.0.3",
        "info": {"title": "KoKi-Locator: OGC API – Features", "version": "1.0.0",
                 "description": "The KoKi offices and the district areas as OGC API – Features "
                                "(Part 1 Core, Part 2 CRS by reference, Part 3 queryables).",
                 "license": {"name": "MIT"}},
        "servers": [{"url": prefix}],
        "paths": paths,
        "components": {"responses": {"Problem": {
            "description": "RFC 9457 problem details",
            "content": {"application/problem+json": {"schema": {
                "type": "object", "required": ["type", "title", "status", "detail"],
                "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                               "status": {"type": "integer"}, "detail": {"type": "string"},
                               "parameter": {"type": "string"}}}}}}}},
    }
