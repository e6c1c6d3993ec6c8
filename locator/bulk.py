"""Bulk geocoding of staff's office lists: read a spreadsheet (CSV as German spreadsheets export
it, or .xlsx), give each record coordinates and a status, write CSV or GeoJSON, and merge the
good records into the office data.

Statuses: ``ok``; ``invalid`` (malformed postcode, nothing to geocode); ``not_found``;
``conflict`` (postcode and city disagree, an ambiguous place name, or an online answer far
from the postcode) — failed records get no coordinates, never a guess.
"""

from __future__ import annotations

import csv
import datetime as dt
import fcntl
import gc
import io
import json
import os
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from .crs import geodesic_km
from .districts import DistrictAreas, is_bavarian
from .errors import DataError
from .gazetteer import (
    POSTCODE_RE,
    AddressQuery,
    Gazetteer,
    Match,
    clean_postcode,
    parse_query,
)
from .geocoding import OnlineGeocoder
from .offices import OFFICE_COLUMNS, PRECISIONS, read_offices
from .offices import _check_row as check_office_row  # the office data's own row checks
from .service import Locator
from .storage import write_atomically
from .textnorm import fold, place_key, short_place_keys, slug, street_key

ADDED_COLUMNS = ("lat", "lon", "precision", "district_ags", "status", "message")
STATUSES = ("ok", "not_found", "invalid", "conflict")
# A city the postcode does not list is accepted within this distance of the postcode's point
# (GeoNames lists the main places of a postcode, not every Ortsteil); beyond it, a conflict.
CITY_TOLERANCE_KM = 10.0
# An online answer further than this from the offline postcode/place point is not trusted.
ONLINE_TOLERANCE_KM = 25.0

# Column roles and the headers (folded: "Straße" → "strasse", "E-Mail" → "e mail") naming them.
HEADER_ROLES: dict[str, tuple[str, ...]] = {
    "name": ("name", "bezeichnung", "einrichtung", "stelle", "office", "titel", "name der stelle",
             "koki", "dienststelle"),
    "street": ("strasse", "str", "street", "strasse und hausnummer", "strasse hausnummer",
               "strasse nr", "road", "street address"),
    "house_number": ("hausnummer", "hausnr", "hnr", "nr", "house number", "housenumber",
                     "house no", "number"),
    "postcode": ("plz", "postleitzahl", "postcode", "postal code", "postalcode", "zip",
                 "zip code", "zipcode"),
    "city": ("ort", "stadt", "gemeinde", "city", "town", "place", "wohnort", "ortschaft",
             "stadt gemeinde", "locality"),
    "postcode_city": ("plz ort", "plz und ort", "postcode city", "zip city"),
    "address": ("adresse", "anschrift", "address", "full address", "postanschrift"),
    "phone": ("telefon", "tel", "telefonnummer", "phone", "telephone", "phone number"),
    "email": ("e mail", "email", "mail", "e mail adresse", "email address"),
    "website": ("webseite", "website", "internet", "homepage", "url", "web", "internetseite",
                "internetadresse"),
    "district": ("landkreis", "jugendamt", "kreis", "district", "landkreis kreisfreie stadt",
                 "landkreis stadt", "zustandiges jugendamt", "gebietskorperschaft", "district ags",
                 "ags", "kreisfreie stadt landkreis"),
}
_ROLE_OF = {alias: role for role, aliases in HEADER_ROLES.items() for alias in aliases}
ADDRESS_ROLES = ("postcode", "city", "postcode_city", "address")


@dataclass
class Sheet:
    """A staff spreadsheet: its columns as given, one dict per record, where each came from."""

    path: Path | None
    columns: list[str]
    rows: list[dict[str, str]]
    lines: list[int]  # CSV line or worksheet row of each record
    roles: dict[str, str]  # role → column
    problems: dict[int, str] = field(default_factory=dict)  # record index → why it is invalid
    encoding: str = "utf-8"
    delimiter: str = ","


def detect_roles(columns: Iterable[str]) -> dict[str, str]:
    """{role: column} for the columns whose header names a role; the first column wins."""
    roles: dict[str, str] = {}
    for column in columns:
        key = fold(column)
        role = _ROLE_OF.get(key)
        if role is None:  # "PLZ der Stelle", "Straße (mit Nr.)", "Ort/Gemeinde"
            tokens = key.split()
            if "plz" in tokens:
                role = "postcode_city" if "ort" in tokens else "postcode"
            elif tokens and tokens[0] in _ROLE_OF:
                role = _ROLE_OF[tokens[0]]
        if role and role not in roles:
            roles[role] = column
    return roles


# --- reading -------------------------------------------------------------------------------

def read_sheet(path: Path) -> Sheet:
    """Read a .csv (comma/semicolon/tab; UTF-8, UTF-8 with BOM, UTF-16 or Windows-1252) or
    .xlsx file. DataError names the file (and line and field) when it cannot be used."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        sheet = _read_xlsx(path)
    elif suffix in (".xls", ".ods", ".numbers"):
        raise DataError(path, f"{suffix} files are not supported: save it as .xlsx or .csv")
    else:
        sheet = _read_csv(path)
    if not any(role in sheet.roles for role in ADDRESS_ROLES):
        raise DataError(path, "no address columns: expected PLZ/postcode, Ort/city, PLZ Ort or "
                              f"Adresse/address; the header has {', '.join(sheet.columns)}",
                        line=sheet.lines[0] - 1 if sheet.lines else 1)
    return sheet


def _decode(path: Path, data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        encodings = ("utf-8-sig",)
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ("utf-16",)
    else:
        # UTF-8 first: Windows-1252 decodes nearly any bytes, so it only comes second.
        encodings = ("utf-8", "cp1252")
    for encoding in encodings:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as err:
            last = err
    line = data[:last.start].count(b"\n") + 1
    raise DataError(path, f"neither UTF-8 nor Windows-1252 text (byte {last.start})", line=line)


def _delimiter(text: str) -> str:
    header = next((line for line in text.splitlines() if line.strip()), "")
    outside = "".join(header.split('"')[::2])  # ignore delimiters inside quoted headers
    counts = {d: outside.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _read_csv(path: Path) -> Sheet:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DataError(path, f"cannot read the file: {err.strerror or err}") from err
    text, encoding = _decode(path, data)
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[dict[str, str]] = []
    lines: list[int] = []
    problems: dict[int, str] = {}
    start = 1
    try:
        with _no_gc():
            for cells in reader:
                line, start = start, reader.line_num + 1
                if not any(c.strip() for c in cells):
                    continue  # blank line, or a row of empty cells
                if header is None:
                    header = _header(path, cells, line)
                    width = len(header)
                    continue
                if len(cells) != width:
                    if any(c.strip() for c in cells[width:]):
                        problems[len(rows)] = (
                            f"line {line} has {len(cells)} fields, the header has {width} "
                            f"(an unquoted {delimiter!r} in a cell?)")
                    cells = cells[:width] + [""] * (width - len(cells))
                rows.append(dict(zip(header, [c.strip() for c in cells], strict=True)))
                lines.append(line)
    except csv.Error as err:
        raise DataError(path, f"malformed CSV: {err}", line=reader.line_num) from err
    if header is None:
        raise DataError(path, "the file is empty")
    return Sheet(path, header, rows, lines, detect_roles(header), problems, encoding, delimiter)


def _header(path: Path, cells: list, line: int) -> list[str]:
    header: list[str] = []
    while cells and (cells[-1] is None or not str(cells[-1]).strip()):
        cells = cells[:-1]  # spreadsheets pad the header row with empty cells
    for i, cell in enumerate(cells):
        base = name = str(cell if cell is not None else "").strip() or f"Spalte {i + 1}"
        copy = 2
        while name in header:  # a repeated header keeps both columns
            name, copy = f"{base} ({copy})", copy + 1
        header.append(name)
    if all(h.startswith("Spalte ") for h in header):
        raise DataError(path, "the first row is no header", line=line)
    return header


def _read_xlsx(path: Path) -> Sheet:
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError as err:
        raise DataError(path, "file not found") from err
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as err:
        raise DataError(path, f"not a readable .xlsx workbook: {err}") from err
    try:
        ws = book.worksheets[0]
        header: list[str] | None = None
        roles: dict[str, str] = {}
        rows, lines = [], []
        problems: dict[int, str] = {}
        for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
            if not any(v is not None and str(v).strip() for v in values):
                continue
            if header is None:
                header = _header(path, list(values), number)
                roles = detect_roles(header)
                continue
            if any(_cell_text(v) for v in values[len(header):]):
                problems[len(rows)] = f"row {number} has cells beyond the header's columns"
            cells = [_cell_text(v) for v in values[:len(header)]]
            cells += [""] * (len(header) - len(cells))
            row = dict(zip(header, cells, strict=True))
            postcode_column = roles.get("postcode")
            if postcode_column and row[postcode_column].isdigit() and isinstance(
                    values[header.index(postcode_column)], int | float):
                # A number cell lost its leading zero (01067 → 1067): that one is certain.
                row[postcode_column] = row[postcode_column].zfill(5)
            rows.append(row)
            lines.append(number)
    finally:
        book.close()
    if header is None:
        raise DataError(path, "the first worksheet is empty")
    return Sheet(path, header, rows, lines, roles, problems, encoding="xlsx", delimiter="")


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return " ".join(str(value).split())


# --- geocoding -----------------------------------------------------------------------------

def _text(value: object) -> str:
    """A cell as clean text; whitespace runs collapsed only when there are any."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    text = text.strip()
    return " ".join(text.split()) if "  " in text or "\t" in text or "\n" in text else text


def address_of(row: Mapping[str, object], roles: Mapping[str, str]) -> AddressQuery:
    """The record's street, postcode and city, from separate columns or combined ones."""
    def cell(role: str) -> str:
        column = roles.get(role)
        return _text(row.get(column)) if column else ""

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
    with _no_gc():
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


@contextmanager
def _no_gc():
    """Pause the cyclic garbage collector while building 100,000s of acyclic dicts: its
    repeated full passes over them cost a third of the run time, and there is no cycle to
    collect."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def summarise(results: Iterable[Mapping[str, object]]) -> dict[str, Counter]:
    """Counts by status and, for the ok records, by precision."""
    statuses: Counter[str] = Counter()
    precisions: Counter[str] = Counter()
    for r in results:
        statuses[str(r["status"])] += 1
        if r["status"] == "ok":
            precisions[str(r["precision"])] += 1
    return {"status": statuses, "precision": precisions}


# --- output --------------------------------------------------------------------------------

def output_columns(columns: Iterable[str]) -> list[str]:
    """The input's columns, then the added ones (an input column of the same name is replaced)."""
    return [c for c in columns if c not in ADDED_COLUMNS] + list(ADDED_COLUMNS)


def write_output(path: Path, columns: Iterable[str], results: list[dict]) -> None:
    """Write .csv (UTF-8, comma) or .geojson by the file's extension, atomically."""
    path = Path(path)
    columns = output_columns(columns)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        def write(fh) -> None:
            given = [c for c in columns if c not in ADDED_COLUMNS]
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(columns)
            with _no_gc():
                writer.writerows(
                    [*(r.get(c, "") for c in given), _number(r["lat"]), _number(r["lon"]),
                     r["precision"] or "", ";".join(r["district_ags"]), r["status"],
                     r["message"]] for r in results)
    elif suffix in (".geojson", ".json"):
        def write(fh) -> None:
            with _no_gc():
                features = [_feature(r, columns) for r in results]
            # json.dumps (C encoder) then one write: json.dump to a file is 5x slower.
            fh.write(json.dumps({"type": "FeatureCollection", "features": features},
                                ensure_ascii=False, separators=(",", ":")))
            fh.write("\n")
    else:
        raise DataError(path, "the output must end in .csv or .geojson")
    try:
        write_atomically(path, write)
    except OSError as err:
        raise DataError(path, f"cannot write the output: {err.strerror or err}") from err


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}".rstrip("0").rstrip(".")


def _feature(result: dict, columns: list[str]) -> dict:
    lat, lon = result.get("lat"), result.get("lon")
    geometry = ({"type": "Point", "coordinates": [lon, lat]} if lat is not None else None)
    return {"type": "Feature", "geometry": geometry,
            "properties": {c: result.get(c) for c in columns}}


# --- merge into the office data ------------------------------------------------------------

# Test hook: seconds to pause after each written row, so a test can kill a merge mid-write.
TEST_ROW_DELAY_ENV = "KOKI_TEST_MERGE_ROW_DELAY_S"
_LOCK_TIMEOUT_S = 30.0
_DISTRICT_KIND_WORDS = {
    "landkreis": "Landkreis", "lk": "Landkreis", "lkr": "Landkreis", "landkr": "Landkreis",
    "kreis": "Landkreis", "stadt": "kreisfreie Stadt", "kreisfreie": "kreisfreie Stadt",
    "kfr": "kreisfreie Stadt", "landeshauptstadt": "kreisfreie Stadt",
}
_DISTRICT_NOISE = frozenset({"jugendamt", "koki", "stadtjugendamt", "kreisjugendamt"})


@dataclass
class MergeReport:
    """What a merge adds, moves, recognises as duplicate or skips (with reasons)."""

    path: Path
    added: list[dict] = field(default_factory=list)
    moved: list[tuple[dict, dict]] = field(default_factory=list)  # (before, after)
    duplicates: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    written: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.added or self.moved)

    def lines(self) -> list[str]:
        state = ("written; previous version in " + self.path.name + ".bak" if self.written
                 else "nothing written" + (" (dry run)" if self.changed else ""))
        out = [f"merge into {self.path}: {len(self.added)} added, {len(self.moved)} moved, "
               f"{len(self.duplicates)} duplicate(s), {len(self.skipped)} skipped — {state}"]
        out += [f"  + {r['id']}: {r['name']} ({r['district_ags']}, {_where(r)}, "
                f"{r['location_precision']})" for r in self.added]
        out += [f"  ~ {a['id']}: {_where(b)} ({b['location_precision']}) → {_where(a)} "
                f"({a['location_precision']})" for b, a in self.moved]
        out += [f"  = {d}" for d in self.duplicates]
        out += [f"  ! {s}" for s in self.skipped]
        return out


def _where(row: Mapping[str, str]) -> str:
    place = " ".join(p for p in (row.get("postcode"), row.get("city")) if p)
    return ", ".join(p for p in (row.get("street"), place) if p) or "?"


def merge_offices(results: list[dict], sheet: Sheet, locator: Locator, *, offices_file: Path,
                  dry_run: bool = False, today: str | None = None) -> MergeReport:
    """Add the ``ok`` records to the office data (or move offices already there), validated
    like a start-up load, written atomically with a .bak of the previous version."""
    path = Path(offices_file)
    today = today or dt.date.today().isoformat()
    with _DirectoryLock(path.parent):
        _remove_stale_temp_files(path)
        header, existing = _read_office_rows(path)
        header += [c for c in OFFICE_COLUMNS if c not in header]
        report = _plan(results, sheet, existing, locator, path=path, today=today)
        report.header = header
        if not report.changed:
            return report
        _validate(report, locator)
        if not dry_run:
            write_atomically(path, lambda fh: _write_offices(fh, header, report.rows),
                             backup=True)
            report.written = True
    return report


def _plan(results, sheet: Sheet, existing: list[dict], locator: Locator, *, path: Path,
          today: str) -> MergeReport:
    def address_key(row: Mapping[str, str]) -> str:
        return f"{street_key(row.get('street', ''))}|{row.get('postcode', '')}|" \
               f"{place_key(row.get('city', ''))}"

    report = MergeReport(path, rows=[dict(r) for r in existing])
    by_name = {place_key(r["name"]): i for i, r in enumerate(report.rows)}
    ids = {r["id"] for r in report.rows}
    seen: dict[tuple[str, str], int] = {}
    new_rows: dict[int, int] = {}  # row index of an office added by this merge → its line
    roles = sheet.roles
    source = sheet.path.name if sheet.path else "records"

    def cell(result: Mapping, role: str) -> str:
        column = roles.get(role)
        return " ".join(str(result.get(column) or "").split()) if column else ""

    for result, line in zip(results, sheet.lines, strict=True):
        if result["status"] != "ok":
            continue
        where = f"line {line}"
        name = cell(result, "name")
        if not name:
            report.skipped.append(f"{where}: no name, so no office")
            continue
        ags, problem = _office_district(cell(result, "district"), result["district_ags"],
                                        locator)
        if problem:
            report.skipped.append(f"{where} ({name}): {problem}")
            continue
        q = address_of(result, roles)
        via = ("dem Offline-Ortsverzeichnis (GeoNames)"
               if result.get("_source") in (None, "offline") else str(result["_source"]))
        office = {
            "name": name, "district_ags": ags, "street": q.street,
            "postcode": q.postcode if POSTCODE_RE.match(q.postcode) else "",
            "city": q.city, "phone": cell(result, "phone"), "email": _email(cell(result, "email")),
            "website": _website(cell(result, "website")),
            "lat": _number(result["lat"]), "lon": _number(result["lon"]),
            "location_precision": result["precision"],
            "provenance": f"Bulk-Geokodierung mit {via} am {today} ({source}, Zeile {line}); "
                          f"Genauigkeit: {result['precision']}; Anschrift nicht verifiziert",
        }
        key = (place_key(name), address_key(office))
        if key in seen:
            report.duplicates.append(f"{where} ({name}): same office as line {seen[key]}")
            continue
        seen[key] = line
        index = by_name.get(key[0])
        if index is not None and index in new_rows:
            report.skipped.append(f"{where} ({name}): same name as line {new_rows[index]} but "
                                  "another address; give the offices distinct names")
            continue
        if index is not None:
            before = report.rows[index]
            if address_key(before) == key[1]:
                report.duplicates.append(f"{where} ({name}): already in the office data as "
                                         f"{before['id']}")
                continue
            if (PRECISIONS.index(office["location_precision"])
                    > PRECISIONS.index(before.get("location_precision") or "place")):
                report.skipped.append(f"{where} ({name}): {before['id']} is located more "
                                      f"precisely already ({before['location_precision']})")
                continue
            after = {**before, **{k: v for k, v in office.items() if v or k in (
                "street", "postcode")}}
            if not cell(result, "district"):
                after["district_ags"] = before["district_ags"]  # it moved, it serves the same
            office = after
        else:
            base = slug(name) or "koki"
            office["id"] = base if base not in ids else next(
                f"{base}-{n}" for n in range(2, 10_000) if f"{base}-{n}" not in ids)
        problem = _check_office(path, line, office, locator)
        if problem:
            report.skipped.append(f"{where} ({name}): {problem}")
            continue
        ids.add(office["id"])
        if index is not None:
            report.moved.append((report.rows[index], office))
            report.rows[index] = office
        else:
            report.added.append(office)
            report.rows.append(office)
            by_name[key[0]] = len(report.rows) - 1
            new_rows[len(report.rows) - 1] = line
    return report


def _office_district(text: str, location_ags: list[str],
                     locator: Locator) -> tuple[str, str | None]:
    """(AGS, None) from the record's Landkreis/Jugendamt cell, else from its location;
    ("", why) when neither names exactly one Bavarian district."""
    bavarian = [a for a in location_ags if is_bavarian(a)]
    if not text:
        if len(bavarian) == 1:
            return bavarian[0], None
        if not bavarian:
            return "", "not in a Bavarian district"
        return "", (f"the location lies in {len(bavarian)} districts ({', '.join(bavarian)}): "
                    "add a Landkreis/Jugendamt column")
    if text.isdigit() and len(text) == 5:
        return (text, None) if text in locator.districts else (
            "", f"{text} is not one of Bavaria's 96 district keys")
    tokens = [t for t in place_key(text).split() if t not in _DISTRICT_NOISE]
    kinds = {_DISTRICT_KIND_WORDS[t] for t in tokens if t in _DISTRICT_KIND_WORDS}
    core = " ".join(t for t in tokens if t not in _DISTRICT_KIND_WORDS)
    matches = []
    for district in locator.districts.values():
        keys = {place_key(district.short_name), *short_place_keys(district.short_name)}
        if core in keys and (not kinds or district.type in kinds):
            matches.append(district.ags)
    if len(matches) > 1:
        matches = [a for a in matches if a in bavarian] or matches
    if len(matches) == 1:
        return matches[0], None
    if not matches:
        return "", f"{text!r} is not one of Bavaria's 96 districts"
    return "", f"{text!r} may be {' or '.join(matches)}: write 'Stadt …' or 'Landkreis …'"


def _check_office(path: Path, line: int, office: dict, locator: Locator) -> str | None:
    """Why this office would fail the office data's checks, or None."""
    try:
        clean = check_office_row(path, line, office, locator.districts)
    except DataError as err:
        return str(err).split(": ", 1)[-1] if err.field is None else (
            f"{err.field}: {str(err).split(': ', 1)[-1]}")
    if not is_bavarian(locator.areas.key_at(clean["lat"], clean["lon"])):
        return f"({clean['lat']}, {clean['lon']}) is not inside Bavaria"
    return None


def _validate(report: MergeReport, locator: Locator) -> None:
    """The merged table must load exactly as the service will load it."""
    with tempfile.TemporaryDirectory() as tmp:
        candidate = Path(tmp) / report.path.name
        with candidate.open("w", encoding="utf-8", newline="") as fh:
            _write_offices(fh, report.header, report.rows, delay_s=0.0)
        try:
            offices = read_offices(candidate, locator.districts)
            for office in offices.itertuples():
                if not is_bavarian(locator.areas.key_at(office.lat, office.lon)):
                    raise DataError(candidate, f"({office.lat}, {office.lon}) is not inside "
                                               "Bavaria", line=office.line, field="lat")
            Locator(offices, locator.districts, locator.gazetteer, locator.areas,
                    data_version="merge-check")
        except DataError as err:
            raise DataError(report.path, "the merged office data would not load, nothing was "
                                         f"written: {err.detail}") from err


def _read_office_rows(path: Path) -> tuple[list[str], list[dict]]:
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            rows = [dict(r) for r in reader]
            return list(reader.fieldnames or []), rows
    except FileNotFoundError as err:
        raise DataError(path, "office file not found") from err
    except (UnicodeDecodeError, csv.Error) as err:
        raise DataError(path, f"unreadable office file: {err}") from err


def _write_offices(fh, header: list[str], rows: list[dict], *,
                   delay_s: float | None = None) -> None:
    if delay_s is None:
        delay_s = float(os.environ.get(TEST_ROW_DELAY_ENV) or 0)
    writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in header})
        if delay_s:
            fh.flush()
            time.sleep(delay_s)


def _email(text: str) -> str:
    return text.removeprefix("mailto:").strip()


def _website(text: str) -> str:
    # "www.landkreis-coburg.de" is an address without its scheme; "http://" stays (and fails).
    if text and "://" not in text and "." in text and " " not in text:
        return "https://" + text
    return text


def _remove_stale_temp_files(path: Path) -> None:
    """Temp files a killed merge left behind (the data file itself is never partial)."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            if time.time() - stale.stat().st_mtime > 60:
                stale.unlink()
        except OSError:
            pass


class _DirectoryLock:
    """An exclusive flock on the data directory: one merge at a time, no lock file left."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __enter__(self) -> _DirectoryLock:
        self._fd = os.open(self.directory, os.O_RDONLY)
        deadline = time.monotonic() + _LOCK_TIMEOUT_S
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(self._fd)
                    raise DataError(self.directory, "another merge holds the office data; "
                                                    "try again when it has finished") from None
                time.sleep(0.1)

    def __exit__(self, *exc) -> None:
        os.close(self._fd)  # closing releases the flock
