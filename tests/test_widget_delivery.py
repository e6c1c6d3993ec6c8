"""How the widget is delivered: compression, content-hashed immutable assets, pages rendered
once per data version and answered with 304 when unchanged."""

from __future__ import annotations

import csv
import gzip
import hashlib
import re
import shutil

import brotli
import pytest
from flask import template_rendered

from locator import create_app
from locator.compression import SharedAnswerCache
from locator.config import Settings
from locator.state import LocatorState

BROWSER_ENCODINGS = "gzip, deflate, br, zstd"  # what Chromium sends


def decode(response) -> bytes:
    body = response.get_data()
    encoding = response.headers.get("Content-Encoding")
    return {"br": brotli.decompress, "gzip": gzip.decompress, None: bytes}[encoding](body)


def assets_of(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/(?:widget/static|vendor)/[^"]+)"', html)


@pytest.fixture
def rendered(app):
    """The names of the templates Jinja renders while the test runs."""
    names: list[str] = []

    def record(sender, template, context, **extra) -> None:
        names.append(template.name)

    template_rendered.connect(record, app)
    yield names
    template_rendered.disconnect(record, app)


@pytest.mark.parametrize("path", ["/", "/liste", "/api/v1/offices", "/embed.js"])
@pytest.mark.parametrize("accept, encoding", [
    (BROWSER_ENCODINGS, "br"), ("gzip, deflate", "gzip"), ("", None), ("identity", None)])
def test_text_answers_are_compressed_as_the_client_asks(client, path, accept, encoding):
    plain = client.get(path).get_data()
    response = client.get(path, headers={"Accept-Encoding": accept})
    assert response.status_code == 200
    assert response.headers.get("Content-Encoding") == encoding
    assert "Accept-Encoding" in response.headers["Vary"]
    assert decode(response) == plain
    if encoding:
        assert int(response.headers["Content-Length"]) < len(plain) / 2


def test_every_asset_of_the_map_page_is_compressed_and_immutable(client):
    html = client.get("/").get_data(as_text=True)
    urls = assets_of(html)
    assert len(urls) >= 6  # leaflet js+css, markercluster js+css, widget js+css, nojs css
    for url in urls:
        response = client.get(url, headers={"Accept-Encoding": BROWSER_ENCODINGS})
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable", url
        if len(decode(response)) >= 500:
            assert response.headers["Content-Encoding"] == "br", url


def test_an_asset_url_carries_the_hash_of_that_files_content(client):
    html = client.get("/").get_data(as_text=True)
    url = next(u for u in assets_of(html) if u.startswith("/widget/static/widget.js"))
    version = url.split("v=", 1)[1]
    body = client.get(url).get_data()
    assert hashlib.sha256(body).hexdigest().startswith(version)
    # An old or made-up version still gets the file, but only for a short while.
    stale = client.get("/widget/static/widget.js?v=0123456789abcdef")
    assert stale.status_code == 200 and stale.get_data() == body
    assert stale.headers["Cache-Control"] == "public, max-age=300"


@pytest.mark.parametrize("path", ["/widget/static/../__init__.py", "/widget/static/nope.js",
                                  "/widget/static/%2e%2e/widget.py"])
def test_the_static_route_serves_nothing_else(client, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("path", ["/", "/liste", "/?lang=en&embed=1"])
@pytest.mark.parametrize("accept", ["", BROWSER_ENCODINGS, "gzip"])
def test_pages_answer_a_conditional_request_with_304(client, path, accept):
    first = client.get(path, headers={"Accept-Encoding": accept})
    etag = first.headers["ETag"]
    again = client.get(path, headers={"Accept-Encoding": accept, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag
    assert "public" in again.headers["Cache-Control"]


def test_pages_are_rendered_once_per_language_and_embed_flag(app, client, rendered):
    for _ in range(3):
        for path in ("/", "/?lang=en", "/?embed=1", "/liste", "/liste?lang=en"):
            assert client.get(path).status_code == 200
    assert sorted(rendered) == sorted(["widget.html"] * 3 + ["list.html"] * 2)
    # A search in the URL is the script's business: the same page, not rendered again.
    shared = client.get("/?q=96450&radius_km=10")
    assert shared.get_data() == client.get("/").get_data()
    assert len(rendered) == 5


def test_a_data_reload_renders_the_pages_anew(tmp_path):
    settings = Settings.from_env({})
    offices = tmp_path / "offices.csv"
    shutil.copy(settings.offices_file, offices)
    settings = Settings.from_mapping({"OFFICES_FILE": str(offices)})
    state = LocatorState(settings)
    client = create_app({"TESTING": True, "LOCATOR_STATE": state}).test_client()
    before = client.get("/liste")
    assert 'href="tel:+499841990"' not in before.get_data(as_text=True)

    with offices.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows[0].update(phone="09841 99-0", street="Marktplatz 1", postcode="85049",
                   sources="https://www.ingolstadt.de/", checked_on="2025-01-01")
    with offices.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    assert state.reload()

    after = client.get("/liste", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200  # the old ETag no longer matches
    assert after.headers["ETag"] != before.headers["ETag"]
    assert 'href="tel:+499841990"' in after.get_data(as_text=True)  # E.164


def test_search_answers_are_compressed_but_kept_nowhere(app, client):
    cache = app.extensions["compress"].cache
    assert isinstance(cache, SharedAnswerCache)
    client.get("/", headers={"Accept-Encoding": BROWSER_ENCODINGS})
    kept = set(cache.entries)
    assert any(key.startswith("br;page:") for key in kept)
    for path in ("/api/v1/offices/within?postcode=96450&radius_km=50",
                 "/api/v1/offices/nearest?q=Coburg&limit=20",
                 "/api/v1/responsible?lat=50.26&lon=10.96"):
        response = client.get(path, headers={"Accept-Encoding": BROWSER_ENCODINGS})
        assert response.status_code == 200
        assert response.headers["Content-Encoding"] == "br"
        assert response.headers["Cache-Control"] == "no-store"
        assert b"features" in decode(response) or b"districts" in decode(response)
    assert set(cache.entries) == kept, "a search answer was kept"
    assert not any(re.search(r"96450|Coburg|50\.26", key) for key in cache.entries)
