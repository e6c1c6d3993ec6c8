"""Districts (Kreise, 5-digit AGS): Bavaria's 96 with official names, and point → district.

Point lookups use area polygons: official boundaries (any vector file with an AGS column, e.g.
BKG VG250 ``KRS``) when configured, otherwise the approximation shipped in
geodata/district_areas.geojson (see geodata/district_areas.md for how it is built and measured).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from .crs import METRIC, to_metric
from .errors import DataError

DISTRICT_TYPES = ("Landkreis", "kreisfreie Stadt")
REGIERUNGSBEZIRKE = (
    "Oberbayern", "Niederbayern", "Oberpfalz", "Oberfranken", "Mittelfranken", "Unterfranken",
    "Schwaben",
)
# Column names that carry the district key in common boundary files (VG250: AGS, ARS, RS).
AGS_COLUMNS = ("ags", "AGS", "ARS", "ars", "RS", "rs", "KRS", "krs", "district_ags")


@dataclass(frozen=True, slots=True)
class District:
    """One of Bavaria's 96 Jugendamt districts."""

    ags: str
    name: str
    short_name: str
    type: str
    regierungsbezirk: str


def is_bavarian(ags: str | None) -> bool:
    return bool(ags) and len(ags) == 5 and ags.startswith("09")


def load_bavarian_districts(path: Path) -> dict[str, District]:
    """geodata/districts.csv → {ags: District}, validated: Bavaria's 96 districts."""
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = {"ags", "name", "short_name", "type", "regierungsbezirk"} - set(
                reader.fieldnames or ()
            )
            if missing:
                raise DataError(path, f"missing columns: {', '.join(sorted(missing))}", line=1)
            districts: dict[str, District] = {}
            for line, row in enumerate(reader, start=2):
                ags = row["ags"] or ""
                if not (is_bavarian(ags) and ags.isdigit()):
                    raise DataError(path, f"not a Bavarian AGS key: {ags!r}", line=line,
                                    field="ags")
                if ags in districts:
                    raise DataError(path, f"duplicate district {ags}", line=line, field="ags")
                if row["type"] not in DISTRICT_TYPES:
                    raise DataError(path, f"unknown type {row['type']!r}", line=line, field="type")
                if row["regierungsbezirk"] not in REGIERUNGSBEZIRKE:
                    raise DataError(path, f"unknown Regierungsbezirk {row['regierungsbezirk']!r}",
                                    line=line, field="regierungsbezirk")
                if not row["name"].strip():
                    raise DataError(path, "empty name", line=line, field="name")
                districts[ags] = District(
                    ags, row["name"], row["short_name"], row["type"], row["regierungsbezirk"]
                )
    except FileNotFoundError as err:
        raise DataError(path, "district file not found") from err
    except UnicodeDecodeError as err:
        raise DataError(path, f"not UTF-8: {err}") from err
    if len(districts) != 96:
        raise DataError(path, f"expected Bavaria's 96 districts, found {len(districts)}")
    return districts


class DistrictAreas:
    """Point → district key from area polygons held in EPSG:25832 with an STRtree."""

    def __init__(self, keys: np.ndarray, geometries: np.ndarray, *, source: str) -> None:
        self._keys = keys
        self._geometries = geometries
        self._tree = shapely.STRtree(geometries)
        shapely.prepare(geometries)
        self.source = source

    @classmethod
    def from_file(cls, path: Path, *, ags_column: str | None = None,
                  official: bool = False) -> DistrictAreas:
        """Read any vector file GDAL reads (GeoJSON, GeoPackage, Shapefile) with an AGS column."""
        if not path.exists():
            raise DataError(path, "district area file not found")
        try:
            frame = gpd.read_file(path)
        except Exception as err:  # pyogrio raises several types for unreadable files
            raise DataError(path, f"unreadable district area file: {err}") from err
        column = ags_column or next((c for c in AGS_COLUMNS if c in frame.columns), None)
        if column is None or column not in frame.columns:
            wanted = ags_column or " / ".join(AGS_COLUMNS)
            raise DataError(path, f"no district key column ({wanted}); columns are "
                                  f"{', '.join(map(str, frame.columns))}", field=ags_column)
        if frame.crs is None:
            raise DataError(path, "the file has no coordinate reference system")
        frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty].to_crs(METRIC)
        keys = frame[column].astype(str).str.strip()
        # Integer columns lose the leading zero (9463); municipality files carry 8-12 digits
        # whose first five are the district.
        numeric = keys.str.fullmatch(r"\d+")
        keys = keys.where(~numeric, keys.str.zfill(5).str[:5])
        if official and not keys.str.fullmatch(r"\d{5}").all():
            bad = frame.index[~keys.str.fullmatch(r"\d{5}")][0]
            raise DataError(path, f"not an AGS key: {frame.loc[bad, column]!r}",
                            line=int(bad) + 1, field=column)
        geometries = shapely.make_valid(frame.geometry.to_numpy())
        label = f"official boundaries ({path.name})" if official else f"approximation ({path.name})"
        return cls(keys.to_numpy(dtype=object), geometries, source=label)

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(self._keys)

    def key_at(self, lat: float, lon: float) -> str | None:
        """District AGS (or a foreign area's country code) at a point; None outside coverage."""
        x, y = to_metric(lat, lon)
        hits = self._tree.query(shapely.Point(x, y), predicate="intersects")
        if len(hits) == 0:
            return None
        # On a shared edge several areas touch the point: the smallest key, for a stable answer.
        return min(self._keys[hits])
