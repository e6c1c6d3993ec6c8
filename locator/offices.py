"""KoKi office data: read, validate (naming file, line and field) and hold as a GeoDataFrame."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import geopandas as gpd
import pandas as pd
import phonenumbers

from .crs import METRIC, WGS84
from .districts import District
from .errors import DataError
from .formulas import starts_formula
from .gazetteer import POSTCODE_RE
from .hours import check_hours

OFFICE_COLUMNS = (
    "id", "name", "district_ags", "street", "postcode", "city", "phone", "email", "website",
    "opening_hours", "contact_level", "lat", "lon", "location_precision", "sources",
    "checked_on", "provenance",
)
REQUIRED = ("id", "name", "district_ags", "lat", "lon", "location_precision")
# offices.csv is data, opened by staff in spreadsheets: its free-text fields may not start like
# a formula (locator/formulas.py); phone numbers have their own pattern ("+49 …" is fine).
FORMULA_CHECKED = ("name", "street", "city", "email")
PRECISIONS = ("address", "street", "postcode", "place")
# Whose contact a row gives: the KoKi's own, the Jugendamt's, or the administration's general.
CONTACT_LEVELS = ("koki", "jugendamt", "verwaltung")
# Facts a family acts on: each needs a source (the city alone is the district's seat).
SOURCED_FIELDS = ("street", "postcode", "phone", "email", "website", "opening_hours")
# Bavaria's bounding box with a little margin; the Locator also checks the point lies in a
# Bavarian district area.
BAVARIA_LAT = (47.2, 50.65)
BAVARIA_LON = (8.9, 13.95)

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)
_SOURCE_SEPARATOR = re.compile(r"\s*;\s*(?=https?://)", re.IGNORECASE)
# What quote() leaves as it is: the reserved characters and existing %-escapes.
_URI_SAFE = ":/?#[]@!$&'()*+,;=%~"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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
    points = gpd.points_from_xy(frame["lon"], frame["lat"])
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
    check_contact(clean, fail)
    return clean


def check_contact(row: Mapping[str, str], fail: Callable[[str, str], Exception],
                  today: dt.date | None = None) -> None:
    """Check the contact fields and their sources; raise ``fail(field, why)`` at the first."""
    if row["postcode"] and not POSTCODE_RE.match(row["postcode"]):
        raise fail("postcode", f"{row['postcode']!r} is not a 5-digit postcode")
    if row["email"] and not _EMAIL.match(row["email"]):
        raise fail("email", f"{row['email']!r} is not an e-mail address")
    if row["phone"] and phone_uri(row["phone"]) is None:
        raise fail("phone", f"{row['phone']!r} is not a phone number (German, with its area code)")
    if row["website"] and not row["website"].startswith("https://"):
        raise fail("website", f"{row['website']!r} is not an https:// address")
    if row["opening_hours"] and (why := check_hours(row["opening_hours"])):
        raise fail("opening_hours", f"{row['opening_hours']!r} is not OpenStreetMap "
                                    f"opening_hours syntax: {why}")
    if row["contact_level"] and row["contact_level"] not in CONTACT_LEVELS:
        raise fail("contact_level", f"{row['contact_level']!r} is not one of "
                                    f"{', '.join(CONTACT_LEVELS)}")
    for url in split_sources(row["sources"]):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or " " in url:
            raise fail("sources", f"{url!r} is not an http(s) URL")
        try:
            as_uri(url)
        except UnicodeError as err:  # served as a URI, the host must be an IDNA name
            raise fail("sources", f"{url!r} has no valid host name ({err})") from None
    if row["checked_on"]:
        try:
            checked = dt.date.fromisoformat(row["checked_on"])
        except ValueError:
            checked = None
        if checked is None or not _ISO_DATE.match(row["checked_on"]):
            raise fail("checked_on", f"{row['checked_on']!r} is not an ISO date (YYYY-MM-DD)")
        if checked > (today or dt.date.today()):
            raise fail("checked_on", f"{row['checked_on']} is in the future")
    given = [f for f in SOURCED_FIELDS if row[f]]
    if given and not row["sources"]:
        raise fail("sources", f"is empty, but {', '.join(given)} must say where "
                              f"{'it comes' if len(given) == 1 else 'they come'} from")
    if row["sources"] and not row["checked_on"]:
        raise fail("checked_on", "is empty, but the sources need the date they were checked")


def split_sources(text: str) -> list[str]:
    """The URLs of a ``sources`` cell: ";"-separated, but only a ";" before the next "http"
    separates, since old newspaper URLs carry one of their own (".../Lenting;art575,3444100")."""
    return [url.strip() for url in _SOURCE_SEPARATOR.split(text) if url.strip()]


def as_uri(url: str) -> str:
    """An http(s) URL as a URI (RFC 3986): a source may be written as an IRI
    ("…/Kempten_(Allgäu)"); the host goes to IDNA, other non-ASCII to %-escapes."""
    if url.isascii():
        return url
    parts = urlsplit(url)
    # The host by its place in the authority, not by searching its text: the hostname urlsplit
    # gives is lower-cased ("Allgäu.DE" is not found in the netloc), and a user part may hold
    # the same name. UnicodeError when the host is no IDNA name (check_contact refuses those).
    # The port goes along: IDNA leaves an ASCII label ("de:8443", "[::1]:80") as it is.
    userinfo, at, host = parts.netloc.rpartition("@")
    netloc = userinfo + at + host.encode("idna").decode("ascii")
    return quote(urlunsplit(parts._replace(netloc=netloc)), safe=_URI_SAFE)


def phone_uri(phone: str) -> str | None:
    """``tel:`` URI in E.164 for a German number as written ("(0871) 408-0"), else None."""
    try:
        number = phonenumbers.parse(phone, "DE")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return "tel:" + phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
