"""The widget with place names (issue 10): a name of several places asks, a clear one resolves."""

from __future__ import annotations

import re

from widget_helpers import assert_clean, search, submit


def test_a_name_of_several_places_asks_which_one(open_page, live_server, axe):
    page, watch = open_page("/")
    search(page, "Pfaffenhofen")
    box = page.locator("#koki-responsible")
    text = box.inner_text()
    assert "„Pfaffenhofen“ gibt es in mehreren Kreisen" in text
    for district in ("Landkreis Pfaffenhofen a.d.Ilm", "Landkreis Neu-Ulm", "Landkreis Dachau"):
        assert district in text
    assert "Ortsnamen gibt es mehrmals" in page.inner_text("#koki-status")
    picker = box.locator(".picker__places button")
    assert [picker.nth(i).inner_text() for i in range(picker.count())] == [
        "Pfaffenhofen an der Ilm (Landkreis Pfaffenhofen a.d.Ilm)",
        "Pfaffenhofen an der Roth (Landkreis Neu-Ulm)",
        "Pfaffenhofen an der Glonn (Landkreis Dachau)",
    ]
    axe(page)
    submit(page, lambda: box.get_by_role("button", name=re.compile("^Pfaffenhofen an der Roth"))
           .click())
    text = box.inner_text()
    assert "Für 89284 Pfaffenhofen an der Roth ist zuständig: Landkreis Neu-Ulm." in text
    assert "mehreren Kreisen" not in text
    assert page.input_value("#koki-q") == "89284 Pfaffenhofen an der Roth"
    assert page.locator("#koki-result-list .result--responsible").count() <= 1
    assert_clean(page, watch, live_server)


def test_a_short_name_that_clearly_means_one_place_resolves(open_page, live_server):
    page, watch = open_page("/")
    search(page, "Garmisch")
    text = page.inner_text("#koki-responsible")
    assert "Für Garmisch-Partenkirchen ist zuständig: Landkreis Garmisch-Partenkirchen." in text
    assert page.locator("#koki-responsible .picker").count() == 0
    assert "nicht gefunden" not in page.inner_text("body")
    assert_clean(page, watch, live_server)
