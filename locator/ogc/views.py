"""Blueprint /ogc: read the request, pick a document from ogc.documents, answer JSON or HTML.

Every answer is built from plain values with orjson (features are Fragments encoded at load)
and carries an ETag of the data version and the format, Cache-Control like /api/v1/offices and
Vary: Accept (the format may come from the Accept header). HTML pages run under the widget's
Content-Security-Policy: no inline script or style.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import orjson
from flask import Blueprint, Response, current_app, render_template, request, url_for
from markupsafe import Markup

from ..errors import NotFound
from . import documents as docs
from .collections import Collection
from .openapi import openapi_document
from .query import crs_parameter, items_query, output_format

bp = Blueprint("ogc", __name__, url_prefix="/ogc", template_folder="templates",
               static_folder="static", static_url_path="/static")


def _collections() -> dict[str, Collection]:
    return current_app.extensions["locator"].loaded.ogc


def _collection(collection_id: str) -> Collection:
    found = _collections().get(collection_id)
    if found is None:
        raise NotFound(f"no collection {collection_id!r}; there are "
                       f"{', '.join(_collections())}", parameter="collection")
    return found


def _url(endpoint: str, **values: str | None) -> str:
    return url_for(endpoint, _external=True, **{k: v for k, v in values.items() if v is not None})


def _format() -> str:
    """``f`` when given, else the Accept header: HTML only for clients that prefer it."""
    f = output_format(request.args)
    if f is not None:
        return f
    if request.headers.get("Accept", "*/*") == "*/*":  # curl, requests, OWSLib: no parsing
        return "json"
    best = request.accept_mimetypes.best_match(
        ("application/json", "application/geo+json", "text/html"), default="application/json")
    return "html" if best == "text/html" else "json"


def _answer(fmt: str, value: object, media_type: str, template: str, *,
            crs: str | None = None, **context: object) -> Response:
    """``value`` as JSON, or the template rendered with it as ``doc``, with the cache headers."""
    data = current_app.extensions["locator"].loaded
    if fmt == "json":
        response = current_app.response_class(orjson.dumps(value), content_type=media_type)
    else:
        response = current_app.response_class(render_template(
            f"ogc/{template}", doc=value, **_page_context(), **context), mimetype="text/html")
        response.headers["Content-Security-Policy"] = current_app.extensions["widget"].csp
    if crs is not None:
        response.headers["Content-Crs"] = docs.crs_header(crs)
    # Weak: items answers carry their timeStamp, so two answers are equivalent, not identical.
    response.set_etag(f"{data.locator.data_version}-{fmt}", weak=True)
    max_age = current_app.extensions["settings"].office_list_max_age_s
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Vary"] = "Accept"  # not response.vary: its header set costs ~40 µs
    # Only If-None-Match can make an answer conditional here (no Last-Modified, no ranges).
    return response.make_conditional(request) if "If-None-Match" in request.headers else response


def _page_context() -> dict:
    settings = current_app.extensions["settings"]
    return {"tile_url": settings.tile_url,
            "tile_attribution": Markup(settings.tile_attribution),  # trusted operator config
            "url": _url, "json_url": lambda: _with_args(f="json")}


def _with_args(**changes: str) -> str:
    """This request's URL with some query parameters replaced."""
    args = {**request.args.to_dict(), **changes}
    return url_for(request.endpoint or "ogc.landing", _external=True,
                   **(request.view_args or {}), **args)


# --- routes ------------------------------------------------------------------------------------

# GDAL asks for /ogc as given, without the slash: answer it, do not redirect.
@bp.get("/", strict_slashes=False)
def landing() -> Response:
    return _answer(_format(), docs.landing(_url), docs.JSON, "landing.html")


@bp.get("/conformance")
def conformance() -> Response:
    return _answer(_format(), docs.conformance(_url), docs.JSON, "conformance.html")


@bp.get("/api")
def api() -> Response:
    fmt = _format()
    document = openapi_document(_url("ogc.landing").rstrip("/"), _collections())
    return _answer(fmt, document, docs.OPENAPI, "api.html")


@bp.get("/collections")
def collections() -> Response:
    return _answer(_format(), docs.collections(_url, _collections()), docs.JSON,
                   "collections.html")


@bp.get("/collections/<collection>")
def collection(collection: str) -> Response:
    found = _collection(collection)
    return _answer(_format(), docs.collection(_url, found), docs.JSON, "collection.html",
                   collection=found)


@bp.get("/collections/<collection>/queryables")
def queryables(collection: str) -> Response:
    found = _collection(collection)
    return _answer(_format(), docs.queryables(_url, found), docs.SCHEMA, "queryables.html",
                   collection=found)


@bp.get("/collections/<collection>/items")
def items(collection: str) -> Response:
    found = _collection(collection)
    fmt = _format()
    query = items_query(request.args)
    selected = query.select(found)
    page = selected[query.offset:query.offset + query.limit].tolist()
    encoded = found.encoded[query.crs]
    body = {
        "type": "FeatureCollection",
        "numberMatched": len(selected), "numberReturned": len(page),
        "timeStamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "links": docs.items_links(request.base_url,  # this items URL, without its query
                                  found, urlencode(query.page_args()), offset=query.offset,
                                  limit=query.limit, matched=len(selected)),
        "features": [encoded[i] for i in page],
    }
    return _answer(fmt, body, docs.GEOJSON, "items.html", crs=query.crs, collection=found,
                   rows=[(found.feature_ids[i], found.properties[i]) for i in page],
                   query=query)


@bp.get("/collections/<collection>/items/<feature_id>")
def item(collection: str, feature_id: str) -> Response:
    found = _collection(collection)
    fmt = _format()
    crs = crs_parameter(request.args, "crs")
    index = found.position(feature_id)
    if index is None:
        raise NotFound(f"no feature {feature_id!r} in {collection}", parameter="featureId")
    body = {"type": "Feature", "id": feature_id, "geometry": found.geometry_json[crs][index],
            "properties": found.properties[index],
            "links": docs.feature_links(_url, found, feature_id)}
    return _answer(fmt, body, docs.GEOJSON, "item.html", crs=crs, collection=found)
