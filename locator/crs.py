"""Coordinate reference systems: WGS84 for the outside world, ETRS89 / UTM 32N for distances.

EPSG:25832 is the official metric CRS of Bavaria's survey administration. Its scale error is
-0.04 % on the central meridian (9° E) and grows to about +0.11 % at Bavaria's eastern edge
(13.8° E) and +0.16 % 50 km beyond it, so projected distances stay within 0.2 % of the
geodesic everywhere we answer (tests/test_distances.py checks this against pyproj.Geod).
"""

from __future__ import annotations

import numpy as np
from pyproj import Geod, Transformer

WGS84 = "EPSG:4326"
METRIC = "EPSG:25832"

# always_xy: pyproj takes and returns (lon, lat) / (x, y), whatever the CRS's axis order says.
_TO_METRIC = Transformer.from_crs(WGS84, METRIC, always_xy=True)
_TO_WGS84 = Transformer.from_crs(METRIC, WGS84, always_xy=True)
GEOD = Geod(ellps="GRS80")


def to_metric(lat, lon):
    """(lat, lon) in degrees → (x, y) in metres; scalars or arrays."""
    return _TO_METRIC.transform(lon, lat)


def to_wgs84(x, y):
    """(x, y) in metres → (lat, lon) in degrees; scalars or arrays."""
    lon, lat = _TO_WGS84.transform(x, y)
    return lat, lon


def geodesic_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Ellipsoidal distance in km, the reference the projected distances are held to."""
    _, _, metres = GEOD.inv(lon1, lat1, lon2, lat2)
    return np.asarray(metres) / 1000.0
