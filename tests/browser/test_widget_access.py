"""The widget in real Chromium: geolocation, narrow screens, English, no JS, print, embedding."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

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


def test_near_me_sends_only_a_rounded_position_within_the_chosen_radius(open_page, live_server,
                                                                        axe):
    page, watch = open_page("/", permissions=["geolocation"], geolocation=REGENSBURG)
    page.add_init_script(COUNT_GEOLOCATION)
    page.reload(wait_until="domcontentloaded")
    page.wait_for_selector("#koki-map .koki-cluster")
    assert page.evaluate("window.__geolocationCalls") == 0
    page.select_option("#koki-radius", "10")
    submit(page, lambda: page.click("#koki-locate"))
    assert page.evaluate("window.__geolocationCalls") == 1

    sent = [u for u in watch.requests if "/api/v1/offices/" in u]
    assert len(sent) == 1
    query = parse_qs(urlsplit(sent[0]).query)
    assert urlsplit(sent[0]).path == "/api/v1/offices/within"
    assert query == {"lat": ["49.013"], "lon": ["12.102"], "radius_km": ["10"]}
    assert all("49.0134" not in u and "12.1016" not in u for u in watch.requests)

    expected = api(live_server, "/offices/within", lat=49.013, lon=12.102, radius_km=10)
    assert result_ids(page) == [f["id"] for f in expected["features"]]
    count = len(expected["features"])
    assert page.inner_text("#koki-status").startswith(
        f"{count} KoKi-Stellen im Umkreis von 10 km um Ihren Standort.")
    assert "Für Ihren Standort ist zuständig: Stadt Regensburg." in page.inner_text(
        "#koki-responsible")
    assert page.evaluate("document.activeElement.id") == "koki-results-heading"
    # The position is in no URL and no history entry: Back leads to the page before.
    assert page.url == live_server + "/"
    assert "49.0" not in str(page.evaluate("history.state"))
    axe(page)
    assert_clean(page, watch, live_server)


def test_near_me_with_none_in_the_radius_shows_the_nearest(open_page, live_server):
    mauth = {"latitude": 48.8884, "longitude": 13.5836}  # the Bavarian Forest, far from any
    page, watch = open_page("/", permissions=["geolocation"], geolocation=mauth)
    page.select_option("#koki-radius", "5")
    submit(page, lambda: page.click("#koki-locate"))
    page.wait_for_function("() => document.querySelectorAll('#koki-result-list > li').length")
    nearest = api(live_server, "/offices/nearest", lat=48.888, lon=13.584, limit=1)
    assert result_ids(page) == [nearest["features"][0]["id"]]
    assert "Im Umkreis von 5 km um Ihren Standort gibt es keine KoKi-Stelle." in page.inner_text(
        "#koki-status")
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


def test_without_javascript_the_complete_list_is_one_link_away(open_page, live_server):
    page, _ = open_page("/", wait_for=None, java_script_enabled=False)
    assert page.locator(".nojs-note").is_visible()
    assert not page.locator("#koki-q").is_visible()
    assert not page.locator("#koki-map").is_visible()
    page.click("#all-offices nav a >> text=Oberfranken")
    page.wait_for_url("**/liste#rb-*")
    assert page.locator(".office").count() == 96
    assert page.locator("#office-stadt-coburg").is_visible()


def test_the_list_page_passes_axe_and_prints_without_the_map(open_page, live_server, axe):
    page, watch = open_page("/liste", wait_for=None)
    assert page.locator(".office").count() == 96
    axe(page)
    page.emulate_media(media="print")
    assert page.locator(".office").last.is_visible()
    page, _ = open_page("/")
    search(page, "96450")
    page.emulate_media(media="print")
    assert page.locator("#koki-map").is_hidden()
    assert page.locator("#koki-form").is_hidden()
    assert page.locator("#koki-result-list .result").first.is_visible()


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
