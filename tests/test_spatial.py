"""PointIndex: the scan (small sets) and the k-d tree (large sets) give identical answers."""

from __future__ import annotations

import numpy as np
import pytest

from locator.spatial import PointIndex


@pytest.fixture(scope="module")
def points() -> np.ndarray:
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 400_000, size=(500, 2))
    # Offices that share a building: exact duplicates must tie-break by index.
    return np.vstack([xy, xy[:40], xy[:10]])


def test_scan_and_tree_agree(points):
    scan, tree = PointIndex(points), PointIndex(points, scan_max=0)
    rng = np.random.default_rng(8)
    for _ in range(500):
        x, y = rng.uniform(-50_000, 450_000, 2)
        k = int(rng.integers(1, 60))
        r = float(rng.uniform(0, 120_000))
        for a, b in ((scan.nearest(x, y, k), tree.nearest(x, y, k)),
                     (scan.within(x, y, r), tree.within(x, y, r))):
            assert a[0].tolist() == b[0].tolist()
            # To the bit: one distance function everywhere, or near-ties could order differently
            # (numpy's complex abs() differs from np.hypot in the last bit for a third of points).
            assert a[1].tolist() == b[1].tolist()


@pytest.mark.parametrize("scan_max", [4096, 0])
def test_ties_break_by_index_and_nearest_is_a_prefix(points, scan_max):
    index = PointIndex(points, scan_max=scan_max)
    x, y = points[3]
    idx, dist = index.nearest(x, y, 3)
    assert idx.tolist() == [3, 503, 543]  # the point and its two duplicates, in index order
    assert dist.tolist() == [0.0, 0.0, 0.0]
    for k in range(1, 30):
        assert index.nearest(x, y, k)[0].tolist() == index.nearest(x, y, k + 1)[0].tolist()[:k]


@pytest.mark.parametrize("scan_max", [4096, 0])
def test_within_is_inclusive_sorted_and_monotone(points, scan_max):
    index = PointIndex(points, scan_max=scan_max)
    x, y = 200_000.0, 200_000.0
    exact = float(np.hypot(*(points[0] - (x, y))))
    assert 0 in index.within(x, y, exact)[0].tolist()  # a point exactly on the circle counts
    previous: set[int] = set()
    for r in (1_000, 10_000, 50_000, 100_000, 400_000):
        idx, dist = index.within(x, y, r)
        assert list(dist) == sorted(dist)
        assert (dist <= r).all()
        assert previous <= set(idx.tolist())
        previous = set(idx.tolist())


def test_k_larger_than_the_set_and_empty_results():
    index = PointIndex(np.array([[0.0, 0.0], [3.0, 4.0]]))
    assert index.nearest(0, 0, 10)[1].tolist() == [0.0, 5.0]
    assert index.nearest(0, 0, 0)[0].tolist() == []
    assert index.within(100, 100, 1)[0].tolist() == []


def test_len_is_the_number_of_points(points):
    assert len(PointIndex(points)) == len(PointIndex(points, scan_max=0)) == 550
    assert len(PointIndex(np.empty((0, 2)))) == 0
