#!/usr/bin/env python3
"""Build geodata/offices.csv: one KoKi office per Bavarian district, located by our own geocoder.

Each office is placed at the seat of its district's administration (geodata/sources/
district_seats.csv), geocoded with the offline gazetteer: place precision, the mean of the
seat's GeoNames postcode points. Street addresses and contacts are left empty: none has been
verified (see geodata/README.md). Later changes go through ``locator geocode --merge``, so an
existing file is only replaced with --force.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from locator.config import REPO_GEODATA
from locator.districts import load_bavarian_districts
from locator.gazetteer import Gazetteer
from locator.offices import OFFICE_COLUMNS
from locator.storage import write_csv_atomically
from locator.textnorm import slug

NAME = "KoKi – Netzwerk frühe Kindheit, {district}"
PROVENANCE = (
    "Ort: Sitz der Kreisverwaltung ({seat}), geokodiert mit dem Offline-Ortsverzeichnis "
    "(GeoNames, Ortsmittel der Postleitzahlpunkte); Anschrift und Kontakt nicht verifiziert"
)


def build(data_dir: Path) -> list[dict[str, object]]:
    districts = load_bavarian_districts(data_dir / "districts.csv")
    gazetteer = Gazetteer.from_file(
        data_dir / "postcodes.csv", district_names={a: d.name for a, d in districts.items()}
    )
    seats_path = data_dir / "sources" / "district_seats.csv"
    with seats_path.open(encoding="utf-8", newline="") as fh:
        seats = list(csv.DictReader(fh))
    rows = []
    for line, seat in enumerate(seats, start=2):
        district = districts.get(seat["ags"])
        if district is None:
            sys.exit(f"{seats_path}, line {line}, field 'ags': unknown district {seat['ags']!r}")
        places = [p for p in gazetteer.places(seat["seat"])
                  if p.district_ags == seat["seat_district_ags"]]
        if len(places) != 1:
            sys.exit(f"{seats_path}, line {line}, field 'seat': {seat['seat']!r} in "
                     f"{seat['seat_district_ags']} matches {len(places)} places, expected 1")
        place = places[0]
        rows.append({
            "id": slug(district.name),
            "name": NAME.format(district=district.name),
            "district_ags": district.ags,
            "city": place.name,
            "lat": place.lat,
            "lon": place.lon,
            "location_precision": "place",
            "provenance": PROVENANCE.format(seat=place.name),
        })
    missing = sorted(set(districts) - {r["district_ags"] for r in rows})
    if missing:
        sys.exit(f"{seats_path}: no seat for district(s) {', '.join(missing)}")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO_GEODATA)
    parser.add_argument("--force", action="store_true", help="replace an existing offices.csv")
    args = parser.parse_args(argv)
    out = args.data_dir / "offices.csv"
    if out.exists() and not args.force:
        sys.exit(f"{out} exists; it is maintained with 'locator geocode --merge'. Use --force.")
    rows = build(args.data_dir)
    write_csv_atomically(out, list(OFFICE_COLUMNS), rows)
    print(f"{out}: {len(rows)} offices")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
