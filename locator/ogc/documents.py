"""The OGC API – Features documents as plain values: landing page, conformance, collections,
queryables, and the links each must carry. No Flask request in here: links come from ``url``."""

from __future__ import annotations

from collections.abc import Callable

from .collections import CRS84, CRSS, QUERYABLES, Collection

JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
SCHEMA = "application/schema+json"
REL_QUERYABLES = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
)
TITLE = "KoKi-Stellen in Bayern (OGC API – Features)"
DESCRIPTION = (
    "Die KoKi – Netzwerk frühe Kindheit in Bayern und die Kreisflächen, nach denen der "
    "KoKi-Locator die Zuständigkeit bestimmt, als Layer für QGIS, ArcGIS und GDAL. "
    "Dieselben Daten wie /api/v1."
)

# url(endpoint, **values) → absolute URL; values with None are left out.
Url = Callable[..., str]


def link(href: str, rel: str, media_type: str, title: str) -> dict:
    return {"href": href, "rel": rel, "type": media_type, "title": title}


def self_links(url: Url, endpoint: str, media_type: str, **values) -> list[dict]:
    """``self`` in JSON and ``alternate`` in HTML (or the other way round for a page)."""
    return [link(url(endpoint, f="json", **values), "self", media_type, "this document"),
            link(url(endpoint, f="html", **values), "alternate", HTML, "this document as HTML")]


def landing(url: Url) -> dict:
    return {
        "title": TITLE, "description": DESCRIPTION,
        "links": [
            *self_links(url, "ogc.landing", JSON),
            link(url("ogc.api", f="json"), "service-desc", OPENAPI,
                 "the API definition (OpenAPI 3.0)"),
            link(url("ogc.api", f="html"), "service-doc", HTML, "the API documentation"),
            link(url("ogc.conformance", f="json"), "conformance", JSON,
                 "OGC API conformance classes implemented by this server"),
            link(url("ogc.collections", f="json"), "data", JSON,
                 "Information about the feature collections"),
        ],
    }


def conformance(url: Url) -> dict:
    return {"links": self_links(url, "ogc.conformance", JSON), "conformsTo": list(CONFORMANCE)}


def collection(url: Url, c: Collection) -> dict:
    """A collection's description: extent from the data, CRSs, links to items and queryables."""
    return {
        "id": c.id, "title": c.title, "description": c.description, "itemType": "feature",
        "extent": {"spatial": {"bbox": [c.extent[CRS84]], "crs": CRS84}},
        "crs": list(CRSS), "storageCrs": CRS84,
        "links": [
            *self_links(url, "ogc.collection", JSON, collection=c.id),
            link(url("ogc.items", collection=c.id, f="json"), "items", GEOJSON, c.title),
            link(url("ogc.items", collection=c.id, f="html"), "items", HTML, c.title),
            link(url("ogc.queryables", collection=c.id), REL_QUERYABLES, SCHEMA,
                 "the properties to filter by"),
        ],
    }


def collections(url: Url, found: dict[str, Collection]) -> dict:
    return {"links": self_links(url, "ogc.collections", JSON), "crs": list(CRSS),
            "collections": [collection(url, c) for c in found.values()]}


def queryables(url: Url, c: Collection) -> dict:
    """Part 3: a JSON Schema of the properties ``items`` filters by, with the data's values."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": url("ogc.queryables", collection=c.id),
        "type": "object", "title": c.title,
        "properties": {
            name: {"type": "string", "title": name, "description": description,
                   "enum": list(c.queryables[name])}
            for name, description in QUERYABLES.items()},
        "additionalProperties": False,
    }


def feature_links(url: Url, c: Collection, feature_id: str) -> list[dict]:
    return [*self_links(url, "ogc.item", GEOJSON, collection=c.id, feature_id=feature_id),
            link(url("ogc.collection", collection=c.id, f="json"), "collection", JSON, c.title)]


def items_links(items_url: str, c: Collection, query: str, *, offset: int, limit: int,
                matched: int) -> list[dict]:
    """self, alternate, collection, and next/prev while there are pages that way.

    ``items_url`` is the items resource's URL, ``query`` its encoded parameters but f and
    offset: every link is a string join, no URL building per link (an items answer is the
    hot path a GIS client pages through)."""
    def page(f: str, at: int) -> str:
        return f"{items_url}?f={f}&{query}{'&' if query else ''}offset={at}"

    links = [link(page("json", offset), "self", GEOJSON, "this document"),
             link(page("html", offset), "alternate", HTML, "this document as HTML"),
             link(items_url.removesuffix("/items") + "?f=json", "collection", JSON, c.title)]
    if offset + limit < matched:
        links.append(link(page("json", offset + limit), "next", GEOJSON, "next page"))
    if offset > 0:
        links.append(link(page("json", max(offset - limit, 0)), "prev", GEOJSON,
                          "previous page"))
    return links


def crs_header(crs: str) -> str:
    """Part 2's Content-Crs header value."""
    return f"<{crs}>"
