"""Districts (Kreise, 5-digit AGS): Bavaria's 96 with official names, and point → district.

Point lookups use area polygons: official boundaries (any vector file with an AGS column, e.g.
BKG VG250 ``KRS``) when configured, otherwise the approximation shipped in
geodata/district_areas.geojson (see geodata/district_areas.md for how it is built and measured).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
import shapely.errors

from .crs import METRIC, to_metric
from .errors import DataError

DISTRICT_TYPES = ("Landkreis", "kreisfreie Stadt")
# In their official order: the third digit of a Bavarian AGS (1–7) numbers them.
REGIERUNGSBEZIRKE = (
    "Oberbayern", "Niederbayern", "Oberpfalz", "Oberfranken", "Mittelfranken", "Unterfranken",
    "Schwaben",
)
GRID_CELL_M = 5000.0
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
    """Point → district key from area polygons held in EPSG:25832."""

    def __init__(self, keys: np.ndarray, geometries: np.ndarray, *, source: str,
                 tree_min: int = 2048) -> None:
        self._keys = keys
        self._geometries = geometries
        shapely.prepare(geometries)
        # A few hundred district areas: a grid of 5 km cells, each listing the areas whose box
        # touches it, finds the candidates in a dict look-up (~3 µs a point, against ~11 µs for
        # an STRtree query). Municipality-level files with thousands of areas use the tree.
        self._tree = shapely.STRtree(geometries) if len(geometries) >= tree_min else None
        # {cell: key} for a cell inside one area, else {cell: (start, stop)} of its candidates
        # in self._candidates.
        self._grid: dict[tuple[int, int], str | tuple[int, int]] = {}
        if self._tree is None:
            cells, self._candidates, bounds = _box_grid(geometries, GRID_CELL_M)
            self._grid = dict(zip(cells, zip(bounds[:-1], bounds[1:], strict=True), strict=True))
            # Cells of Bavaria that lie inside one area hold its key: most look-ups there need
            # no polygon test at all (the other cells are rarely asked, so not worth start-up).
            self._grid.update(_interior_cells(
                cells, self._candidates, bounds, geometries, keys, GRID_CELL_M,
                np.array([is_bavarian(k) for k in keys], dtype=bool)))
        self.source = source

    @classmethod
    def from_file(cls, path: Path, *, ags_column: str | None = None,
                  official: bool = False) -> DistrictAreas:
        """Read GeoJSON directly, or any other vector file GDAL reads, with an AGS column."""
        if not path.exists():
            raise DataError(path, "district area file not found")
        read = None
        if path.suffix.lower() in (".geojson", ".json"):
            # The shipped default (RFC 7946: WGS84): parsed without GDAL, which would cost
            # ~30 MB per worker. Older GeoJSON with a "crs" member goes through GDAL.
            read = _read_geojson(path, ags_column)
        keys, geometries, columns = read or _read_with_gdal(path, ags_column)
        if keys is None:
            wanted = ags_column or " / ".join(AGS_COLUMNS)
            raise DataError(path, f"no district key column ({wanted}); columns are "
                                  f"{', '.join(map(str, columns))}", field=ags_column)
        keys = [_district_key(k) for k in keys]
        if official:
            for row, key in enumerate(keys):
                if not (len(key) == 5 and key.isdigit()):
                    raise DataError(path, f"not an AGS key: {key!r}", line=row + 1,
                                    field=ags_column or "ags")
        keep = ~(shapely.is_missing(geometries) | shapely.is_empty(geometries))
        if not keep.any():
            raise DataError(path, "no area with a geometry")
        geometries = shapely.make_valid(geometries[keep])
        label = f"official boundaries ({path.name})" if official else f"approximation ({path.name})"
        return cls(np.asarray(keys, dtype=object)[keep], geometries, source=label)

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(self._keys)

    def areas(self) -> tuple[np.ndarray, np.ndarray]:
        """Every area's key and polygon (EPSG:25832), as the look-ups use them: read-only."""
        return self._keys, self._geometries

    def key_at(self, lat: float, lon: float) -> str | None:
        """District AGS (or a foreign area's country code) at a point; None outside coverage."""
        return self.key_at_xy(*to_metric(lat, lon))

    def key_at_xy(self, x: float, y: float) -> str | None:
        """key_at() for a point already in EPSG:25832 (metres)."""
        if self._tree is not None:
            boxes = self._tree.query(shapely.Point(x, y))
        else:
            found = self._grid.get((int(x // GRID_CELL_M), int(y // GRID_CELL_M)))
            if found is None:
                return None
            if isinstance(found, str):  # a cell inside one area
                return found
            boxes = self._candidates[found[0]:found[1]]
        hits = boxes[shapely.intersects_xy(self._geometries[boxes], x, y)]
        if len(hits) == 0:
            return None
        # On a shared edge several areas touch the point: the smallest key, for a stable answer.
        return min(self._keys[hits])


def _district_key(value: object) -> str:
    """AGS as a 5-digit string: integer columns lose the leading zero (9463), municipality
    files carry 8-12 digits whose first five are the district."""
    text = str(value).strip()
    if text.endswith(".0") and text[:-2].isdigit():  # a float column
        text = text[:-2]
    return text.zfill(5)[:5] if text.isdigit() else text


def _read_geojson(path: Path, ags_column: str | None):
    """(keys, geometries in EPSG:25832, columns) of RFC 7946 GeoJSON; None for GeoJSON 2008
    that names its CRS (e.g. EPSG:25832 from QGIS/ogr2ogr), a "crs" member anywhere in it."""
    try:
        text = path.read_text(encoding="utf-8")
        document = json.loads(text)
        if "crs" in document:
            return None
        features = document["features"]
        properties = [f.get("properties") or {} for f in features]
        columns = list(dict.fromkeys(k for p in properties[:1] for k in p))
        column = ags_column or next((c for c in AGS_COLUMNS if c in columns), None)
        if column is None or column not in columns:
            return None, None, columns
        keys = [p.get(column) for p in properties]
        if all(f.get("geometry") for f in features):
            # One GEOS parse of the whole collection, whose parts are the features' geometries
            # in order (GEOS refuses null geometries: those files take the per-feature way).
            geometries = shapely.get_parts(shapely.from_geojson(text))
        else:
            geometries = shapely.from_geojson(np.array(
                [json.dumps(f["geometry"]) if f.get("geometry") else None for f in features],
                dtype=object))
    except (OSError, ValueError, KeyError, TypeError, shapely.errors.GEOSException) as err:
        raise DataError(path, f"unreadable GeoJSON: {err}") from err
    # RFC 7946: GeoJSON is WGS84 (lon, lat).
    x_y = shapely.get_coordinates(geometries)
    x, y = to_metric(x_y[:, 1], x_y[:, 0])
    return keys, shapely.set_coordinates(geometries, np.column_stack([x, y])), columns


def _read_with_gdal(path: Path, ags_column: str | None):
    import geopandas as gpd  # GDAL only for official boundary files

    try:
        frame = gpd.read_file(path)
    except Exception as err:  # pyogrio raises several types for unreadable files
        raise DataError(path, f"unreadable district area file: {err}") from err
    column = ags_column or next((c for c in AGS_COLUMNS if c in frame.columns), None)
    if column is None or column not in frame.columns:
        return None, None, list(frame.columns)
    if frame.crs is None:
        raise DataError(path, "the file has no coordinate reference system")
    frame = frame.to_crs(METRIC)
    return list(frame[column]), frame.geometry.to_numpy(), list(frame.columns)


def _box_grid(geometries: np.ndarray, cell_m: float
              ) -> tuple[list[tuple[int, int]], np.ndarray, list[int]]:
    """The cells that the geometries' bounding boxes touch, as (column, row); the indices of
    those geometries, grouped by cell; and where each cell's group starts (and the last ends)."""
    x0, y0, x1, y1 = np.floor(shapely.bounds(geometries) / cell_m).astype(np.int64).T
    columns, rows = x1 - x0 + 1, y1 - y0 + 1
    counts = columns * rows
    # Every (geometry, cell) pair of the boxes, then ordered by cell (geometries in order).
    owner = np.repeat(np.arange(len(geometries)), counts)
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    cx = x0[owner] + offset // rows[owner]
    cy = y0[owner] + offset % rows[owner]
    order = np.lexsort((owner, cy, cx))
    cx, cy, owner = cx[order], cy[order], owner[order]
    starts = np.flatnonzero(np.r_[True, (np.diff(cx) != 0) | (np.diff(cy) != 0)])
    cells = list(zip(cx[starts].tolist(), cy[starts].tolist(), strict=True))
    return cells, owner, [*starts.tolist(), len(owner)]


def _interior_cells(cells: list[tuple[int, int]], candidates: np.ndarray, bounds: list[int],
                    geometries: np.ndarray, keys: np.ndarray, cell_m: float,
                    wanted: np.ndarray) -> dict[tuple[int, int], str]:
    """{cell: key} for the cells with a wanted candidate that only one area touches and that
    area contains, border included: every point of such a cell lies in that area alone."""
    cell_of = np.repeat(np.arange(len(cells)), np.diff(bounds))  # each candidate's cell
    chosen = np.bincount(cell_of, weights=wanted[candidates], minlength=len(cells)) > 0
    pair_cell, pair_area = cell_of[chosen[cell_of]], candidates[chosen[cell_of]]
    if len(pair_cell) == 0:
        return {}
    corner = np.array(cells, dtype=float) * cell_m
    boxes = shapely.box(corner[:, 0], corner[:, 1], corner[:, 0] + cell_m, corner[:, 1] + cell_m)
    touching = shapely.intersects(geometries[pair_area], boxes[pair_cell])
    inside = shapely.contains_properly(geometries[pair_area], boxes[pair_cell])
    single = np.bincount(pair_cell, weights=touching, minlength=len(cells)) == 1
    return {cells[c]: str(keys[a])
            for c, a in zip(pair_cell[inside].tolist(), pair_area[inside].tolist(), strict=True)
            if single[c]}
