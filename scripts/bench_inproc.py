"""In-process figures for scripts/bench: query cost (real offices, 10,000 and 1,000,000 synthetic
points) and offline bulk geocoding throughput. Imported by scripts/bench.py only."""

from __future__ import annotations

import csv
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from locator.crs import to_metric
from locator.districts import is_bavarian
from locator.service import Locator
from locator.spatial import PointIndex

ROOT = Path(__file__).resolve().parent.parent
# Bavaria's bounding box; origins are drawn in it and kept when they fall in a Bavarian district.
BAVARIA_LAT = (47.27, 50.57)
BAVARIA_LON = (8.97, 13.84)


def bavarian_origins(locator: Locator, n: int, seed: int = 20261123) -> list[tuple[float, float]]:
    """n random points inside Bavaria (by the district areas), uniformly over its area."""
    rng = np.random.default_rng(seed)
    found: list[tuple[float, float]] = []
    while len(found) < n:
        lat, lon = rng.uniform(*BAVARIA_LAT), rng.uniform(*BAVARIA_LON)
        if is_bavarian(locator.areas.key_at(lat, lon)):
            found.append((round(float(lat), 5), round(float(lon), 5)))
    return found


def bavarian_postcodes(postcodes_file: Path) -> list[str]:
    with postcodes_file.open(encoding="utf-8", newline="") as fh:
        return sorted({row["postcode"] for row in csv.DictReader(fh) if row["state_code"] == "BY"})


def per_call_us(call: Callable[[object], object], args: Sequence, rounds: int) -> dict:
    """Time each call on its own (ns clock; the garbage collector on, as in service): p50/p99
    per round, medians over the rounds."""
    for a in args[: max(50, len(args) // 10)]:  # warm caches and branch predictors
        call(a)
    p50s, p99s, means = [], [], []
    for _ in range(rounds):
        samples = np.empty(len(args))
        clock = time.perf_counter_ns
        for i, a in enumerate(args):
            t0 = clock()
            call(a)
            samples[i] = clock() - t0
        samples /= 1000.0
        p50s.append(float(np.percentile(samples, 50)))
        p99s.append(float(np.percentile(samples, 99)))
        means.append(float(samples.mean()))
    return {"p50_us": round(statistics.median(p50s), 1),
            "p99_us": round(statistics.median(p99s), 1),
            "mean_us": round(statistics.median(means), 1), "calls": len(args), "rounds": rounds}


def real_offices(locator: Locator, origins: list[tuple[float, float]], rounds: int) -> dict:
    """nearest-5, within-25 km and responsible through the Locator, as the API calls them."""
    resolved = [locator.locate(lat=lat, lon=lon) for lat, lon in origins]
    return {
        "offices": len(locator.offices),
        "nearest5": per_call_us(lambda o: locator.nearest(o, 5), resolved, rounds),
        "within25": per_call_us(lambda o: locator.within(o, 25.0), resolved, rounds),
        "responsible": per_call_us(lambda p: locator.responsible_at(*p), origins, rounds),
        "within25_mean_hits": round(float(np.mean(
            [len(locator.within(o, 25.0).hits) for o in resolved])), 1),
    }


def synthetic_points(postcodes_file: Path, n: int, seed: int = 5) -> np.ndarray:
    """n points spread over Germany like its settlements: every GeoNames postcode point of
    Germany, drawn at random, scattered by a normal jitter of 3 km (metres, EPSG:25832)."""
    with postcodes_file.open(encoding="utf-8", newline="") as fh:
        rows = [(float(r["lat"]), float(r["lon"])) for r in csv.DictReader(fh)]
    lats, lons = np.array(rows).T
    x, y = to_metric(lats, lons)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(x), n)
    return np.column_stack([x[pick], y[pick]]) + rng.normal(0.0, 3000.0, (n, 2))


def synthetic(postcodes_file: Path, n: int, origins: list[tuple[float, float]],
              rounds: int) -> dict:
    """PointIndex over n synthetic points, queried as the Locator does (to_metric first)."""
    t0 = time.perf_counter()
    xy = synthetic_points(postcodes_file, n)
    index = PointIndex(xy)
    build_s = time.perf_counter() - t0

    def nearest(p):
        return index.nearest(*to_metric(*p), 5)

    def within(p):
        return index.within(*to_metric(*p), 25_000.0)

    return {
        "points": n, "build_s": round(build_s, 2),
        "nearest5": per_call_us(nearest, origins, rounds),
        "within25": per_call_us(within, origins, rounds),
        "within25_mean_hits": round(float(np.mean([len(within(p)[0]) for p in origins])), 1),
    }


def responsible_key_at(locator: Locator, origins: list[tuple[float, float]], rounds: int) -> dict:
    """DistrictAreas.key_at alone: what responsibility costs at any number of offices."""
    return per_call_us(lambda p: locator.areas.key_at(*p), origins, rounds)


# --- bulk geocoding ---------------------------------------------------------------------------

def write_bulk_file(path: Path, postcodes_file: Path, n: int, seed: int = 11) -> None:
    """n staff-list records (Name, Straße, PLZ, Ort) over all of Germany, as CSV: mostly good,
    some with a place name that is not the postcode's, some without postcode, some malformed."""
    with postcodes_file.open(encoding="utf-8", newline="") as fh:
        rows = [(r["postcode"], r["place"]) for r in csv.DictReader(fh)]
    rng = np.random.default_rng(seed)
    streets = ["Hauptstraße", "Bahnhofstr.", "Kirchweg", "Am Markt", "Schulstraße", "Ringstraße"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["Name", "Straße", "PLZ", "Ort"])
        for i in range(n):
            postcode, place = rows[rng.integers(len(rows))]
            street = f"{streets[i % len(streets)]} {int(rng.integers(1, 120))}"
            kind = rng.random()
            if kind < 0.05:
                place = rows[rng.integers(len(rows))][1]  # a city the postcode does not serve
            elif kind < 0.08:
                postcode = ""  # the place alone
            elif kind < 0.10:
                postcode = postcode[:4] + "x"  # malformed
            out.writerow([f"Stelle {i}", street, postcode, place])


def bulk_geocoding(locator: Locator, postcodes_file: Path, work_dir: Path, n: int,
                   rounds: int) -> dict:
    """Records/s of the offline bulk geocoder: read the file, geocode every record, write the
    output, as `locator geocode` does."""
    source = work_dir / f"staff-{n}.csv"
    write_bulk_file(source, postcodes_file, n)
    run = _bulk_run(locator, source, work_dir / "out.csv")
    measured = "read_sheet + geocode_records + write_output (locator.sheets, locator.bulk)"
    seconds, statuses = [], {}
    for _ in range(rounds):
        t0 = time.perf_counter()
        statuses = run()
        seconds.append(time.perf_counter() - t0)
    best = statistics.median(seconds)
    return {"records": n, "seconds": round(best, 2), "records_per_s": round(n / best),
            "measured": measured, "statuses": statuses}


def _bulk_run(locator: Locator, source: Path, target: Path) -> Callable[[], dict]:
    from locator.bulk import geocode_records
    from locator.sheets import read_sheet, write_output

    def run() -> dict:
        sheet = read_sheet(source)
        results = geocode_records(sheet.rows, locator.gazetteer, areas=locator.areas,
                                  roles=sheet.roles)
        write_output(target, sheet.columns, results)
        counts: dict[str, int] = {}
        for r in results:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        return counts

    return run
