"""Properties of nearest and within, on random offices and origins (hypothesis).

The reference is brute force: every point's geodesic distance (pyproj.Geod, GRS80) and, for
the exact contract, every point's projected distance sorted by (distance, index). The index
answers in EPSG:25832, whose distances differ from the geodesic by less than 0.2 % across
Bavaria and 50 km beyond, so sets are compared with a band of that width at the boundary.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from locator.crs import geodesic_km, to_metric
from locator.spatial import SCAN_MAX, PointIndex

# Bavaria (47.27–50.56° N, 8.98–13.84° E) and 50 km around it, as in tests/test_distances.py.
LAT_RANGE = (47.27 - 0.45, 50.56 + 0.45)
LON_RANGE = (8.98 - 0.7, 13.84 + 0.7)
REL_TOL = 0.002  # projected vs geodesic, see locator/crs.py
ABS_TOL_KM = 1e-6  # float noise at zero distance

lat = st.floats(*LAT_RANGE, allow_nan=False)
lon = st.floats(*LON_RANGE, allow_nan=False)
point = st.tuples(lat, lon)


@st.composite
def offices(draw, max_size: int = 80) -> list[tuple[float, float]]:
    """Random office points; some drawn again so that exact ties (one building) occur."""
    points = draw(st.lists(point, min_size=1, max_size=max_size))
    copies = draw(st.lists(st.integers(0, len(points) - 1), max_size=len(points)))
    for i in copies:
        points.insert(draw(st.integers(0, len(points))), points[i])
    return points


# PointIndex scans small sets and uses its k-d tree for large ones: test both ways.
way = st.sampled_from(["scan", "tree"])


def build(points: list[tuple[float, float]],
          how: str = "scan") -> tuple[PointIndex, np.ndarray, np.ndarray]:
    lats, lons = np.array(points).T
    x, y = to_metric(lats, lons)
    scan_max = SCAN_MAX if how == "scan" else 0
    return PointIndex(np.column_stack([x, y]), scan_max=scan_max), lats, lons


def projected_order(index_xy: np.ndarray, x: float, y: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact reference: all points by (projected distance, index)."""
    dist = np.hypot(index_xy[:, 0] - x, index_xy[:, 1] - y)
    order = np.lexsort((np.arange(len(dist)), dist))
    return order, dist[order]


def xy_of(points: list[tuple[float, float]]) -> np.ndarray:
    lats, lons = np.array(points).T
    return np.column_stack(to_metric(lats, lons))


def geodesic_from(origin: tuple[float, float], lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    return geodesic_km(np.full(len(lats), origin[0]), np.full(len(lons), origin[1]), lats, lons)


def assert_sorted_with_index_ties(idx: np.ndarray, dist: np.ndarray) -> None:
    for (i, d), (j, e) in zip(zip(idx, dist, strict=True), zip(idx[1:], dist[1:], strict=True),
                              strict=False):
        assert d < e or (d == e and i < j), f"({i}, {d}) before ({j}, {e})"


def close(projected_km: float, geodesic: float) -> bool:
    return abs(projected_km - geodesic) <= REL_TOL * geodesic + ABS_TOL_KM


FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FAST
@given(points=offices(), origin=point, k=st.integers(1, 60), how=way)
def test_nearest_agrees_with_geodesic_brute_force(points, origin, k, how):
    index, lats, lons = build(points, how)
    x, y = to_metric(*origin)
    idx, dist = index.nearest(x, y, k)

    # The exact contract: the first k of every point sorted by (projected distance, index).
    order, ordered = projected_order(xy_of(points), x, y)
    assert idx.tolist() == order[:k].tolist()
    np.testing.assert_allclose(dist, ordered[:k], rtol=1e-12, atol=1e-6)
    assert len(idx) == min(k, len(points))
    assert_sorted_with_index_ties(idx, dist)

    # Against the geodesic: every distance within 0.2 %, and no point left out is clearly
    # nearer (beyond the 0.2 % band) than a point answered.
    geodesic = geodesic_from(origin, lats, lons)
    for i, d in zip(idx, dist, strict=True):
        assert close(d / 1000.0, geodesic[i])
    answered = set(idx.tolist())
    left_out = [j for j in range(len(points)) if j not in answered]
    if answered and left_out:
        farthest = max(geodesic[i] for i in answered)
        nearest_left = min(geodesic[j] for j in left_out)
        assert farthest <= nearest_left * (1 + 2 * REL_TOL) + ABS_TOL_KM


@FAST
@given(points=offices(), origin=point, radius=st.floats(0.0, 200.0), how=way,
       near_a_point=st.none() | st.tuples(st.integers(0), st.floats(0.99, 1.01)))
def test_within_agrees_with_geodesic_brute_force(points, origin, radius, how, near_a_point):
    index, lats, lons = build(points, how)
    x, y = to_metric(*origin)
    radius_km = radius
    if near_a_point is not None:
        # Random radii rarely fall near a point: put the boundary within 1 % of one.
        pick, factor = near_a_point
        j = pick % len(points)
        radius_km = min(200.0, float(geodesic_from(origin, lats[j:j + 1], lons[j:j + 1])[0])
                        * factor)
    idx, dist = index.within(x, y, radius_km * 1000.0)

    order, ordered = projected_order(xy_of(points), x, y)
    inside = ordered <= radius_km * 1000.0
    assert idx.tolist() == order[inside].tolist()
    assert_sorted_with_index_ties(idx, dist)

    geodesic = geodesic_from(origin, lats, lons)
    answered = set(idx.tolist())
    for j, g in enumerate(geodesic):
        if g <= radius_km * (1 - REL_TOL) - ABS_TOL_KM:
            assert j in answered, f"point {j} at {g} km (geodesic) missing from {radius_km} km"
        if g > radius_km * (1 + REL_TOL) + ABS_TOL_KM:
            assert j not in answered, f"point {j} at {g} km (geodesic) inside {radius_km} km"
    for i, d in zip(idx, dist, strict=True):
        assert close(d / 1000.0, geodesic[i])


@FAST
@given(points=offices(), origin=point, r1=st.floats(0.0, 200.0), r2=st.floats(0.0, 200.0),
       how=way)
def test_within_smaller_radius_is_a_prefix_of_within_larger(points, origin, r1, r2, how):
    small, large = sorted((r1, r2))
    index, _, _ = build(points, how)
    x, y = to_metric(*origin)
    idx_small, dist_small = index.within(x, y, small * 1000.0)
    idx_large, dist_large = index.within(x, y, large * 1000.0)
    assert set(idx_small.tolist()) <= set(idx_large.tolist())
    assert idx_small.tolist() == idx_large[:len(idx_small)].tolist()
    np.testing.assert_array_equal(dist_small, dist_large[:len(dist_small)])


@FAST
@given(points=offices(), origin=point, k=st.integers(1, 60), how=way)
def test_nearest_k_is_a_prefix_of_nearest_k_plus_1(points, origin, k, how):
    index, _, _ = build(points, how)
    x, y = to_metric(*origin)
    idx_k, dist_k = index.nearest(x, y, k)
    idx_k1, dist_k1 = index.nearest(x, y, k + 1)
    assert idx_k.tolist() == idx_k1[:len(idx_k)].tolist()
    np.testing.assert_array_equal(dist_k, dist_k1[:len(dist_k)])


@FAST
@given(origin=point, copies=st.integers(2, 12), k=st.integers(1, 12), shift=st.integers(0, 5),
       how=way)
def test_duplicate_points_tie_by_index(origin, copies, k, shift, how):
    # `copies` offices in one building, with `shift` other offices farther away before them.
    building = (49.0134, 12.1016)
    others = [(building[0] + 0.5 + i * 0.01, building[1]) for i in range(shift)]
    index, _, _ = build(others + [building] * copies, how)
    x, y = to_metric(*origin)
    idx, dist = index.nearest(x, y, len(others) + copies)
    same = [i for i in idx.tolist() if i >= shift]
    assert same == list(range(shift, shift + copies))
    idx_k, _ = index.nearest(x, y, k)
    assert idx_k.tolist() == idx[:k].tolist()
    within_idx, _ = index.within(*to_metric(*building), 0.0)
    assert within_idx.tolist() == list(range(shift, shift + copies))


@pytest.mark.parametrize("how", ["scan", "tree"])
def test_nearest_of_an_empty_request_and_more_than_all(how):
    index, _, _ = build([(49.0, 11.0), (49.0, 11.0), (48.0, 12.0)], how)
    x, y = to_metric(49.0, 11.0)
    assert index.nearest(x, y, 0)[0].tolist() == []
    assert index.nearest(x, y, 10)[0].tolist() == [0, 1, 2]


# --- the real offices: 17 pairs (Stadt and Landkreis) share one point --------------------------

@settings(max_examples=100, deadline=None)
@given(origin=st.tuples(st.floats(47.27, 50.56), st.floats(8.98, 13.84)),
       k=st.integers(1, 20))
def test_real_offices_nearest_prefix_sorted_and_ties_by_id(locator, origin, k):
    here = locator.locate(lat=origin[0], lon=origin[1])
    hits_k = locator.nearest(here, k).hits
    hits_k1 = locator.nearest(here, k + 1).hits
    assert hits_k == hits_k1[:k]
    distances = [h.distance_km for h in hits_k1]
    assert distances == sorted(distances)
    point_of = {o.id: (o.lat, o.lon) for o in locator.offices.itertuples()}
    for a, b in zip(hits_k1, hits_k1[1:], strict=False):
        if point_of[a.office_id] == point_of[b.office_id]:
            assert a.office_id < b.office_id
    geodesic = {h.office_id: float(geodesic_km(origin[0], origin[1], *point_of[h.office_id]))
                for h in hits_k1}
    for h in hits_k1:
        # distance_km is rounded to metres.
        assert math.isclose(h.distance_km, geodesic[h.office_id], rel_tol=REL_TOL, abs_tol=1e-3)


@pytest.mark.parametrize("radius_km", [0.001, 10.0, 25.0, 100.0, 200.0])
def test_real_offices_within_agrees_with_geodesic(locator, radius_km):
    rng = np.random.default_rng(5)
    lats, lons = locator.offices["lat"].to_numpy(), locator.offices["lon"].to_numpy()
    ids = locator.offices["id"].to_numpy()
    for origin_lat, origin_lon in zip(rng.uniform(47.27, 50.56, 40),
                                      rng.uniform(8.98, 13.84, 40), strict=True):
        origin = locator.locate(lat=float(origin_lat), lon=float(origin_lon))
        found = {h.office_id for h in locator.within(origin, radius_km).hits}
        geodesic = geodesic_from((origin_lat, origin_lon), lats, lons)
        for office_id, g in zip(ids, geodesic, strict=True):
            if g <= radius_km * (1 - REL_TOL) - 1e-3:
                assert office_id in found
            if g > radius_km * (1 + REL_TOL) + 1e-3:
                assert office_id not in found
