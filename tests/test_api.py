"""The HTTP API: every endpoint, the widget's contract, and every bad-input class."""

from __future__ import annotations

import pytest

PROBLEM = "application/problem+json"
GEOJSON = "application/geo+json"


def ids(body: dict) -> list[str]:
    return [f["id"] for f in body["features"]]


# --- the README's promises ------------------------------------------------------------------

def test_within_postcode_lists_both_coburg_offices_with_distances(client):
    r = client.get("/api/v1/offices/within?postcode=96450&radius_km=30")
    assert r.status_code == 200
    assert r.mimetype == GEOJSON
    body = r.get_json()
    assert {"stadt-coburg", "landkreis-coburg"} <= set(ids(body))
    distances = [f["properties"]["distance_km"] for f in body["features"]]
    assert distances == sorted(distances)
    assert all(0 <= d <= 30 for d in distances)
    assert body["radius_km"] == 30
    assert body["origin"]["resolved_by"] == "postcode"
    assert body["origin"]["label"] == "96450 Coburg"
    # 96450 is the city of Coburg: its office is responsible, the Landkreis office is not.
    responsible = {f["id"]: f["properties"]["responsible"] for f in body["features"]}
    assert responsible["stadt-coburg"] is True
    assert responsible["landkreis-coburg"] is False


def test_responsible_for_postcode_names_landkreis_coburg(client):
    body = client.get("/api/v1/responsible?postcode=96472").get_json()
    assert body["in_bavaria"] is True
    assert body["ambiguous"] is False
    assert body["districts"] == [{"ags": "09473", "name": "Landkreis Coburg"}]
    assert ids(body["offices"]) == ["landkreis-coburg"]


def test_responsible_in_regensburg_city_centre_is_the_city_not_the_landkreis(client):
    body = client.get("/api/v1/responsible?lat=49.0134&lon=12.1016").get_json()
    assert body["districts"] == [{"ags": "09362", "name": "Stadt Regensburg"}]
    assert ids(body["offices"]) == ["stadt-regensburg"]
    assert body["origin"]["resolved_by"] == "coordinates"

    near = client.get("/api/v1/offices/nearest?lat=49.0134&lon=12.1016&limit=5").get_json()
    flags = {f["id"]: f["properties"]["responsible"] for f in near["features"]}
    # Landkreis Regensburg's office sits in the city too: as near, but not responsible.
    assert flags["landkreis-regensburg"] is False
    assert flags["stadt-regensburg"] is True


# --- offices -------------------------------------------------------------------------------

def test_office_list_is_geojson_with_every_district(client, locator):
    r = client.get("/api/v1/offices")
    assert r.status_code == 200
    assert r.mimetype == GEOJSON
    body = r.get_json()
    assert body["type"] == "FeatureCollection"
    assert len(body["features"]) == len(locator.offices) >= 96
    assert {f["properties"]["district_ags"] for f in body["features"]} == set(locator.districts)
    feature = next(f for f in body["features"] if f["id"] == "stadt-passau")
    lon, lat = feature["geometry"]["coordinates"]
    assert (lat, lon) == (feature["properties"]["lat"], feature["properties"]["lon"])
    assert 48.5 < lat < 48.6 and 13.4 < lon < 13.5  # [lon, lat] order, RFC 7946
    assert feature["properties"]["district_name"] == "Stadt Passau"
    assert feature["properties"]["name"] == "KoKi – Netzwerk frühe Kindheit, Stadt Passau"


def test_office_list_is_cacheable_with_etag(client, locator):
    r = client.get("/api/v1/offices")
    assert r.headers["ETag"] == f'"{locator.data_version}"'
    assert "max-age=300" in r.headers["Cache-Control"]
    again = client.get("/api/v1/offices", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""
    other = client.get("/api/v1/offices", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200


def test_one_office_and_unknown_office(client):
    r = client.get("/api/v1/offices/landkreis-coburg")
    assert r.status_code == 200
    assert r.get_json()["properties"]["district_ags"] == "09473"
    missing = client.get("/api/v1/offices/landkreis-atlantis")
    assert missing.status_code == 404
    assert missing.mimetype == PROBLEM
    assert "landkreis-atlantis" in missing.get_json()["detail"]


# --- nearest / within ------------------------------------------------------------------------

def test_nearest_defaults_to_five_sorted_by_distance(client):
    body = client.get("/api/v1/offices/nearest?lat=49.4521&lon=11.0767").get_json()  # Nürnberg
    assert len(body["features"]) == 5
    distances = [f["properties"]["distance_km"] for f in body["features"]]
    assert distances == sorted(distances)
    assert body["features"][0]["id"] == "stadt-nuernberg"
    assert body["limit"] == 5


@pytest.mark.parametrize("limit", [1, 17, 50])
def test_nearest_limit(client, limit):
    body = client.get(f"/api/v1/offices/nearest?postcode=94032&limit={limit}").get_json()
    assert len(body["features"]) == limit


def test_nearest_by_place_name(client):
    body = client.get("/api/v1/offices/nearest?q=Neustadt bei Coburg&limit=3").get_json()
    assert body["origin"]["resolved_by"] == "place"
    assert body["origin"]["label"] == "Neustadt bei Coburg"
    assert body["responsible"]["districts"] == [{"ags": "09473", "name": "Landkreis Coburg"}]


def test_responsible_office_is_reported_even_when_not_among_the_nearest(client):
    # In Rödental (Landkreis Coburg) the nearest office is one of the two in Coburg; limit=1
    # returns a single office, and the responsible one always comes along with its distance.
    body = client.get("/api/v1/offices/nearest?postcode=96472&limit=1").get_json()
    responsible = body["responsible"]["offices"]["features"]
    assert [f["id"] for f in responsible] == ["landkreis-coburg"]
    assert responsible[0]["properties"]["distance_km"] > 0
    assert responsible[0]["properties"]["responsible"] is True


def test_within_by_coordinates_and_empty_result(client):
    # Walchensee, Landkreis Bad Tölz-Wolfratshausen: no office within 5 km.
    body = client.get("/api/v1/offices/within?lat=47.5906&lon=11.3361&radius_km=5").get_json()
    assert body["features"] == []
    assert body["responsible"]["in_bavaria"] is True
    assert [f["id"] for f in body["responsible"]["offices"]["features"]] == [
        "landkreis-bad-toelz-wolfratshausen"]


def test_point_outside_bavaria_is_answered_and_flagged(client):
    body = client.get("/api/v1/offices/nearest?lat=48.7758&lon=9.1829&limit=2").get_json()
    assert body["responsible"]["in_bavaria"] is False  # Stuttgart
    assert body["responsible"]["offices"]["features"] == []
    assert len(body["features"]) == 2
    salzburg = client.get("/api/v1/responsible?lat=47.8095&lon=13.0550").get_json()
    assert salzburg["in_bavaria"] is False
    assert salzburg["districts"] == []


def test_postcode_spanning_two_districts_is_ambiguous(client):
    body = client.get("/api/v1/responsible?postcode=84032").get_json()
    assert body["ambiguous"] is True
    assert {d["ags"] for d in body["districts"]} == {"09261", "09274"}
    assert set(ids(body["offices"])) == {"stadt-landshut", "landkreis-landshut"}


def test_postcode_outside_bavaria(client):
    body = client.get("/api/v1/responsible?postcode=10115").get_json()  # Berlin-Mitte
    assert body["in_bavaria"] is False
    assert body["districts"][0]["ags"] == "11000"
    assert body["offices"]["features"] == []


def test_searches_are_never_cached(client):
    for url in ("/api/v1/offices/nearest?postcode=96450",
                "/api/v1/offices/within?postcode=96450&radius_km=10",
                "/api/v1/responsible?postcode=96450", "/api/v1/places?q=Cob",
                "/api/v1/postcodes/96450"):
        assert client.get(url).headers["Cache-Control"] == "no-store", url


# --- postcodes and places ------------------------------------------------------------------

def test_postcode_endpoint(client):
    body = client.get("/api/v1/postcodes/84032").get_json()
    assert body["postcode"] == "84032"
    assert body["in_bavaria"] is True
    assert {p["name"] for p in body["places"]} == {"Landshut", "Altdorf"}
    assert [d["name"] for d in body["districts"]] == ["Stadt Landshut", "Landkreis Landshut"]


def test_postcode_keeps_leading_zero(client):
    body = client.get("/api/v1/postcodes/01067").get_json()
    assert body["postcode"] == "01067"
    assert body["in_bavaria"] is False


@pytest.mark.parametrize(("q", "expected"), [
    ("963", "96317"),
    ("Cob", "Coburg"),
    ("Würz", "Würzburg"),
    ("wurzburg", "Würzburg"),
    ("WUERZBURG", "Würzburg"),
    ("neustadt b. cob", "Neustadt bei Coburg"),
])
def test_place_suggestions(client, q, expected):
    suggestions = client.get("/api/v1/places", query_string={"q": q}).get_json()["suggestions"]
    assert 1 <= len(suggestions) <= 10
    labels = [s["postcode"] or s["name"] for s in suggestions] + [s["name"] for s in suggestions]
    assert expected in labels


def test_place_suggestions_prefer_bavaria_and_exact_names(client):
    suggestions = client.get("/api/v1/places?q=Coburg").get_json()["suggestions"]
    assert suggestions[0]["name"] == "Coburg"
    assert suggestions[0]["in_bavaria"] is True


def test_unknown_place_prefix_gives_no_suggestions(client):
    assert client.get("/api/v1/places?q=xyzzy").get_json() == {"suggestions": []}


# --- health, docs ------------------------------------------------------------------------

def test_healthz(client, locator):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok"
    assert body["offices"] == len(locator.offices)
    assert body["data_version"] == locator.data_version


def test_docs_page_lists_every_path(client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    for path in client.get("/api/v1/openapi.json").get_json()["paths"]:
        assert path in page


# --- bad input: always problem+json, never a 500 ------------------------------------------------

BAD = [
    ("/api/v1/offices/nearest?lat=abc&lon=11", "lat"),
    ("/api/v1/offices/nearest?lat=49&lon=", "lon"),
    ("/api/v1/offices/nearest?lat=NaN&lon=11", "lat"),
    ("/api/v1/offices/nearest?lat=inf&lon=11", "lat"),
    ("/api/v1/offices/nearest?lat=-Infinity&lon=11", "lat"),
    ("/api/v1/offices/nearest?lat=91&lon=11", "lat"),
    ("/api/v1/offices/nearest?lat=49&lon=-180.5", "lon"),
    ("/api/v1/offices/nearest?lat=49", "lon"),
    ("/api/v1/offices/nearest?lon=11", "lat"),
    ("/api/v1/offices/nearest", "lat"),
    ("/api/v1/offices/nearest?postcode=96450&limit=0", "limit"),
    ("/api/v1/offices/nearest?postcode=96450&limit=51", "limit"),
    ("/api/v1/offices/nearest?postcode=96450&limit=2.5", "limit"),
    ("/api/v1/offices/nearest?postcode=96450&lat=49&lon=11", "lat/lon"),
    ("/api/v1/offices/nearest?postcode=9645", "postcode"),
    ("/api/v1/offices/nearest?postcode=96450x", "postcode"),
    ("/api/v1/offices/nearest?postcode=", "postcode"),
    ("/api/v1/offices/nearest?q=", "q"),
    ("/api/v1/offices/nearest?q=" + "x" * 201, "q"),
    ("/api/v1/offices/within?postcode=96450", "radius_km"),
    ("/api/v1/offices/within?postcode=96450&radius_km=0", "radius_km"),
    ("/api/v1/offices/within?postcode=96450&radius_km=-3", "radius_km"),
    ("/api/v1/offices/within?postcode=96450&radius_km=200.01", "radius_km"),
    ("/api/v1/offices/within?postcode=96450&radius_km=nan", "radius_km"),
    ("/api/v1/offices/within?postcode=96450&radius_km=ten", "radius_km"),
    ("/api/v1/responsible", "lat"),
    ("/api/v1/responsible?lat=1e999&lon=11", "lat"),
    ("/api/v1/postcodes/9645", "postcode"),
    ("/api/v1/postcodes/abcde", "postcode"),
    ("/api/v1/places", "q"),
    ("/api/v1/places?q=%20", "q"),
    ("/api/v1/places?q=Cob&limit=11", "limit"),
    ("/api/v1/places?q=" + "Coburg" * 17, "q"),  # 102 characters: no place is named so
    # A parameter given twice: which value was meant is a guess, so it is refused.
    ("/api/v1/offices/nearest?lat=49&lat=50&lon=11", "lat"),
    ("/api/v1/offices/within?postcode=96450&radius_km=5&radius_km=50", "radius_km"),
    ("/api/v1/responsible?postcode=96450&postcode=80331", "postcode"),
    ("/api/v1/offices/nearest?" + "&".join(f"p{i}=1" for i in range(21)) + "&postcode=96450",
     "query"),
    # ASCII digits only: full-width, Arabic-Indic, underscores and padding are no numbers.
    ("/api/v1/offices/nearest?lat=%EF%BC%94%EF%BC%99&lon=11", "lat"),  # ４９
    ("/api/v1/offices/nearest?lat=49&lon=1_1", "lon"),
    ("/api/v1/offices/nearest?lat=%2049&lon=11", "lat"),
    ("/api/v1/offices/nearest?postcode=96450&limit=%D9%A1", "limit"),  # ١
    ("/api/v1/places?q=Cob&limit=%EF%BC%93", "limit"),
    ("/api/v1/offices/within?postcode=96450&radius_km=%D9%A1%D9%A0", "radius_km"),
    ("/api/v1/offices/nearest?postcode=%EF%BC%99%EF%BC%96%EF%BC%94%EF%BC%95%EF%BC%90",
     "postcode"),  # ９６４５０
    ("/api/v1/postcodes/%EF%BC%99%EF%BC%96%EF%BC%94%EF%BC%95%EF%BC%90", "postcode"),
    ("/api/v1/postcodes/96450%0A", "postcode"),
    # The far side of the globe has no planar distance (EPSG:25832): refused, not a 500.
    ("/api/v1/responsible?lat=0&lon=100", "lon"),
    ("/api/v1/offices/nearest?lat=-3.2e-194&lon=94.28", "lon"),
]


@pytest.mark.parametrize(("url", "parameter"), BAD)
def test_bad_input_is_a_400_problem_naming_the_parameter(client, url, parameter):
    r = client.get(url)
    assert r.status_code == 400, r.get_data(as_text=True)
    assert r.mimetype == PROBLEM
    body = r.get_json()
    assert body["status"] == 400
    assert body["title"] == "Invalid parameter"
    assert body["type"].endswith("#problem-invalid-parameter")
    assert body["parameter"] == parameter
    assert parameter.split("/")[0] in body["detail"]
    assert "?" not in body["instance"]  # the query never echoes back into the problem


@pytest.mark.parametrize("url", [
    "/api/v1/offices/nearest?postcode=00000",
    "/api/v1/responsible?postcode=99999",
    "/api/v1/postcodes/00000",
    "/api/v1/offices/within?q=Atlantis&radius_km=10",
    "/api/v1/offices/nearest?q=Qwertzuiopü",
])
def test_unknown_postcode_or_place_is_a_404_problem(client, url):
    r = client.get(url)
    assert r.status_code == 404
    assert r.mimetype == PROBLEM
    assert r.get_json()["title"] == "Not found"


@pytest.mark.parametrize("url", [
    "/api/v1/nothing-here",
    "/api/v1/offices/nearest/extra",
])
def test_unknown_api_path_is_a_404_problem(client, url):
    r = client.get(url)
    assert r.status_code == 404
    assert r.mimetype == PROBLEM


def test_wrong_method_is_a_405_problem(client):
    r = client.post("/api/v1/offices/nearest?postcode=96450")
    assert r.status_code == 405
    assert r.mimetype == PROBLEM


@pytest.mark.parametrize("path", ["/api/v1/offices", "/api/v1/offices/nearest", "/healthz",
                                  "/", "/liste", "/embed.js"])
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_every_405_names_the_allowed_methods(client, path, method):
    r = client.open(path, method=method)
    assert r.status_code == 405
    assert set(r.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert r.mimetype == (PROBLEM if path.startswith(("/api/", "/healthz")) else "text/html")


@pytest.mark.parametrize(("url", "location"), [
    ("/api//v1/offices?lang=de", "/api/v1/offices?lang=de"),
    ("/vendor//leaflet/leaflet.js", "/vendor/leaflet/leaflet.js"),
])
def test_redirects_are_relative_whatever_the_host_header(client, url, location):
    r = client.get(url, headers={"Host": "evil.example"})
    assert r.status_code == 308
    assert r.headers["Location"] == location
    assert b"evil" not in r.data


@pytest.mark.parametrize("query", [
    "lat=%00&lon=%ff", "lat=1_0&lon=11", "lat=%20&lon=%20", "q=%00%01", "q=%F0%9F%98%80",
    "postcode=%D9%A9%D9%A6%D9%A4%D9%A5%D9%A0",  # Arabic-Indic digits: not a German postcode
    "lat=49&lat=50&lon=11", "limit=&postcode=96450", "radius_km=1e308&postcode=96450",
])
def test_odd_query_strings_never_cause_a_500(client, query):
    for path in ("/api/v1/offices/nearest", "/api/v1/offices/within", "/api/v1/responsible"):
        r = client.get(f"{path}?{query}")
        assert r.status_code < 500, (path, query, r.get_data(as_text=True))


# --- headers: CORS, cookies -----------------------------------------------------------------

def test_no_cookies_and_no_cors_by_default(client):
    r = client.get("/api/v1/offices", headers={"Origin": "https://example.org"})
    assert "Set-Cookie" not in r.headers
    assert "Access-Control-Allow-Origin" not in r.headers


def test_cors_allow_list(state):
    from locator import create_app

    app = create_app({"LOCATOR_STATE": state, "CORS_ORIGINS": "https://www.stmas.bayern.de"})
    client = app.test_client()
    allowed = client.get("/api/v1/offices", headers={"Origin": "https://www.stmas.bayern.de"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://www.stmas.bayern.de"
    assert "Access-Control-Allow-Credentials" not in allowed.headers
    other = client.get("/api/v1/offices", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = client.options("/api/v1/offices/nearest", headers={
        "Origin": "https://www.stmas.bayern.de", "Access-Control-Request-Method": "GET"})
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://www.stmas.bayern.de"
