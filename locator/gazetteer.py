"""Offline postcode and place gazetteer over GeoNames postal codes, as a geopy Geocoder.

It follows geopy's contract (``geocode(query, *, exactly_one=True)`` returns ``None``, a
``Location`` or a list of them), so online geocoders plug in beside it without new code. Every
``Location.raw`` says its ``precision`` ("postcode" or "place"; the offline data has no streets),
its ``source`` and which parts of the query it could not use (``unmatched``).
"""

from __future__ import annotations

import bisect
import csv
import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from geopy.adapters import BaseSyncAdapter
from geopy.exc import GeocoderServiceError
from geopy.geocoders.base import Geocoder
from geopy.location import Location

from .addresses import POSTCODE_RE, AddressQuery, clean_postcode, parse_query
from .errors import DataError
from .names import NameIndex, Place, contenders
from .textnorm import place_key

# Query parsing lives in addresses.py, the name index and ranking in names.py; their public
# names stay importable from here.
__all__ = ["POSTCODE_RE", "AddressQuery", "Gazetteer", "Match", "Place", "Postcode",
           "clean_postcode", "parse_query"]

SOURCE = "offline"
ATTRIBUTION = "Postleitzahlen: GeoNames (CC BY 4.0)"
POSTCODE_COLUMNS = (
    "postcode", "place", "state", "state_code", "district", "district_ags", "lat", "lon",
)
# Read when present (the builder writes them; older or hand-made files may lack them).
STANDING_COLUMNS = ("population", "seat")
SEATS = ("", "kreisfreie Stadt", "Kreisstadt")
# Gazetteer.load's one entry: (sha256 of the file, district names) and the gazetteer built.
_LAST_LOADED: tuple[tuple[bytes, tuple], Gazetteer] | None = None


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
    # A place name that matches places in several districts, none standing out: all of them,
    # ranked (the first is this match's place); empty when the answer is clear.
    alternatives: tuple[Place, ...] = ()

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
            "alternatives": [{"place": p.name, "district_ags": p.district_ags,
                              "postcode": p.postcodes[0] if p.postcodes else None,
                              "lat": p.lat, "lon": p.lon} for p in self.alternatives],
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
        n = len(rows["postcode"])
        populations = rows["population"] if "population" in rows else [""] * n
        seats = rows["seat"] if "seat" in rows else [""] * n
        groups: dict[tuple[str, str], list[tuple[str, float, float]]] = defaultdict(list)
        meta: dict[tuple[str, str], tuple[str, str, int, str]] = {}
        for pc, name, state_code, district, ags, lat, lon, population, seat in zip(
            rows["postcode"], rows["place"], rows["state_code"], rows["district"],
            rows["district_ags"], rows["lat"], rows["lon"], populations, seats, strict=True,
        ):
            groups[(name, ags)].append((pc, float(lat), float(lon)))
            meta[(name, ags)] = (state_code, names.get(ags) or district or "",
                                 int(population or 0), seat or "")
        by_postcode: dict[str, list[tuple[Place, float, float]]] = defaultdict(list)
        places = []
        for (name, ags), points in groups.items():
            state_code, district_name, population, seat = meta[(name, ags)]
            place = Place(
                name=name,
                district_ags=ags,
                district_name=district_name,
                state_code=state_code,
                lat=round(sum(p[1] for p in points) / len(points), 5),
                lon=round(sum(p[2] for p in points) / len(points), 5),
                postcodes=tuple(sorted({p[0] for p in points})),
                population=population,
                seat=seat,
            )
            places.append(place)
            for pc, lat, lon in points:
                by_postcode[pc].append((place, lat, lon))
        self._names = NameIndex(places)
        self._postcodes = {}
        for pc, entries in by_postcode.items():
            # The place with the most postcodes first: it names the postcode ("84032 Landshut
            # u. a."), and its district comes first.
            entries.sort(key=lambda e: (not e[0].in_bavaria, -len(e[0].postcodes), e[0].name,
                                        e[0].district_ags))
            self._postcodes[pc] = Postcode.of(pc, tuple(e[0] for e in entries),
                                              tuple((e[1], e[2]) for e in entries))
        self._postcode_keys = sorted(self._postcodes)
        self._district_names = {ags: district for (_, ags), (_, district, _, _) in meta.items()
                                if ags}

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
                columns = [*POSTCODE_COLUMNS, *(c for c in STANDING_COLUMNS if c in header)]
                positions = [header.index(c) for c in columns]
                records = [[row[i] for i in positions] for row in reader]
        except FileNotFoundError as err:
            raise DataError(path, "gazetteer file not found") from err
        except (UnicodeDecodeError, csv.Error, IndexError) as err:
            raise DataError(path, f"unreadable gazetteer file: {err}") from err
        if not records:
            raise DataError(path, "gazetteer file has no rows")
        rows = dict(zip(columns, map(list, zip(*records, strict=True)), strict=True))
        for i, value in enumerate(rows.get("population", ())):
            if value and not value.isdigit():
                raise DataError(path, f"not a population: {value!r}", line=i + 2,
                                field="population")
        for i, value in enumerate(rows.get("seat", ())):
            if value not in SEATS:
                raise DataError(path, f"seat must be one of {', '.join(map(repr, SEATS))}, "
                                f"not {value!r}", line=i + 2, field="seat")
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
        return cls(rows, district_names=district_names)

    @classmethod
    def load(cls, path: Path, *, district_names: Mapping[str, str] | None = None) -> Gazetteer:
        """``from_file``, reusing the last gazetteer this process loaded while the file's bytes
        and the district names are the same: a data reload that changed only the offices (a
        merge, the yearly review) does not parse and index 8,000 postcodes again (~1 s).

        A Gazetteer is never changed after it is built, so sharing one is safe."""
        global _LAST_LOADED
        try:
            digest = hashlib.sha256(Path(path).read_bytes()).digest()
        except OSError:
            return cls.from_file(path, district_names=district_names)  # it names the error
        key = (digest, tuple(sorted((district_names or {}).items())))
        if _LAST_LOADED is not None and _LAST_LOADED[0] == key:
            return _LAST_LOADED[1]
        gazetteer = cls.from_file(path, district_names=district_names)
        _LAST_LOADED = (key, gazetteer)
        return gazetteer

    @staticmethod
    def forget_loaded() -> None:
        """Drop the gazetteer ``load`` keeps (the test suite starts every session without it,
        so that each session, and each mutant of scripts/mutate, builds its own)."""
        global _LAST_LOADED
        _LAST_LOADED = None

    # --- lookups -------------------------------------------------------------------------

    def district_names(self) -> dict[str, str]:
        """{AGS: name} of every district in the data; official names where they were given."""
        return dict(self._district_names)

    def counts(self) -> dict[str, int]:
        """How many postcodes and named places the data holds."""
        return {"postcodes": len(self._postcodes), "places": len(self._names)}

    def all_postcodes(self) -> list[Postcode]:
        """Every postcode of the data."""
        return list(self._postcodes.values())

    def district_sets(self) -> set[tuple[str, ...]]:
        """Every combination of districts an answer can name: each postcode's districts, each
        place's district and each ambiguous name's districts (as in ``Match.district_ags``)."""
        return ({e.district_ags for e in self._postcodes.values()}
                | {_districts((p,)) for p in self._names.places()}
                | {_districts(self._names.contenders(k)) for k in self._names.keys()})

    def postcode(self, postcode: str) -> Postcode | None:
        """The postcode's entry, or None when the data does not know it."""
        return self._postcodes.get(postcode)

    def places(self, name: str) -> list[Place]:
        """Places whose normalised name or short form matches; best first (names.rank)."""
        return list(self._candidates(name)[0])

    def _candidates(self, name: str) -> tuple[tuple[Place, ...], tuple[Place, ...]]:
        """The places a name matches, ranked, and those among them the family must choose
        from (names.contenders; empty when the name is clear)."""
        key = place_key(name)
        found = self._names.lookup(key)
        if found:
            return found, self._names.contenders(key)
        # "Weiden i.d.OPf." is "Weiden" in GeoNames: try shorter prefixes of the name, and let
        # the dropped words pick among same-named places by district ("Neustadt b. Coburg").
        tokens = key.split()
        for end in range(len(tokens) - 1, 0, -1):
            candidates = self._names.lookup(" ".join(tokens[:end]))
            if candidates:
                hint = " ".join(tokens[end:])
                matching = tuple(c for c in candidates if hint in place_key(c.district_name))
                found = matching or candidates
                return found, contenders(found)
        return (), ()

    def suggest(self, text: str, *, limit: int = 10) -> list[Postcode | Place]:
        """Up to ``limit`` postcodes or places starting with ``text``; accent/case-insensitive,
        ranked like ``places`` (names.NameIndex.suggest)."""
        digits = text.strip()
        if digits[:1].isdigit():
            lo = bisect.bisect_left(self._postcode_keys, digits)
            hi = bisect.bisect_left(self._postcode_keys, digits + "\uffff", lo)
            return [self._postcodes[pc] for pc in self._postcode_keys[lo:min(hi, lo + limit)]]
        return list(self._names.suggest(text, limit))

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
        q = parse_query(query)  # an AddressQuery passes as it is
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
        ranked, choice = self._candidates(q.city)
        found = [Match(p.name, p.lat, p.lon, "place", None, p,
                       (p.district_ags,) if p.district_ags else (), p.in_bavaria, unmatched)
                 for p in ranked]
        if choice:
            # Several places of similar standing in different districts: the first answer
            # names them all, and all their districts.
            found[0] = replace(found[0], district_ags=_districts(choice), alternatives=choice)
        return found

    def reverse(self, query, *, exactly_one: bool = True, timeout=None, **_ignored):
        raise NotImplementedError("the offline gazetteer does not reverse-geocode")


def _districts(places: tuple[Place, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p.district_ags for p in places if p.district_ags))
