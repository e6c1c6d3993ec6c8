"""District areas from files: the shipped GeoJSON, and official boundaries in any GDAL format."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely

from locator.config import REPO_GEODATA, Settings
from locator.crs import to_metric
from locator.districts import DistrictAreas
from locator.errors import DataError
from locator.service import Locator

PLACES = [  # (lat, lon, AGS)
    (50.2580, 10.9645, "09463"), (49.0195, 12.0975, "09362"), (49.1236, 12.1319, "09375"),
    (48.1374, 11.5755, "09162"), (47.5459, 9.6840, "09776"), (48.7758, 9.1829, "08111"),
]


@pytest.fixture(scope="module")
def bavaria_gpkg(tmp_path_factory) -> gpd.GeoDataFrame:
    """Stand-in for BKG VG250 KRS: German districts only, in EPSG:25832, VG250 column names."""
    frame = gpd.read_file(REPO_GEODATA / "district_areas.geojson")
    frame = frame[frame["ags"].str.fullmatch(r"\d{5}")]
    return frame.rename(columns={"ags": "AGS", "name": "GEN"}).to_crs(25832)


def test_tree_and_scan_lookups_agree():
    path = REPO_GEODATA / "district_areas.geojson"
    scan = DistrictAreas.from_file(path)
    tree = DistrictAreas(scan._keys, scan._geometries, source="tree", tree_min=1)
    rng = np.random.default_rng(3)
    for lat, lon in zip(rng.uniform(46.5, 51.5, 400), rng.uniform(7.5, 14.5, 400), strict=True):
        assert scan.key_at(lat, lon) == tree.key_at(lat, lon)


def test_grid_answers_as_a_test_of_every_area_does():
    """The grid's shortcuts (cells inside one area answer without a polygon test) give the
    answer of testing the point against every area, on and off Bavaria's borders."""
    areas = DistrictAreas.from_file(REPO_GEODATA / "district_areas.geojson")
    rng = np.random.default_rng(11)
    lat, lon = rng.uniform(47.0, 50.8, 3000), rng.uniform(8.7, 14.1, 3000)
    x, y = to_metric(lat, lon)
    for xi, yi in zip(x.tolist(), y.tolist(), strict=True):
        inside = areas._keys[shapely.intersects_xy(areas._geometries, xi, yi)]
        assert areas.key_at_xy(xi, yi) == (min(inside) if len(inside) else None)


def test_a_cell_inside_two_overlapping_areas_takes_no_shortcut():
    # 09161 covers a whole 5 km grid cell; 09162 overlaps part of it. Points in the overlap
    # answer the smaller key, as everywhere else two areas meet.
    big = shapely.box(0, 0, 20_000, 20_000)
    small = shapely.box(6_000, 6_000, 8_000, 8_000)
    areas = DistrictAreas(np.array(["09162", "09161"], dtype=object), np.array([small, big]),
                          source="test")
    assert areas.key_at_xy(7_000, 7_000) == "09161"
    assert areas.key_at_xy(12_000, 12_000) == "09161"
    areas = DistrictAreas(np.array(["09161", "09163"], dtype=object), np.array([big, small]),
                          source="test")
    assert areas.key_at_xy(7_000, 7_000) == "09161"
    assert areas.key_at_xy(5_500, 5_500) == "09161"


def test_geojson_with_a_null_geometry_loads_the_others(tmp_path):
    document = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"ags": "09161"}, "geometry": None},
        {"type": "Feature", "properties": {"ags": "09162"}, "geometry": {
            "type": "Polygon", "coordinates": [[[11.4, 48.0], [11.7, 48.0], [11.7, 48.3],
                                                [11.4, 48.3], [11.4, 48.0]]]}},
    ]}
    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps(document), encoding="utf-8")
    areas = DistrictAreas.from_file(path)
    assert areas.keys == {"09162"}
    assert areas.key_at(48.1374, 11.5755) == "09162"


@pytest.mark.parametrize("suffix", [".gpkg", ".shp"])
def test_official_boundaries_in_gdal_formats(tmp_path, bavaria_gpkg, suffix):
    path = tmp_path / f"VG250_KRS{suffix}"
    bavaria_gpkg.to_file(path)
    areas = DistrictAreas.from_file(path, official=True)
    assert areas.source == f"official boundaries ({path.name})"
    for lat, lon, ags in PLACES:
        assert areas.key_at(lat, lon) == ags
    assert areas.key_at(47.8095, 13.0550) is None  # Salzburg: outside the German file


def test_integer_and_municipality_keys_are_normalised(tmp_path, bavaria_gpkg):
    frame = bavaria_gpkg.assign(RS=bavaria_gpkg["AGS"] + "000").drop(columns="AGS")
    frame["KEY"] = frame["RS"].str[:5].astype(int)  # leading zero lost: 9463
    frame.to_file(tmp_path / "gem.gpkg")
    by_rs = DistrictAreas.from_file(tmp_path / "gem.gpkg", official=True)
    by_int = DistrictAreas.from_file(tmp_path / "gem.gpkg", ags_column="KEY", official=True)
    for lat, lon, ags in PLACES:
        assert by_rs.key_at(lat, lon) == by_int.key_at(lat, lon) == ags


def test_file_without_ags_column_is_refused_naming_the_columns(tmp_path, bavaria_gpkg):
    bavaria_gpkg.rename(columns={"AGS": "KREIS"}).to_file(tmp_path / "krs.gpkg")
    with pytest.raises(DataError, match=r"krs.gpkg: no district key column .*columns are KREIS"):
        DistrictAreas.from_file(tmp_path / "krs.gpkg", official=True)
    with pytest.raises(DataError, match="field 'AGS'"):
        DistrictAreas.from_file(tmp_path / "krs.gpkg", ags_column="AGS", official=True)


def test_unreadable_and_missing_files(tmp_path):
    bad = tmp_path / "broken.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    with pytest.raises(DataError, match="broken.geojson: unreadable GeoJSON"):
        DistrictAreas.from_file(bad)
    with pytest.raises(DataError, match="district area file not found"):
        DistrictAreas.from_file(tmp_path / "nope.shp", official=True)
    junk = tmp_path / "junk.shp"
    junk.write_bytes(b"not a shapefile")
    with pytest.raises(DataError, match="junk.shp: unreadable district area file"):
        DistrictAreas.from_file(junk, official=True)


def test_official_file_missing_a_bavarian_district_stops_the_locator(tmp_path, bavaria_gpkg):
    bavaria_gpkg[~bavaria_gpkg["AGS"].isin(["09473", "09463"])].to_file(tmp_path / "krs.gpkg")
    settings = Settings.from_env({}, districts_file=str(tmp_path / "krs.gpkg"))
    with pytest.raises(DataError) as caught:
        Locator.from_settings(settings)
    assert str(caught.value) == f"{tmp_path / 'krs.gpkg'}: no area for district(s) 09463, 09473"


def test_locator_answers_with_official_boundaries(tmp_path, bavaria_gpkg):
    bavaria_gpkg.to_file(tmp_path / "krs.gpkg")
    locator = Locator.from_settings(
        Settings.from_env({"LOCATOR_DISTRICTS_FILE": str(tmp_path / "krs.gpkg")}))
    assert locator.areas.source == "official boundaries (krs.gpkg)"
    assert locator.responsible_at(49.0134, 12.1016).office_ids == ("stadt-regensburg",)
