"""PointIndex at its edges: nothing asked for, points stored in single precision."""

from __future__ import annotations

import numpy as np
import pytest

from locator.spatial import PointIndex

# Coburg's and Regensburg's offices in EPSG:25832 (metres): real magnitudes, where single
# precision would round to half a metre.
COBURG = (639976.1152867133, 5569317.526955422)
REGENSBURG = (726564.4551680895, 5434063.072997554)


@pytest.mark.parametrize("scan_max", [4096, 0])
@pytest.mark.parametrize("k", [0, -1])
def test_nearest_nothing_is_empty_and_still_indexes(scan_max, k):
    index = PointIndex(np.array([COBURG, REGENSBURG]), scan_max=scan_max)
    idx, dist = index.nearest(*COBURG, k)
    assert idx.shape == (0,) and dist.shape == (0,)
    # The indices select rows of the caller's arrays, empty or not.
    assert np.array(["stadt-coburg", "stadt-regensburg"])[idx].tolist() == []


@pytest.mark.parametrize("scan_max", [4096, 0])
def test_single_precision_points_are_measured_in_double(scan_max):
    points = np.array([COBURG, REGENSBURG], dtype=np.float32)
    index = PointIndex(points, scan_max=scan_max)
    stored = points.astype(float)
    # 0.1 m east of the stored Coburg point, as plain floats (as the Locator passes them): in
    # float32 arithmetic that would be 0.125 m.
    x, y = float(stored[0, 0]) + 0.1, float(stored[0, 1])
    idx, dist = index.nearest(x, y, 2)
    assert idx.tolist() == [0, 1]
    assert dist[0] == pytest.approx(0.1, abs=1e-6)
    assert dist[1] == pytest.approx(float(np.hypot(*(stored[1] - (x, y)))), abs=1e-6)
    idx, dist = index.within(x, y, 0.2)
    assert idx.tolist() == [0]
    assert dist[0] == pytest.approx(0.1, abs=1e-6)
