"""Projected distances (EPSG:25832) against the geodesic (pyproj.Geod on GRS80)."""

from __future__ import annotations

import numpy as np
import pytest

from locator.crs import geodesic_km, to_metric, to_wgs84

# Bavaria spans about 47.27–50.56° N and 8.98–13.84° E; 50 km beyond is about ±0.7° E, ±0.45° N.
LAT_RANGE = (47.27 - 0.45, 50.56 + 0.45)
LON_RANGE = (8.98 - 0.7, 13.84 + 0.7)


def projected_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    x1, y1 = to_metric(lat1, lon1)
    x2, y2 = to_metric(lat2, lon2)
    return np.hypot(np.subtract(x2, x1), np.subtract(y2, y1)) / 1000.0


def test_projected_distance_within_0_2_percent_of_geodesic_across_bavaria_and_beyond():
    rng = np.random.default_rng(20261123)
    n = 20_000
    lat1, lat2 = rng.uniform(*LAT_RANGE, n), rng.uniform(*LAT_RANGE, n)
    lon1, lon2 = rng.uniform(*LON_RANGE, n), rng.uniform(*LON_RANGE, n)
    planar = projected_km(lat1, lon1, lat2, lon2)
    geodesic = geodesic_km(lat1, lon1, lat2, lon2)
    keep = geodesic > 0.1
    error = np.abs(planar[keep] - geodesic[keep]) / geodesic[keep]
    assert error.max() < 0.002
    # Not a vacuous bound: the projection does distort measurably at the edges.
    assert error.max() > 0.0005


@pytest.mark.parametrize(("a", "b", "geodesic"), [
    # Coburg → Regensburg and Lindau → Passau, geodesic reference computed by pyproj.Geod.
    ((50.2584, 10.9629), (49.0134, 12.1016), None),
    ((47.5459, 9.6840), (48.5667, 13.4319), None),
    ((48.1374, 11.5755), (48.1374, 11.5755), 0.0),
])
def test_known_pairs(a, b, geodesic):
    expected = geodesic if geodesic is not None else float(geodesic_km(*a, *b))
    assert float(projected_km(*a, *b)) == pytest.approx(expected, rel=0.002, abs=1e-9)


def test_office_distances_in_api_match_the_geodesic(client):
    body = client.get("/api/v1/offices/nearest?lat=50.2584&lon=10.9629&limit=50").get_json()
    for feature in body["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        expected = float(geodesic_km(50.2584, 10.9629, lat, lon))
        assert feature["properties"]["distance_km"] == pytest.approx(expected, rel=0.002,
                                                                       abs=0.001)


def test_round_trip():
    x, y = to_metric(49.0134, 12.1016)
    lat, lon = to_wgs84(x, y)
    assert (lat, lon) == pytest.approx((49.0134, 12.1016), abs=1e-9)
