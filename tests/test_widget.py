"""The widget's server side: pages, headers, the server-rendered list, embed.js, vendor assets."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from locator import create_app
from locator.districts import REGIERUNGSBEZIRKE
from locator.errors import ConfigError
from locator.service import Locator
from locator.state import LocatorState
from locator.widget import tile_source

PAGES = ("/", "/?lang=en", "/?embed=1", "/liste", "/liste?lang=en")


class Page(HTMLParser):
    """Collects what the CSP and accessibility checks need from a page."""

    def __init__(self) -> None:
        super().__init__()
        self.inline_scripts = 0
        self.scripts: list[str] = []
        self.stylesheets: list[str] = []
        self.style_elements = 0
        self.style_attributes: list[str] = []
        self.handlers: list[str] = []
        self.ids: list[str] = []
        self.headings: list[tuple[str, str]] = []
        self.offices: list[str] = []
        self.html_lang: str | None = None
        self._in_heading: str | None = None
        self._text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.html_lang = attrs.get("lang")
        if tag == "script":
            self._in_script = True
            if attrs.get("src"):
                self.scripts.append(attrs["src"])
        if tag == "link" and attrs.get("rel") == "stylesheet":
            self.stylesheets.append(attrs["href"])
        if tag == "style":
            self.style_elements += 1
        if "style" in attrs:
            self.style_attributes.append(tag)
        self.handlers += [name for name in attrs if name.startswith("on")]
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "li" and "office" in (attrs.get("class") or "").split():
            self.offices.append(attrs["data-office-id"])
        if re.fullmatch(r"h[1-6]", tag):
            self._in_heading, self._text = tag, []

    def handle_data(self, data):
        if self._in_heading:
            self._text.append(data)
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag):
        if tag == self._in_heading:
            self.headings.append((tag, " ".join("".join(self._text).split())))
            self._in_heading = None
        if tag == "script":
            self._in_script = False


def parse(response) -> Page:
    page = Page()
    page.feed(response.get_data(as_text=True))
    return page


@pytest.mark.parametrize("path", PAGES)
def test_pages_set_a_strict_csp_and_no_cookie(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "Set-Cookie" not in response.headers
    csp = dict(part.strip().split(" ", 1) for part in
               response.headers["Content-Security-Policy"].split(";"))
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["connect-src"] == "'self'"
    assert csp["img-src"] == "'self' data: https://tile.openstreetmap.org"
    assert csp["frame-ancestors"] == "*"
    assert "unsafe" not in response.headers["Content-Security-Policy"]
    assert response.headers["Permissions-Policy"].startswith("geolocation=(self)")


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_inline_script_style_or_handler(client, path):
    page = parse(client.get(path))
    assert page.inline_scripts == 0
    assert page.style_elements == 0
    assert page.style_attributes == []
    assert page.handlers == []
    assert len(page.ids) == len(set(page.ids)), "duplicate ids"


@pytest.mark.parametrize("path", PAGES)
def test_every_asset_a_page_references_is_served(client, path):
    page = parse(client.get(path))
    assets = page.scripts + page.stylesheets
    assert assets
    for url in assets:
        assert url.startswith("/"), f"{url} is not self-hosted"
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Set-Cookie" not in response.headers


def test_map_page_loads_leaflet_and_markercluster_from_this_service(client):
    page = parse(client.get("/"))
    assert any(s.startswith("/vendor/leaflet/leaflet.js") for s in page.scripts)
    assert any(s.startswith("/vendor/leaflet.markercluster/leaflet.markercluster.js")
               for s in page.scripts)
    assert any(s.startswith("/widget/static/widget.js") for s in page.scripts)


def test_server_rendered_list_has_every_office_grouped_by_regierungsbezirk(client, locator):
    response = client.get("/liste")
    page = parse(response)
    assert sorted(page.offices) == sorted(locator.offices.index)
    assert len(page.offices) >= 96
    regions = [text.split(" (")[0] for _, text in page.headings
               if text.split(" (")[0] in REGIERUNGSBEZIRKE]
    assert regions == list(REGIERUNGSBEZIRKE)
    html = response.get_data(as_text=True)
    # Each office sits under its own Regierungsbezirk's heading.
    starts = [html.index(f'id="rb-{i}"') for i in range(1, 8)] + [len(html)]
    for office_id, region in locator.offices["regierungsbezirk"].items():
        i = REGIERUNGSBEZIRKE.index(region)
        assert starts[i] < html.index(f'id="office-{office_id}"') < starts[i + 1], office_id


def test_missing_office_fields_are_never_rendered_as_none_or_null(client):
    html = client.get("/liste").get_data(as_text=True)
    text = re.sub(r"<[^>]+>", " ", html.split("<body", 1)[1])
    assert not re.search(r"\b(None|null|undefined|nan)\b", text)
    assert "Anschrift und Kontaktdaten sind noch nicht erfasst." in html
    assert 'href="https://www.openstreetmap.org/directions?route=%3B' in html
    assert 'href="geo:' in html


@pytest.mark.parametrize("path, href", [("/", "/liste"), ("/?lang=en", "/liste?lang=en")])
def test_the_map_page_is_light_and_links_to_the_list_without_javascript(client, path, href):
    # The 96 cards belong to /liste; the map page keeps one link to it, and one per region.
    page = parse(client.get(path))
    assert page.offices == []
    html = client.get(path).get_data(as_text=True)
    assert html.count(f'href="{href}"') == 2  # the header's and the list section's
    for i in range(1, 8):
        assert f'href="{href}#rb-{i}"' in html
    assert 'class="nojs-note"' in html
    assert len(html) < 20_000


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_a_meta_description(client, path):
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'<meta name="description" content="([^"]{50,160})">', html)
    assert match, "no meta description of 50 to 160 characters"


def test_list_offices_carry_phone_and_email_links_when_known(settings, locator):
    offices = locator.offices.copy()
    first = offices.index[0]
    offices.loc[first, ["phone", "email", "street", "postcode"]] = [
        "0911 231-0", "koki@example.org", "Hauptstraße 1", "90402"]
    # Data with contacts, served as a load or reload serves it (pages are built from it once).
    known = Locator(offices, locator.districts, locator.gazetteer, locator.areas,
                    data_version="contacts")
    client = create_app({"LOCATOR_STATE": LocatorState(settings, known)}).test_client()
    html = client.get("/liste").get_data(as_text=True)
    assert 'href="tel:+499112310"' in html  # E.164: dialled from abroad too
    assert 'href="mailto:koki@example.org"' in html
    assert "Hauptstraße 1, 90402" in html


def test_lang_en_switches_the_text(client):
    de = client.get("/").get_data(as_text=True)
    en = client.get("/?lang=en").get_data(as_text=True)
    assert parse(client.get("/?lang=en")).html_lang == "en"
    assert parse(client.get("/")).html_lang == "de"
    assert "Postleitzahl oder Ort" in de and "Postcode or place" not in de
    assert "Postcode or place" in en and "Postleitzahl oder Ort" not in en
    assert "All KoKi offices in Bavaria" in client.get("/liste?lang=en").get_data(as_text=True)
    assert parse(client.get("/?lang=xx")).html_lang == "de"


def test_attribution_for_tiles_and_postcodes_is_on_the_page(client):
    html = client.get("/").get_data(as_text=True)
    assert "OpenStreetMap</a>-Mitwirkende" in html
    assert "GeoNames" in html and "CC BY 4.0" in html


def test_headings_do_not_skip_levels(client):
    for path in PAGES:
        levels = [int(tag[1]) for tag, _ in parse(client.get(path)).headings]
        assert levels[0] == 1
        assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)), path


def test_embed_js_inserts_a_geolocation_enabled_iframe(client):
    response = client.get("/embed.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert "Set-Cookie" not in response.headers
    body = response.get_data(as_text=True)
    assert "createElement('iframe')" in body
    assert "'allow', 'geolocation'" in body
    assert "embed" in body


@pytest.mark.parametrize("url, mimetype", [
    ("/vendor/leaflet/leaflet.js", "text/javascript"),
    ("/vendor/leaflet/leaflet.css", "text/css"),
    ("/vendor/leaflet/images/marker-icon.png", "image/png"),
    ("/vendor/leaflet.markercluster/leaflet.markercluster.js", "text/javascript"),
    ("/vendor/leaflet.markercluster/MarkerCluster.css", "text/css"),
])
def test_vendor_assets_are_served_from_the_xstatic_packages(client, url, mimetype):
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == mimetype
    assert response.cache_control.max_age == 300  # no content hash in the URL: short


@pytest.mark.parametrize("url", ["/vendor/leaflet/../__init__.py", "/vendor/jquery/jquery.js",
                                 "/vendor/leaflet/%2e%2e/__init__.py"])
def test_vendor_route_serves_nothing_else(client, url):
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("tile_url, source", [
    ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
    ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org"),
    ("https://sgx.geodatenzentrum.de/wmts_basemapde/tile/1.0.0/de_basemapde_web_raster_farbe/"
     "default/GLOBAL_WEBMERCATOR/{z}/{y}/{x}.png", "https://sgx.geodatenzentrum.de"),
    ("/tiles/{z}/{x}/{y}.png", "'self'"),
])
def test_csp_allows_images_from_the_configured_tile_host(tile_url, source):
    assert tile_source(tile_url) == source


def test_configured_tiles_and_frame_ancestors_reach_the_page(state):
    app = create_app({"TESTING": True, "LOCATOR_STATE": state,
                      "TILE_URL": "https://sgx.geodatenzentrum.de/t/{z}/{y}/{x}.png",
                      "TILE_ATTRIBUTION": "© basemap.de / BKG",
                      "FRAME_ANCESTORS": "https://www.stmas.bayern.de 'self'"})
    response = app.test_client().get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://sgx.geodatenzentrum.de;" in csp
    assert csp.endswith("frame-ancestors https://www.stmas.bayern.de 'self'")
    html = response.get_data(as_text=True)
    assert "sgx.geodatenzentrum.de/t/{z}/{y}/{x}.png" in html
    assert "© basemap.de / BKG" in html


@pytest.mark.parametrize("value", ["javascript:alert(1)", "https://ok.example.org; script-src *",
                                   "   "])
def test_a_bad_frame_ancestors_setting_stops_the_start(state, value):
    with pytest.raises(ConfigError, match="LOCATOR_FRAME_ANCESTORS"):
        create_app({"TESTING": True, "LOCATOR_STATE": state, "FRAME_ANCESTORS": value})


def test_the_api_keeps_its_own_headers(client):
    # The widget's CSP is for its pages; API answers are data and keep their own headers.
    response = client.get("/api/v1/offices")
    assert "Content-Security-Policy" not in response.headers
