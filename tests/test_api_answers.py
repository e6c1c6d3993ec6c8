"""What the API answers, member by member: the origin of every search, the distances of the
responsible offices, the parameter named by every 404, the edges of lat/lon and radius_km."""

from __future__ import annotations

import pytest

from locator import create_app
from locator.config import Settings
from locator.service import Locator
from locator.state import LocatorState

PROBLEM = "application/problem+json"


# The distances below are pinned to the offices at their districts' seats (the builder without
# research), so that new research does not move them.
@pytest.fixture(scope="module")
def locator(seat_offices) -> Locator:
    return Locator.from_settings(Settings.from_env({}, offices_file=str(seat_offices)))


@pytest.fixture(scope="module")
def client(settings, locator):
    app = create_app({"TESTING": True, "LOCATOR_STATE": LocatorState(settings, locator)})
    return app.test_client()

ORIGINS = [
    # (query, origin as answered)
    ("lat=50.258&lon=10.9645", {"lat": 50.258, "lon": 10.9645, "resolved_by": "coordinates",
                                "precision": "coordinates", "label": None, "postcode": None}),
    ("postcode=96450", {"lat": 50.2594, "lon": 10.9638, "resolved_by": "postcode",
                        "precision": "postcode", "label": "96450 Coburg", "postcode": "96450"}),
    ("q=96472", {"lat": 50.2952, "lon": 11.0412, "resolved_by": "postcode",
                 "precision": "postcode", "label": "96472 Rödental", "postcode": "96472"}),
    ("q=%2096450%20", {"lat": 50.2594, "lon": 10.9638, "resolved_by": "postcode",
                       "precision": "postcode", "label": "96450 Coburg", "postcode": "96450"}),
    ("q=Regensburg", {"lat": 49.01781, "lon": 12.09889, "resolved_by": "place",
                      "precision": "place", "label": "Regensburg", "postcode": None}),
    ("q=Lindau%20(Bodensee)", {"lat": 47.5501, "lon": 9.7085, "resolved_by": "place",
                               "precision": "place", "label": "Lindau (Bodensee)",
                               "postcode": None}),
    ("postcode=84032", {"lat": 48.5446, "lon": 12.13, "resolved_by": "postcode",
                        "precision": "postcode", "label": "84032 Landshut u. a.",
                        "postcode": "84032"}),
]


@pytest.mark.parametrize(("query", "origin"), ORIGINS)
@pytest.mark.parametrize("path", [
    "/api/v1/offices/nearest?limit=2&", "/api/v1/offices/within?radius_km=5&",
    "/api/v1/responsible?",
])
def test_every_search_answers_its_origin(client, path, query, origin):
    r = client.get(path + query)
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    assert body["origin"] == {**origin, "lat": pytest.approx(origin["lat"], abs=1e-5),
                              "lon": pytest.approx(origin["lon"], abs=1e-5)}


@pytest.mark.parametrize(("query", "office", "km"), [
    ("postcode=95236&limit=3", "landkreis-hof", 24.052),          # Stammbach
    ("postcode=87499&limit=3", "landkreis-oberallgaeu", 28.995),  # Wildpoldsried
    ("postcode=90427&limit=3", "stadt-nuernberg", 9.755),         # Fürth is nearer
    ("postcode=93047&limit=1", "stadt-regensburg", 0.279),
    ("postcode=96472&limit=1", "landkreis-coburg", 6.803),        # Rödental
    ("lat=49.5103&lon=11.2772&limit=1", "landkreis-nuernberger-land", 0.555),  # Lauf
])
def test_responsible_office_distance_in_the_answer(client, query, office, km):
    body = client.get(f"/api/v1/offices/nearest?{query}").get_json()
    responsible = body["responsible"]["offices"]["features"]
    assert [f["id"] for f in responsible] == [office]
    assert responsible[0]["properties"]["distance_km"] == pytest.approx(km, abs=1e-9)
    assert responsible[0]["properties"]["responsible"] is True
    for feature in body["features"]:
        assert feature["properties"]["responsible"] is (feature["id"] == office)
        if feature["id"] == office:
            assert feature["properties"]["distance_km"] == pytest.approx(km, abs=1e-9)


def test_nearest_distances_in_the_answer(client):
    body = client.get("/api/v1/offices/nearest?lat=50.2952&lon=11.0412&limit=3").get_json()
    assert [(f["id"], f["properties"]["distance_km"]) for f in body["features"]] == [
        ("landkreis-coburg", 6.803), ("stadt-coburg", 6.803), ("landkreis-lichtenfels", 16.677)]
    assert body["limit"] == 3


@pytest.mark.parametrize(("radius", "ids"), [
    ("0.5", []),                                # Lauf's office is 555 m away
    ("0.554", []),
    ("0.556", ["landkreis-nuernberger-land"]),
])
def test_radius_edges_in_the_answer(client, radius, ids):
    body = client.get(f"/api/v1/offices/within?lat=49.5103&lon=11.2772&radius_km={radius}")
    assert [f["id"] for f in body.get_json()["features"]] == ids
    assert body.get_json()["radius_km"] == float(radius)


def test_largest_radius_is_accepted(client):
    r = client.get("/api/v1/offices/within?postcode=88131&radius_km=200")
    assert r.status_code == 200
    assert len(r.get_json()["features"]) == 34
    assert r.get_json()["radius_km"] == 200.0


@pytest.mark.parametrize("url", [
    "/api/v1/responsible?lat=90&lon=180", "/api/v1/responsible?lat=-90&lon=-180",
    "/api/v1/offices/nearest?lat=90&lon=-180&limit=1",
    "/api/v1/offices/within?lat=-90&lon=180&radius_km=200",
])
def test_lat_lon_on_the_bounds_are_answered(client, url):
    r = client.get(url)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["origin"]["resolved_by"] == "coordinates"


@pytest.mark.parametrize(("query", "parameter", "detail"), [
    ("lat=90.0001&lon=11", "lat", "lat must be between -90 and 90, got 90.0001"),
    ("lat=-90.0001&lon=11", "lat", "lat must be between -90 and 90, got -90.0001"),
    ("lat=49&lon=180.0001", "lon", "lon must be between -180 and 180, got 180.0001"),
    ("lat=49&lon=-180.0001", "lon", "lon must be between -180 and 180, got -180.0001"),
    ("lat=49&lon=11&q=Coburg", "lat/lon", "give only one origin, not lat/lon and q"),
    ("lat=49&lon=11&postcode=96450", "lat/lon", "give only one origin, not lat/lon and postcode"),
    ("q=Coburg&postcode=96450", "postcode", "give only one origin, not postcode and q"),
    ("q=" + "x" * 201, "q", "q is longer than 200 characters"),
])
def test_bad_origin_is_a_400_naming_the_parameter(client, query, parameter, detail):
    r = client.get(f"/api/v1/responsible?{query}")
    assert r.status_code == 400
    assert r.mimetype == PROBLEM
    assert r.get_json()["parameter"] == parameter
    assert r.get_json()["detail"] == detail


@pytest.mark.parametrize(("url", "parameter", "detail"), [
    ("/api/v1/offices/nearest?postcode=00000", "postcode",
     "postcode 00000 is not in the gazetteer"),
    ("/api/v1/responsible?q=00000", "postcode", "postcode 00000 is not in the gazetteer"),
    ("/api/v1/postcodes/99999", "postcode", "postcode 99999 is not in the gazetteer"),
    ("/api/v1/offices/within?q=Atlantis&radius_km=10", "q",
     "no postcode or place matches q='Atlantis'"),
    ("/api/v1/offices/landkreis-atlantis", "id", "no office with id 'landkreis-atlantis'"),
])
def test_not_found_names_the_parameter(client, url, parameter, detail):
    r = client.get(url)
    assert r.status_code == 404
    assert r.mimetype == PROBLEM
    body = r.get_json()
    assert (body["status"], body["title"], body["parameter"], body["detail"]) == (
        404, "Not found", parameter, detail)
    assert body["type"].endswith("#problem-not-found")


def test_healthz_names_the_data_and_its_version(client, locator):
    body = client.get("/healthz").get_json()
    assert body == {"status": "ok", "offices": 96, "data_version": locator.data_version,
                    "district_areas": "approximation (district_areas.geojson)"}
    assert len(body["data_version"]) == 12


def test_a_position_is_answered_to_five_decimals_as_given(client):
    # 1 m is the fifth decimal; more would only repeat the family's position more exactly.
    body = client.get("/api/v1/offices/nearest?lat=49.0134749&lon=12.1016349&limit=1").get_json()
    assert (body["origin"]["lat"], body["origin"]["lon"]) == (49.01347, 12.10163)


def test_a_postcode_is_answered_in_full(client):
    assert client.get("/api/v1/postcodes/96472").get_json() == {
        "postcode": "96472", "lat": 50.2952, "lon": 11.0412, "in_bavaria": True,
        "places": [{"name": "Rödental", "district_ags": "09473",
                    "district_name": "Landkreis Coburg", "in_bavaria": True,
                    "lat": 50.2952, "lon": 11.0412}],
        "districts": [{"ags": "09473", "name": "Landkreis Coburg"}],
    }


@pytest.mark.parametrize(("q", "suggestion"), [
    ("Rödental", {"kind": "place", "label": "Rödental", "postcode": None, "name": "Rödental",
                  "district_ags": "09473", "district_name": "Landkreis Coburg",
                  "in_bavaria": True, "lat": 50.2952, "lon": 11.0412}),
    ("9647", {"kind": "postcode", "label": "96472 Rödental", "postcode": "96472",
              "name": "Rödental", "district_ags": "09473", "district_name": "Landkreis Coburg",
              "in_bavaria": True, "lat": 50.2952, "lon": 11.0412}),
    # Outside Bavaria: the district's name all the same, and not in Bavaria.
    ("Salzburg", {"kind": "place", "label": "Salzburg", "postcode": None, "name": "Salzburg",
                  "district_ags": "07143", "district_name": "Westerwaldkreis",
                  "in_bavaria": False, "lat": 50.6667, "lon": 8.05}),
])
def test_a_suggestion_is_answered_in_full(client, q, suggestion):
    assert client.get("/api/v1/places", query_string={"q": q, "limit": 1}).get_json() == {
        "suggestions": [suggestion]}


def test_an_ambiguous_name_answers_its_alternatives_in_full(client):
    origin = client.get("/api/v1/responsible?q=Neustadt").get_json()["origin"]
    assert origin["alternatives"][0] == {
        "label": "97616 Bad Neustadt an der Saale", "name": "Bad Neustadt an der Saale",
        "district_ags": "09673", "district_name": "Landkreis Rhön-Grabfeld", "postcode": "97616",
        "lat": 50.3217, "lon": 10.2067}
    coburg = next(a for a in origin["alternatives"] if a["name"] == "Neustadt bei Coburg")
    assert (coburg["district_ags"], coburg["district_name"], coburg["postcode"]) == (
        "09473", "Landkreis Coburg", "96465")


@pytest.mark.parametrize(("path", "cache_control"), [
    # Public facts may be cached; an answer to a search describes where someone lives.
    ("/api/v1/offices/stadt-coburg", None),
    ("/api/v1/openapi.json", None),
    ("/api/v1/offices/nearest?postcode=96450", "no-store"),
    ("/api/v1/offices/within?postcode=96450&radius_km=5", "no-store"),
    ("/api/v1/responsible?postcode=96450", "no-store"),
    ("/api/v1/places?q=Cob", "no-store"),
    ("/api/v1/postcodes/96450", "no-store"),
])
def test_only_public_facts_may_be_cached(client, path, cache_control):
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers.get("Cache-Control") == cache_control


def test_raw_bytes_in_the_query_are_read_as_utf8_or_replaced_never_a_500(client):
    # A careless client sends the query unencoded: UTF-8 is read as it is ...
    r = client.get("/api/v1/responsible",
                   environ_overrides={"QUERY_STRING": "q=R\xc3\xb6dental"})  # WSGI: latin-1
    assert r.status_code == 200 and r.get_json()["origin"]["label"] == "Rödental"
    # ... and a byte that is not UTF-8 (Latin-1 "ö") is replaced: no such place, a 404.
    r = client.get("/api/v1/responsible", environ_overrides={"QUERY_STRING": "q=R\xf6dental"})
    assert r.status_code == 404 and r.mimetype == PROBLEM
    assert r.get_json()["detail"] == "no postcode or place matches q='R\ufffddental'"
