"""The items query of OGC API – Features: parameters read and checked, features selected."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from werkzeug.datastructures import MultiDict

from ..errors import InvalidParameter
from .collections import CRS84, CRSS, QUERYABLES, Collection

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
ITEMS_PARAMETERS = frozenset({"f", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime",
                              *QUERYABLES})
FORMATS = ("json", "html")


@dataclass(frozen=True)
class ItemsQuery:
    """A checked items request; ``filters`` holds the queryables given (name → value)."""

    limit: int
    offset: int
    bbox: tuple[float, float, float, float] | None
    bbox_crs: str
    crs: str
    filters: dict[str, str]

    def select(self, collection: Collection) -> np.ndarray:
        """Indices of the matching features, in id order (the paging order)."""
        if self.bbox is not None and self.bbox_crs == CRS84 and self.bbox[0] > self.bbox[2]:
            # A CRS84 box whose west edge lies east of its east edge spans the antimeridian.
            west, south, east, north = self.bbox
            return np.union1d(
                collection.select(bbox=(west, south, 180.0, north), filters=self.filters),
                collection.select(bbox=(-180.0, south, east, north), filters=self.filters))
        return collection.select(bbox=self.bbox, bbox_crs=self.bbox_crs, filters=self.filters)

    def page_args(self) -> dict[str, str]:
        """The query's parameters but f and offset: what every page's links carry."""
        args = {"limit": str(self.limit)}
        if self.bbox is not None:
            args["bbox"] = ",".join(map(repr, self.bbox))
            if self.bbox_crs != CRS84:
                args["bbox-crs"] = self.bbox_crs
        if self.crs != CRS84:
            args["crs"] = self.crs
        return {**args, **self.filters}


def single(args: MultiDict, name: str) -> str | None:
    """A parameter's one value; a parameter given twice is refused rather than guessed."""
    values = args.getlist(name)
    if len(values) > 1:
        raise InvalidParameter(f"{name} is given more than once", parameter=name)
    return values[0] if values else None


def output_format(args: MultiDict) -> str | None:
    """``f`` when given (json or html), else None: the Accept header decides."""
    f = single(args, "f")
    if f is not None and f not in FORMATS:
        raise InvalidParameter(f"f must be json or html, got {f!r}", parameter="f")
    return f


def crs_parameter(args: MultiDict, name: str) -> str:
    """A CRS URI this service can give (CRS84, EPSG:25832); CRS84 when not given."""
    value = single(args, name)
    if value is None:
        return CRS84
    value = value.strip().strip("<>")  # Part 2 allows the URI in angle brackets
    if value not in CRSS:
        raise InvalidParameter(f"{name} must be one of {', '.join(CRSS)}, got {value!r}",
                               parameter=name)
    return value


def items_query(args: MultiDict) -> ItemsQuery:
    """The items request's parameters, checked; InvalidParameter names the one at fault."""
    unknown = sorted(set(args) - ITEMS_PARAMETERS)
    if unknown:
        # A misspelt filter must not silently answer every feature.
        raise InvalidParameter(f"unknown parameter {unknown[0]!r}; known are "
                               f"{', '.join(sorted(ITEMS_PARAMETERS))}", parameter=unknown[0])
    limit = _integer(args, "limit", DEFAULT_LIMIT, minimum=1)
    offset = _integer(args, "offset", 0, minimum=0)
    bbox_crs = crs_parameter(args, "bbox-crs")
    raw_bbox = single(args, "bbox")
    if raw_bbox is None and single(args, "bbox-crs") is not None:
        raise InvalidParameter("bbox-crs needs a bbox", parameter="bbox-crs")
    single(args, "datetime")  # the offices and areas have no time: every feature matches
    return ItemsQuery(
        # Above the maximum the page is the maximum (Part 1 allows either that or a 400).
        limit=min(limit, MAX_LIMIT), offset=offset,
        bbox=None if raw_bbox is None else _bbox(raw_bbox, bbox_crs), bbox_crs=bbox_crs,
        crs=crs_parameter(args, "crs"),
        filters={name: value for name in QUERYABLES
                 if (value := single(args, name)) is not None})


def _integer(args: MultiDict, name: str, default: int, *, minimum: int) -> int:
    raw = single(args, name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise InvalidParameter(f"{name} must be a whole number >= {minimum}, got {raw!r}",
                               parameter=name)
    value = int(raw)
    if value < minimum:
        raise InvalidParameter(f"{name} must be >= {minimum}, got {value}", parameter=name)
    return value


def _bbox(raw: str, crs: str) -> tuple[float, float, float, float]:
    try:
        numbers = [float(v) for v in raw.split(",")]
    except ValueError:
        raise InvalidParameter(f"bbox must be 4 or 6 comma-separated numbers, got {raw!r}",
                               parameter="bbox") from None
    if len(numbers) == 6:  # with heights: the features are flat, the heights select nothing
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4 or not all(math.isfinite(v) for v in numbers):
        raise InvalidParameter(f"bbox must be 4 or 6 finite numbers, got {raw!r}",
                               parameter="bbox")
    west, south, east, north = numbers
    if south > north or (crs != CRS84 and west > east):
        raise InvalidParameter("bbox must be lower corner first, then upper corner",
                               parameter="bbox")
    if crs == CRS84 and not (-90 <= south <= 90 and -90 <= north <= 90
                             and -180 <= west <= 180 and -180 <= east <= 180):
        raise InvalidParameter("bbox in CRS84 must lie within -180..180, -90..90",
                               parameter="bbox")
    return west, south, east, north
