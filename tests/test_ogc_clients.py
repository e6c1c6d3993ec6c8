"""OGC API – Features read by clients nobody here wrote, over real HTTP (gunicorn on loopback).

GDAL's OAPIF driver through pyogrio (a run-time dependency that bundles GDAL) and OWSLib's
Features client (the test extra). Neither is optional: a missing one fails, under CI too."""

from __future__ import annotations

import pyogrio
import pytest
import shapely
from live_server import LiveServer
from owslib.ogcapi.features import Features

from locator.crs import to_metric

UTM32 = "http://www.opengis.net/def/crs/EPSG/0/25832"
pytestmark = pytest.mark.slow  # starts gunicorn


@pytest.fixture(scope="module")
def server():
    with LiveServer(workers=1) as live:
        yield live


@pytest.fixture(scope="module")
def oapif(server) -> str:
    assert "OAPIF" in pyogrio.list_drivers(), "pyogrio's GDAL lacks the OAPIF driver"
    return f"OAPIF:{server.url}/ogc"


def item_requests(server, collection: str) -> int:
    return server.access_log.count(f'"GET /ogc/collections/{collection}/items" 200')


# --- GDAL ------------------------------------------------------------------------------------

def test_gdal_lists_both_layers(oapif):
    assert [name for name, _ in pyogrio.list_layers(oapif)] == ["offices", "district-areas"]


def test_gdal_reads_every_office_with_its_attributes_over_several_pages(server, oapif,
                                                                        locator):
    before = item_requests(server, "offices")
    frame = pyogrio.read_dataframe(oapif, layer="offices", PAGE_SIZE=30)
    # 96 offices in pages of 30: four pages (GDAL may ask a first one more to learn the fields).
    assert item_requests(server, "offices") - before >= 3
    assert sorted(frame["id"]) == sorted(locator.offices.index)
    assert frame.crs.to_string() in ("OGC:CRS84", "EPSG:4326")
    coburg = frame.set_index("id").loc["stadt-coburg"]
    office = locator.offices.loc["stadt-coburg"]
    for name in ("name", "district_ags", "district_name", "district_type", "regierungsbezirk",
                 "city", "location_precision"):
        assert coburg[name] == office[name], name
    assert (coburg.geometry.x, coburg.geometry.y) == pytest.approx((office.lon, office.lat))


def test_gdal_honours_a_bbox(oapif, locator):
    west, south, east, north = 10.8, 50.1, 11.2, 50.4
    frame = pyogrio.read_dataframe(oapif, layer="offices", bbox=(west, south, east, north))
    inside = locator.offices[locator.offices.lon.between(west, east)
                             & locator.offices.lat.between(south, north)]
    assert sorted(frame["id"]) == sorted(inside.index)
    assert {"stadt-coburg", "landkreis-coburg"} <= set(frame["id"])


def test_gdal_reads_offices_in_etrs89_utm32(server, oapif, locator):
    frame = pyogrio.read_dataframe(oapif, layer="offices", CRS="EPSG:25832", PAGE_SIZE=50)
    assert frame.crs.to_epsg() == 25832
    assert len(frame) == len(locator.offices)
    row = frame.set_index("id").loc["stadt-passau"]
    x, y = to_metric(row["lat"], row["lon"])
    assert (row.geometry.x, row.geometry.y) == pytest.approx((x, y), abs=0.01)


def test_gdal_filters_by_a_queryable(oapif):
    frame = pyogrio.read_dataframe(oapif, layer="offices",
                                   where="regierungsbezirk = 'Oberfranken'")
    assert len(frame) == 13
    assert set(frame["regierungsbezirk"]) == {"Oberfranken"}


def test_gdal_reads_the_district_areas(oapif, locator):
    frame = pyogrio.read_dataframe(oapif, layer="district-areas", PAGE_SIZE=200)
    _, geometries = locator.areas.areas()
    assert len(frame) == len(geometries)
    bavarian = frame[frame["in_bavaria"].astype(bool)]
    assert sorted(bavarian["district_ags"]) == sorted(locator.districts)
    assert set(frame.geometry.geom_type) <= {"Polygon", "MultiPolygon"}
    # The layer is the polygons the service answers from: Coburg's centre lies in Stadt Coburg.
    coburg = frame.set_index("id").loc["09463"]
    assert coburg.geometry.contains(shapely.Point(10.9645, 50.2580))


# --- OWSLib ----------------------------------------------------------------------------------

def test_owslib_lists_collections_and_reads_items_and_queryables(server):
    api = Features(f"{server.url}/ogc")
    assert api.feature_collections() == ["offices", "district-areas"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in (
        api.conformance()["conformsTo"])
    assert set(api.collection_queryables("offices")["properties"]) == {
        "district_ags", "regierungsbezirk", "district_type"}
    page = api.collection_items("offices", limit=5, bbox=[10.8, 50.1, 11.2, 50.4])
    assert page["numberReturned"] == len(page["features"]) <= 5
    assert "stadt-coburg" in {f["id"] for f in page["features"]}
    filtered = api.collection_items("district-areas", district_ags="09463")
    assert [f["id"] for f in filtered["features"]] == ["09463"]
    assert api.collection_item("offices", "stadt-coburg")["properties"]["district_ags"] == "09463"
    assert "/collections/offices/items" in api.api()["paths"]
