#!/usr/bin/env python3
"""Build geodata/offices.csv: one KoKi office per Bavarian district, from the district seats and
the researched contact facts, located by our own geocoder.

Inputs: geodata/sources/district_seats.csv (the seat of each district's administration) and
geodata/sources/contacts/*.csv (researched facts, one row per district, each with its sources;
see geodata/README.md). An office is placed at its address postcode's point (precision
``postcode``: the offline gazetteer has no streets), else at its town's point, else at the
seat (both ``place``). A bad research row stops the build naming file, line and field.

``--report`` writes the completeness table of the built offices.csv into geodata/README.md.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import re
import sys
from pathlib import Path

from locator.bulk import RecordGeocoder
from locator.completeness import README_MARKERS, completeness_markdown, read_office_rows
from locator.config import REPO_GEODATA
from locator.districts import District, is_bavarian, load_bavarian_districts
from locator.errors import DataError
from locator.gazetteer import Gazetteer
from locator.offices import CONTACT_LEVELS, OFFICE_COLUMNS, SOURCED_FIELDS, check_contact
from locator.storage import write_atomically, write_csv_atomically
from locator.textnorm import slug

NAME = "KoKi – Netzwerk frühe Kindheit, {district}"
# A source's name is the office's own only when it names the KoKi: a Jugendamt's or
# Landratsamt's name ("Stadtjugendamt München") would present the administration as the office;
# contact_level already says whose contact the facts are.
KOKI_NAME = re.compile(r"koki|kinderschutzstelle|frühe\s+(?:kindheit|hilfen)", re.IGNORECASE)
CONTACT_COLUMNS = (
    "ags", "district", "office_name", "street", "postcode", "city", "phone", "email", "website",
    "opening_hours", "contact_level", "sources", "checked_on", "checked_on_kind", "provenance",
)
CHECKED_ON_KINDS = {"source": "Datum der Quelle", "read": "Tag des Abrufs (die Quelle nennt "
                                                         "kein Datum)"}
GAZETTEER = "dem Offline-Ortsverzeichnis (GeoNames)"
SEAT_POINT = (
    "Ort: Sitz der Kreisverwaltung ({seat}), geokodiert mit dem Offline-Ortsverzeichnis "
    "(GeoNames, Ortsmittel der Postleitzahlpunkte)"
)


def read_contacts(folder: Path, districts: dict[str, District],
                  today: dt.date) -> dict[str, dict[str, str]]:
    """Researched facts by district key, validated; DataError names file, line and field."""
    found: dict[str, dict[str, str]] = {}
    for path in sorted(folder.glob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            if list(header) != list(CONTACT_COLUMNS):
                raise DataError(path, f"the header must be {','.join(CONTACT_COLUMNS)}", line=1)
            for line, raw in enumerate(reader, start=2):
                row = _check_contact_row(path, line, raw, districts, today)
                if row is None:
                    continue
                before = found.get(row["ags"])
                if before is not None and _has_facts(before) and _has_facts(row):
                    raise DataError(path, f"{row['ags']} has facts here and in "
                                          f"{before['_where']}: keep one", line=line,
                                    field="ags")
                if before is None or _has_facts(row):
                    notes = [before["provenance"]] if before and before["provenance"] else []
                    found[row["ags"]] = {**row, "_notes": notes + ([row["provenance"]]
                                                                   if row["provenance"] else [])}
                elif row["provenance"]:
                    before["_notes"].append(row["provenance"])
    return found


def _check_contact_row(path: Path, line: int, raw: dict, districts: dict[str, District],
                       today: dt.date) -> dict[str, str] | None:
    def fail(field: str, detail: str) -> DataError:
        return DataError(path, detail, line=line, field=field)

    if None in raw:
        raise DataError(path, "more fields than columns", line=line)
    row = {c: " ".join((raw.get(c) or "").split()) for c in CONTACT_COLUMNS}
    if not any(row.values()):
        return None
    if row["ags"] not in districts:
        raise fail("ags", f"{row['ags']!r} is not one of Bavaria's 96 district keys")
    check_contact(row, fail, today)
    if _has_facts(row) or row["office_name"]:
        if not row["sources"]:
            raise fail("sources", "is empty, but the office name must say where it comes from")
        if not row["contact_level"]:
            raise fail("contact_level", f"is empty: say whose contact it is "
                                        f"({', '.join(CONTACT_LEVELS)})")
    if row["checked_on"] and row["checked_on_kind"] not in CHECKED_ON_KINDS:
        raise fail("checked_on_kind", f"{row['checked_on_kind']!r} is not one of "
                                      f"{', '.join(CHECKED_ON_KINDS)}")
    if row["postcode"] and not row["city"]:
        raise fail("city", "is empty, but the postcode needs its town")
    row.update(_where=f"{path.name}, line {line}", _path=path, _line=line)
    return row


def office_name(facts: dict | None, district: District) -> str:
    """The KoKi's own name where a source gives one, else the program's name for the district."""
    named = (facts or {}).get("office_name", "")
    return named if KOKI_NAME.search(named) else NAME.format(district=district.name)


def _has_facts(row: dict[str, str]) -> bool:
    return any(row[f] for f in SOURCED_FIELDS)


def build(data_dir: Path, *, contacts_dir: Path | None = None,
          today: dt.date | None = None) -> list[dict[str, object]]:
    """The office rows, in the seats' order; DataError names the bad input."""
    today = today or dt.date.today()
    districts = load_bavarian_districts(data_dir / "districts.csv")
    gazetteer = Gazetteer.load(
        data_dir / "postcodes.csv", district_names={a: d.name for a, d in districts.items()}
    )
    contacts = read_contacts(contacts_dir or data_dir / "sources" / "contacts", districts, today)
    geocode = RecordGeocoder(gazetteer, {"postcode": "postcode", "city": "city"})
    seats_path = data_dir / "sources" / "district_seats.csv"
    with seats_path.open(encoding="utf-8", newline="") as fh:
        seats = list(csv.DictReader(fh))
    rows = []
    for line, seat in enumerate(seats, start=2):
        district = districts.get(seat["ags"])
        if district is None:
            raise DataError(seats_path, f"unknown district {seat['ags']!r}", line=line,
                            field="ags")
        places = [p for p in gazetteer.places(seat["seat"])
                  if p.district_ags == seat["seat_district_ags"]]
        if len(places) != 1:
            raise DataError(seats_path, f"{seat['seat']!r} in {seat['seat_district_ags']} "
                                        f"matches {len(places)} places, expected 1", line=line,
                            field="seat")
        facts = contacts.get(district.ags)
        row = {"id": slug(district.name), "district_ags": district.ags,
               "name": office_name(facts, district)}
        if facts:
            row.update({f: facts[f] for f in (*SOURCED_FIELDS, "city", "contact_level",
                                              "sources", "checked_on")})
        row.update(_locate(facts, places[0], geocode, gazetteer,
                           {district.ags, seat["seat_district_ags"]}))
        row["provenance"] = _provenance(facts, row)
        rows.append(row)
    missing = sorted(set(districts) - {r["district_ags"] for r in rows})
    if missing:
        raise DataError(seats_path, f"no seat for district(s) {', '.join(missing)}")
    return rows


def _locate(facts: dict | None, seat, geocode: RecordGeocoder, gazetteer: Gazetteer,
            near: set[str]) -> dict[str, object]:
    """The office's point: its postcode's, else its town's, else the seat's."""
    def fail(field: str, detail: str) -> DataError:
        return DataError(facts["_path"], detail, line=facts["_line"], field=field)

    if facts and facts["postcode"]:
        found = geocode({"postcode": facts["postcode"], "city": facts["city"]})
        if found["status"] != "ok":
            raise fail("postcode", f"{facts['postcode']} {facts['city']}: {found['message']}")
        if not any(is_bavarian(a) for a in found["district_ags"]):
            raise fail("postcode", f"{facts['postcode']} {facts['city']} is not in Bavaria")
        how = (f"Ort: Postleitzahlpunkt von {facts['postcode']} aus {GAZETTEER}, nicht die "
               "Lage des Hauses")
        return {"lat": found["lat"], "lon": found["lon"], "location_precision": "postcode",
                "_how": how}
    if facts and facts["city"]:
        # The town lies in the office's district or in the seat's (a Landkreis office in its
        # kreisfreie Stadt): that tells the many Neustadts apart.
        places = [p for p in gazetteer.places(facts["city"]) if p.district_ags in near]
        if len(places) != 1:
            raise fail("city", f"{facts['city']!r} matches {len(places)} places in "
                               f"{', '.join(sorted(near))}, expected 1")
        return {"lat": places[0].lat, "lon": places[0].lon, "location_precision": "place",
                "_how": f"Ort: Ortsmittel von {places[0].name} aus {GAZETTEER}"}
    return {"lat": seat.lat, "lon": seat.lon, "location_precision": "place", "city": seat.name,
            "_how": SEAT_POINT.format(seat=seat.name)}


def _provenance(facts: dict | None, row: dict) -> str:
    parts = []
    if facts and facts["_notes"]:
        parts.append("Recherche: " + " / ".join(facts["_notes"]))
    parts.append(row.pop("_how"))
    if facts and facts["checked_on"]:
        parts.append(f"Stand {facts['checked_on']}: {CHECKED_ON_KINDS[facts['checked_on_kind']]}")
    if not (facts and _has_facts(facts)):
        parts.append("Anschrift und Kontakt: keine Quelle gefunden")
    return ". ".join(p.rstrip(".") for p in parts)


def write_report(readme: Path, offices: Path) -> None:
    """Replace the table between the completeness markers of ``readme``, atomically."""
    start, end = README_MARKERS
    text = readme.read_text(encoding="utf-8")
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise DataError(readme, f"needs one {start} … {end} block for the table")
    table = completeness_markdown(read_office_rows(offices))
    new = text[:text.index(start) + len(start)] + "\n" + table + text[text.index(end):]
    write_atomically(readme, lambda fh: fh.write(new))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO_GEODATA)
    parser.add_argument("--contacts", type=Path, metavar="DIR",
                        help="research files (default: DATA_DIR/sources/contacts)")
    parser.add_argument("--force", action="store_true", help="replace an existing offices.csv")
    parser.add_argument("--report", action="store_true",
                        help="only write the completeness table into DATA_DIR/README.md")
    args = parser.parse_args(argv)
    out = args.data_dir / "offices.csv"
    try:
        if args.report:
            write_report(args.data_dir / "README.md", out)
            print(f"{args.data_dir / 'README.md'}: completeness table of {out}")
            return 0
        if out.exists() and not args.force:
            sys.exit(f"{out} exists; offices added by 'locator geocode --merge' would be lost. "
                     "Use --force.")
        rows = build(args.data_dir, contacts_dir=args.contacts)
    except DataError as err:
        sys.exit(f"error: {err.detail}")
    write_csv_atomically(out, list(OFFICE_COLUMNS), rows)
    located = sum(r["location_precision"] == "postcode" for r in rows)
    print(f"{out}: {len(rows)} offices, {located} at their address postcode")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
