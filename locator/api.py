"""HTTP API under /api/v1: parse the query, make one Locator call, answer GeoJSON or JSON."""

from __future__ import annotations

import math
from collections.abc import Sequence
from urllib.parse import parse_qsl

import orjson
from flask import Blueprint, Response, current_app, render_template, request

from .compression import cache_as
from .errors import InvalidParameter, NotFound
from .gazetteer import POSTCODE_RE, Place
from .openapi import openapi_document
from .service import Locator, Origin, Search
from .state import Loaded, office_feature

bp = Blueprint("api", __name__, url_prefix="/api/v1")
ops = Blueprint("ops", __name__)

GEOJSON = "application/geo+json"
MAX_SUGGESTIONS = 10


def loaded() -> Loaded:
    """The current data. Each view reads it once and passes it on, so a reload in the middle
    of a request cannot mix two versions."""
    return current_app.extensions["locator"].loaded


# --- parsing ---------------------------------------------------------------------------------

MAX_PARAMETERS = 20


def _params() -> dict[str, str]:
    """The query string's parameters by name, decoded by urllib's parse_qsl into a plain dict
    (half the cost of request.args' MultiDict, which every search would pay).

    A name given twice is refused rather than one of its values guessed."""
    try:
        pairs = parse_qsl(request.query_string.decode("utf-8", "replace"),
                          keep_blank_values=True, max_num_fields=MAX_PARAMETERS)
    except ValueError:
        raise InvalidParameter(f"more than {MAX_PARAMETERS} query parameters",
                               parameter="query") from None
    params = dict(pairs)
    if len(params) < len(pairs):
        names = [n for n, _ in pairs]
        name = next(n for n in names if names.count(n) > 1)
        raise InvalidParameter(f"{name} is given more than once", parameter=name)
    return params


def _plain(raw: str) -> bool:
    """ASCII without padding or digit separators: float() and int() also read "４９", "١",
    " 49 " and "4_9", which no client means and the OpenAPI document does not allow.
    (Three string tests, not a regular expression: this runs on every search.)"""
    return raw.isascii() and "_" not in raw and raw == raw.strip()


def _number(params: dict[str, str], name: str) -> float | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        if not _plain(raw):
            raise ValueError(raw)
        value = float(raw)
    except ValueError:
        raise InvalidParameter(f"{name} must be a number (ASCII digits, e.g. 49.01), got {raw!r}",
                               parameter=name) from None
    if not math.isfinite(value):
        raise InvalidParameter(f"{name} must be a finite number, got {raw!r}", parameter=name)
    return value


def _integer(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        if not _plain(raw):
            raise ValueError(raw)
        return int(raw)
    except ValueError:
        raise InvalidParameter(f"{name} must be an integer (ASCII digits), got {raw!r}",
                               parameter=name) from None


def _origin(locator: Locator, params: dict[str, str]) -> Origin:
    return locator.locate(lat=_number(params, "lat"), lon=_number(params, "lon"),
                          postcode=params.get("postcode"), q=params.get("q"))


# --- serialisation -----------------------------------------------------------------------------
# Answers are plain Python values encoded by orjson. What every answer shares is built once per
# data version (state.Loaded: each office's feature, each responsibility's members and offices);
# per request only the origin, the distances and the flags are added.

_NO_STORE = (("Cache-Control", "no-store"),)


def _json(body: object, *, mimetype: str = "application/json",
          private: bool = True) -> Response:
    """A 200 JSON answer (errors are problem+json, made by errors_http)."""
    # Answers to a family's search describe where they live: never keep them in a cache.
    return current_app.response_class(orjson.dumps(body), content_type=mimetype,
                                      headers=_NO_STORE if private else None)


def _origin_json(origin: Origin) -> dict:
    # 5 decimals: about a metre, as precise as a position needs to be.
    answer = {"lat": round(origin.lat, 5), "lon": round(origin.lon, 5),
              "resolved_by": origin.resolved_by, "precision": origin.precision,
              "label": origin.label, "postcode": origin.postcode}
    if origin.alternatives:  # a place name the family must choose from
        answer["alternatives"] = [
            {"label": p.label, "name": p.name, "district_ags": p.district_ags or None,
             "district_name": p.district_name or None,
             "postcode": p.postcodes[0] if p.postcodes else None, "lat": p.lat, "lon": p.lon}
            for p in origin.alternatives]
    return answer


def _features(data: Loaded, office_ids: Sequence[str], metres: list[int],
              responsible: tuple[str, ...]) -> list[dict]:
    """Found offices as features, each with its distance and whether it is responsible."""
    return [office_feature(data.features, office_id, distance_m=m,
                           responsible=office_id in responsible)
            for office_id, m in zip(office_ids, metres, strict=True)]


def _search_json(data: Loaded, search: Search, extra: dict) -> Response:
    """A search answer; ``extra`` holds the query's own members ({"limit": 5})."""
    origin = search.origin
    responsible = origin.responsibility.office_ids
    return _json({
        "type": "FeatureCollection", "origin": _origin_json(origin), **extra,
        "responsible": {
            **data.responsibility(origin.responsibility).members,
            "offices": {"type": "FeatureCollection", "features": _features(
                data, responsible, search.responsible_m, responsible)}},
        "features": _features(data, search.office_ids, search.distances_m, responsible),
    }, mimetype=GEOJSON)


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
    cache_as(f"offices:{data.locator.data_version}")  # the same for everyone: compress once
    return response.make_conditional(request)


@bp.get("/offices/nearest")
def nearest() -> Response:
    data, params = loaded(), _params()
    limit = _integer(params, "limit", 5)
    search = data.locator.nearest(_origin(data.locator, params), limit)
    return _search_json(data, search, {"limit": limit})


@bp.get("/offices/within")
def within() -> Response:
    data, params = loaded(), _params()
    radius_km = _number(params, "radius_km")
    if radius_km is None:
        raise InvalidParameter("radius_km is missing", parameter="radius_km")
    search = data.locator.within(_origin(data.locator, params), radius_km)
    return _search_json(data, search, {"radius_km": radius_km})


@bp.get("/offices/<office_id>")
def office(office_id: str) -> Response:
    data = loaded()
    data.locator.office(office_id)  # NotFound for an unknown id
    return _json(data.features[office_id], mimetype=GEOJSON, private=False)


@bp.get("/responsible")
def responsible() -> Response:
    data = loaded()
    origin = _origin(data.locator, _params())
    answer = data.responsibility(origin.responsibility)
    return _json({**answer.members,
                  "offices": {"type": "FeatureCollection", "features": answer.offices},
                  "origin": _origin_json(origin)})


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
    params = _params()
    q = params.get("q")
    if q is None or not q.strip():
        raise InvalidParameter("q is missing: give the start of a postcode or place name",
                               parameter="q")
    if len(q) > 100:
        raise InvalidParameter("q is longer than 100 characters", parameter="q")
    limit = _integer(params, "limit", MAX_SUGGESTIONS)
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
