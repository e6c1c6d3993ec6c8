"""HTTP API under /api/v1: parse the query, make one Locator call, answer GeoJSON or JSON."""

from __future__ import annotations

import json as json_module
import math

from flask import Blueprint, Response, current_app, render_template, request
from werkzeug.datastructures import MultiDict

from .errors import InvalidParameter, NotFound
from .gazetteer import POSTCODE_RE, Place
from .openapi import openapi_document
from .service import Locator, Origin, Responsibility, Search
from .state import Loaded

bp = Blueprint("api", __name__, url_prefix="/api/v1")
ops = Blueprint("ops", __name__)

GEOJSON = "application/geo+json"
MAX_SUGGESTIONS = 10


def loaded() -> Loaded:
    """The current data. Each view reads it once and passes it on, so a reload in the middle
    of a request cannot mix two versions."""
    return current_app.extensions["locator"].loaded


# --- parsing ---------------------------------------------------------------------------------

def _arg(args: MultiDict, name: str) -> str | None:
    # "in" first: MultiDict.get raises and catches a KeyError for every absent argument.
    return args.get(name) if name in args else None


def _number(args: MultiDict, name: str) -> float | None:
    raw = _arg(args, name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise InvalidParameter(f"{name} must be a number, got {raw!r}", parameter=name) from None
    if not math.isfinite(value):
        raise InvalidParameter(f"{name} must be a finite number, got {raw!r}", parameter=name)
    return value


def _integer(args: MultiDict, name: str, default: int) -> int:
    raw = _arg(args, name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidParameter(f"{name} must be an integer, got {raw!r}", parameter=name) from None


def _origin(locator: Locator, args: MultiDict) -> Origin:
    return locator.locate(lat=_number(args, "lat"), lon=_number(args, "lon"),
                          postcode=_arg(args, "postcode"), q=_arg(args, "q"))


# --- serialisation -----------------------------------------------------------------------------
# Answers are assembled from each office's pre-encoded JSON (state.Loaded.feature_heads): only
# the per-request parts (distances, origin, responsibility) are encoded per request.

_ENCODER = json_module.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


class _Raw(str):
    """JSON text, embedded as it is."""


def _encode(value: object) -> str:
    return value if isinstance(value, _Raw) else _ENCODER.encode(value)


def _object(**members: object) -> _Raw:
    return _Raw("{" + ",".join(f'"{k}":{_encode(v)}' for k, v in members.items()) + "}")


_NO_STORE = (("Cache-Control", "no-store"),)


def _json(body: object, *, status: int = 200, mimetype: str = "application/json",
          private: bool = True) -> Response:
    # Answers to a family's search describe where they live: never keep them in a cache.
    return current_app.response_class(_encode(body), status=status, content_type=mimetype,
                                      headers=_NO_STORE if private else None)


def _feature(data: Loaded, office_id: str, **extra: object) -> _Raw:
    head = data.feature_heads[office_id]
    return _Raw(head + "".join(f',"{k}":{_encode(v)}' for k, v in extra.items()) + "}}")


def _collection(features: list[_Raw], **members: object) -> _Raw:
    return _object(type="FeatureCollection", **members,
                   features=_Raw("[" + ",".join(features) + "]"))


def _origin_json(origin: Origin) -> dict:
    return {"lat": round(origin.lat, 5), "lon": round(origin.lon, 5),
            "resolved_by": origin.resolved_by, "precision": origin.precision,
            "label": origin.label, "postcode": origin.postcode}


def _responsibility_head(resp: Responsibility) -> dict:
    return {"in_bavaria": resp.in_bavaria, "ambiguous": resp.ambiguous,
            "districts": [{"ags": a, "name": n} for a, n in resp.districts]}


def _hits(heads: dict[str, str], hits, responsible) -> str:
    """Features of search hits: each office's pre-encoded head plus distance and flag."""
    return ",".join(
        f'{heads[h.office_id]},"distance_km":{h.distance_km!r},'
        f'"responsible":{"true" if h.office_id in responsible else "false"}}}}}'
        for h in hits)


def _search_json(data: Loaded, search: Search, **members: object) -> Response:
    heads = data.feature_heads
    origin, resp = search.origin, search.origin.responsibility
    # One C-encoded object for everything but the features, which are spliced in: the
    # encoded text ends in "}}" (the responsibility object, then the answer).
    skeleton = _ENCODER.encode({"type": "FeatureCollection", "origin": _origin_json(origin),
                                **members, "responsible": _responsibility_head(resp)})
    body = (f'{skeleton[:-2]},"offices":{{"type":"FeatureCollection","features":['
            f'{_hits(heads, search.responsible, resp.office_ids)}]}}}},"features":['
            f'{_hits(heads, search.hits, resp.office_ids)}]}}')
    return _json(_Raw(body), mimetype=GEOJSON)


def _place_json(place: Place, *, postcode: str | None = None) -> dict:
    return {"name": place.name, "district_ags": place.district_ags or None,
            "district_name": place.district_name or None, "in_bavaria": place.in_bavaria,
            "lat": place.lat, "lon": place.lon, **({"postcode": postcode} if postcode else {})}


# --- routes ----------------------------------------------------------------------------------

@bp.get("/offices")
def offices() -> Response:
    data = loaded()
    response = current_app.response_class(data.all_offices_json, mimetype=GEOJSON)
    response.set_etag(data.locator.data_version)
    max_age = current_app.extensions["settings"].office_list_max_age_s
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    return response.make_conditional(request)


@bp.get("/offices/nearest")
def nearest() -> Response:
    data, args = loaded(), request.args
    limit = _integer(args, "limit", 5)
    search = data.locator.nearest(_origin(data.locator, args), limit)
    return _search_json(data, search, limit=limit)


@bp.get("/offices/within")
def within() -> Response:
    data, args = loaded(), request.args
    radius_km = _number(args, "radius_km")
    if radius_km is None:
        raise InvalidParameter("radius_km is missing", parameter="radius_km")
    search = data.locator.within(_origin(data.locator, args), radius_km)
    return _search_json(data, search, radius_km=radius_km)


@bp.get("/offices/<office_id>")
def office(office_id: str) -> Response:
    data = loaded()
    data.locator.office(office_id)  # NotFound for an unknown id
    return _json(_feature(data, office_id), mimetype=GEOJSON, private=False)


@bp.get("/responsible")
def responsible() -> Response:
    data = loaded()
    origin = _origin(data.locator, request.args)
    resp = origin.responsibility
    features = [_feature(data, o, responsible=True) for o in resp.office_ids]
    return _json(_object(**_responsibility_head(resp), offices=_collection(features),
                         origin=_origin_json(origin)))


@bp.get("/postcodes/<postcode>")
def postcode(postcode: str) -> Response:
    if not POSTCODE_RE.match(postcode):
        raise InvalidParameter(f"postcode must be 5 digits, got {postcode!r}",
                               parameter="postcode")
    locator = loaded().locator
    entry = locator.gazetteer.postcode(postcode)
    if entry is None:
        raise NotFound(f"postcode {postcode} is not in the gazetteer", parameter="postcode")
    names = locator.district_name
    return _json({
        "postcode": entry.postcode, "lat": entry.lat, "lon": entry.lon,
        "in_bavaria": entry.in_bavaria,
        "places": [_place_json(p) | {"lat": pt[0], "lon": pt[1]}
                   for p, pt in zip(entry.places, entry.points, strict=True)],
        "districts": [{"ags": a, "name": names(a)} for a in entry.district_ags],
    })


@bp.get("/places")
def places() -> Response:
    q = request.args.get("q")
    if q is None or not q.strip():
        raise InvalidParameter("q is missing: give the start of a postcode or place name",
                               parameter="q")
    if len(q) > 100:
        raise InvalidParameter("q is longer than 100 characters", parameter="q")
    limit = _integer(request.args, "limit", MAX_SUGGESTIONS)
    if not 1 <= limit <= MAX_SUGGESTIONS:
        raise InvalidParameter(f"limit must be 1..{MAX_SUGGESTIONS}, got {limit}",
                               parameter="limit")
    suggestions = []
    for entry in loaded().locator.gazetteer.suggest(q, limit=limit):
        if isinstance(entry, Place):
            suggestions.append({"kind": "place", "label": entry.name, "postcode": None,
                                **_place_json(entry)})
        else:
            first = entry.places[0]
            suggestions.append({"kind": "postcode", "label": entry.label,
                                **_place_json(first, postcode=entry.postcode),
                                "lat": entry.lat, "lon": entry.lon,
                                "in_bavaria": entry.in_bavaria})
    return _json({"suggestions": suggestions})


@bp.get("/openapi.json")
def openapi() -> Response:
    return _json(openapi_document(), private=False)


@bp.get("/docs")
def docs() -> str:
    return render_template("api_docs.html", spec=openapi_document())


@ops.get("/healthz")
def healthz() -> Response:
    current = loaded().locator
    return _json({"status": "ok", "offices": len(current.offices),
                  "data_version": current.data_version,
                  "district_areas": current.areas.source})
