"""KoKi office data: read, validate (naming file, line and field) and hold as a GeoDataFrame."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .crs import METRIC, WGS84
from .districts import District
from .errors import DataError
from .formulas import starts_formula
from .gazetteer import POSTCODE_RE

OFFICE_COLUMNS = (
    "id", "name", "district_ags", "street", "postcode", "city", "phone", "email", "website",
    "lat", "lon", "location_precision", "provenance",
)
REQUIRED = ("id", "name", "district_ags", "lat", "lon", "location_precision")
# offices.csv is data, opened by staff in spreadsheets: its free-text fields may not start like
# a formula (locator/formulas.py); phone numbers have their own pattern ("+49 …" is fine).
FORMULA_CHECKED = ("name", "street", "city", "email")
PRECISIONS = ("address", "street", "postcode", "place")
# Bavaria's bounding box with a little margin; the Locator also checks the point lies in a
# Bavarian district area.
BAVARIA_LAT = (47.2, 50.65)
BAVARIA_LON = (8.9, 13.95)

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)
_PHONE = re.compile(r"^\+?[0-9 ()/\-]{6,}$")


def read_offices(path: Path, districts: Mapping[str, District]) -> gpd.GeoDataFrame:
    """Validated offices, indexed by id, geometry in EPSG:25832, district fields joined."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as err:
        raise DataError(path, "office file not found") from err
    try:
        # Decoded whole (the file is small), so a bad byte can be placed on its line.
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataError(path, f"not UTF-8 ({err.reason} at byte {err.start})",
                        line=data.count(b"\n", 0, err.start) + 1) from err
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = reader.fieldnames or []
        _check_header(path, header)
        rows = [check_row(path, line, row, districts)
                for line, row in enumerate(reader, start=2)]
    except csv.Error as err:
        raise DataError(path, f"malformed CSV: {err}") from err
    if not rows:
        raise DataError(path, "no offices")
    seen: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        if row["id"] in seen:
            raise DataError(path, f"duplicate id {row['id']!r} (first on line {seen[row['id']]})",
                            line=line, field="id")
        seen[row["id"]] = line
    uncovered = sorted(set(districts) - {row["district_ags"] for row in rows})
    if uncovered:
        names = ", ".join(f"{ags} {districts[ags].name}" for ags in uncovered[:5])
        more = f" and {len(uncovered) - 5} more" if len(uncovered) > 5 else ""
        raise DataError(path, f"no office for district(s) {names}{more}")

    frame = pd.DataFrame(rows)
    frame["district_name"] = [districts[a].name for a in frame["district_ags"]]
    frame["district_type"] = [districts[a].type for a in frame["district_ags"]]
    frame["regierungsbezirk"] = [districts[a].regierungsbezirk for a in frame["district_ags"]]
    frame["line"] = range(2, len(frame) + 2)
    points = gpd.points_from_xy(frame["lon"], frame["lat"], crs=WGS84)
    offices = gpd.GeoDataFrame(frame, geometry=points, crs=WGS84).to_crs(METRIC)
    return offices.set_index("id", drop=False).rename_axis(None)


def _check_header(path: Path, header: list[str]) -> None:
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise DataError(path, f"missing column(s): {', '.join(missing)}", line=1)
    unknown = [c for c in header if c not in OFFICE_COLUMNS]
    if unknown:
        raise DataError(path, f"unknown column(s): {', '.join(unknown)}; expected "
                              f"{', '.join(OFFICE_COLUMNS)}", line=1)


def check_row(path: Path, line: int, row: dict, districts: Mapping[str, District]) -> dict:
    """One office row, cleaned and typed; DataError names the file, line and field."""
    if None in row:
        raise DataError(path, "more fields than columns", line=line)
    clean = {col: (row.get(col) or "").strip() for col in OFFICE_COLUMNS}

    def fail(field: str, detail: str) -> DataError:
        return DataError(path, detail, line=line, field=field)

    for col in REQUIRED:
        if not clean[col]:
            raise fail(col, "is empty")
    if not _ID.match(clean["id"]):
        raise fail("id", f"{clean['id']!r} is not a slug (a-z, 0-9, single hyphens)")
    if clean["district_ags"] not in districts:
        raise fail("district_ags", f"{clean['district_ags']!r} is not one of Bavaria's "
                                   "96 district keys")
    for field, (low, high) in (("lat", BAVARIA_LAT), ("lon", BAVARIA_LON)):
        try:
            value = float(clean[field])
        except ValueError:
            raise fail(field, f"{clean[field]!r} is not a number") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise fail(field, f"{value} is outside Bavaria ({low}..{high})")
        clean[field] = value
    if clean["location_precision"] not in PRECISIONS:
        raise fail("location_precision", f"{clean['location_precision']!r} is not one of "
                                         f"{', '.join(PRECISIONS)}")
    for field in FORMULA_CHECKED:
        if starts_formula(clean[field]):
            raise fail(field, f"{clean[field]!r} starts with {clean[field][0]!r}: a spreadsheet "
                              "would run it as a formula (CSV injection); write it without")
    if clean["postcode"] and not POSTCODE_RE.match(clean["postcode"]):
        raise fail("postcode", f"{clean['postcode']!r} is not a 5-digit postcode")
    if clean["email"] and not _EMAIL.match(clean["email"]):
        raise fail("email", f"{clean['email']!r} is not an e-mail address")
    if clean["phone"] and not _PHONE.match(clean["phone"]):
        raise fail("phone", f"{clean['phone']!r} is not a phone number")
    if clean["website"] and not clean["website"].startswith("https://"):
        raise fail("website", f"{clean['website']!r} is not an https:// address")
    return clean
