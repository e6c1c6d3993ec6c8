"""The widget in real Chromium: geolocation, narrow screens, English, no JS, print, embedding."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from widget_helpers import (
    ARTIFACTS,
    api,
    assert_clean,
    offices_on_map,
    result_ids,
    search,
    submit,
)

REGENSBURG = {"latitude": 49.013421, "longitude": 12.101624}
# Counts calls of getCurrentPosition, to show the position is asked only on the click.
COUNT_GEOLOCATION = """
window.__geolocationCalls = 0;
const original = navigator.geolocation.getCurrentPosition.bind(navigator.geolocation);
navigator.geolocation.getCurrentPosition = (...args) => {
    window.__geolocationCalls += 1;
    return original(...args);
};
"""


def test_near_me_sends_only_a_rounded_position_and_shows_the_nearest(open_page, live_server,
                                                                     axe):
    page, watch = open_page("/", permissions=["geolocation"], geolocation=REGENSBURG)
    page.add_init_script(COUNT_GEOLOCATION)
    page.reload(wait_until="domcontentloaded")
    page.wait_for_selector("#koki-map .koki-cluster")
    assert page.evaluate("window.__geolocationCalls") == 0
    submit(page, lambda: page.click("#koki-locate"))
    assert page.evaluate("window.__geolocationCalls") == 1

    sent = [u for u in watch.requests if "/api/v1/offices/nearest" in u]
    assert len(sent) == 1
    query = parse_qs(urlsplit(sent[0]).query)
    assert query["lat"] == ["49.013"] and query["lon"] == ["12.102"]
    assert all("49.0134" not in u and "12.1016" not in u for u in watch.requests)

    expected = api(live_server, "/offices/nearest", lat=49.013, lon=12.102, limit=5)
    assert result_ids(page) == [f["id"] for f in expected["features"]]
    assert page.inner_text("#koki-status").startswith(
        "Die 5 nächstgelegenen KoKi-Stellen zu Ihrem Standort.")
    assert "Für Ihren Standort ist zuständig: Stadt Regensburg." in page.inner_text(
        "#koki-responsible")
    axe(page)
    assert_clean(page, watch, live_server)


def test_near_me_denied_gets_a_plain_message(open_page, live_server):
    page, watch = open_page("/", permissions=[])
    page.click("#koki-locate")
    page.wait_for_selector("#koki-alert:not(:empty)")
    assert "nicht freigegeben" in page.inner_text("#koki-alert")
    assert offices_on_map(page) == 96
    assert not any("/api/v1/offices/nearest" in u for u in watch.requests)
    assert_clean(page, watch, live_server)


def test_phone_width_320_has_no_horizontal_scroll_and_works(open_page, live_server, axe):
    page, watch = open_page("/", viewport={"width": 320, "height": 640}, is_mobile=True,
                            has_touch=True)
    scroll_width = "document.documentElement.scrollWidth"
    assert page.evaluate(scroll_width) <= 320
    for selector in ("#koki-q", "#koki-radius", "#koki-submit", "#koki-locate", "#koki-map"):
        box = page.locator(selector).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 320, selector
    axe(page)
    search(page, "96450")
    assert len(result_ids(page)) >= 1
    assert page.evaluate(scroll_width) <= 320
    axe(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget-320.png"), full_page=False)
    assert_clean(page, watch, live_server)


def test_english_text_and_number_format(open_page, live_server, axe):
    page, watch = open_page("/?lang=en", locale="en-GB")
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("label[for=koki-q]") == "Postcode or place"
    search(page, "Würzburg", radius_km=50)
    distances = page.locator("#koki-result-list .office__distance").all_inner_texts()
    assert distances and all(re.match(r"^\d+\.\d\skm away$", d) for d in distances)
    assert "Responsible for Würzburg: Stadt Würzburg." in page.inner_text("#koki-responsible")
    axe(page)
    assert_clean(page, watch, live_server)


def test_without_javascript_the_complete_list_is_there(open_page, live_server):
    page, _ = open_page("/", wait_for=None, java_script_enabled=False)
    assert page.locator("#all-offices .office").count() == 96
    assert page.locator("#all-offices h3").count() == 7
    assert page.locator(".nojs-note").is_visible()
    assert not page.locator("#koki-q").is_visible()
    assert page.locator("#office-stadt-coburg").is_visible()


def test_the_list_page_passes_axe_and_prints_without_the_map(open_page, live_server, axe):
    page, watch = open_page("/liste", wait_for=None)
    assert page.locator(".office").count() == 96
    axe(page)
    page, _ = open_page("/")
    page.emulate_media(media="print")
    assert page.locator("#koki-map").is_hidden()
    assert page.locator("#koki-form").is_hidden()
    assert page.locator("#all-offices .office").first.is_visible()


@pytest.fixture
def host_site(live_server: str) -> Iterator[str]:
    """Another site (origin) on loopback whose page embeds the widget with the script tag."""
    body = ("<!doctype html><html lang=en><title>Ministry</title><h1>Ministry</h1>"
            f"<script src='{live_server}/embed.js' data-lang='en' data-height='700' async>"
            "</script><p id=after>after</p>").encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_embed_script_inserts_a_working_iframe(open_page, live_server, host_site):
    page, _ = open_page(host_site, wait_for="iframe")
    iframe = page.query_selector("iframe")
    assert iframe.get_attribute("allow") == "geolocation"
    assert iframe.get_attribute("title") == "KoKi offices in Bavaria: map and search"
    assert iframe.get_attribute("src") == f"{live_server}/?embed=1&lang=en"
    assert iframe.evaluate("el => el.nextElementSibling.id") == "after"
    frame = page.frame_locator("iframe")
    frame.locator("#koki-map .koki-cluster").first.wait_for()
    assert frame.locator("label[for=koki-q]").inner_text() == "Postcode or place"
    box = iframe.bounding_box()
    assert box and box["height"] == 700 and box["width"] > 1000
    assert page.context.cookies() == []


def test_screenshots_for_the_record(open_page, live_server):
    """Desktop screenshots after a search, kept in tests/artifacts/ for a human look."""
    page, _ = open_page("/", reduced_motion="reduce")  # the widget then draws without zooming
    search(page, "84032")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget-desktop.png"))
    assert page.locator("#koki-responsible").is_visible()
