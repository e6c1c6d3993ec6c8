"""The map widget in real Chromium: the map, searching, responsibility, failures."""

from __future__ import annotations

import re

from widget_helpers import (
    api,
    assert_clean,
    focus_by_tab,
    has_visible_focus,
    offices_on_map,
    result_ids,
    search,
    submit,
)

DISTANCE_DE = re.compile(r"^\d+,\d\skm entfernt$")


def test_the_map_shows_every_office_clustered_with_attribution(open_page, live_server, axe):
    page, watch = open_page("/")
    page.wait_for_selector(".koki-tiles-notice")  # offline: the tiles fail, the widget doesn't
    assert offices_on_map(page) == 96
    assert page.locator("#koki-map .koki-cluster").count() > 5
    attribution = page.inner_text(".leaflet-control-attribution")
    assert "OpenStreetMap" in attribution and "GeoNames" in attribution
    assert "CC BY 4.0" in attribution
    assert page.locator("#all-offices a[href='/liste']").count() == 1
    axe(page)
    assert_clean(page, watch, live_server)


def test_keyboard_only_postcode_search(open_page, live_server, axe):
    page, watch = open_page("/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className").startswith("skip-link")
    assert page.locator(".skip-link").first.is_visible()
    focus_by_tab(page, "el.id === 'koki-q'")
    assert has_visible_focus(page)

    page.keyboard.type("9645")
    page.wait_for_selector("#koki-suggestions:not([hidden]) [role=option]")
    assert page.get_attribute("#koki-q", "aria-expanded") == "true"
    page.keyboard.press("ArrowDown")
    assert page.get_attribute("#koki-q", "aria-activedescendant") == "koki-option-0"
    assert page.get_attribute("#koki-option-0", "aria-selected") == "true"
    page.keyboard.press("Enter")
    assert page.input_value("#koki-q") == "96450 Coburg"
    assert page.get_attribute("#koki-q", "aria-expanded") == "false"

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "koki-radius"
    assert has_visible_focus(page)
    page.keyboard.press("ArrowUp")  # 25 km → 10 km
    assert page.input_value("#koki-radius") == "10"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "koki-submit"
    assert has_visible_focus(page)
    submit(page, lambda: page.keyboard.press("Enter"))
    # Focus moves to the answer, never to <body> (the button that had it stays enabled).
    assert page.evaluate("document.activeElement.id") == "koki-results-heading"

    expected = api(live_server, "/offices/within", postcode="96450", radius_km=10)
    assert result_ids(page) == [f["id"] for f in expected["features"]]
    count = len(expected["features"])
    status = page.inner_text("#koki-status")
    assert status.startswith(f"{count} KoKi-Stellen im Umkreis von 10 km um 96450 Coburg.")
    assert "Zuständig: Stadt Coburg" in status
    distances = page.locator("#koki-result-list .office__distance").all_inner_texts()
    assert len(distances) == count and all(DISTANCE_DE.match(d) for d in distances)
    responsible = page.inner_text("#koki-responsible")
    assert "Für Ihren Wohnort zuständig" in responsible and "Stadt Coburg" in responsible
    assert page.locator("#koki-map path.koki-radius").count() == 1
    assert offices_on_map(page) == count  # Stadt Coburg's office is among them
    axe(page)

    focus_by_tab(page, "el.textContent.startsWith('Auf der Karte zeigen')")
    assert has_visible_focus(page)
    page.keyboard.press("Enter")
    popup = page.wait_for_selector(".leaflet-popup-content")
    page.wait_for_timeout(500)
    assert popup.is_visible(), "the popup closed again"
    first = expected["features"][0]["properties"]
    assert first["district_name"] in popup.inner_text()
    assert "null" not in popup.inner_text()
    assert popup.query_selector("a[href^='geo:']") is not None
    # The popup on its own: axe over the whole page with a popup open at full zoom takes
    # tens of seconds in Chromium, for no finding the two scoped runs would miss.
    axe(page, ".leaflet-popup-pane")
    # Escape closes the popup from anywhere and focus is back on the button that opened it.
    page.keyboard.press("Escape")
    page.wait_for_selector(".leaflet-popup", state="detached")
    assert page.evaluate("document.activeElement.textContent").startswith("Auf der Karte zeigen")
    assert_clean(page, watch, live_server)


def test_responsible_office_is_named_even_when_another_is_nearer(open_page, live_server):
    # The Landkreis Regensburg's office sits in the city; the city's family belongs to the
    # city's KoKi.
    page, watch = open_page("/")
    page.fill("#koki-q", "Regensb")
    option = page.locator("#koki-suggestions [role=option]", has_text="Regensburg").first
    option.click()
    assert page.input_value("#koki-q").startswith("Regensburg")
    submit(page, lambda: page.click("#koki-submit"))
    responsible = page.inner_text("#koki-responsible")
    assert "Stadt Regensburg" in responsible
    assert "Landkreis Regensburg" not in responsible
    items = page.locator("#koki-result-list > li")
    assert items.count() >= 2
    assert page.locator("#koki-result-list .result--responsible").count() == 1
    assert_clean(page, watch, live_server)


def test_a_postcode_of_two_districts_lets_the_family_pick_its_place(open_page, live_server, axe):
    page, watch = open_page("/")
    search(page, "84032")
    box = page.locator("#koki-responsible")
    text = box.inner_text()
    assert "gehört zu mehreren Kreisen" in text
    assert "Stadt Landshut" in text and "Landkreis Landshut" in text
    assert "mehreren Kreisen" in page.inner_text("#koki-status")
    picker = box.locator(".picker__places button")
    picker.first.wait_for()
    assert picker.count() == 2
    assert page.evaluate("document.activeElement.className") == "picker"  # the choice first
    axe(page)
    submit(page, lambda: box.get_by_role("button", name=re.compile("^Altdorf")).click())
    text = box.inner_text()
    assert "Für 84032 Altdorf ist zuständig: Landkreis Landshut." in text
    assert "mehreren Kreisen" not in text
    assert page.input_value("#koki-q") == "84032 Altdorf"
    assert page.evaluate("document.activeElement.id") == "koki-results-heading"
    assert page.url.endswith("/?q=84032+Altdorf&radius_km=25")
    assert_clean(page, watch, live_server)


def test_no_office_in_the_radius_shows_the_nearest_anyway(open_page, live_server):
    page, watch = open_page("/")
    search(page, "94151", radius_km=5)
    nearest = api(live_server, "/offices/nearest", postcode="94151", limit=1)["features"][0]
    assert result_ids(page) == [nearest["id"]]
    status = page.inner_text("#koki-status")
    assert "Im Umkreis von 5 km um 94151 Mauth gibt es keine KoKi-Stelle." in status
    assert offices_on_map(page) >= 1
    assert_clean(page, watch, live_server)


def test_an_unknown_postcode_gets_a_plain_message_and_the_map_stays(open_page, live_server):
    page, watch = open_page("/")
    search(page, "99999")
    alert = page.locator("#koki-alert")
    assert alert.is_visible()
    assert "„99999“" in alert.inner_text() and "keine Postleitzahl" in alert.inner_text()
    assert offices_on_map(page) == 96
    assert result_ids(page) == []
    # 404 problem+json is expected here; the browser logs it as a failed resource.
    watch.errors = [e for e in watch.errors if "404" not in e]
    assert_clean(page, watch, live_server)


def test_an_empty_search_asks_for_input(open_page):
    page, _ = open_page("/")
    page.click("#koki-submit")
    assert "Bitte geben Sie eine Postleitzahl oder einen Ort ein." in page.inner_text("#koki-alert")
    assert page.evaluate("document.activeElement.id") == "koki-q"


def test_api_down_during_a_search(open_page, live_server):
    page, watch = open_page("/")
    page.route("**/api/v1/offices/within**", lambda route: route.abort())
    search(page, "96450")
    assert "nicht erreichbar" in page.inner_text("#koki-alert")
    assert offices_on_map(page) == 96
    assert page.evaluate("document.activeElement.id") == "koki-q"  # to correct or try again
    watch.errors = [e for e in watch.errors if "ERR_FAILED" not in e]
    assert_clean(page, watch, live_server)


def test_api_down_at_start_still_leaves_the_list_and_a_message(open_page, live_server):
    page, watch = open_page(None)
    page.route(re.compile(r".*/api/v1/offices$"), lambda route: route.fulfill(
        status=503, content_type="application/problem+json",
        body='{"status": 503, "title": "Service unavailable", "detail": "down"}'))
    page.goto(live_server + "/", wait_until="domcontentloaded")
    page.wait_for_selector("#koki-alert:not(:empty)")
    assert "konnten nicht auf die Karte geladen werden" in page.inner_text("#koki-alert")
    assert page.locator("#koki-map.leaflet-container").count() == 1
    assert page.locator("#all-offices a[href='/liste']").count() == 1
    search(page, "96450")  # the search still answers, as a list
    assert len(result_ids(page)) >= 1
    watch.errors = [e for e in watch.errors if "503" not in e]
    assert_clean(page, watch, live_server)


def test_list_and_markers_stay_in_sync(open_page, live_server):
    page, watch = open_page("/")
    search(page, "96450", radius_km=50)
    ids = result_ids(page)
    pins = page.locator("#koki-map .koki-pin[data-office-id]")
    page.wait_for_function(
        "() => document.querySelectorAll('#koki-map .koki-pin[data-office-id]').length >= 2")
    shown = pins.evaluate_all("els => els.map(e => e.dataset.officeId)")
    assert len(shown) >= 2, "the search should show at least two offices as their own pins"
    target = next(i for i in ids if i in shown)
    page.hover(f"#koki-result-list > li[data-office-id='{target}']")
    assert "is-active" in page.get_attribute(f"#koki-map .koki-pin[data-office-id='{target}']",
                                             "class")
    page.mouse.move(0, 0)
    other = next(i for i in reversed(ids) if i in shown and i != target)
    page.click(f"#koki-map .koki-pin[data-office-id='{other}']")
    assert "is-active" in page.get_attribute(f"#koki-result-list > li[data-office-id='{other}']",
                                             "class")
    page.wait_for_selector(".leaflet-popup-content")
    page.focus(f"#koki-result-list > li[data-office-id='{target}'] button")
    assert "is-active" in page.get_attribute(f"#koki-map .koki-pin[data-office-id='{target}']",
                                             "class")
    assert_clean(page, watch, live_server)
