"""A search lives in the URL (shared links, Back and Forward), and keyboard and phone details:
focus after a search, Escape on popups, popups that fit a phone's map. Real Chromium."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from widget_helpers import (
    api,
    assert_clean,
    offices_on_map,
    result_ids,
    search,
    submit,
    wait_for_offices_on_map,
)


def query_of(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def wait_for_answer(page) -> None:
    page.wait_for_function("() => document.querySelector('#koki-results')"
                           ".getAttribute('aria-busy') === 'false' && "
                           "document.querySelectorAll('#koki-result-list > li').length > 0")


def test_a_shared_link_runs_its_search(open_page, live_server, axe):
    page, watch = open_page("/?q=96450&radius_km=10", wait_for=None)
    wait_for_answer(page)
    expected = api(live_server, "/offices/within", q="96450", radius_km=10)
    assert result_ids(page) == [f["id"] for f in expected["features"]]
    assert page.input_value("#koki-q") == "96450"
    assert page.input_value("#koki-radius") == "10"
    assert page.locator("#koki-map path.koki-radius").count() == 1
    assert offices_on_map(page) == len(expected["features"])  # drawn over the overview
    assert page.evaluate("document.activeElement.id") == "koki-results-heading"
    axe(page)
    assert_clean(page, watch, live_server)


def test_every_search_is_in_the_url_and_back_and_forward_move_between_them(open_page,
                                                                          live_server):
    page, watch = open_page("/")
    search(page, "96450", radius_km=10)
    assert query_of(page) == {"q": ["96450"], "radius_km": ["10"]}
    coburg = result_ids(page)
    search(page, "Würzburg", radius_km=50)
    assert query_of(page) == {"q": ["Würzburg"], "radius_km": ["50"]}
    wuerzburg = result_ids(page)
    assert coburg != wuerzburg

    submit(page, page.go_back)
    assert query_of(page) == {"q": ["96450"], "radius_km": ["10"]}
    assert result_ids(page) == coburg
    assert page.input_value("#koki-q") == "96450" and page.input_value("#koki-radius") == "10"

    page.go_back()  # the page as it was opened: every office, no search
    page.wait_for_function("() => !document.querySelector('#koki-result-list > li')")
    assert page.url == live_server + "/"
    assert page.input_value("#koki-q") == "" and page.input_value("#koki-radius") == "25"
    page.wait_for_function("() => !document.querySelector('#koki-map path.koki-radius')")
    wait_for_offices_on_map(page, 96)

    submit(page, page.go_forward)
    assert result_ids(page) == coburg
    submit(page, page.go_forward)
    assert result_ids(page) == wuerzburg

    page.click("#koki-reset")  # "show all offices" is a state of its own
    assert page.url == live_server + "/"
    wait_for_offices_on_map(page, 96)  # all of them: none lost in a cluster of the search
    page.go_back()
    wait_for_answer(page)
    assert result_ids(page) == wuerzburg
    assert_clean(page, watch, live_server)


def test_a_skip_link_does_not_run_the_search_again(open_page, live_server):
    page, watch = open_page("/")
    search(page, "96450")
    sent = len([u for u in watch.requests if "/api/v1/offices/within" in u])
    page.focus(".skip-link >> nth=0")
    page.keyboard.press("Enter")
    page.wait_for_url("**#koki-results")
    page.go_back()
    page.wait_for_timeout(300)
    assert len([u for u in watch.requests if "/api/v1/offices/within" in u]) == sent
    assert query_of(page) == {"q": ["96450"], "radius_km": ["25"]}


def test_the_embedded_widget_keeps_its_search_in_its_own_url(open_page, live_server, host_site):
    page, watch = open_page(host_site, wait_for="iframe")
    frame = page.frame_locator("iframe")
    frame.locator("#koki-map .koki-cluster").first.wait_for()
    inner = next(f for f in page.frames if f.url.startswith(live_server))
    inner.fill("#koki-q", "96450")
    with page.expect_request(lambda r: "/api/v1/offices/within" in r.url):
        inner.press("#koki-q", "Enter")
    inner.wait_for_selector("#koki-results[aria-busy='false'] #koki-result-list > li")
    assert parse_qs(urlsplit(inner.url).query) == {
        "q": ["96450"], "radius_km": ["25"], "lang": ["en"], "embed": ["1"]}
    assert page.url == host_site  # the host page is not touched


def test_escape_closes_a_markers_popup_and_focus_returns_to_the_marker(open_page, live_server):
    page, watch = open_page("/")
    search(page, "96450", radius_km=50)
    pin = page.locator("#koki-map .koki-pin[data-office-id]").first
    office = pin.get_attribute("data-office-id")
    pin.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(".leaflet-popup-content")
    page.keyboard.press("Tab")  # into the map's other controls or the popup: anywhere
    page.keyboard.press("Escape")
    page.wait_for_selector(".leaflet-popup", state="detached")
    assert page.evaluate("document.activeElement.dataset.officeId") == office
    # The popup's own close button: focus goes back to the marker, not to <body>.
    page.keyboard.press("Enter")
    page.click(".leaflet-popup-close-button")
    page.wait_for_selector(".leaflet-popup", state="detached")
    assert page.evaluate("document.activeElement.dataset.officeId") == office
    assert_clean(page, watch, live_server)


def test_on_a_phone_a_popup_fits_the_map_and_nothing_covers_its_close_button(open_page,
                                                                            live_server, axe):
    page, watch = open_page("/", viewport={"width": 320, "height": 640}, is_mobile=True,
                            has_touch=True)
    page.wait_for_selector(".koki-tiles-notice")  # offline: the note is there
    search(page, "96450")
    page.locator("#koki-result-list button").first.click()
    page.wait_for_selector(".leaflet-popup-content")
    # The map pans the popup into view (animated): wait until it is inside, or time out.
    page.wait_for_function("""() => {
        const map = document.getElementById('koki-map').getBoundingClientRect();
        const box = document.querySelector('.leaflet-popup-content-wrapper')
            .getBoundingClientRect();
        return box.top >= map.top && box.bottom <= map.bottom && box.left >= map.left
            && box.right <= map.right;
    }""")
    box = page.locator("#koki-map").bounding_box()
    assert box["height"] <= 330
    popup = page.locator(".leaflet-popup-content-wrapper").bounding_box()
    assert popup["y"] >= box["y"] and popup["y"] + popup["height"] <= box["y"] + box["height"]
    assert popup["x"] >= box["x"] and popup["x"] + popup["width"] <= box["x"] + box["width"]
    close = page.locator(".leaflet-popup-close-button").bounding_box()
    on_top = page.evaluate(
        "([x, y]) => !!document.elementFromPoint(x, y).closest('.leaflet-popup-close-button')",
        [close["x"] + close["width"] / 2, close["y"] + close["height"] / 2])
    assert on_top, "something covers the popup's close button"
    # Every route link can be reached: the content scrolls when it is taller than the popup.
    content = page.locator(".leaflet-popup-content")
    link = content.locator("a[href^='https://www.openstreetmap.org/directions']")
    link.scroll_into_view_if_needed()
    assert link.is_visible()
    link_box = link.bounding_box()
    assert link_box["y"] + link_box["height"] <= popup["y"] + popup["height"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    axe(page, ".leaflet-popup-pane")
    assert_clean(page, watch, live_server)


def test_a_place_name_choice_gets_focus_and_goes_into_the_url(open_page, live_server):
    page, watch = open_page("/")
    search(page, "Pfaffenhofen")
    assert page.evaluate("document.activeElement.className") == "picker"
    button = page.locator("#koki-responsible .picker__places button",
                          has_text="Pfaffenhofen an der Roth")
    submit(page, button.click)
    assert query_of(page) == {"q": ["89284 Pfaffenhofen an der Roth"], "radius_km": ["25"]}
    assert page.evaluate("document.activeElement.id") == "koki-results-heading"
    assert_clean(page, watch, live_server)
