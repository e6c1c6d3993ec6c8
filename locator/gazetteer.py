"""Offline postcode and place gazetteer over GeoNames postal codes, as a geopy Geocoder.

It follows geopy's contract (``geocode(query, *, exactly_one=True)`` returns ``None``, a
``Location`` or a list of them), so online geocoders plug in beside it without new code. Every
``Location.raw`` says its ``precision`` ("postcode" or "place"; the offline data has no streets),
its ``source`` and which parts of the query it could not use (``unmatched``).
"""

from __future__ import annotations

import bisect
import csv
import heapq
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from geopy.adapters import BaseSyncAdapter
from geopy.exc import GeocoderServiceError
from geopy.geocoders.base import Geocoder
from geopy.location import Location

from .errors import DataError
from .textnorm import place_key, prefix_key, short_place_keys

SOURCE = "offline"
ATTRIBUTION = "Postleitzahlen: GeoNames (CC BY 4.0)"
POSTCODE_COLUMNS = (
    "postcode", "place", "state", "state_code", "district", "district_ags", "lat", "lon",
)
# ASCII digits to the very end: \d would take "９６４５０", $ a trailing newline.
POSTCODE_RE = re.compile(r"^[0-9]{5}\Z")
# "96450", "D-96450", "DE 96450", but not the 5 digits inside a longer number (a phone).
_POSTCODE_IN_TEXT = re.compile(r"(?<![\d-])(?:\bDE?[- ]?)?(\d{5})(?!\d)", re.IGNORECASE)
_POSTCODE_PREFIX = re.compile(r"^(?:D|DE)\s*-?\s*(?=\d)", re.IGNORECASE)
_STREETISH = re.compile(
    r"(\d|\bstr\b\.?|stra(ss|ß)e\b|str\.|(weg|platz|gasse|allee|ring|damm|ufer)$)", re.IGNORECASE
)
# Parts of a free-text address that name the country or state, not the town.
_NOT_A_TOWN = frozenset({"deutschland", "germany", "de", "d", "brd", "bayern", "bavaria"})


@dataclass(frozen=True, slots=True)
class AddressQuery:
    """A query split into its parts; any of them may be empty. The postcode is as given,
    without spaces or a "D-" prefix, so a malformed one can still be reported."""

    street: str = ""
    postcode: str = ""
    city: str = ""

    def __bool__(self) -> bool:
        return bool(self.street or self.postcode or self.city)


@dataclass(frozen=True, slots=True)
class Place:
    """A named place within one district; its point is the mean of its postcode points."""

    name: str
    district_ags: str
    district_name: str
    state_code: str
    lat: float
    lon: float
    postcodes: tuple[str, ...]

    @property
    def in_bavaria(self) -> bool:
        return self.state_code == "BY"


@dataclass(frozen=True, slots=True)
class Postcode:
    """A postcode with the places it serves; its point is the mean of their points.

    Its districts, label and whether it is in Bavaria are fixed when it is built (with
    ``of``): searches read them for every postcode query."""

    postcode: str
    lat: float
    lon: float
    places: tuple[Place, ...]
    points: tuple[tuple[float, float], ...]  # (lat, lon) of each place's row for this postcode
    district_ags: tuple[str, ...]
    in_bavaria: bool
    label: str  # "96450 Coburg", or "… u. a." when it serves several places

    @classmethod
    def of(cls, postcode: str, places: tuple[Place, ...],
           points: tuple[tuple[float, float], ...]) -> Postcode:
        names = list(dict.fromkeys(p.name for p in places))
        return cls(
            postcode,
            round(sum(pt[0] for pt in points) / len(points), 5),
            round(sum(pt[1] for pt in points) / len(points), 5),
            places, points,
            district_ags=tuple(dict.fromkeys(p.district_ags for p in places if p.district_ags)),
            in_bavaria=any(p.in_bavaria for p in places),
            label=f"{postcode} {names[0]}" + (" u. a." if len(names) > 1 else ""),
        )


@dataclass(frozen=True, slots=True)
class Match:
    """One answer of the gazetteer; ``location()`` makes it a geopy Location."""

    label: str
    lat: float
    lon: float
    precision: str  # "postcode" or "place"
    postcode: str | None
    place: Place  # the postcode's first place, or the place found by name
    district_ags: tuple[str, ...]
    in_bavaria: bool
    unmatched: tuple[str, ...]  # query parts the answer does not reflect

    def location(self) -> Location:
        raw = {
            "precision": self.precision,
            "source": SOURCE,
            "postcode": self.postcode,
            "place": self.place.name,
            "district_ags": list(self.district_ags),
            "district_name": self.place.district_name,
            "in_bavaria": self.in_bavaria,
            "unmatched": list(self.unmatched),
        }
        return Location(self.label, (self.lat, self.lon), raw)


class _Offline(BaseSyncAdapter):
    """geopy adapter of the offline gazetteer: it has no network, so any request is a bug."""

    def get_json(self, url, *, timeout, headers):
        raise GeocoderServiceError("the offline gazetteer makes no requests")

    get_text = get_json


class Gazetteer(Geocoder):
    """geopy Geocoder answering from the embedded GeoNames postcode data, without network."""

    def __init__(self, rows: Mapping[str, Sequence[str]], *,
                 district_names: Mapping[str, str] | None = None):
        """``rows``: the columns of POSTCODE_COLUMNS (a dict of lists, or a DataFrame)."""
        # An adapter that refuses every request: nothing here leaves the process (and no TLS
        # context is built for nothing, which costs ~50 ms of start-up).
        super().__init__(user_agent="koki-locator offline gazetteer", adapter_factory=_Offline)
        names = dict(district_names or {})
        groups: dict[tuple[str, str], list[tuple[str, float, float]]] = defaultdict(list)
        meta: dict[tuple[str, str], tuple[str, str]] = {}
        for pc, name, state_code, district, ags, lat, lon in zip(
            rows["postcode"], rows["place"], rows["state_code"], rows["district"],
            rows["district_ags"], rows["lat"], rows["lon"], strict=True,
        ):
            groups[(name, ags)].append((pc, float(lat), float(lon)))
            meta[(name, ags)] = (state_code, names.get(ags) or district or "")
        self._places: dict[str, list[Place]] = defaultdict(list)
        # "Lindau (Bodensee)" is also found as "Lindau", "Mühldorf am Inn" as "Mühldorf".
        self._short_places: dict[str, list[Place]] = defaultdict(list)
        by_postcode: dict[str, list[tuple[Place, float, float]]] = defaultdict(list)
        for (name, ags), points in groups.items():
            state_code, district_name = meta[(name, ags)]
            place = Place(
                name=name,
                district_ags=ags,
                district_name=district_name,
                state_code=state_code,
                lat=round(sum(p[1] for p in points) / len(points), 5),
                lon=round(sum(p[2] for p in points) / len(points), 5),
                postcodes=tuple(sorted({p[0] for p in points})),
            )
            key = place_key(name)
            self._places[key].append(place)
            for short in short_place_keys(name, key):
                self._short_places[short].append(place)
            for pc, lat, lon in points:
                by_postcode[pc].append((place, lat, lon))
        # Each place's rank is computed once: sorting calls the key ~50,000 times at start-up.
        ranks = {id(p): _place_rank(p) for ps in self._places.values() for p in ps}
        for candidates in (*self._places.values(), *self._short_places.values()):
            candidates.sort(key=lambda p: ranks[id(p)])
        self._postcodes = {}
        for pc, entries in by_postcode.items():
            entries.sort(key=lambda e: ranks[id(e[0])])
            self._postcodes[pc] = Postcode.of(pc, tuple(e[0] for e in entries),
                                              tuple((e[1], e[2]) for e in entries))
        self._district_names = {ags: district for (_, ags), (_, district) in meta.items() if ags}
        # Type-ahead index: sorted keys, each pointing at a postcode or a place.
        entries: list[tuple[str, tuple, str, Place | Postcode]] = []
        for pc, entry in self._postcodes.items():
            entries.append((pc, (0, pc), "postcode", entry))
        for key, places in self._places.items():
            for place in places:
                entries.append((key, ranks[id(place)], "place", place))
        entries.sort(key=lambda e: e[0])
        self._prefix_keys = [e[0] for e in entries]
        self._prefix_entries = entries

    @classmethod
    def from_file(
        cls, path: Path, *, district_names: Mapping[str, str] | None = None
    ) -> Gazetteer:
        """Load geodata/postcodes.csv; postcodes and AGS keys stay strings (leading zeros)."""
        # The csv module, not pandas: iterating pandas' string columns costs ~0.3 s here.
        try:
            with path.open(encoding="utf-8", newline="") as fh:
                reader = csv.reader(fh)
                header = next(reader, [])
                missing = [c for c in POSTCODE_COLUMNS if c not in header]
                if missing:
                    raise DataError(path, f"missing column(s): {', '.join(missing)}", line=1)
                positions = [header.index(c) for c in POSTCODE_COLUMNS]
                records = [[row[i] for i in positions] for row in reader]
        except FileNotFoundError as err:
            raise DataError(path, "gazetteer file not found") from err
        except (UnicodeDecodeError, csv.Error, IndexError) as err:
            raise DataError(path, f"unreadable gazetteer file: {err}") from err
        rows = dict(zip(POSTCODE_COLUMNS, map(list, zip(*records, strict=True)), strict=True))
        for i, (pc, lat, lon) in enumerate(zip(rows.get("postcode", ()), rows.get("lat", ()),
                                               rows.get("lon", ()), strict=True)):
            if not POSTCODE_RE.match(pc):
                raise DataError(path, f"not a 5-digit postcode: {pc!r}", line=i + 2,
                                field="postcode")
            for field, value, bound in (("lat", lat, 90), ("lon", lon, 180)):
                try:
                    ok = abs(float(value)) <= bound
                except ValueError:
                    ok = False
                if not ok:
                    raise DataError(path, f"not a coordinate: {value!r}", line=i + 2, field=field)
        if not records:
            raise DataError(path, "gazetteer file has no rows")
        return cls(rows, district_names=district_names)

    # --- lookups -------------------------------------------------------------------------

    def district_names(self) -> dict[str, str]:
        """{AGS: name} of every district in the data; official names where they were given."""
        return dict(self._district_names)

    def counts(self) -> dict[str, int]:
        """How many postcodes and named places the data holds."""
        return {"postcodes": len(self._postcodes),
                "places": sum(len(p) for p in self._places.values())}

    def all_postcodes(self) -> list[Postcode]:
        """Every postcode of the data."""
        return list(self._postcodes.values())

    def district_sets(self) -> set[tuple[str, ...]]:
        """Every combination of districts an answer can name: each postcode's districts and
        each place's district (as in ``Location.raw["district_ags"]``)."""
        return {e.district_ags for e in self._postcodes.values()} | {
            (p.district_ags,) if p.district_ags else ()
            for places in self._places.values() for p in places}

    def postcode(self, postcode: str) -> Postcode | None:
        """The postcode's entry, or None when the data does not know it."""
        return self._postcodes.get(postcode)

    def places(self, name: str) -> list[Place]:
        """Places whose normalised name matches; best first (Bavaria, exact name, size)."""
        key = place_key(name)
        found = self._lookup(key)
        if found:
            return found
        # "Weiden i.d.OPf." is "Weiden" in GeoNames: try shorter prefixes of the name, and let
        # the dropped words pick among same-named places by district ("Neustadt b. Coburg").
        tokens = key.split()
        for end in range(len(tokens) - 1, 0, -1):
            candidates = self._lookup(" ".join(tokens[:end]))
            if candidates:
                hint = " ".join(tokens[end:])
                matching = [c for c in candidates if hint in place_key(c.district_name)]
                return matching or candidates
        return []

    def _lookup(self, key: str) -> list[Place]:
        exact = self._places.get(key, ())
        short = self._short_places.get(key, ())
        if not short:
            return list(exact)
        ranked = [(_match_rank(p, True), p) for p in exact]
        ranked += [(_match_rank(p, False), p) for p in short if p not in exact]
        return [p for _, p in sorted(ranked, key=lambda rp: rp[0])]

    def suggest(self, text: str, *, limit: int = 10) -> list[Postcode | Place]:
        """Up to ``limit`` postcodes or places starting with ``text``; accent/case-insensitive."""
        keys = {prefix_key(text), place_key(text)} - {""}
        found: dict[int, tuple] = {}
        for key in keys:
            lo = bisect.bisect_left(self._prefix_keys, key)
            hi = bisect.bisect_left(self._prefix_keys, key + "\uffff")
            for i in range(lo, hi):
                entry_key, rank, _, _ = self._prefix_entries[i]
                found[i] = (entry_key != key, rank, entry_key)
        best = heapq.nsmallest(limit, found, key=found.__getitem__)
        return [self._prefix_entries[i][3] for i in best]

    # --- geopy contract ------------------------------------------------------------------

    def geocode(self, query, *, exactly_one: bool = True, timeout=None, **_ignored):
        """Postcode, place or address (str, or dict with street/postcode/city) → Location(s).

        A known postcode wins; a city that names some of its places narrows it to their
        points. A city the postcode does not serve, an unknown postcode or a street (the data
        has none) is listed in ``raw["unmatched"]``. An unknown or malformed postcode falls
        back to the city.
        """
        found = self.match(query)
        if not found:
            return None
        if exactly_one:
            return found[0].location()
        return [m.location() for m in found]

    def match(self, query) -> list[Match]:
        """The answers of ``geocode`` before they become geopy Locations, best first."""
        q = query if isinstance(query, AddressQuery) else parse_query(query)
        unmatched = ("street",) if q.street else ()
        entry = self._postcodes.get(q.postcode) if q.postcode else None
        if entry is not None:
            if q.city:
                wanted = {id(p) for p in self.places(q.city)}
                named = [(p, pt) for p, pt in zip(entry.places, entry.points, strict=True)
                         if id(p) in wanted]
                if not named:
                    unmatched += ("city",)
                elif len(named) < len(entry.places):
                    return [Match(f"{entry.postcode} {p.name}", pt[0], pt[1], "postcode",
                                  entry.postcode, p, (p.district_ags,) if p.district_ags else (),
                                  p.in_bavaria, unmatched) for p, pt in named]
            return [Match(entry.label, entry.lat, entry.lon, "postcode", entry.postcode,
                          entry.places[0], entry.district_ags, entry.in_bavaria, unmatched)]
        if q.postcode:
            unmatched += ("postcode",)
        if not q.city:
            return []
        return [Match(p.name, p.lat, p.lon, "place", None, p,
                      (p.district_ags,) if p.district_ags else (), p.in_bavaria, unmatched)
                for p in self.places(q.city)]

    def reverse(self, query, *, exactly_one: bool = True, timeout=None, **_ignored):
        raise NotImplementedError("the offline gazetteer does not reverse-geocode")


def _place_rank(place: Place) -> tuple:
    return (not place.in_bavaria, -len(place.postcodes), place.name, place.district_ags)


def _match_rank(place: Place, exact: bool) -> tuple:
    return (not place.in_bavaria, not exact, -len(place.postcodes), place.name,
            place.district_ags)


def clean_postcode(text: str) -> str:
    """"D-96450" or " 96 450 " → "96450"; anything else is returned stripped, for the caller
    to reject with POSTCODE_RE."""
    text = _POSTCODE_PREFIX.sub("", str(text).strip())
    compact = text.replace(" ", "")
    return compact if compact.isdigit() else text


def parse_query(query) -> AddressQuery:
    """Street, postcode and city from a dict (street/housenumber, postcode/postalcode,
    city/town) or from free text such as "Lauterer Str. 60, 96450 Coburg"."""
    if isinstance(query, AddressQuery):
        return query
    if isinstance(query, Mapping):
        street = " ".join(str(query.get("street") or "").split())
        number = str(query.get("housenumber") or query.get("house_number") or "").strip()
        if number:
            street = f"{street} {number}".strip()
        postcode = clean_postcode(query.get("postalcode") or query.get("postcode") or "")
        city = " ".join(str(query.get("city") or query.get("town") or "").split())
        return AddressQuery(street, postcode, city)
    text = " ".join(str(query).split())
    parts = [p.strip() for p in re.split(r"[,;]", text) if p.strip()]
    parts = [p for p in parts if p.lower().strip(".") not in _NOT_A_TOWN]
    for i in range(len(parts) - 1, -1, -1):
        match = _POSTCODE_IN_TEXT.search(parts[i])
        if not match:
            continue
        before = parts[i][:match.start()].strip()
        city = parts[i][match.end():].strip()  # "96450 Coburg"
        if not city:  # "Coburg, 96450" or "Coburg 96450"
            towns = [p for p in parts[i + 1:] + parts[:i][::-1] if not _STREETISH.search(p)]
            if towns:
                city = towns[0]
            elif before and not _STREETISH.search(before):
                city, before = before, ""
        others = [p for j, p in enumerate(parts) if j != i and p != city]
        street = before or next((p for p in others if _STREETISH.search(p)), "") or next(
            iter(others), "")
        return AddressQuery(street, match.group(1), city)
    if len(parts) <= 1:
        # One part without a postcode is a place name, even "Mering" (it ends like a street).
        return AddressQuery("", "", parts[0] if parts else "")
    towns = [p for p in parts if not _STREETISH.search(p)]
    streets = [p for p in parts if _STREETISH.search(p)]
    if not towns:
        return AddressQuery(streets[0], "", streets[-1])
    return AddressQuery(streets[0] if streets else "", "", towns[-1])
