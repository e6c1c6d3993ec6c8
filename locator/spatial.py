"""Nearest-k and radius queries over projected points, with a k-d tree built once.

shapely's STRtree answers "within R" but has no k-nearest; scipy's cKDTree answers both in
microseconds, for 96 offices as for a million points. Results are ordered by (distance, index);
callers sort their points by id first, so ties (two offices in one building) break by id and
nearest(k) is always a prefix of nearest(k + 1).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

# The tree and numpy may differ in the last bits of a distance; this slack (metres) lets the
# tree's candidate set include every point numpy puts on the boundary.
_SLACK_M = 1e-6


class PointIndex:
    """Points in a metric CRS (metres) answering nearest(k) and within(r) exactly."""

    def __init__(self, xy: np.ndarray) -> None:
        self._xy = np.ascontiguousarray(xy, dtype=float)
        self._tree = cKDTree(self._xy)

    def __len__(self) -> int:
        return len(self._xy)

    def nearest(self, x: float, y: float, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Indices and distances (m) of the k nearest points, nearest first."""
        k = min(k, len(self._xy))
        if k <= 0:
            return np.empty(0, dtype=np.intp), np.empty(0)
        dist, _ = self._tree.query((x, y), k=k)
        kth = float(np.atleast_1d(dist)[-1])
        # Every point as near as the k-th competes for the last places: decide ties by index.
        return self._ordered(x, y, self._tree.query_ball_point((x, y), kth + _SLACK_M), k)

    def within(self, x: float, y: float, radius_m: float) -> tuple[np.ndarray, np.ndarray]:
        """Indices and distances (m) of all points within radius_m, nearest first."""
        candidates = self._tree.query_ball_point((x, y), radius_m + _SLACK_M)
        idx, dist = self._ordered(x, y, candidates, None)
        keep = dist <= radius_m
        return idx[keep], dist[keep]

    def _ordered(self, x: float, y: float, candidates: list[int],
                 k: int | None) -> tuple[np.ndarray, np.ndarray]:
        idx = np.asarray(candidates, dtype=np.intp)
        delta = self._xy[idx] - (x, y)
        dist = np.hypot(delta[:, 0], delta[:, 1])
        order = np.lexsort((idx, dist))[:k]
        return idx[order], dist[order]
