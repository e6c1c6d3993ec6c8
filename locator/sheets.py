"""Staff spreadsheets in and out: CSV as German spreadsheets export it (comma or semicolon,
UTF-8, UTF-8 with BOM, UTF-16 or Windows-1252) or .xlsx in, with German or English headers;
CSV or GeoJSON out, written atomically."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from .errors import DataError
from .formulas import FORMULA_START, spreadsheet_cell
from .memory import no_gc
from .storage import write_atomically
from .textnorm import fold

ADDED_COLUMNS = ("lat", "lon", "precision", "district_ags", "status", "message")

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
    # Headers are folded, umlaut digraphs too: "Quelle" → "qulle", "Öffnungszeiten" → "offn…".
    "opening_hours": ("offnungszeiten", "opening hours", "hours", "sprechzeiten"),
    "contact_level": ("kontaktebene", "contact level", "ebene"),
    "sources": ("qullen", "qulle", "sources", "source"),
    "checked_on": ("stand", "checked on", "gepruft am"),
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
        with no_gc():
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


def cell_text(value: object) -> str:
    """A cell as clean text; whitespace runs collapsed only when there are any."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    text = text.strip()
    return " ".join(text.split()) if "  " in text or "\t" in text or "\n" in text else text


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
            writer.writerow([spreadsheet_cell(c) for c in columns])
            # Staff open this file in a spreadsheet: a cell of the input (or a message quoting
            # one) that a spreadsheet would run as a formula is written as text
            # (locator/formulas.py). The check is inline: it runs for every cell of 10^5 records.
            with no_gc():
                writer.writerows(
                    [*(v if v[:1] not in FORMULA_START else spreadsheet_cell(v)
                       for v in (r.get(c) or "" for c in given)),
                     coordinate_text(r["lat"]), coordinate_text(r["lon"]),
                     r["precision"] or "", ";".join(r["district_ags"]), r["status"],
                     spreadsheet_cell(r["message"])] for r in results)
    elif suffix in (".geojson", ".json"):
        def write(fh) -> None:
            with no_gc():
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


def coordinate_text(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}".rstrip("0").rstrip(".")


def _feature(result: dict, columns: list[str]) -> dict:
    lat, lon = result.get("lat"), result.get("lon")
    geometry = ({"type": "Point", "coordinates": [lon, lat]} if lat is not None else None)
    return {"type": "Feature", "geometry": geometry,
            "properties": {c: result.get(c) for c in columns}}

