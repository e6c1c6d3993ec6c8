"""HTTP API under /api/v1: parse the query, make one Locator call, answer GeoJSON or JSON."""

from __future__ import annotations

import math
from collections.abc import Sequence
from urllib.parse import parse_qsl

from flask import Blueprint, Response, current_app, render_template, request

from .errors import InvalidParameter, NotFound
from .gazetteer import POSTCODE_RE, Place
from .openapi import openapi_document
from .service import Locator, Origin, Search
from .state import Loaded, utf8_json

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
# Answers are UTF-8 bytes assembled from parts encoded once per data version: each office's
# feature (state.Loaded.feature_heads) and each responsibility's members and offices
# (Loaded.responsibility_parts). Per request only the origin and the distances are formatted.

_NO_STORE = (("Cache-Control", "no-store"),)


def _json(body: object, *, status: int = 200, mimetype: str = "application/json",
          private: bool = True) -> Response:
    """A JSON answer of a value or of already encoded bytes."""
    # Answers to a family's search describe where they live: never keep them in a cache.
    return current_app.response_class(body if isinstance(body, bytes) else utf8_json(body),
                                      status=status, content_type=mimetype,
                                      headers=_NO_STORE if private else None)


def _origin_json(origin: Origin) -> bytes:
    # %.5f: about a metre, as precise as a position needs to be.
    return (b'{"lat":%.5f,"lon":%.5f,"resolved_by":"%s","precision":"%s","label":%s,'
            b'"postcode":%s%s}' % (origin.lat, origin.lon, origin.resolved_by.encode(),
                                    origin.precision.encode(), _utf8_or_null(origin.label),
                                    _utf8_or_null(origin.postcode),
                                    _alternatives_json(origin.alternatives)))


def _alternatives_json(places: tuple[Place, ...]) -> bytes:
    """',"alternatives":[…]' for a place name the family must choose from, else nothing."""
    if not places:
        return b""
    return b',"alternatives":' + utf8_json([
        {"label": p.label, "name": p.name, "district_ags": p.district_ags or None,
         "district_name": p.district_name or None, "postcode": p.postcodes[0] if p.postcodes
         else None, "lat": p.lat, "lon": p.lon} for p in places])


def _utf8_or_null(text: str | None) -> bytes:
    return b"null" if text is None else utf8_json(text)


_RESPONSIBLE = {True: b',"responsible":true}}', False: b',"responsible":false}}'}


def _add_features(parts: list[bytes], heads: dict[str, bytes], office_ids: Sequence[str],
                  metres: list[int], responsible: tuple[str, ...]) -> None:
    """Append found offices as features: each office's encoded head, distance and flag."""
    for n, (office_id, m) in enumerate(zip(office_ids, metres, strict=True)):
        parts += (b"," if n else b"", heads[office_id], b',"distance_km":%.3f' % (m / 1000.0),
                  _RESPONSIBLE[office_id in responsible])


def _search_json(data: Loaded, search: Search, extra: bytes) -> Response:
    """A search answer, joined from its parts in one go; ``extra`` holds the query's own
    members (',"limit":5')."""
    heads, origin = data.feature_heads, search.origin
    responsible = origin.responsibility.office_ids
    parts = [b'{"type":"FeatureCollection","origin":', _origin_json(origin), extra,
             b',"responsible":{', data.responsibility_parts(origin.responsibility)[0],
             b',"offices":{"type":"FeatureCollection","features":[']
    _add_features(parts, heads, responsible, search.responsible_m, responsible)
    parts.append(b']}},"features":[')
    _add_features(parts, heads, search.office_ids, search.distances_m, responsible)
    parts.append(b"]}")
    return _json(b"".join(parts), mimetype=GEOJSON)


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
    data, params = loaded(), _params()
    limit = _integer(params, "limit", 5)
    search = data.locator.nearest(_origin(data.locator, params), limit)
    return _search_json(data, search, b',"limit":%d' % limit)


@bp.get("/offices/within")
def within() -> Response:
    data, params = loaded(), _params()
    radius_km = _number(params, "radius_km")
    if radius_km is None:
        raise InvalidParameter("radius_km is missing", parameter="radius_km")
    search = data.locator.within(_origin(data.locator, params), radius_km)
    return _search_json(data, search, b',"radius_km":%r' % radius_km)  # finite: checked


@bp.get("/offices/<office_id>")
def office(office_id: str) -> Response:
    data = loaded()
    data.locator.office(office_id)  # NotFound for an unknown id
    return _json(data.feature_heads[office_id] + b"}}", mimetype=GEOJSON, private=False)


@bp.get("/responsible")
def responsible() -> Response:
    data = loaded()
    origin = _origin(data.locator, _params())
    members, offices = data.responsibility_parts(origin.responsibility)
    return _json(b'{%s,"offices":{"type":"FeatureCollection","features":[%s]},"origin":%s}' % (
        members, offices, _origin_json(origin)))


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
