"""Bulk geocoding of staff's office lists: give each record coordinates and a status.

locator/sheets.py reads and writes the files; locator/merge.py merges the good records into
the office data.

Statuses: ``ok``; ``invalid`` (malformed postcode, nothing to geocode); ``not_found``;
``conflict`` (postcode and city disagree, an ambiguous place name, or an online answer far
from the postcode) — failed records get no coordinates, never a guess.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from operator import itemgetter

from .crs import geodesic_km
from .districts import DistrictAreas, is_bavarian
from .gazetteer import (
    POSTCODE_RE,
    AddressQuery,
    Gazetteer,
    Match,
    clean_postcode,
    parse_query,
)
from .geocoding import OnlineGeocoder
from .memory import no_gc
from .sheets import cell_text, detect_roles

STATUSES = ("ok", "not_found", "invalid", "conflict")
# A city the postcode does not list is accepted within this distance of the postcode's point
# (GeoNames lists the main places of a postcode, not every Ortsteil); beyond it, a conflict.
CITY_TOLERANCE_KM = 10.0
# An online answer further than this from the offline postcode/place point is not trusted.
ONLINE_TOLERANCE_KM = 25.0


def address_of(row: Mapping[str, object], roles: Mapping[str, str]) -> AddressQuery:
    """The record's street, postcode and city, from separate columns or combined ones."""
    def cell(role: str) -> str:
        column = roles.get(role)
        return cell_text(row.get(column)) if column else ""

    street, number = cell("street"), cell("house_number")
    street = f"{street} {number}".strip() if number else street
    postcode, city = clean_postcode(cell("postcode")), cell("city")
    for role in ("postcode_city", "address"):
        if cell(role):
            parsed = parse_query(cell(role))
            street = street or parsed.street
            postcode = postcode or parsed.postcode
            city = city or parsed.city
    return AddressQuery(street, postcode, city)


class RecordGeocoder:
    """Gives one record coordinates and a status. The offline assessment depends only on the
    record's postcode and city cells, so it is memoised on them: that is what makes 100,000
    records a matter of seconds."""

    def __init__(self, geocoder: Gazetteer | OnlineGeocoder, roles: Mapping[str, str], *,
                 areas: DistrictAreas | None = None) -> None:
        self.online = geocoder if isinstance(geocoder, OnlineGeocoder) else None
        self.gazetteer: Gazetteer = geocoder.fallback if self.online else geocoder
        self.areas = areas
        self.roles = dict(roles)
        key_columns = [roles[r] for r in ("postcode", "city", "postcode_city", "address")
                       if r in roles]
        self._key_columns = key_columns
        self._street_columns = [roles[r] for r in ("street", "house_number") if r in roles]
        self._cells = itemgetter(*key_columns) if key_columns else (lambda row: ())
        self._memo: dict[tuple, dict] = {}

    def __call__(self, row: Mapping[str, object]) -> dict:
        try:
            cells = self._cells(row)
        except KeyError:  # a record without some column: same key, slower
            cells = tuple(row.get(c) for c in self._key_columns)
        key = (cells, any(row.get(c) for c in self._street_columns))
        offline = self._memo.get(key)
        q = None
        if offline is None:
            q = address_of(row, self.roles)
            offline = self._memo[key] = self._offline(q)
        if self.online is None or offline["status"] in ("invalid", "conflict"):
            return offline
        q = q or address_of(row, self.roles)
        if not q.street:  # a postcode or place: the gazetteer knows it as well as any service
            return offline
        return self._ask_online(q, offline)

    def _offline(self, q: AddressQuery) -> dict:
        """Postcode and city checked against each other, without network."""
        gaz = self.gazetteer
        if not q.postcode and not q.city:
            what = f"only a street ({q.street!r})" if q.street else "no postcode, city or address"
            return _failed("invalid", f"nothing to geocode: {what}")
        if q.postcode and not POSTCODE_RE.match(q.postcode):
            return _failed("invalid", f"postcode {q.postcode!r} is not 5 digits")
        entry = gaz.postcode(q.postcode) if q.postcode else None
        if q.postcode and entry is None:
            places = gaz.places(q.city) if q.city else []
            if not places:
                return _failed("not_found", f"postcode {q.postcode} is not in the gazetteer" + (
                    f", nor is {q.city!r}" if q.city else ""))
            # Same Leitregion (first two digits): a new or missing postcode of that town.
            near = [p for p in places if any(pc[:2] == q.postcode[:2] for pc in p.postcodes)]
            if not near:
                return _failed("conflict", f"postcode {q.postcode} is not in the gazetteer, "
                                           f"and {q.city!r} is {_describe_places(places)}")
            if len({p.district_ags for p in near}) > 1:
                return _failed("conflict", f"postcode {q.postcode} is not in the gazetteer, "
                                           f"and {q.city!r} is {_describe_places(near)}")
            match = gaz.match(AddressQuery("", "", q.city))
            match = next(m for m in match if m.place is near[0])
            return _ok(match, [f"postcode {q.postcode} is not in the gazetteer; located by "
                               "the city"])
        found = gaz.match(AddressQuery("", q.postcode, q.city))
        if not found:
            return _failed("not_found", f"{q.city!r} is not in the gazetteer")
        if entry is not None:
            notes = []
            if "city" in found[0].unmatched:
                places = gaz.places(q.city)
                if places:
                    nearest = min(places, key=lambda p: _km(p.lat, p.lon, entry.lat, entry.lon))
                    km = _km(nearest.lat, nearest.lon, entry.lat, entry.lon)
                    if km > CITY_TOLERANCE_KM:
                        return _failed("conflict", f"postcode {q.postcode} is "
                                       f"{_describe_places(entry.places)}, but {q.city!r} is "
                                       f"{_describe_places(places)}, {km:.0f} km away")
                    notes.append(f"{q.city!r} is not listed for postcode {q.postcode} "
                                 f"({entry.label}) but lies {km:.0f} km from it")
                else:
                    notes.append(f"{q.city!r} is not in the gazetteer")
                notes.append("located by the postcode")
            return _ok(found[0], notes)
        bavarian = [m for m in found if m.in_bavaria] or found
        if len({m.district_ags for m in bavarian}) > 1:
            return _failed("conflict", f"{q.city!r} is ambiguous: "
                                       f"{_describe_places([m.place for m in bavarian])}; "
                                       "add the postcode")
        return _ok(bavarian[0], [])

    def _ask_online(self, q: AddressQuery, offline: dict) -> dict:
        location = self.online.geocode(q)
        if location is None or location.raw.get("source") == "offline":
            reason = location.raw.get("fallback") if location is not None else None
            if offline["status"] != "ok" or not reason:
                return offline
            return {**offline, "message": _join(offline["message"], reason)}
        lat, lon = location.latitude, location.longitude
        if offline["status"] == "ok":
            km = _km(lat, lon, offline["lat"], offline["lon"])
            if km > ONLINE_TOLERANCE_KM:
                return _failed("conflict", f"{self.online.name} places it at "
                                           f"{location.address} ({lat:.5f}, {lon:.5f}), "
                                           f"{km:.0f} km from {offline['label']}")
        precision = location.raw["precision"]
        if self.areas is not None and (precision in ("address", "street")
                                       or offline["status"] != "ok"):
            # A point within a street: its district is the area it lies in.
            key = self.areas.key_at(lat, lon)
            ags = [key] if key else []
            notes = [] if is_bavarian(key) else ["outside Bavaria"]
        else:  # a postcode or place answer: the gazetteer's district(s) for it
            ags, notes = list(offline["district_ags"]), []
        return {"lat": round(lat, 6), "lon": round(lon, 6),
                "precision": precision, "district_ags": ags, "status": "ok",
                "message": "; ".join([f"{self.online.name}: {location.address}", *notes]),
                "label": location.address, "source": self.online.name}


def _ok(match: Match, notes: list[str]) -> dict:
    if not match.in_bavaria:
        notes = [*notes, f"outside Bavaria ({match.place.district_name or 'no district'})"]
    if len(match.district_ags) > 1:
        notes = [*notes, f"the postcode spans {len(match.district_ags)} districts"]
    return {"lat": match.lat, "lon": match.lon, "precision": match.precision,
            "district_ags": list(match.district_ags), "status": "ok",
            "message": "; ".join(notes), "label": match.label, "source": "offline"}


def _failed(status: str, message: str) -> dict:
    return {"lat": None, "lon": None, "precision": None, "district_ags": [], "status": status,
            "message": message, "label": None, "source": None}


def _describe_places(places) -> str:
    shown = "; ".join(f"{p.name} ({p.district_name or p.state_code}, "
                      f"{p.district_ags or '?'})" for p in places[:4])
    return shown + (f" and {len(places) - 4} more" if len(places) > 4 else "")


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return float(geodesic_km(lat1, lon1, lat2, lon2))


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def geocode_records(records: Iterable[Mapping[str, object]],
                    geocoder: Gazetteer | OnlineGeocoder, *, areas: DistrictAreas | None = None,
                    roles: Mapping[str, str] | None = None,
                    problems: Mapping[int, str] | None = None,
                    progress: Callable[[int], object] | None = None) -> list[dict]:
    """One result per record, in order: the record's columns plus lat, lon (floats or None),
    precision, district_ags (list), status, message, and ``_source`` (the backend that
    answered; not written to the output).

    Column roles are detected from the records' keys (German or English headers) unless
    given. ``areas`` gives online address points their district. This is the function to
    benchmark for bulk throughput.
    """
    records = records if isinstance(records, list) else list(records)
    if roles is None:
        roles = detect_roles(dict.fromkeys(k for r in records[:1000] for k in r))
    problems = problems or {}
    assess = RecordGeocoder(geocoder, roles, areas=areas)
    every = 1 if assess.online is not None else 1000
    results = []
    with no_gc():
        for i, row in enumerate(records):
            result = _failed("invalid", problems[i]) if i in problems else assess(row)
            results.append({**row, "lat": result["lat"], "lon": result["lon"],
                            "precision": result["precision"],
                            "district_ags": list(result["district_ags"]),
                            "status": result["status"], "message": result["message"],
                            "_source": result["source"]})
            if progress is not None and (i + 1) % every == 0:
                progress(every)
    if progress is not None and len(records) % every:
        progress(len(records) % every)
    return results


def summarise(results: Iterable[Mapping[str, object]]) -> dict[str, Counter]:
    """Counts by status and, for the ok records, by precision."""
    statuses: Counter[str] = Counter()
    precisions: Counter[str] = Counter()
    for r in results:
        statuses[str(r["status"])] += 1
        if r["status"] == "ok":
            precisions[str(r["precision"])] += 1
    return {"status": statuses, "precision": precisions}

