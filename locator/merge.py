"""Merge geocoded staff records into the office data: validated like a start-up load, written
atomically with a backup of the previous version, one merge at a time."""

from __future__ import annotations

import csv
import datetime as dt
import fcntl
import os
import re
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .bulk import address_of
from .districts import is_bavarian
from .errors import DataError
from .offices import OFFICE_COLUMNS, PRECISIONS, check_row, read_offices
from .service import Locator
from .sheets import Sheet, coordinate_text
from .storage import write_atomically
from .textnorm import place_key, short_place_keys, slug, street_key

# --- merge into the office data ------------------------------------------------------------

# Test hook: seconds to pause after each written row, so a test can kill a merge mid-write.
TEST_ROW_DELAY_ENV = "KOKI_TEST_MERGE_ROW_DELAY_S"
_LOCK_TIMEOUT_S = 30.0
_DISTRICT_KIND_WORDS = {
    "landkreis": "Landkreis", "lk": "Landkreis", "lkr": "Landkreis", "landkr": "Landkreis",
    "kreis": "Landkreis", "stadt": "kreisfreie Stadt", "kreisfreie": "kreisfreie Stadt",
    "kfr": "kreisfreie Stadt", "landeshauptstadt": "kreisfreie Stadt",
}
# Facts a record at an office's known address may bring anew (a newer phone, new hours).
UPDATABLE = ("phone", "email", "website", "opening_hours", "contact_level", "sources",
             "checked_on")
_DISTRICT_NOISE = frozenset({"jugendamt", "koki", "stadtjugendamt", "kreisjugendamt"})


@dataclass
class MergeReport:
    """What a merge adds, moves, recognises as duplicate or skips (with reasons)."""

    path: Path
    added: list[dict] = field(default_factory=list)
    moved: list[tuple[dict, dict]] = field(default_factory=list)  # (before, after)
    updated: list[tuple[dict, dict]] = field(default_factory=list)  # same place, new facts
    duplicates: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    written: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.added or self.moved or self.updated)

    def lines(self) -> list[str]:
        state = ("written; previous version in " + self.path.name + ".bak" if self.written
                 else "nothing written" + (" (dry run)" if self.changed else ""))
        out = [f"merge into {self.path}: {len(self.added)} added, {len(self.moved)} moved, "
               f"{len(self.updated)} updated, {len(self.duplicates)} duplicate(s), "
               f"{len(self.skipped)} skipped — {state}"]
        out += [f"  + {r['id']}: {r['name']} ({r['district_ags']}, {_where(r)}, "
                f"{r['location_precision']})" for r in self.added]
        out += [f"  ~ {a['id']}: {_where(b)} ({b['location_precision']}) → {_where(a)} "
                f"({a['location_precision']})" for b, a in self.moved]
        out += [f"  * {a['id']}: " + ", ".join(f"{k} {a[k]!r}" for k in UPDATABLE
                                               if a.get(k) != b.get(k)) for b, a in self.updated]
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
            "postcode": q.postcode,  # "" or 5 digits: another postcode is no "ok" record
            "city": q.city, "phone": cell(result, "phone"), "email": _email(cell(result, "email")),
            "website": _website(cell(result, "website")),
            "opening_hours": cell(result, "opening_hours"),
            "contact_level": cell(result, "contact_level").lower(),
            "sources": _sources(cell(result, "sources")), "checked_on": _date(cell(result,
                                                                                 "checked_on")),
            "lat": coordinate_text(result["lat"]), "lon": coordinate_text(result["lon"]),
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
                # Same place: the record may still bring newer contact facts (the yearly review).
                facts = {k: office[k] for k in UPDATABLE
                         if office[k] and office[k] != before.get(k)}
                if not facts:
                    report.duplicates.append(f"{where} ({name}): already in the office data as "
                                             f"{before['id']}")
                    continue
                office = {**before, **facts, "provenance": _join_notes(
                    before.get("provenance", ""),
                    f"Kontakt aktualisiert am {today} ({source}, Zeile {line})")}
                problem = _check_office(path, line, office, locator)
                if problem:
                    report.skipped.append(f"{where} ({name}): {problem}")
                    continue
                report.updated.append((before, office))
                report.rows[index] = office
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
        clean = check_row(path, line, office, locator.districts)
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
            # Line and field of the merged table, which has the data file's lines; not the
            # name of the temporary copy, which is gone when staff read this.
            why = str(err).removeprefix(str(candidate)).lstrip(":, ")
            raise DataError(report.path, "the merged office data would not load, nothing was "
                                         f"written: {why}") from err


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


def _join_notes(*notes: str) -> str:
    return ". ".join(n.rstrip(". ") for n in notes if n)


def _sources(text: str) -> str:
    # Staff put several URLs in one cell with spaces, commas or line breaks: ";" in the data.
    return ";".join(u for u in re.split(r"[\s;,]+(?=https?://)", text) if u)


def _date(text: str) -> str:
    """ISO date from "2025-03-01", a spreadsheet's "2025-03-01T00:00:00" or "01.03.2025"."""
    if match := re.match(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$", text):
        day, month, year = match.groups()
        return f"{year}-{int(month):02d}-{int(day):02d}"
    return text[:10] if re.match(r"^\d{4}-\d{2}-\d{2}T", text) else text


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
