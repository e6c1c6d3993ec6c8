"""OGC API – Features under /ogc: documents, links, paging, bbox, CRS, filters, formats, caching.

Clients nobody here wrote (GDAL, OWSLib) read the same service in tests/test_ogc_clients.py."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from ogc_schemas import validator
from test_widget import parse

from locator.crs import to_metric

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
UTM32 = "http://www.opengis.net/def/crs/EPSG/0/25832"
COBURG_BBOX = (10.8, 50.1, 11.2, 50.4)
HTML_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def rels(document: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for link in document["links"]:
        found.setdefault(link["rel"], []).append(link)
    return found


def local(href: str) -> str:
    """An absolute link of the test client's host as a path with query."""
    parts = urlsplit(href)
    assert parts.netloc == "localhost"
    return parts.path + (f"?{parts.query}" if parts.query else "")


def get_json(client, path: str, kind: str, **kwargs) -> dict:
    r = client.get(path, **kwargs)
    assert r.status_code == 200, r.data
    body = r.get_json(force=True)
    validator(kind).validate(body)
    return body


def all_items(client, path: str) -> tuple[list[dict], int]:
    """Every feature by following next links; and how many pages that took."""
    features, pages, url = [], 0, path
    while url:
        body = get_json(client, url, "items")
        assert body["numberReturned"] == len(body["features"])
        features += body["features"]
        pages += 1
        url = local(rels(body)["next"][0]["href"]) if "next" in rels(body) else None
    return features, pages


def api_offices(client) -> dict[str, dict]:
    return {f["id"]: f for f in client.get("/api/v1/offices").get_json()["features"]}


# --- Part 1: landing page, conformance, API definition ---------------------------------------

@pytest.mark.parametrize("path", ["/ogc", "/ogc/"])
def test_landing_page_links_to_api_conformance_and_data(client, path):
    body = get_json(client, path, "landing")
    links = rels(body)
    assert {"self", "alternate", "service-desc", "service-doc", "conformance", "data"} <= set(links)
    assert links["service-desc"][0]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert links["alternate"][0]["type"] == "text/html"
    for rel in ("service-desc", "conformance", "data"):
        assert client.get(local(links[rel][0]["href"])).status_code == 200


def test_conformance_declares_core_geojson_html_oas30_crs_and_queryables(client):
    conforms = set(get_json(client, "/ogc/conformance", "conformance")["conformsTo"])
    part1 = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
    assert {part1 + c for c in ("core", "geojson", "html", "oas30")} <= conforms
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conforms
    assert ("http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters"
            in conforms)


def test_api_definition_documents_limit_default_and_maximum(client):
    r = client.get("/ogc/api")
    assert r.mimetype == "application/vnd.oai.openapi+json"
    spec = r.get_json(force=True)
    validator("openapi").validate(spec)
    for collection in ("offices", "district-areas"):
        parameters = {p["name"]: p for p in
                      spec["paths"][f"/collections/{collection}/items"]["get"]["parameters"]}
        assert parameters["limit"]["schema"] == {"type": "integer", "minimum": 1,
                                                 "maximum": 1000, "default": 100}
        assert {"bbox", "bbox-crs", "crs", "offset", "district_ags", "regierungsbezirk",
                "district_type"} <= set(parameters)


# --- collections -----------------------------------------------------------------------------

def test_collections_describe_both_layers_with_extents_from_the_data(client, locator):
    body = get_json(client, "/ogc/collections", "collections")
    by_id = {c["id"]: c for c in body["collections"]}
    assert list(by_id) == ["offices", "district-areas"]
    lons, lats = locator.offices["lon"], locator.offices["lat"]
    assert by_id["offices"]["extent"]["spatial"]["bbox"] == [
        [lons.min(), lats.min(), lons.max(), lats.max()]]
    for c in by_id.values():
        assert c["crs"] == [CRS84, UTM32]
        links = rels(c)
        assert {link["type"] for link in links["items"]} == {"application/geo+json", "text/html"}
        assert client.get(local(links["http://www.opengis.net/def/rel/ogc/1.0/queryables"][0]
                                ["href"])).status_code == 200
        assert get_json(client, local(links["self"][0]["href"]), "collection") == c


def test_district_areas_say_they_are_the_approximation_and_how_accurate_it_is(client):
    body = get_json(client, "/ogc/collections/district-areas", "collection")
    assert "approximation (district_areas.geojson)" in body["description"]
    assert "98,96 %" in body["description"]
    west, south, east, north = body["extent"]["spatial"]["bbox"][0]
    assert west < 9 and east > 13.9 and south < 47.2 and north > 50.6  # Bavaria and beyond


def test_unknown_collection_and_feature_are_problem_404s(client):
    for path in ("/ogc/collections/nope", "/ogc/collections/nope/items",
                 "/ogc/collections/offices/items/nope", "/ogc/nowhere"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert r.mimetype == "application/problem+json"
        assert r.get_json()["status"] == 404


# --- items: paging ---------------------------------------------------------------------------

def test_items_page_through_every_office_with_the_api_properties(client):
    features, pages = all_items(client, "/ogc/collections/offices/items?limit=40")
    assert pages == 3
    api = api_offices(client)
    assert sorted(f["id"] for f in features) == sorted(api)
    for feature in features:
        # Every property /api/v1 gives, whatever it grows: the same values, the same geometry.
        assert feature["properties"] == api[feature["id"]]["properties"]
        assert feature["geometry"] == api[feature["id"]]["geometry"]


def test_items_carry_counts_timestamp_and_paging_links(client):
    body = get_json(client, "/ogc/collections/offices/items?limit=10&offset=20", "items")
    assert (body["numberMatched"], body["numberReturned"]) == (96, 10)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["timeStamp"])
    links = rels(body)
    assert {"self", "alternate", "collection", "next", "prev"} <= set(links)
    assert parse_qs(urlsplit(links["next"][0]["href"]).query)["offset"] == ["30"]
    assert parse_qs(urlsplit(links["prev"][0]["href"]).query)["offset"] == ["10"]
    assert links["alternate"][0]["type"] == "text/html"
    last = get_json(client, "/ogc/collections/offices/items?limit=10&offset=90", "items")
    assert last["numberReturned"] == 6 and "next" not in rels(last)
    assert "prev" not in rels(get_json(client, "/ogc/collections/offices/items", "items"))


@pytest.mark.slow  # serialises all 411 district areas twice (~3 s)
def test_limit_defaults_to_100_and_is_held_to_the_maximum(client):
    areas = get_json(client, "/ogc/collections/district-areas/items", "items")
    assert areas["numberReturned"] == 100 < areas["numberMatched"]
    most = get_json(client, "/ogc/collections/district-areas/items?limit=100000", "items")
    assert most["numberReturned"] == most["numberMatched"] <= 1000


@pytest.mark.parametrize("query", ["limit=0", "limit=-1", "limit=x", "offset=-3", "f=xml",
                                   "bbox=1,2,3", "bbox=11,50,10,49&bbox-crs=" + UTM32,
                                   "bbox=a,b,c,d", "bbox-crs=" + UTM32, "crs=EPSG:4326",
                                   "crs=http://www.opengis.net/def/crs/EPSG/0/4326",
                                   "limit=5&limit=6", "regierungsbezirk=Oberfranken&foo=1",
                                   "bbox=10,95,11,96"])
def test_bad_items_parameters_are_problem_400s_naming_the_parameter(client, query):
    r = client.get(f"/ogc/collections/offices/items?{query}")
    assert r.status_code == 400
    assert r.mimetype == "application/problem+json"
    assert r.get_json()["parameter"]


# --- items: bbox, CRS, filters ---------------------------------------------------------------

def test_bbox_around_coburg_selects_the_offices_inside_it(client, locator):
    west, south, east, north = COBURG_BBOX
    body = get_json(client, "/ogc/collections/offices/items?bbox=10.8,50.1,11.2,50.4", "items")
    inside = locator.offices[(locator.offices.lon.between(west, east))
                             & (locator.offices.lat.between(south, north))]
    assert sorted(f["id"] for f in body["features"]) == sorted(inside.index)
    assert {"stadt-coburg", "landkreis-coburg"} <= {f["id"] for f in body["features"]}


def test_bbox_in_utm_selects_by_projected_coordinates(client, locator):
    x, y = to_metric(50.2580, 10.9645)  # Coburg
    bbox = f"{x - 20000},{y - 20000},{x + 20000},{y + 20000}"
    body = get_json(client, f"/ogc/collections/offices/items?bbox={bbox}&bbox-crs={UTM32}",
                    "items")
    g = locator.offices.geometry
    expected = locator.offices[(abs(g.x - x) <= 20000) & (abs(g.y - y) <= 20000)].index
    assert sorted(f["id"] for f in body["features"]) == sorted(expected)
    assert len(expected) >= 2


def test_district_areas_bbox_selects_the_areas_that_touch_it(client):
    body = get_json(client, "/ogc/collections/district-areas/items?bbox=10.95,50.24,10.98,50.27",
                    "items")
    assert "09463" in {f["id"] for f in body["features"]}  # Stadt Coburg
    assert body["numberMatched"] <= 3


def test_crs_25832_gives_projected_coordinates_and_says_so(client, locator):
    r = client.get(f"/ogc/collections/offices/items?crs={UTM32}&limit=200")
    assert r.headers["Content-Crs"] == f"<{UTM32}>"
    validator("items").validate(r.get_json(force=True))
    for feature in r.get_json(force=True)["features"]:
        office = locator.offices.loc[feature["id"]]
        assert feature["geometry"]["coordinates"] == pytest.approx(
            [office.geometry.x, office.geometry.y], abs=0.01)
    plain = client.get("/ogc/collections/offices/items/stadt-coburg")
    assert plain.headers["Content-Crs"] == f"<{CRS84}>"
    utm = client.get(f"/ogc/collections/offices/items/stadt-coburg?crs=<{UTM32}>")
    x, y = to_metric(plain.get_json(force=True)["properties"]["lat"],
                     plain.get_json(force=True)["properties"]["lon"])
    assert utm.get_json(force=True)["geometry"]["coordinates"] == pytest.approx([x, y], abs=0.01)


def test_queryables_list_the_filter_properties_with_their_values(client):
    body = get_json(client, "/ogc/collections/offices/queryables", "queryables")
    assert set(body["properties"]) == {"district_ags", "regierungsbezirk", "district_type"}
    assert body["properties"]["district_type"]["enum"] == ["Landkreis", "kreisfreie Stadt"]
    assert len(body["properties"]["regierungsbezirk"]["enum"]) == 7


@pytest.mark.parametrize(("collection", "query", "count"), [
    ("offices", "regierungsbezirk=Oberfranken", 13),
    ("offices", "district_type=kreisfreie%20Stadt", 25),
    ("offices", "district_ags=09463", 1),
    ("offices", "regierungsbezirk=Schwaben&district_type=Landkreis", 10),
    ("offices", "regierungsbezirk=Nirgendwo", 0),
    ("district-areas", "regierungsbezirk=Oberfranken", 13),
    ("district-areas", "district_type=Landkreis", 71),
])
def test_filters_by_queryables(client, collection, query, count):
    body = get_json(client, f"/ogc/collections/{collection}/items?{query}&limit=1000", "items")
    assert body["numberMatched"] == body["numberReturned"] == count
    wanted = parse_qs(query)
    for feature in body["features"]:
        assert all(feature["properties"][k] == v[0] for k, v in wanted.items())
    if count:  # the next link keeps the filter
        one = get_json(client, f"/ogc/collections/{collection}/items?{query}&limit=1", "items")
        if count > 1:
            assert parse_qs(urlsplit(rels(one)["next"][0]["href"]).query).items() >= {
                k: v for k, v in wanted.items()}.items()


def test_district_area_names_its_district_and_responsible_office(client):
    body = get_json(client, "/ogc/collections/district-areas/items/09463", "item")
    assert body["properties"] == {
        "district_ags": "09463", "country": "DE", "name": "Stadt Coburg",
        "district_type": "kreisfreie Stadt", "regierungsbezirk": "Oberfranken",
        "in_bavaria": True, "office_ids": ["stadt-coburg"]}
    austria = get_json(client, "/ogc/collections/district-areas/items/AT", "item")["properties"]
    assert (austria["name"], austria["in_bavaria"], austria["district_ags"]) == (
        "Österreich", False, None)


def test_item_links_to_itself_and_its_collection(client):
    body = get_json(client, "/ogc/collections/offices/items/stadt-passau", "item")
    links = rels(body)
    assert {"self", "alternate", "collection"} <= set(links)
    assert local(links["collection"][0]["href"]).startswith("/ogc/collections/offices")


# --- formats and caching ---------------------------------------------------------------------

def test_format_follows_f_then_accept(client):
    path = "/ogc/collections/offices/items"
    assert client.get(path).mimetype == "application/geo+json"
    assert client.get(path, headers={"Accept": "*/*"}).mimetype == "application/geo+json"
    assert client.get(path, headers={"Accept": HTML_ACCEPT}).mimetype == "text/html"
    assert client.get(path + "?f=json",
                      headers={"Accept": HTML_ACCEPT}).mimetype == "application/geo+json"
    assert client.get(path + "?f=html").mimetype == "text/html"
    assert "Accept" in client.get(path).headers["Vary"]


def test_answers_are_cacheable_with_an_etag_per_format(client, locator):
    path = "/ogc/collections/offices/items?limit=5"
    r = client.get(path)
    assert "max-age=300" in r.headers["Cache-Control"] and "public" in r.headers["Cache-Control"]
    assert locator.data_version in r.headers["ETag"]
    assert client.get(path, headers={"If-None-Match": r.headers["ETag"]}).status_code == 304
    html = client.get(path + "&f=html")
    assert html.headers["ETag"] != r.headers["ETag"]
    assert client.get(path + "&f=html", headers={"If-None-Match": r.headers["ETag"]}
                      ).status_code == 200


HTML_PAGES = ["/ogc/", "/ogc/conformance", "/ogc/api", "/ogc/collections",
              "/ogc/collections/offices", "/ogc/collections/district-areas",
              "/ogc/collections/offices/queryables", "/ogc/collections/offices/items",
              "/ogc/collections/district-areas/items?limit=5",
              "/ogc/collections/offices/items/stadt-coburg",
              "/ogc/collections/district-areas/items/09463"]


@pytest.mark.parametrize("path", HTML_PAGES)
def test_html_pages_are_german_under_the_widget_csp_without_inline_code(client, app, path):
    r = client.get(path, headers={"Accept": HTML_ACCEPT})
    assert r.status_code == 200 and r.mimetype == "text/html"
    assert r.headers["Content-Security-Policy"] == app.extensions["widget"].csp
    page = parse(r)
    assert page.html_lang == "de"
    assert page.inline_scripts == page.style_elements == 0
    assert not page.style_attributes and not page.handlers
    assert [h for h, _ in page.headings][:1] == ["h1"]
    for asset in page.scripts + page.stylesheets:
        assert client.get(asset).status_code == 200, asset


@pytest.mark.parametrize("path", ["/ogc/collections/offices",
                                  "/ogc/collections/offices/items?bbox=10.8,50.1,11.2,50.4",
                                  "/ogc/collections/district-areas/items/09463"])
def test_collection_and_item_pages_have_a_small_map_of_their_own_json(client, path):
    html = client.get(path, headers={"Accept": HTML_ACCEPT}).get_data(as_text=True)
    assert 'class="ogc-map"' in html
    source = re.search(r'data-src="([^"]+)"', html)
    if source:  # items and item pages draw their GeoJSON; a collection page draws its extent
        data = client.get(local(source.group(1).replace("&amp;", "&")))
        assert data.mimetype == "application/geo+json"
    else:
        assert "data-bbox=" in html


def test_items_page_lists_each_feature_with_a_link(client):
    html = client.get("/ogc/collections/offices/items?f=html&regierungsbezirk=Oberfranken"
                      ).get_data(as_text=True)
    assert "13 von 13 passenden Objekten" in html
    assert html.count('href="http://localhost/ogc/collections/offices/items/') == 13
