#!/usr/bin/env python3
"""Measure the district-area approximation and record the figures in geodata/district_areas.md.

There are no official boundaries offline, so every figure holds labelled places out and asks
which district the rest of the data puts them in:

1. Unseen municipality (Germany): leave-one-out over the German postal places; the place and
   every place of the same name within 2 km are held out. In Bavaria nearly every postal place
   is a municipality's only place, so this asks for a whole municipality nobody labelled:
   a pessimistic bound.
2. Unseen place of a known municipality (Germany): the same over the postal places that are not
   a municipality's main place (their name is no LAU municipality of their district), i.e. the
   situation of a user in a village the data does not list.
3. Austria as a twin of Bavaria (districts and municipalities of the same size): trained on one
   place per municipality, tested on all other Austrian places, labelled with their district.
4. The committed GeoJSON itself: share of labelled places inside their own district's area.

"Distance to the border" is estimated from all labelled places: the places' Voronoi cells are
merged per label and the distance to the edge of the own label's area is taken (for Austria from
its ~9,700 places per district). The border is then midway between two places of different
districts, which is within about half the local place spacing (2-3 km) of the real one.

Run: ``python scripts/measure_district_areas.py`` (needs ``pip install -e '.[build]'``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import build_district_areas as builder
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

DOC = builder.ROOT / "geodata" / "district_areas.md"
START, END = "<!-- measured:start -->", "<!-- measured:end -->"
BORDER_M = 2000.0  # "far from a border" means more than this from the estimated border
SAME_PLACE_M = 2000.0  # a place of the same name this close is the held-out place itself
CANDIDATES = 40  # neighbours fetched per held-out place before excluding the same place
SWEEP = [(1, 0.0), (3, 3.0), (5, 2.0), (5, 3.0), (8, 2.0), (8, 3.0), (12, 3.0)]


def is_german(labels: pd.Series) -> np.ndarray:
    """True for district keys, False for country codes."""
    return labels.str.fullmatch(r"\d{5}").to_numpy()


def border_distance(xy: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Distance (m) from each place to the edge of its label's merged Voronoi area."""
    # Voronoi needs distinct sites; a location listed twice keeps its first label
    _, first, back = np.unique(np.round(xy, 1), axis=0, return_index=True, return_inverse=True)
    sites, site_labels = xy[first], labels[first]
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(sites), ordered=True))
    edges = {
        lab: shapely.boundary(shapely.coverage_union_all(cells[site_labels == lab]))
        for lab in np.unique(site_labels)
    }
    # a place sharing its location with another label is measured to that label's edge
    own = np.array([
        edges.get(lab, edges[site_labels[b]])
        for lab, b in zip(labels, back.ravel(), strict=True)
    ])
    return shapely.distance(shapely.points(xy), own)


def wilson(ok: np.ndarray) -> str:
    """Share with its 95 % Wilson interval, as percentages."""
    n, z = len(ok), 1.96
    if n == 0:
        return "–"
    p = ok.mean()
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"{100 * p:.2f} % ({100 * (centre - half):.1f}–{100 * min(centre + half, 1):.1f})"


def held_out_votes(points: pd.DataFrame, test: np.ndarray, k: int, power: float) -> np.ndarray:
    """Labels for the places ``test`` (indices into points), each voted without itself."""
    xy = points[["x", "y"]].to_numpy()
    base = points["name"].map(lambda n: builder.name_keys(n)[2]).to_numpy()
    dist, idx = cKDTree(xy).query(xy[test], k=CANDIDATES)
    same = (idx == test[:, None]) | (dist < 1.0)
    same |= (dist < SAME_PLACE_M) & (base[idx] == base[test][:, None])
    labels = points["label"].to_numpy()[idx]
    return builder.vote(dist, labels, ~same, k=k, power=power)


def municipality_seats(points: pd.DataFrame, lau: pd.DataFrame) -> np.ndarray:
    """True where a German place's name is a municipality of its own district."""
    known = {
        (ags8[:5], key) for ags8, name in zip(lau["id"], lau["name"], strict=True)
        for key in builder.name_keys(name)
    }
    return np.array([
        any((label, key) in known for key in builder.name_keys(name))
        for label, name in zip(points["label"], points["name"], strict=True)
    ])


def germany(rows: pd.DataFrame, lau: pd.DataFrame) -> dict[str, dict[str, np.ndarray]]:
    """Correct/incorrect per held-out German postal place, per method, with subset masks."""
    points = builder.labelled_points(rows)
    postal_only = points[points["source"] == "postal"].reset_index(drop=True)
    test = np.nonzero(is_german(postal_only["label"]))[0]
    truth = postal_only["label"].to_numpy()[test]
    # the same places, as indices into the full point set (postal rows come first there)
    near = border_distance(points[["x", "y"]].to_numpy(), points["label"].to_numpy())[test]
    masks = {
        "far": near > BORDER_M,
        "bavaria": np.char.startswith(truth.astype(str), "09"),
        "part": ~municipality_seats(postal_only.iloc[test], lau),
    }
    results = {"nearest postal place": held_out_votes(postal_only, test, 1, 0.0) == truth}
    for k, power in SWEEP:
        results[method_name(k, power)] = held_out_votes(points, test, k, power) == truth
    return {"results": results, "masks": masks}


def method_name(k: int, power: float) -> str:
    """Label of one vote setting in the tables."""
    chosen = " (chosen)" if (k, power) == (builder.K_NEIGHBOURS, builder.POWER) else ""
    return "nearest place" if k == 1 else f"{k} nearest, weight 1/d^{power:g}{chosen}"


def austria(rows: pd.DataFrame) -> dict[str, dict[str, np.ndarray]]:
    """Train on one place per Austrian municipality, test on the others (label: district)."""
    at = rows[rows["country"] == "AT"].drop_duplicates(["lat", "lon"]).reset_index(drop=True)
    to_metric = builder.Transformer.from_crs("EPSG:4326", builder.METRIC_CRS, always_xy=True)
    xy = np.column_stack(to_metric.transform(at["lon"].to_numpy(), at["lat"].to_numpy()))
    bezirk = at["region_code"].to_numpy()
    full = at["place"].map(lambda n: builder.name_keys(n)[0])
    seat = (full == at["district"].map(lambda n: builder.name_keys(n)[0])).to_numpy()
    seat &= ~pd.Series(at["district_ags"]).where(seat).duplicated().to_numpy()
    test = ~seat & at["district_ags"].isin(at["district_ags"][seat]).to_numpy()
    far = border_distance(xy, bezirk)[test] > BORDER_M
    dist, idx = cKDTree(xy[seat]).query(xy[test], k=max(k for k, _ in SWEEP))
    results = {
        method_name(k, power): builder.vote(dist, bezirk[seat][idx], k=k, power=power)
        == bezirk[test]
        for k, power in SWEEP
    }
    return {"results": results, "masks": {"far": far}}


def committed_areas(areas: Path, rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """Whether each German postal place lies in its own district's area in the GeoJSON."""
    features = json.loads(areas.read_text(encoding="utf-8"))["features"]
    geoms = np.array([shapely.geometry.shape(f["geometry"]) for f in features])
    keys = np.array([f["properties"]["ags"] for f in features])
    postal = builder.postal_points(rows)
    postal = postal[is_german(postal["label"])]
    places = shapely.points(postal["lon"].to_numpy(), postal["lat"].to_numpy())
    hit, geom = shapely.STRtree(geoms).query(places, predicate="intersects")
    found = np.full(len(postal), "", dtype=object)
    found[hit] = keys[geom]
    truth = postal["label"].to_numpy()
    return {"all": found == truth, "bavaria": np.char.startswith(truth.astype(str), "09")}


def rows_for(results: dict[str, np.ndarray], subset: np.ndarray | None = None) -> list[str]:
    """Markdown table rows: method | share correct."""
    subset = np.ones(len(next(iter(results.values()))), bool) if subset is None else subset
    return [f"| {name} | {wilson(ok[subset])} | {int((~ok[subset]).sum())} |"
            for name, ok in results.items()]


def report(de: dict, at: dict, resub: dict[str, np.ndarray]) -> str:
    """The measured-figures section of geodata/district_areas.md."""
    m, r = de["masks"], de["results"]
    head = ["| method | correct (95 % interval) | wrong |", "| --- | --- | --- |"]
    parts = [
        "Generated by `scripts/measure_district_areas.py`; percentages of held-out places put "
        "in their true district.",
        "",
        f"### 1. Unseen municipality, Germany, > 2 km from the border ({m['far'].sum()} places)",
        "", *head, *rows_for(r, m["far"]), "",
        f"Bavaria only, > 2 km ({(m['far'] & m['bavaria']).sum()} places):", "",
        *head, *rows_for(r, m["far"] & m["bavaria"]), "",
        f"All distances ({len(m['far'])} places):", "", *head, *rows_for(r), "",
        f"### 2. Unseen place of a known municipality, Germany, > 2 km "
        f"({(m['far'] & m['part']).sum()} places; {(m['part'] & m['bavaria']).sum()} of all "
        "such places are Bavarian, too few for a Bavarian figure)",
        "", *head, *rows_for(r, m["far"] & m["part"]), "",
        f"All distances ({m['part'].sum()} places):", "", *head, *rows_for(r, m["part"]), "",
        f"### 3. Austria as a twin of Bavaria, > 2 km ({at['masks']['far'].sum()} places)",
        "", *head, *rows_for(at["results"], at["masks"]["far"]), "",
        f"All distances ({len(at['masks']['far'])} places):", "", *head,
        *rows_for(at["results"]), "",
        "### 4. The committed GeoJSON on its own places (raster and simplification loss)",
        "", "| places | inside their own district |", "| --- | --- |",
        f"| all German postal places ({len(resub['all'])}) | {wilson(resub['all'])} |",
        f"| Bavarian ({resub['bavaria'].sum()}) | {wilson(resub['all'][resub['bavaria']])} |",
    ]
    return "\n".join(parts)


def write_section(doc: Path, text: str) -> None:
    """Replace the block between the markers in ``doc`` (atomically)."""
    old = doc.read_text(encoding="utf-8")
    if START not in old or END not in old:
        raise SystemExit(f"{doc} lacks the {START} / {END} markers")
    new = old[: old.index(START) + len(START)] + "\n" + text + "\n" + old[old.index(END):]
    fd, tmp = tempfile.mkstemp(dir=doc.parent, prefix=f".{doc.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(new)
    os.replace(tmp, doc)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--geonames", type=Path, help="GeoNames postal-code file")
    parser.add_argument("--areas", type=Path, default=builder.OUTPUT, help="GeoJSON to check")
    parser.add_argument("--doc", type=Path, default=DOC, help="Markdown file to update")
    parser.add_argument("--print-only", action="store_true", help="do not touch --doc")
    args = parser.parse_args(argv)
    rows = builder.read_geonames(args.geonames or builder.default_geonames_path())
    lau = pd.read_csv(builder.package_file(
        "geo_mapper", "geodata_clean/csv/LAU/2024/lau_2024_level_0.csv"), dtype=str)
    text = report(germany(rows, lau), austria(rows), committed_areas(args.areas, rows))
    print(text)
    if not args.print_only:
        write_section(args.doc, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
