"""The district-area approximation: the committed GeoJSON and the builder that makes it."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import geopandas as gpd
import pandas as pd
import pytest
import shapely

ROOT = Path(__file__).resolve().parent.parent
AREAS = ROOT / "geodata" / "district_areas.geojson"
BUILDER = ROOT / "scripts" / "build_district_areas.py"
FIXTURE = Path(__file__).parent / "data" / "geonames_mini.tsv"  # real GeoNames rows, CC BY 4.0

# Bavaria's 96 districts: per Regierungsbezirk 1-7, kreisfreie Städte 61.. and Landkreise 71..
BAVARIA = {
    f"09{rb}{yy}"
    for rb, cities, last_landkreis in [
        (1, 3, 90), (2, 3, 79), (3, 3, 77), (4, 4, 79), (5, 5, 77), (6, 3, 79), (7, 4, 80),
    ]
    for yy in [*range(61, 61 + cities), *range(71, last_landkreis + 1)]
}


@pytest.fixture(scope="module")
def areas() -> gpd.GeoDataFrame:
    """The committed areas in WGS84."""
    return gpd.read_file(AREAS)


@pytest.fixture(scope="module")
def metric(areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The committed areas in EPSG:25832, for areas and distances in metres."""
    return areas.to_crs("EPSG:25832")


def overlap_m2(metric: gpd.GeoDataFrame) -> float:
    """Total area (m²) covered by more than one feature."""
    geoms = metric.geometry.to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left < right
    return float(shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]])).sum())


def test_is_a_feature_collection_with_ags_and_name_only() -> None:
    collection = json.loads(AREAS.read_text(encoding="utf-8"))
    assert collection["type"] == "FeatureCollection"
    keys = [f["properties"]["ags"] for f in collection["features"]]
    assert len(keys) == len(set(keys))
    for feature in collection["features"]:
        assert set(feature["properties"]) == {"ags", "name"}
        assert re.fullmatch(r"\d{5}|[A-Z]{2}", feature["properties"]["ags"])
        assert feature["properties"]["name"]
        assert feature["geometry"]["type"] in {"Polygon", "MultiPolygon"}


def test_file_stays_small() -> None:
    assert AREAS.stat().st_size < 5_000_000


def test_geometries_are_valid(areas: gpd.GeoDataFrame) -> None:
    invalid = areas.loc[~areas.geometry.is_valid, "ags"].tolist()
    assert invalid == []


def test_areas_do_not_overlap(metric: gpd.GeoDataFrame) -> None:
    assert overlap_m2(metric) < 1_000  # rounding to 1e-5° may leave slivers of a few m²


def test_areas_tile_one_extent_without_holes(metric: gpd.GeoDataFrame) -> None:
    union = shapely.union_all(metric.geometry.to_numpy())
    parts = shapely.get_parts(union)
    assert len(parts) == 1
    holes = [shapely.Polygon(ring).area for ring in parts[0].interiors]
    assert sum(holes) < 10_000  # m²: a few rounding pinholes at most


def test_all_96_bavarian_districts_are_present(areas: gpd.GeoDataFrame) -> None:
    assert len(BAVARIA) == 96
    bavarian = {key for key in areas["ags"] if key.startswith("09")}
    assert bavarian == BAVARIA


def test_all_of_germany_is_districts(areas: gpd.GeoDataFrame) -> None:
    german = areas[areas["ags"].str.isdigit()]
    assert len(german) == 400  # 294 Landkreise + 106 kreisfreie Städte (2024)


def test_covers_80_km_beyond_bavaria(metric: gpd.GeoDataFrame) -> None:
    bavaria = shapely.union_all(metric[metric["ags"].str.startswith("09")].geometry.to_numpy())
    ring = shapely.buffer(shapely.simplify(bavaria, 500), 80_000)
    missing = shapely.difference(ring, shapely.union_all(metric.geometry.to_numpy()))
    assert missing.area < 1e6  # m²


@pytest.mark.parametrize(
    ("place", "lat", "lon", "ags"),
    [
        ("Coburg, city centre", 50.2584, 10.9629, "09463"),
        ("Rödental", 50.2952, 11.0412, "09473"),
        ("Neustadt bei Coburg", 50.3297, 11.1211, "09473"),
        ("Regensburg, city centre", 49.0134, 12.1016, "09362"),
        ("Passau", 48.5667, 13.4319, "09262"),
        ("Lindau island", 47.5459, 9.6840, "09776"),
        ("Hof", 50.3135, 11.9128, "09464"),
        ("München, Marienplatz", 48.1374, 11.5755, "09162"),
        ("Nürnberg, Hauptmarkt", 49.4540, 11.0775, "09564"),
        ("Augsburg, Rathaus", 48.3690, 10.8987, "09761"),
        ("Würzburg", 49.7925, 9.9326, "09663"),
        ("Bamberg", 49.8917, 10.8868, "09461"),
        ("Weiden i.d.OPf.", 49.6769, 12.1561, "09363"),
        ("Schwabach", 49.3292, 11.0222, "09565"),
        ("Memmingen", 47.9878, 10.1815, "09764"),
        ("Kronach", 50.2408, 11.3281, "09476"),
        ("Lichtenfels", 50.1453, 11.0597, "09478"),
        ("Selb", 50.1706, 12.1317, "09479"),
        ("Garmisch-Partenkirchen", 47.4917, 11.0955, "09180"),
        ("Freilassing", 47.8409, 12.9756, "09172"),
        ("Neu-Ulm", 48.3920, 10.0110, "09775"),
        ("Ulm (Baden-Württemberg)", 48.3984, 9.9916, "08421"),
        ("Sonneberg (Thüringen)", 50.3594, 11.1747, "16072"),
        ("Berlin", 52.5200, 13.4050, "11000"),
        ("Büsingen, German exclave in Switzerland", 47.6967, 8.6900, "08335"),
        ("Salzburg", 47.8095, 13.0550, "AT"),
        ("Innsbruck", 47.2692, 11.4041, "AT"),
        ("Jungholz, Austrian with a German postcode", 47.5741, 10.4472, "AT"),
        ("Riezlern, Kleinwalsertal", 47.3505, 10.1823, "AT"),
        ("Cheb/Eger", 50.0796, 12.3739, "CZ"),
        ("Plzeň", 49.7384, 13.3736, "CZ"),
        ("Zürich", 47.3769, 8.5417, "CH"),
        ("Vaduz", 47.1410, 9.5209, "LI"),
        ("Strasbourg", 48.5734, 7.7521, "FR"),
    ],
)
def test_real_places_lie_in_their_district(
    areas: gpd.GeoDataFrame, place: str, lat: float, lon: float, ags: str
) -> None:
    found = areas.loc[areas.contains(shapely.Point(lon, lat)), "ags"].tolist()
    assert found == [ags], place


# --- the builder, on a tiny GeoNames excerpt (Coburg, Hof, Cheb, Jungholz and around) ---


@pytest.fixture(scope="module")
def builder() -> ModuleType:
    """scripts/build_district_areas.py as a module (needs the build extra's scipy)."""
    pytest.importorskip("scipy")
    spec = importlib.util.spec_from_file_location("build_district_areas", BUILDER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built(builder: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The builder's output for the fixture file."""
    out = tmp_path_factory.mktemp("areas") / "district_areas.geojson"
    assert builder.main(["--geonames", str(FIXTURE), "--no-cities", "--output", str(out)]) == 0
    return out


def test_builder_writes_only_the_output_file(built: Path) -> None:
    assert [p.name for p in built.parent.iterdir()] == [built.name]  # no temp file left


def test_builder_labels_fixture_areas(built: Path) -> None:
    areas = gpd.read_file(built)
    assert set(areas["ags"]) == {"09463", "09464", "09473", "09475", "09780", "AT", "CZ"}
    assert areas.geometry.is_valid.all()
    assert overlap_m2(areas.to_crs("EPSG:25832")) < 1_000


def test_builder_puts_every_fixture_place_in_its_area(builder: ModuleType, built: Path) -> None:
    areas = gpd.read_file(built)
    places = builder.postal_points(builder.read_geonames(FIXTURE))
    points = gpd.points_from_xy(places["lon"], places["lat"], crs="EPSG:4326")
    joined = gpd.sjoin(gpd.GeoDataFrame(places, geometry=points), areas, predicate="within")
    assert (joined["label"] == joined["ags"]).all()
    assert len(joined) == len(places)


def test_builder_labels_jungholz_austrian(builder: ModuleType) -> None:
    rows = builder.read_geonames(FIXTURE)
    rows = rows[rows["country"] == "DE"]  # as in a DE.txt: no Austrian row for Jungholz
    places = builder.postal_points(rows)
    assert places.loc[places["name"] == "Jungholz", "label"].tolist() == ["AT"]


def test_builder_rounds_to_five_decimals(built: Path) -> None:
    text = built.read_text(encoding="utf-8")
    assert not re.search(r"\d\.\d{6,}", text)


def test_city_names_match_only_unique_municipalities(builder: ModuleType) -> None:
    lau = pd.DataFrame({
        "id": ["09473159", "09180117", "09173112", "09176123", "09475158", "09183128"],
        "name": ["Rödental, St", "Grainau", "Neustadt", "Neustadt", "Schwarzenbach a.d.Saale, St",
                 "Mühldorf a.Inn, GKSt"],
    })
    cities = pd.DataFrame({
        "name": ["Rödental", "Grainau", "Neustadt", "Schwarzenbach an der Saale", "Mühldorf am Inn",
                 "Grainau"],
        "admin1code": ["02", "02", "02", "02", "02", "01"],  # the last one is in BW: no match
    })
    matched = builder.match_cities(cities, lau)
    assert dict(zip(matched["name"], matched["label"], strict=True)) == {
        "Rödental": "09473", "Grainau": "09180", "Schwarzenbach an der Saale": "09475",
        "Mühldorf am Inn": "09183",
    }


def test_vote_prefers_the_heavier_label_and_breaks_ties_by_distance(builder: ModuleType) -> None:
    import numpy as np

    dist = np.array([[1000.0, 1100.0, 1200.0], [1000.0, 5000.0, 5000.0]])
    labels = np.array([["A", "B", "B"], ["A", "B", "B"]])
    assert builder.vote(dist, labels, k=3, power=3.0).tolist() == ["B", "A"]
    assert builder.vote(dist, labels, k=1, power=3.0).tolist() == ["A", "A"]
