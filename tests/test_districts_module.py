"""locator/districts.py itself: districts.csv's validation, the key column of boundary files,
key normalisation, and the grid's shortcuts where areas meet or overlap."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely

from locator.config import REPO_GEODATA
from locator.crs import to_metric
from locator.districts import (
    AGS_COLUMNS,
    DistrictAreas,
    is_bavarian,
    load_bavarian_districts,
)
from locator.errors import DataError

DISTRICTS_CSV = (REPO_GEODATA / "districts.csv").read_text(encoding="utf-8")
HEADER = "ags,name,short_name,type,regierungsbezirk"
COBURG_ROW = "09463,Stadt Coburg,Coburg,kreisfreie Stadt,Oberfranken"
PLACES = [  # (lat, lon, AGS)
    (50.2580, 10.9645, "09463"),   # Coburg, Marktplatz
    (49.0195, 12.0975, "09362"),   # Regensburg, Dom
    (48.5747, 13.4650, "09262"),   # Passau, Dom
    (47.5459, 9.6840, "09776"),    # Lindau, Insel
    (50.3135, 11.9128, "09464"),   # Hof
    (48.7758, 9.1829, "08111"),    # Stuttgart
]


# --- districts.csv -------------------------------------------------------------------------------

def test_the_shipped_districts(tmp_path):
    districts = load_bavarian_districts(REPO_GEODATA / "districts.csv")
    assert len(districts) == 96
    coburg = districts["09463"]
    assert (coburg.ags, coburg.name, coburg.short_name, coburg.type, coburg.regierungsbezirk) == (
        "09463", "Stadt Coburg", "Coburg", "kreisfreie Stadt", "Oberfranken")
    lindau = districts["09776"]
    assert (lindau.name, lindau.type, lindau.regierungsbezirk) == (
        "Landkreis Lindau (Bodensee)", "Landkreis", "Schwaben")
    assert sum(d.type == "Landkreis" for d in districts.values()) == 71


def write(tmp_path, text: str, encoding: str = "utf-8"):
    path = tmp_path / "districts.csv"
    path.write_bytes(text.encode(encoding))
    return path


def coburg_line() -> int:
    return DISTRICTS_CSV.splitlines().index(COBURG_ROW) + 1


@pytest.mark.parametrize(("row", "field", "detail"), [
    ("9463,Stadt Coburg,Coburg,kreisfreie Stadt,Oberfranken", "ags",
     "not a Bavarian AGS key: '9463'"),
    ("08463,Stadt Coburg,Coburg,kreisfreie Stadt,Oberfranken", "ags",
     "not a Bavarian AGS key: '08463'"),
    ("09a63,Stadt Coburg,Coburg,kreisfreie Stadt,Oberfranken", "ags",
     "not a Bavarian AGS key: '09a63'"),
    ("094630,Stadt Coburg,Coburg,kreisfreie Stadt,Oberfranken", "ags",
     "not a Bavarian AGS key: '094630'"),
    (",Stadt Coburg,Coburg,kreisfreie Stadt,Oberfranken", "ags", "not a Bavarian AGS key: ''"),
    ("09464,Stadt Coburg,Coburg,kreisfreie Stadt,Oberfranken", "ags", "duplicate district 09464"),
    ("09463,Stadt Coburg,Coburg,Großstadt,Oberfranken", "type", "unknown type 'Großstadt'"),
    ("09463,Stadt Coburg,Coburg,kreisfreie Stadt,Franken", "regierungsbezirk",
     "unknown Regierungsbezirk 'Franken'"),
    ("09463,Stadt Coburg,Coburg,kreisfreie Stadt,oberfranken", "regierungsbezirk",
     "unknown Regierungsbezirk 'oberfranken'"),
    ("09463,  ,Coburg,kreisfreie Stadt,Oberfranken", "name", "empty name"),
])
def test_bad_row_names_file_line_and_field(tmp_path, row, field, detail):
    path = write(tmp_path, DISTRICTS_CSV.replace(COBURG_ROW, row))
    with pytest.raises(DataError) as caught:
        load_bavarian_districts(path)
    line = coburg_line()
    if "duplicate" in detail:  # Hof's key twice: the later of the two lines is the fault
        hof = DISTRICTS_CSV.splitlines().index(
            next(r for r in DISTRICTS_CSV.splitlines() if r.startswith("09464,")))
        line = max(line, hof + 1)
    assert str(caught.value) == f"{path}, line {line}, field '{field}': {detail}"
    assert (caught.value.line, caught.value.field) == (line, field)


@pytest.mark.parametrize("type_", ["Landkreis", "kreisfreie Stadt"])
@pytest.mark.parametrize("region", ["Oberbayern", "Niederbayern", "Oberpfalz", "Oberfranken",
                                    "Mittelfranken", "Unterfranken", "Schwaben"])
def test_every_type_and_regierungsbezirk_is_accepted(tmp_path, type_, region):
    path = write(tmp_path, DISTRICTS_CSV.replace(
        COBURG_ROW, f"09463,Stadt Coburg,Coburg,{type_},{region}"))
    coburg = load_bavarian_districts(path)["09463"]
    assert (coburg.type, coburg.regierungsbezirk) == (type_, region)


@pytest.mark.parametrize(("header", "missing"), [
    ("ags,name,short_name,type", "regierungsbezirk"),
    ("key,name,short_name,type,regierungsbezirk", "ags"),
    ("ags,short_name,regierungsbezirk", "name, type"),
    ("", "ags, name, regierungsbezirk, short_name, type"),
])
def test_missing_columns_are_named(tmp_path, header, missing):
    path = write(tmp_path, DISTRICTS_CSV.replace(HEADER, header, 1) if header
                 else "")
    with pytest.raises(DataError) as caught:
        load_bavarian_districts(path)
    assert str(caught.value) == f"{path}, line 1: missing columns: {missing}"


@pytest.mark.parametrize("drop", [1, 95])
def test_not_96_districts(tmp_path, drop):
    lines = DISTRICTS_CSV.splitlines()
    path = write(tmp_path, "\n".join(lines[:len(lines) - drop]) + "\n")
    with pytest.raises(DataError) as caught:
        load_bavarian_districts(path)
    assert str(caught.value) == f"{path}: expected Bavaria's 96 districts, found {96 - drop}"


def test_97_districts(tmp_path):
    path = write(tmp_path, DISTRICTS_CSV + "09999,Landkreis Atlantis,Atlantis,Landkreis,Schwaben\n")
    with pytest.raises(DataError, match="expected Bavaria's 96 districts, found 97$"):
        load_bavarian_districts(path)


def test_not_utf8_and_missing_file(tmp_path):
    path = write(tmp_path, DISTRICTS_CSV, encoding="cp1252")  # "München" in Windows-1252
    with pytest.raises(DataError) as caught:
        load_bavarian_districts(path)
    assert str(caught.value).startswith(f"{path}: not UTF-8: ")
    with pytest.raises(DataError) as caught:
        load_bavarian_districts(tmp_path / "nope.csv")
    assert str(caught.value) == f"{tmp_path / 'nope.csv'}: district file not found"


@pytest.mark.parametrize(("ags", "bavarian"), [
    ("09463", True), ("09776", True), ("08111", False), ("9463", False), ("094630", False),
    ("", False), (None, False), ("AT", False), ("19463", False),
])
def test_is_bavarian(ags, bavarian):
    assert is_bavarian(ags) is bavarian


# --- boundary files: the key column ---------------------------------------------------------------

@pytest.fixture(scope="module")
def german_areas() -> gpd.GeoDataFrame:
    """Shipped areas of German districts (EPSG:25832), as an official file would hold them."""
    frame = gpd.read_file(REPO_GEODATA / "district_areas.geojson")
    # The places' districts and their neighbours: enough to tell the columns apart, small
    # enough to write a file per test.
    near = ["09463", "09473", "09362", "09375", "09262", "09275", "09776", "09464", "09475",
            "08111", "08115", "08116", "08118", "08119"]
    frame = frame[frame["ags"].isin(near)].reset_index(drop=True)
    return frame.rename(columns={"ags": "AGS", "name": "GEN"}).to_crs(25832)


def save(frame: gpd.GeoDataFrame, path) -> None:
    """GeoPackage through GDAL; GeoJSON as RFC 7946 (WGS84, no "crs" member), which the
    locator reads without GDAL."""
    if path.suffix == ".geojson":
        path.write_text(frame.to_crs(4326).to_json(), encoding="utf-8")
    else:
        frame.to_file(path)


def shuffled(keys: list[str]) -> list[str]:
    """The same keys, each on another area: a column nobody should read."""
    return keys[1:] + keys[:1]


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson"])
def test_the_named_key_column_is_the_one_read(tmp_path, german_areas, suffix):
    frame = german_areas.assign(KREISSCHLUESSEL=german_areas["AGS"],
                                AGS=shuffled(german_areas["AGS"].tolist()))
    path = tmp_path / f"krs{suffix}"
    save(frame, path)
    named = DistrictAreas.from_file(path, ags_column="KREISSCHLUESSEL", official=True)
    detected = DistrictAreas.from_file(path, official=True)  # AGS, found first
    for lat, lon, ags in PLACES:
        assert named.key_at(lat, lon) == ags
        assert detected.key_at(lat, lon) != ags


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson"])
@pytest.mark.parametrize("column", ["ags", "AGS", "ARS", "RS", "KRS", "district_ags"])
def test_key_column_is_detected(tmp_path, german_areas, suffix, column):
    frame = german_areas.rename(columns={"AGS": column})
    save(frame, tmp_path / f"krs{suffix}")
    areas = DistrictAreas.from_file(tmp_path / f"krs{suffix}")
    for lat, lon, ags in PLACES:
        assert areas.key_at(lat, lon) == ags


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson"])
def test_named_column_that_is_missing_is_refused(tmp_path, german_areas, suffix):
    save(german_areas, tmp_path / f"krs{suffix}")
    with pytest.raises(DataError) as caught:
        DistrictAreas.from_file(tmp_path / f"krs{suffix}", ags_column="KREIS")
    assert str(caught.value) == (f"{tmp_path / f'krs{suffix}'}, field 'KREIS': no district key "
                                 f"column (KREIS); columns are AGS, GEN"
                                 + (", geometry" if suffix == ".gpkg" else ""))


@pytest.mark.parametrize(("keys", "bad", "row"), [
    (["AT"], "AT", 1),
    (["09463", "Bayern"], "Bayern", 2),
    (["09463", "09a63"], "09a63", 2),
    (["09463", "0946a.0"], "0946a.0", 2),  # only a number loses its ".0"
])
@pytest.mark.parametrize("column", [None, "KRS_KEY"])
def test_official_file_with_a_key_that_is_no_ags_is_refused(tmp_path, keys, bad, row, column):
    boxes = [shapely.box(10.9 + i * 0.1, 50.2, 11.0 + i * 0.1, 50.3) for i in range(len(keys))]
    frame = gpd.GeoDataFrame({column or "AGS": keys}, geometry=boxes, crs=4326)
    path = tmp_path / "krs.gpkg"
    frame.to_file(path)
    with pytest.raises(DataError) as caught:
        DistrictAreas.from_file(path, ags_column=column, official=True)
    assert str(caught.value) == (f"{path}, line {row}, field '{column or 'ags'}': "
                                 f"not an AGS key: {bad!r}")
    # The approximation may hold foreign areas: their keys are country codes.
    assert bad in DistrictAreas.from_file(path, ags_column=column).keys


@pytest.mark.parametrize(("value", "key"), [
    (9463, "09463"),                 # an integer column loses the leading zero
    (9463.0, "09463"),               # a float column
    ("09463", "09463"),
    (" 09463 ", "09463"),
    ("094630000000", "09463"),       # a municipality's 12-digit regional key (ARS)
    ("09463000", "09463"),           # an 8-digit municipality key (AGS)
    ("AT", "AT"),
])
def test_keys_are_normalised_to_five_digits(tmp_path, value, key):
    document = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"ags": value}, "geometry": {
            "type": "Polygon", "coordinates": [[[10.9, 50.2], [11.0, 50.2], [11.0, 50.3],
                                                [10.9, 50.3], [10.9, 50.2]]]}}]}
    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps(document), encoding="utf-8")
    areas = DistrictAreas.from_file(path)
    assert areas.keys == {key}
    assert areas.key_at(50.2580, 10.9645) == key


def test_file_without_a_crs_is_refused(tmp_path):
    frame = gpd.GeoDataFrame({"AGS": ["09463"]}, geometry=[shapely.box(0, 0, 1, 1)])
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        frame.to_file(tmp_path / "krs.gpkg")
    with pytest.raises(DataError) as caught:
        DistrictAreas.from_file(tmp_path / "krs.gpkg", official=True)
    assert str(caught.value) == (f"{tmp_path / 'krs.gpkg'}: "
                                 "the file has no coordinate reference system")


def test_empty_geometries_are_left_out(tmp_path, german_areas):
    frame = german_areas.copy()
    frame.loc[frame["AGS"] == "09463", "geometry"] = shapely.Polygon()
    frame.to_file(tmp_path / "krs.gpkg")
    areas = DistrictAreas.from_file(tmp_path / "krs.gpkg", official=True)
    assert "09463" not in areas.keys and "09473" in areas.keys
    assert len(areas.keys) == len(german_areas) - 1
    assert areas.source == "official boundaries (krs.gpkg)"
    shipped = DistrictAreas.from_file(REPO_GEODATA / "district_areas.geojson")
    assert shipped.source == "approximation (district_areas.geojson)"


@pytest.mark.parametrize("where", ["first", "last"])
def test_geojson_naming_its_crs_is_read_in_it_wherever_the_member_is(tmp_path, german_areas,
                                                                     where):
    """GeoJSON 2008's "crs" member may follow the features (JSON members have no order): the
    coordinates are then metres of EPSG:25832 all the same, not degrees."""
    features = json.loads(german_areas.to_json())["features"]  # EPSG:25832
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}}
    document = {"type": "FeatureCollection", "features": features}
    document = {"crs": crs, **document} if where == "first" else {**document, "crs": crs}
    path = tmp_path / "krs.geojson"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert gpd.read_file(path).crs == "EPSG:25832"  # as GDAL reads it
    areas = DistrictAreas.from_file(path, official=True)
    for lat, lon, ags in PLACES:
        assert areas.key_at(lat, lon) == ags


def test_data_files_are_read_as_utf8_whatever_the_locale(ascii_locale):
    districts = load_bavarian_districts(REPO_GEODATA / "districts.csv")
    assert districts["09183"].name == "Landkreis Mühldorf a.Inn"
    areas = DistrictAreas.from_file(REPO_GEODATA / "district_areas.geojson")
    for lat, lon, ags in PLACES:
        assert areas.key_at(lat, lon) == ags


def test_the_key_column_is_the_first_features(tmp_path):
    """A file's columns are its first feature's, as the tools that write GeoJSON give every
    feature the same ones: a first feature without the key stops the file, rather than read
    it with a key 'None'."""
    def feature(properties, lon):
        return {"type": "Feature", "properties": properties, "geometry": {
            "type": "Polygon", "coordinates": [[[lon, 50.2], [lon + 0.1, 50.2],
                                                [lon + 0.1, 50.3], [lon, 50.3], [lon, 50.2]]]}}
    document = {"type": "FeatureCollection", "features": [
        feature({"GEN": "Coburg"}, 10.9), feature({"AGS": "09473", "GEN": "Coburg"}, 11.0)]}
    path = tmp_path / "krs.geojson"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(DataError) as caught:
        DistrictAreas.from_file(path)
    assert str(caught.value).endswith("no district key column "
                                      f"({' / '.join(AGS_COLUMNS)}); columns are GEN")


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataError) as caught:
        DistrictAreas.from_file(tmp_path / "kreise.gpkg", official=True)
    assert str(caught.value) == f"{tmp_path / 'kreise.gpkg'}: district area file not found"


def test_file_without_any_area_is_refused(tmp_path):
    document = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"AGS": "09463"}, "geometry": None},
        {"type": "Feature", "properties": {"AGS": "09473"},
         "geometry": {"type": "Polygon", "coordinates": []}}]}
    path = tmp_path / "krs.geojson"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(DataError) as caught:
        DistrictAreas.from_file(path, official=True)
    assert str(caught.value) == f"{path}: no area with a geometry"


# --- the grid: shortcuts only where one area alone covers a cell ----------------------------------

@pytest.mark.parametrize("tree_min", [2048, 1])
def test_a_cell_inside_one_area_and_touched_by_a_smaller_key(tree_min):
    # 09162 covers the 5 km cell (5000..10000)²; 09161, a smaller key, overlaps part of it.
    # Where both lie, the smaller key answers, as everywhere two areas meet: the cell must not
    # answer 09162 without testing the point.
    big = shapely.box(0, 0, 20_000, 20_000)
    small = shapely.box(6_000, 6_000, 8_000, 8_000)
    for keys, geometries in ((["09162", "09161"], [big, small]),
                             (["09161", "09162"], [small, big])):
        areas = DistrictAreas(np.array(keys, dtype=object), np.array(geometries),
                              source="test", tree_min=tree_min)
        assert areas.key_at_xy(7_000, 7_000) == "09161"
        assert areas.key_at_xy(8_000, 8_000) == "09161"     # on the small area's corner
        assert areas.key_at_xy(9_000, 9_000) == "09162"     # same cell, only the big area
        assert areas.key_at_xy(12_000, 12_000) == "09162"   # a cell of the big area alone
        assert areas.key_at_xy(20_000, 20_000) == "09162"   # its corner
        assert areas.key_at_xy(20_001, 20_000) is None
        assert areas.key_at_xy(-1, 10_000) is None
        assert areas.key_at_xy(-60_000, 10_000) is None     # no cell at all


@pytest.mark.parametrize("tree_min", [2048, 1])
def test_small_areas_inside_cells_off_the_diagonal(tree_min):
    # As above, in cells whose column and row differ: (10..15 km, 5..10 km) and (5..10 km,
    # 15..20 km). Each cell's own box decides whether it lies in the big area alone.
    big = shapely.box(0, 0, 30_000, 30_000)
    east_low = shapely.box(12_000, 6_000, 14_000, 8_000)
    west_high = shapely.box(6_000, 16_000, 8_000, 18_000)
    areas = DistrictAreas(np.array(["09162", "09161", "09161"], dtype=object),
                          np.array([big, east_low, west_high]), source="test", tree_min=tree_min)
    assert areas.key_at_xy(13_000, 7_000) == "09161"
    assert areas.key_at_xy(7_000, 17_000) == "09161"
    assert areas.key_at_xy(11_000, 9_000) == "09162"
    assert areas.key_at_xy(9_000, 19_000) == "09162"


@pytest.mark.parametrize("tree_min", [2048, 1])
def test_areas_meeting_on_a_cell_border(tree_min):
    # Two Bavarian areas meet at x = 10 km, a cell border: on it the smaller key answers.
    west, east = shapely.box(0, 0, 10_000, 30_000), shapely.box(10_000, 0, 30_000, 30_000)
    areas = DistrictAreas(np.array(["09474", "09473"], dtype=object), np.array([west, east]),
                          source="test", tree_min=tree_min)
    assert areas.key_at_xy(10_000, 12_500) == "09473"
    assert areas.key_at_xy(9_999.9, 12_500) == "09474"
    assert areas.key_at_xy(10_000.1, 12_500) == "09473"
    assert areas.key_at_xy(2_500, 2_500) == "09474"
    assert areas.key_at_xy(27_500, 27_500) == "09473"
    assert areas.keys == {"09473", "09474"}


@pytest.mark.parametrize("tree_min", [2048, 1])
def test_areas_at_negative_metres(tree_min):
    # West and south of EPSG:25832's origin the metres, and so the grid's cells, are negative.
    west = shapely.box(-30_000, -30_000, -10_000, 30_000)
    east = shapely.box(-10_000, -30_000, 30_000, 30_000)
    areas = DistrictAreas(np.array(["09474", "09473"], dtype=object), np.array([west, east]),
                          source="test", tree_min=tree_min)
    assert areas.key_at_xy(-27_500, -27_500) == "09474"
    assert areas.key_at_xy(-12_500, 2_500) == "09474"
    assert areas.key_at_xy(-10_000, 2_500) == "09473"  # the shared edge: the smaller key
    assert areas.key_at_xy(-2_500, -2_500) == "09473"
    assert areas.key_at_xy(27_500, 27_500) == "09473"
    assert areas.key_at_xy(30_001, 0) is None


@pytest.mark.parametrize("tree_min", [2048, 1])
@pytest.mark.parametrize("axis", ["x", "y"])
def test_overlap_at_negative_metres(tree_min, axis):
    # 09161 and 09162 overlap from -12 to -11 km: there the smaller key answers, though the
    # next cell towards the origin lies inside 09162 alone.
    low, high = shapely.box(-30_000, -30_000, -11_000, 30_000), shapely.box(-12_000, -30_000,
                                                                             30_000, 30_000)
    both, high_only = (-11_500, 2_500), (-8_500, 2_500)
    if axis == "y":  # the same, mirrored on the diagonal
        low, high = (shapely.transform(g, lambda xy: xy[:, ::-1]) for g in (low, high))
        both, high_only = both[::-1], high_only[::-1]
    areas = DistrictAreas(np.array(["09161", "09162"], dtype=object), np.array([low, high]),
                          source="test", tree_min=tree_min)
    assert areas.key_at_xy(*both) == "09161"
    assert areas.key_at_xy(*high_only) == "09162"


def test_foreign_areas_answer_without_shortcuts():
    # A country code covers whole cells too: answered by testing the point, the same answers.
    austria = shapely.box(0, 0, 20_000, 20_000)
    bavaria = shapely.box(20_000, 0, 40_000, 20_000)
    areas = DistrictAreas(np.array(["AT", "09172"], dtype=object), np.array([austria, bavaria]),
                          source="test")
    assert areas.key_at_xy(7_500, 7_500) == "AT"
    assert areas.key_at_xy(27_500, 7_500) == "09172"
    assert areas.key_at_xy(20_000, 7_500) == "09172"  # "0" sorts before "A"


def test_shipped_areas_answer_real_places_by_point_and_by_metres():
    areas = DistrictAreas.from_file(REPO_GEODATA / "district_areas.geojson")
    for lat, lon, ags in PLACES:
        assert areas.key_at(lat, lon) == ags
        assert areas.key_at_xy(*to_metric(lat, lon)) == ags
    assert areas.key_at(47.8095, 13.0550) == "AT"   # Salzburg
    assert areas.key_at(0.0, 0.0) is None
    assert len(areas.keys) == 411
    # Plain str, not numpy's: answers are plain values (orjson refuses numpy dict keys).
    assert {type(k) for k in areas.keys} == {str}
    assert type(areas.key_at(50.2580, 10.9645)) is str
