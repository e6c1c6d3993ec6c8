"""Reviewed corrections of GeoNames' district keys (geodata/sources/district_corrections.csv).

GeoNames' postal-code data puts a few places in the wrong district (96170 Lisberg: Landkreis
Schweinfurt, though its municipality key 09471154 is Landkreis Bamberg's). Each correction names
the rows it changes (postcode and/or place, and the district key GeoNames gives them), the right
district and its source. Both data builders apply them (build_gazetteer.py, build_district_areas.py)
and scripts/check_districts.py finds the candidates; see geodata/README.md.

A correction whose postcode is in the data but that no longer matches any row stops the build:
GeoNames may have fixed it, or changed the place's spelling, and either needs a look rather than
silence.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORRECTIONS_FILE = ROOT / "geodata" / "sources" / "district_corrections.csv"
COLUMNS = ("postcode", "place", "geonames_district_ags", "district_ags", "source")
_AGS = re.compile(r"^\d{5}$")
_POSTCODE = re.compile(r"^\d{5}$")


class CorrectionError(ValueError):
    """A corrections file that cannot be applied; the message names file, line and field."""


@dataclass(frozen=True)
class Correction:
    """Rows of ``postcode`` (any, if empty) and ``place`` (any, if empty) that GeoNames puts in
    ``geonames_district_ags`` belong to ``district_ags``."""

    postcode: str
    place: str
    geonames_district_ags: str
    district_ags: str
    source: str
    line: int

    def matches(self, postcode: str, place: str, district_ags: str) -> bool:
        return (district_ags == self.geonames_district_ags
                and self.postcode in ("", postcode) and self.place in ("", place))


def read_corrections(path: Path = CORRECTIONS_FILE) -> list[Correction]:
    """The corrections of ``path``, validated; CorrectionError names the line and field."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise CorrectionError(f"{path}:1: missing column(s): {', '.join(missing)}")
        corrections = []
        for line, row in enumerate(reader, start=2):
            values = {c: (row[c] or "").strip() for c in COLUMNS}
            problem = _problem(values)
            if problem:
                field, message = problem
                raise CorrectionError(f"{path}:{line}: field {field!r}: {message}")
            corrections.append(Correction(**values, line=line))
    return corrections


def _problem(row: dict[str, str]) -> tuple[str, str] | None:
    if not row["postcode"] and not row["place"]:
        return "postcode", "give a postcode, a place or both"
    if row["postcode"] and not _POSTCODE.match(row["postcode"]):
        return "postcode", f"not a 5-digit postcode: {row['postcode']!r}"
    for field in ("geonames_district_ags", "district_ags"):
        if not _AGS.match(row[field]):
            return field, f"not a 5-digit district key: {row[field]!r}"
    if row["district_ags"] == row["geonames_district_ags"]:
        return "district_ags", "the same as geonames_district_ags: nothing to correct"
    if not row["source"]:
        return "source", "every correction needs its source"
    return None


def apply_corrections(rows: list[dict[str, str]], corrections: list[Correction],
                      path: Path = CORRECTIONS_FILE) -> dict[Correction, int]:
    """Move matching rows (dicts with postcode, place, district, district_ags) to the corrected
    district, in place; its name is the one GeoNames gives that district elsewhere.

    Returns how many rows each correction changed. One that changes none although its postcode
    (or place) is in ``rows`` is an error."""
    names: dict[str, Counter] = {}
    for row in rows:
        names.setdefault(row["district_ags"], Counter())[row["district"]] += 1
    changed = dict.fromkeys(corrections, 0)
    for row in rows:
        for correction in corrections:
            if correction.matches(row["postcode"], row["place"], row["district_ags"]):
                row["district_ags"] = correction.district_ags
                known = names.get(correction.district_ags)
                row["district"] = known.most_common(1)[0][0] if known else ""
                changed[correction] += 1
                break
    postcodes = {row["postcode"] for row in rows}
    places = {row["place"] for row in rows}
    for correction, count in changed.items():
        # A dump without the correction's postcode (or place) is a part of GeoNames, e.g. a
        # test fixture: nothing to correct there. With it, a correction that matches nothing
        # means GeoNames changed; that needs a look.
        covered = (correction.postcode in postcodes if correction.postcode
                   else correction.place in places)
        if covered and not count:
            raise CorrectionError(
                f"{path}:{correction.line}: matches no GeoNames row (postcode "
                f"{correction.postcode or 'any'}, place {correction.place or 'any'}, district "
                f"{correction.geonames_district_ags}): fixed upstream or renamed? Review it")
    return changed
