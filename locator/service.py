"""The Locator: nearest, within, responsible and place resolution. No Flask in here."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import geopandas as gpd
import numpy as np

from .config import Settings
from .crs import to_metric
from .districts import District, DistrictAreas, is_bavarian, load_bavarian_districts
from .errors import DataError, InvalidParameter, NotFound
from .gazetteer import POSTCODE_RE, Gazetteer, Place
from .memory import no_gc
from .offices import read_offices
from .spatial import PointIndex

MAX_LIMIT = 50
MAX_RADIUS_KM = 200.0
_NUMBERS = (float, int)
OFFICE_PROPERTIES = (
    "name", "district_ags", "district_name", "district_type", "regierungsbezirk", "street",
    "postcode", "city", "phone", "email", "website", "opening_hours", "contact_level",
    "location_precision", "checked_on",
)


@dataclass(frozen=True, slots=True, eq=False)
class Responsibility:
    """Who is responsible for a place: districts (ags, name) and their offices' ids.

    The Locator builds one per set of districts at load and reuses it, so identity is equality;
    eq=False keeps the identity hash, by which each request finds its pre-encoded answer parts."""

    in_bavaria: bool
    ambiguous: bool
    districts: tuple[tuple[str, str], ...]
    office_ids: tuple[str, ...]


class Origin(NamedTuple):
    """A resolved search origin; ``resolved_by`` is "coordinates", "postcode" or "place".

    A tuple, not a dataclass: one is built per request, and a frozen dataclass's field-by-field
    __init__ costs several times as much."""

    lat: float
    lon: float
    resolved_by: str
    label: str | None
    postcode: str | None
    precision: str
    responsibility: Responsibility
    x: float  # EPSG:25832, metres: projected once, used by every query on this origin
    y: float
    # A place name matching places of similar standing in different districts: all of them,
    # best first (the origin is the first); ``responsibility`` covers all their districts.
    alternatives: tuple[Place, ...] = ()


class Hit(NamedTuple):
    """An office and its projected distance, rounded to the metre."""

    office_id: str
    distance_km: float


class Search(NamedTuple):
    """Offices found from an origin, nearest first, and the distances of the origin's
    responsible offices (``origin.responsibility.office_ids``, also those not found).

    Distances are whole metres, in columns beside the ids: answers format them directly, without
    an object per office (``hits`` and ``responsible`` give Hit tuples to other readers)."""

    origin: Origin
    office_ids: list[str]
    distances_m: list[int]
    responsible_m: list[int]

    @property
    def hits(self) -> tuple[Hit, ...]:
        return tuple(Hit(o, m / 1000.0)
                     for o, m in zip(self.office_ids, self.distances_m, strict=True))

    @property
    def responsible(self) -> tuple[Hit, ...]:
        return tuple(Hit(o, m / 1000.0) for o, m in zip(
            self.origin.responsibility.office_ids, self.responsible_m, strict=True))


class Locator:
    """Offices, districts and gazetteer, loaded and indexed once; every query is read-only."""

    def __init__(self, offices: gpd.GeoDataFrame, districts: dict[str, District],
                 gazetteer: Gazetteer, areas: DistrictAreas, *, data_version: str,
                 district_names: dict[str, str] | None = None) -> None:
        self.offices = offices.sort_index()
        self.districts = districts
        self.gazetteer = gazetteer
        self.areas = areas
        self.data_version = data_version
        self._names = {**(district_names or {}), **{a: d.name for a, d in districts.items()}}
        self._ids = self.offices.index.to_numpy(dtype=object)
        self._id_list = self._ids.tolist()
        # Plain (x, y) tuples for per-request arithmetic: pandas indexing costs ~100 µs a call.
        self._xy = list(zip(self.offices.geometry.x.tolist(), self.offices.geometry.y.tolist(),
                            strict=True))
        self._index = PointIndex(np.asarray(self._xy).reshape(-1, 2))
        by_district: dict[str, list[str]] = {}
        for office_id, ags in zip(self._ids, self.offices["district_ags"], strict=True):
            by_district.setdefault(ags, []).append(office_id)
        self._by_district = {a: tuple(ids) for a, ids in by_district.items()}
        self._position = {office_id: i for i, office_id in enumerate(self._ids)}
        # Every responsibility an answer can name, built once: one per area's key and per set
        # of districts of a postcode or place, a few hundred in all. Built from the data, not
        # on demand, so nothing in memory tells which places were asked about.
        key_sets = {(), *((k,) for k in areas.keys), *gazetteer.district_sets()}
        self._responsibilities = {keys: self._new_responsibility(keys) for keys in key_sets}
        # Postcode points in EPSG:25832, projected in one call here instead of one per query.
        entries = gazetteer.all_postcodes()
        x, y = to_metric(np.array([e.lat for e in entries]), np.array([e.lon for e in entries]))
        self._postcode_xy = dict(zip([e.postcode for e in entries],
                                     zip(x.tolist(), y.tolist(), strict=True), strict=True))

    @classmethod
    def from_settings(cls, settings: Settings) -> Locator:
        """Load and validate every data file; raises DataError naming file, line and field."""
        with no_gc():  # ~10^5 objects, no cycles: the collector's passes cost ~0.2 s
            return cls._load(settings)

    @classmethod
    def _load(cls, settings: Settings) -> Locator:
        districts = load_bavarian_districts(settings.district_names_file)
        gazetteer = Gazetteer.load(
            settings.postcodes_file, district_names={a: d.name for a, d in districts.items()}
        )
        areas = DistrictAreas.from_file(
            settings.areas_file, ags_column=settings.districts_ags_column,
            official=settings.districts_file is not None,
        )
        missing = sorted(set(districts) - areas.keys)
        if missing:
            raise DataError(settings.areas_file, f"no area for district(s) {', '.join(missing)}")
        offices = read_offices(settings.offices_file, districts)
        for office in offices.itertuples():
            if not is_bavarian(areas.key_at(office.lat, office.lon)):
                raise DataError(settings.offices_file,
                                f"({office.lat}, {office.lon}) is not inside Bavaria",
                                line=office.line, field="lat")
        names = gazetteer.district_names()
        return cls(offices, districts, gazetteer, areas, data_version=_digest(settings.data_files),
                   district_names=names)

    # --- origins and responsibility ------------------------------------------------------

    def locate(self, *, lat: float | None = None, lon: float | None = None,
               postcode: str | None = None, q: str | None = None) -> Origin:
        """Resolve exactly one of coordinates, postcode or place text into an Origin."""
        if postcode is None and q is None and lat is not None and lon is not None:
            return self._point_origin(lat, lon)  # the common case first
        given = [name for name, value in (("lat/lon", lat if lat is not None else lon),
                                          ("postcode", postcode), ("q", q)) if value is not None]
        if len(given) != 1:
            detail = ("give an origin: lat and lon, postcode, or q" if not given
                      else f"give only one origin, not {' and '.join(given)}")
            raise InvalidParameter(detail, parameter=given[0] if given else "lat")
        if postcode is not None:
            return self._postcode_origin(postcode)
        if q is not None:
            return self._text_origin(q)
        return self._point_origin(lat, lon)  # one of the two is missing: check_point says which

    def _point_origin(self, lat: float | None, lon: float | None) -> Origin:
        lat, lon = check_point(lat, lon)
        x, y = to_metric(lat, lon)
        if not (math.isfinite(x) and math.isfinite(y)):
            # Transverse Mercator has no image ~90° of longitude from its meridian (9° E):
            # the far side of the globe has no planar distance to any office.
            raise InvalidParameter(f"lat/lon ({lat:g}, {lon:g}) is too far from Bavaria to "
                                   "measure distances", parameter="lon")
        key = self.areas.key_at_xy(x, y)
        return Origin(lat, lon, "coordinates", None, None, "coordinates",
                      self._responsibility((key,) if key else ()), x, y)

    def responsible_at(self, lat: float, lon: float) -> Responsibility:
        """Responsibility at a point, by the district area the point lies in."""
        return self._responsibility((key,) if (key := self.areas.key_at(lat, lon)) else ())

    def responsibilities(self) -> list[Responsibility]:
        """The responsibilities built at load, which answers reuse."""
        return list(self._responsibilities.values())

    def _responsibility(self, keys: tuple[str, ...]) -> Responsibility:
        found = self._responsibilities.get(keys)
        return found if found is not None else self._new_responsibility(keys)

    def _new_responsibility(self, keys: tuple[str, ...]) -> Responsibility:
        # Foreign areas carry a country code, not an AGS: they name no district.
        keys = tuple(k for k in keys if len(k) == 5 and k.isdigit())
        bavarian = [k for k in keys if is_bavarian(k)]
        return Responsibility(
            in_bavaria=bool(bavarian),
            ambiguous=len(keys) > 1,
            districts=tuple((k, self.district_name(k)) for k in keys),
            office_ids=tuple(i for k in bavarian for i in self._by_district.get(k, ())),
        )

    def _postcode_origin(self, postcode: str) -> Origin:
        postcode = postcode.strip()
        if not POSTCODE_RE.match(postcode):
            raise InvalidParameter(f"postcode must be 5 digits, got {postcode!r}",
                                   parameter="postcode")
        entry = self.gazetteer.postcode(postcode)
        if entry is None:
            raise NotFound(f"postcode {postcode} is not in the gazetteer", parameter="postcode")
        return Origin(entry.lat, entry.lon, "postcode", entry.label, postcode, "postcode",
                      self._responsibility(entry.district_ags), *self._postcode_xy[postcode])

    def _text_origin(self, q: str) -> Origin:
        text = " ".join(q.split())
        if not text:
            raise InvalidParameter("q is empty", parameter="q")
        if len(text) > 200:
            raise InvalidParameter("q is longer than 200 characters", parameter="q")
        if POSTCODE_RE.match(text):
            return self._postcode_origin(text)
        found = self.gazetteer.match(text)
        if not found:
            raise NotFound(f"no postcode or place matches q={text!r}", parameter="q")
        best = found[0]
        return Origin(best.lat, best.lon, best.precision, best.label, best.postcode,
                      best.precision, self._responsibility(best.district_ags),
                      *to_metric(best.lat, best.lon), best.alternatives)

    # --- searches ------------------------------------------------------------------------

    def nearest(self, origin: Origin, limit: int = 5) -> Search:
        """The ``limit`` offices nearest to the origin (projected distance), nearest first."""
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidParameter(f"limit must be 1..{MAX_LIMIT}, got {limit}",
                                   parameter="limit")
        idx, dist = self._index.nearest(origin.x, origin.y, limit)
        return self._search(origin, idx, dist)

    def within(self, origin: Origin, radius_km: float) -> Search:
        """All offices within ``radius_km`` of the origin, nearest first."""
        if not 0 < radius_km <= MAX_RADIUS_KM:  # also rejects NaN
            raise InvalidParameter(f"radius_km must be > 0 and <= {MAX_RADIUS_KM:g}, "
                                   f"got {radius_km}", parameter="radius_km")
        idx, dist = self._index.within(origin.x, origin.y, radius_km * 1000.0)
        return self._search(origin, idx, dist)

    def _search(self, origin: Origin, idx: np.ndarray, dist: np.ndarray) -> Search:
        office_ids = list(map(self._id_list.__getitem__, idx.tolist()))
        metres = list(map(round, dist.tolist()))
        responsible_m = []
        for office_id in origin.responsibility.office_ids:
            responsible_m.append(metres[office_ids.index(office_id)] if office_id in office_ids
                                 else self._metres(office_id, origin))
        return Search(origin, office_ids, metres, responsible_m)

    def _metres(self, office_id: str, origin: Origin) -> int:
        ox, oy = self._xy[self._position[office_id]]
        return round(math.hypot(ox - origin.x, oy - origin.y))

    def district_name(self, ags: str) -> str:
        """Official name for Bavarian districts, GeoNames' name for the others."""
        return self._names.get(ags, ags)

    def office(self, office_id: str):
        """One office row; NotFound for an unknown id."""
        if office_id not in self._position:
            raise NotFound(f"no office with id {office_id!r}", parameter="id")
        return self.offices.iloc[self._position[office_id]]


def check_point(lat, lon) -> tuple[float, float]:
    """Validated WGS84 latitude/longitude as floats; InvalidParameter names the bad one."""
    if (type(lat) is float and type(lon) is float  # noqa: E721 (not subclasses: the fast path)
            and -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):  # NaN fails, as it should
        return lat, lon
    for name, value, bound in (("lat", lat, 90.0), ("lon", lon, 180.0)):
        if value is None:
            raise InvalidParameter(f"{name} is missing (give lat and lon together)",
                                   parameter=name)
        if not (isinstance(value, _NUMBERS) and math.isfinite(value)):
            raise InvalidParameter(f"{name} must be a finite number, got {value!r}",
                                   parameter=name)
        if not -bound <= value <= bound:
            raise InvalidParameter(f"{name} must be between -{bound:g} and {bound:g}, "
                                   f"got {value}", parameter=name)
    return float(lat), float(lon)


def _digest(paths: tuple[Path, ...]) -> str:
    sha = hashlib.sha256()
    for path in paths:
        with Path(path).open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):  # noqa: B023
                sha.update(block)
    return sha.hexdigest()[:12]
