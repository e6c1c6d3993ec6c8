"""Nearest-k and radius queries over projected points, with a k-d tree built once.

shapely's STRtree answers "within R" but has no k-nearest; scipy's cKDTree answers both, in
microseconds for a million points. Below SCAN_MAX points a vectorised scan of all distances is
faster than the tree's per-call overhead (96 offices: ~8 µs against ~40 µs for a k-query), so
small sets are scanned and large ones get the tree, built once at start-up; both give the same
answer (tests/test_spatial.py). scipy is imported only then: for the 96 offices it would cost
~0.3 s of start-up and ~25 MB per worker for nothing.

Results are ordered by (distance, index). Callers sort their points by id first, so ties (two
offices in one building) break by id and nearest(k) is always a prefix of nearest(k + 1).
"""

from __future__ import annotations

import numpy as np

SCAN_MAX = 4096
# The tree and numpy may differ in the last bits of a distance; this slack (metres) lets the
# tree's candidate set include every point numpy puts on the boundary.
_SLACK_M = 1e-6


class PointIndex:
    """Points in a metric CRS (metres) answering nearest(k) and within(r) exactly."""

    def __init__(self, xy: np.ndarray, *, scan_max: int = SCAN_MAX) -> None:
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        self._x = np.ascontiguousarray(xy[:, 0])
        self._y = np.ascontiguousarray(xy[:, 1])
        self._scan = len(xy) <= scan_max
        if not self._scan:
            from scipy.spatial import cKDTree

            self._tree = cKDTree(xy)

    def __len__(self) -> int:
        return len(self._x)

    def nearest(self, x: float, y: float, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Indices and distances (m) of the k nearest points, nearest first."""
        k = min(k, len(self._x))
        if k <= 0:
            return np.empty(0, dtype=np.intp), np.empty(0)
        if self._scan:
            # np.hypot, as the tree's candidates below: numpy's complex abs() differs from it in
            # the last bit for about a third of all points, which could reorder near-ties.
            dist = np.hypot(self._x - x, self._y - y)
            # A stable sort keeps index order among equal distances.
            order = dist.argsort(kind="stable")[:k]
            return order, dist[order]
        dist, _ = self._tree.query((x, y), k=k)
        kth = float(np.atleast_1d(dist)[-1])
        # Every point as near as the k-th competes for the last places: decide ties by index.
        candidates = self._tree.query_ball_point((x, y), kth + _SLACK_M)
        return self._ordered(x, y, np.asarray(candidates, dtype=np.intp), k)

    def within(self, x: float, y: float, radius_m: float) -> tuple[np.ndarray, np.ndarray]:
        """Indices and distances (m) of all points within radius_m, nearest first."""
        if self._scan:
            dist = np.hypot(self._x - x, self._y - y)
            inside = (dist <= radius_m).nonzero()[0]  # ascending, so ties stay in index order
            near = dist[inside]
            order = near.argsort(kind="stable")
            return inside[order], near[order]
        candidates = self._tree.query_ball_point((x, y), radius_m + _SLACK_M)
        idx, dist = self._ordered(x, y, np.asarray(candidates, dtype=np.intp), None)
        keep = dist <= radius_m
        return idx[keep], dist[keep]

    def _ordered(self, x: float, y: float, idx: np.ndarray,
                 k: int | None) -> tuple[np.ndarray, np.ndarray]:
        idx = np.sort(idx)
        dist = np.hypot(self._x[idx] - x, self._y[idx] - y)
        order = np.argsort(dist, kind="stable")[:k]
        return idx[order], dist[order]
