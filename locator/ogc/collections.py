"""The OGC API – Features collections, built once per data version from the loaded data.

Nothing here reads a file: ``offices`` takes the features /api/v1 serves (every property the
API gives, whatever it grows), ``district-areas`` the polygons the Locator answers "responsible"
from. Each feature is encoded once per CRS at load (an orjson Fragment), so an items answer
only selects, slices and joins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import orjson
import shapely

from ..crs import to_wgs84
from ..districts import is_bavarian

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_25832 = "http://www.opengis.net/def/crs/EPSG/0/25832"
CRSS = (CRS84, EPSG_25832)
# Output precision: 6 decimals of a degree (~0.1 m), whole centimetres in UTM.
DECIMALS = {CRS84: 6, EPSG_25832: 2}
QUERYABLES = {
    "district_ags": "Amtlicher Gemeindeschlüssel des Kreises (5 Stellen, z. B. 09463)",
    "regierungsbezirk": "Regierungsbezirk (nur bayerische Kreise)",
    "district_type": "Landkreis oder kreisfreie Stadt (nur bayerische Kreise)",
}
# The approximation's neighbouring countries carry their ISO code as key.
COUNTRIES = {
    "AT": "Österreich", "BE": "Belgien", "CH": "Schweiz", "CZ": "Tschechien", "DK": "Dänemark",
    "FR": "Frankreich", "IT": "Italien", "LI": "Liechtenstein", "LU": "Luxemburg",
    "NL": "Niederlande", "PL": "Polen",
}
# geodata/district_areas.md, "Measured accuracy" (scripts/measure_district_areas.py).
APPROXIMATION_ACCURACY = (
    "Näherung, keine amtliche Grenze: aus beschrifteten Orten abgeleitet (GeoNames), gemessen "
    "an zurückgehaltenen Orten mehr als 2 km von einer Kreisgrenze: 98,96 % der nicht "
    "gelisteten Orte bekannter Gemeinden im richtigen Kreis (Österreich als Zwilling: 99,56 %; "
    "ganze ungelistete Gemeinden: 95,8 %, in Bayern 92,8 %). Näher als etwa 2 km an einer "
    "Grenze ist die Zuordnung unsicher; kleine kreisfreie Städte mit nur einer Postleitzahl "
    "(Coburg, Weiden, Memmingen) sind zu klein. Methode und Messung: "
    "geodata/district_areas.md."
)


@dataclass(frozen=True, eq=False)
class Collection:
    """One feature collection: its features in id order, encoded per CRS, and their index."""

    id: str
    title: str
    description: str
    geometry_type: str
    feature_ids: tuple[str, ...]
    properties: tuple[dict, ...]
    geometry_json: dict[str, tuple[orjson.Fragment, ...]]  # CRS URI → each geometry's GeoJSON
    geometries: dict[str, np.ndarray]  # CRS URI → shapely geometries, for bbox selection
    extent: dict[str, list[float]]  # CRS URI → [minx, miny, maxx, maxy] of all features
    queryables: dict[str, tuple[str, ...]]  # name → the values the data has, sorted

    def __post_init__(self) -> None:
        # Each feature encoded whole per CRS: an items page only joins these.
        object.__setattr__(self, "_encoded", {crs: tuple(
            _fragment(i, g, p) for i, g, p in zip(self.feature_ids, geometries, self.properties,
                                                  strict=True))
            for crs, geometries in self.geometry_json.items()})
        object.__setattr__(self, "_position", {f: i for i, f in enumerate(self.feature_ids)})
        object.__setattr__(self, "_bounds", {crs: shapely.bounds(g).T
                                             for crs, g in self.geometries.items()})
        object.__setattr__(self, "_columns", {
            name: np.array([p.get(name) for p in self.properties], dtype=object)
            for name in self.queryables})

    @property
    def encoded(self) -> dict[str, tuple[orjson.Fragment, ...]]:
        """CRS URI → each feature's whole GeoJSON, in id order."""
        return self._encoded  # type: ignore[attr-defined]

    def position(self, feature_id: str) -> int | None:
        """The feature's index, None for an unknown id."""
        return self._position.get(feature_id)  # type: ignore[attr-defined]

    def select(self, *, bbox: tuple[float, float, float, float] | None = None,
               bbox_crs: str = CRS84, filters: dict[str, str] | None = None) -> np.ndarray:
        """Indices (ascending: id order) of the features that intersect ``bbox`` (in
        ``bbox_crs``) and whose properties equal every filter value."""
        if bbox is None:
            selected = np.arange(len(self.feature_ids))
        else:
            # Boxes first (numpy over all features: a few µs); a point whose box meets the
            # query box lies in it, a polygon is then tested exactly.
            west, south, east, north = bbox
            x0, y0, x1, y1 = self._bounds[bbox_crs]  # type: ignore[attr-defined]
            selected = np.flatnonzero((x1 >= west) & (x0 <= east) & (y1 >= south)
                                      & (y0 <= north))
            if self.geometry_type != "Point" and len(selected):
                geometries = self.geometries[bbox_crs][selected]
                selected = selected[shapely.intersects(geometries, shapely.box(*bbox))]
        for name, value in (filters or {}).items():
            column = self._columns[name]  # type: ignore[attr-defined]
            selected = selected[column[selected] == value]
        return selected


def build_collections(locator, office_features: list[dict]) -> dict[str, Collection]:
    """Both collections of a Locator; ``office_features`` are /api/v1's office features."""
    return {"offices": _offices(locator, office_features),
            "district-areas": _district_areas(locator)}


def _offices(locator, features: list[dict]) -> Collection:
    by_id = {f["id"]: f for f in features}
    ids = tuple(sorted(by_id))
    frame = locator.offices.loc[list(ids)]
    lon_lat = np.array([(by_id[i]["properties"]["lon"], by_id[i]["properties"]["lat"])
                        for i in ids], dtype=float)
    x_y = np.column_stack([frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy()])
    points = {CRS84: lon_lat, EPSG_25832: x_y.round(DECIMALS[EPSG_25832])}
    geometry_json = {crs: tuple(orjson.Fragment(orjson.dumps(
        {"type": "Point", "coordinates": xy})) for xy in coords.tolist())
        for crs, coords in points.items()}
    properties = tuple(by_id[i]["properties"] for i in ids)
    return Collection(
        id="offices", title="KoKi-Stellen in Bayern",
        description=(
            "Die KoKi – Netzwerk frühe Kindheit (Koordinierende Kinderschutzstellen) in Bayern, "
            "eine je Jugendamtsbezirk (Landkreis oder kreisfreie Stadt), mit Anschrift und "
            "Kontakt, soweit bekannt; location_precision sagt, wie genau der Punkt ist. "
            "Zuständig ist die Stelle des Kreises, in dem eine Familie wohnt (district_ags), "
            "nicht die nächste."),
        geometry_type="Point", feature_ids=ids, properties=properties,
        # The same encoded geometries as /api/v1 in CRS84; projected ones in EPSG:25832.
        geometry_json={**geometry_json, CRS84: tuple(by_id[i]["geometry"] for i in ids)},
        geometries={crs: shapely.points(c) for crs, c in points.items()},
        extent={crs: _bounds(c) for crs, c in points.items()},
        queryables=_queryable_values(properties))


def _district_areas(locator) -> Collection:
    keys, metric = locator.areas.areas()
    order = np.argsort(keys, kind="stable")
    keys, metric = [str(k) for k in keys[order]], metric[order]
    # Several polygons may carry one key (a file with a row per part): one feature per polygon,
    # numbered after the first, so every polygon the service answers from is in the layer.
    seen: dict[str, int] = {}
    ids = []
    for key in keys:
        seen[key] = seen.get(key, 0) + 1
        ids.append(key if seen[key] == 1 else f"{key}-{seen[key]}")
    wgs84 = shapely.transform(metric, _metric_to_crs84)
    geometries = {
        CRS84: shapely.transform(wgs84, lambda c: c.round(DECIMALS[CRS84])),
        EPSG_25832: shapely.transform(metric, lambda c: c.round(DECIMALS[EPSG_25832])),
    }
    offices_of: dict[str, list[str]] = {}
    for office_id, ags in zip(locator.offices.index, locator.offices["district_ags"],
                              strict=True):
        offices_of.setdefault(ags, []).append(office_id)
    properties = tuple(_area_properties(locator, key, sorted(offices_of.get(key, ())))
                       for key in keys)
    geometry_json = {crs: tuple(map(orjson.Fragment, shapely.to_geojson(geoms).tolist()))
                     for crs, geoms in geometries.items()}
    official = locator.areas.source.startswith("official")
    kind = (f"Amtliche Kreisgrenzen ({locator.areas.source})." if official
            else f"{locator.areas.source}: {APPROXIMATION_ACCURACY}")
    return Collection(
        id="district-areas", title="Kreisflächen, nach denen die Zuständigkeit bestimmt wird",
        description=(
            "Die Flächen, aus denen der Dienst beantwortet, welcher Kreis (und damit welche "
            "KoKi-Stelle) für einen Ort zuständig ist: die 96 bayerischen Kreise, die übrigen "
            "deutschen Kreise und die Nachbarländer (ein Punkt dort ist nicht in Bayern). "
            + kind),
        geometry_type="Polygon", feature_ids=tuple(ids), properties=properties,
        geometry_json=geometry_json, geometries=geometries,
        extent={crs: _bounds(shapely.get_coordinates(g)) for crs, g in geometries.items()},
        queryables=_queryable_values(properties))


def _area_properties(locator, key: str, office_ids: list[str]) -> dict:
    district = locator.districts.get(key)
    return {
        "district_ags": key if key.isdigit() else None,
        "country": "DE" if key.isdigit() else key,
        "name": COUNTRIES.get(key) or locator.district_name(key),
        "district_type": district.type if district else None,
        "regierungsbezirk": district.regierungsbezirk if district else None,
        "in_bavaria": is_bavarian(key),
        "office_ids": office_ids,
    }


def _metric_to_crs84(coords: np.ndarray) -> np.ndarray:
    lat, lon = to_wgs84(coords[:, 0], coords[:, 1])
    return np.column_stack([lon, lat])


def _fragment(feature_id: str, geometry: orjson.Fragment,
              properties: dict) -> orjson.Fragment:
    return orjson.Fragment(orjson.dumps({"type": "Feature", "id": feature_id,
                                         "geometry": geometry, "properties": properties}))


def _bounds(points: np.ndarray) -> list[float]:
    return [*points.min(axis=0).tolist(), *points.max(axis=0).tolist()]


def _queryable_values(properties: tuple[dict, ...]) -> dict[str, tuple[str, ...]]:
    return {name: tuple(sorted({p[name] for p in properties if p.get(name) is not None}))
            for name in QUERYABLES}
