"""Office contacts in real Chromium: links, hours and "open now", "Stand · Quelle", whose contact
it is, the no-JavaScript list and English, over office data built from a research file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from live_server import LiveServer
from script_loader import load_script
from widget_helpers import api, assert_clean, search

from locator.config import REPO_GEODATA
from locator.offices import OFFICE_COLUMNS
from locator.storage import write_csv_atomically

BERLIN = ZoneInfo("Europe/Berlin")
# A research file as the researchers write it (test facts for real places): Stadt Coburg with
# the KoKi's own contact and hours, Landkreis Coburg through its Jugendamt, the rest unknown.
RESEARCH = """\
ags,district,office_name,street,postcode,city,phone,email,website,opening_hours,contact_level,\
sources,checked_on,checked_on_kind,provenance
09463,Stadt Coburg,KoKi Coburg,Oberer Bürglaß 3,96450,Coburg,09561 89-2525,koki@coburg.de,\
https://www.coburg.de/,"Mo-Th 08:00-12:00,13:30-16:00; Fr 08:00-12:00; PH off",koki,\
https://www.coburg.de/,2025-03-14,source,Testzeile
09473,Landkreis Coburg,,Lauterer Str. 60,96450,Coburg,09561 514-0,,,,jugendamt,\
https://www.landkreis-coburg.de/;https://www.coburg.de/,2025-01-10,read,Testzeile
"""


@pytest.fixture(scope="module")
def contacts_server(tmp_path_factory) -> Iterator[str]:
    research = tmp_path_factory.mktemp("research")
    (research / "test.csv").write_text(RESEARCH, encoding="utf-8")
    rows = load_script("build_offices").build(REPO_GEODATA, contacts_dir=research)
    offices = tmp_path_factory.mktemp("data") / "offices.csv"
    write_csv_atomically(offices, list(OFFICE_COLUMNS), rows)
    server = LiveServer(workers=1, env={"LOCATOR_OFFICES_FILE": str(offices)})
    try:
        server.start()
    except RuntimeError as err:
        pytest.fail(str(err), pytrace=False)
    yield server.url
    server.stop()
    server.cleanup()


def moments(base: str) -> dict[str, dt.datetime]:
    """Bavarian times when Stadt Coburg is open, closed, and on a holiday with other hours."""
    office = api(base, "/offices/stadt-coburg")["properties"]
    exceptions = {dt.date.fromisoformat(d) for d in office["opening_hours_exceptions"]}
    day = dt.datetime.now(BERLIN).date() + dt.timedelta(days=1)
    while day.weekday() != 1 or day in exceptions:  # a Tuesday with the usual hours
        day += dt.timedelta(days=1)
    holiday = min(d for d in exceptions if d.weekday() < 4)
    at = lambda d, h, m: dt.datetime.combine(d, dt.time(h, m), BERLIN)  # noqa: E731
    return {"open": at(day, 10, 0), "closed": at(day, 12, 30), "holiday": at(holiday, 10, 0)}


def open_at(open_page, base: str, path: str, when: dt.datetime, **options):
    page, watch = open_page(None, **options)
    page.clock.set_fixed_time(when)
    page.goto(base + path, wait_until="domcontentloaded")
    page.wait_for_selector("#koki-map .koki-cluster, #koki-map .koki-pin", state="attached")
    return page, watch


def shown_text(locator) -> str:
    """The element's text, whitespace collapsed: the DOM's, since the list's regions are
    rendered only on screen (content-visibility), where inner_text would find nothing."""
    return " ".join(locator.text_content().split())


def responsible_card(page, text: str = "96450"):
    search(page, text)
    return page.locator("#koki-responsible .office").first


def test_card_leads_with_contact_links_hours_and_source(open_page, contacts_server, axe):
    # New York's clock: "open now" must follow Bavarian time, not the reader's.
    page, watch = open_at(open_page, contacts_server, "/", moments(contacts_server)["open"],
                          timezone_id="America/New_York")
    card = responsible_card(page)
    assert card.locator("a[href='tel:+499561892525']").inner_text() == "09561 89-2525"
    assert card.locator("a[href='mailto:koki@coburg.de']").count() == 1
    assert card.locator("a[href='https://www.coburg.de/']", has_text="Website").count() == 1
    text = card.inner_text()
    assert "Oberer Bürglaß 3, 96450 Coburg" in text
    assert "Mo–Do 8:00–12:00, 13:30–16:00" in text and "Fr 8:00–12:00" in text
    assert card.locator(".office__open.is-open").inner_text() == "jetzt geöffnet"
    stand = card.locator(".office__stand")
    assert stand.inner_text().startswith("Stand: 03/2025 · Quelle")
    assert stand.locator("a").get_attribute("href") == "https://www.coburg.de/"
    assert "noch nicht erfasst" not in text and "Kontakt über" not in text  # the KoKi's own
    # Directions lead to the address, not to the postcode's point.
    assert card.locator("a[href^='geo:']").get_attribute("href").endswith(
        "?q=Oberer%20B%C3%BCrgla%C3%9F%203%2C%2096450%20Coburg")
    assert "directions?to=Oberer" in card.locator("a[href*='openstreetmap']").get_attribute("href")
    axe(page, "#koki-responsible")
    assert_clean(page, watch, contacts_server)


def test_popup_says_whose_contact_it_is_and_how_exact_the_point_is(open_page, contacts_server):
    page, watch = open_at(open_page, contacts_server, "/", moments(contacts_server)["open"])
    search(page, "96450")
    item = page.locator("#koki-result-list > li[data-office-id='landkreis-coburg']")
    submit_popup = item.get_by_role("button", name="Auf der Karte zeigen")
    submit_popup.click()
    popup = page.wait_for_selector(".leaflet-popup-content")
    text = popup.inner_text()
    assert "Kontakt über das Jugendamt" in text
    assert popup.query_selector("a[href='tel:+4995615140']") is not None
    stand = popup.query_selector(".office__stand")
    assert stand.inner_text().startswith("Stand: 01/2025 · Quelle 1")
    assert [a.get_attribute("href") for a in stand.query_selector_all("a")] == [
        "https://www.landkreis-coburg.de/", "https://www.coburg.de/"]
    assert "Postleitzahl, nicht das Haus" in text
    assert "noch nicht erfasst" not in text
    assert_clean(page, watch, contacts_server)


@pytest.mark.parametrize(("moment", "shown"), [
    ("closed", "jetzt geschlossen"),
    ("holiday", None),  # a holiday: the week does not apply, so nothing is claimed
])
def test_open_now_is_only_said_when_the_week_applies(open_page, contacts_server, moment, shown):
    page, watch = open_at(open_page, contacts_server, "/", moments(contacts_server)[moment])
    card = responsible_card(page)
    state = card.locator(".office__open")
    if shown is None:
        assert state.count() == 0
        assert "An Feiertagen gelten andere Zeiten." in card.inner_text()
    else:
        assert state.inner_text() == shown
    assert_clean(page, watch, contacts_server)


def test_unknown_contacts_keep_the_honest_note(open_page, contacts_server):
    page, watch = open_page(contacts_server + "/")
    card = responsible_card(page, "95028")
    assert "Stadt Hof" in card.inner_text()
    assert "Anschrift und Kontaktdaten sind noch nicht erfasst." in card.inner_text()
    assert card.locator(".office__stand, a[href^='tel:']").count() == 0
    assert_clean(page, watch, contacts_server)


def test_the_list_without_javascript_carries_the_same_contacts(open_page, contacts_server):
    page, watch = open_page(contacts_server + "/liste", wait_for=None, java_script_enabled=False)
    coburg = page.locator("#office-stadt-coburg")
    assert coburg.locator("a[href='tel:+499561892525']").count() == 1
    assert coburg.locator("a[href='mailto:koki@coburg.de']").count() == 1
    text = shown_text(coburg)
    assert "Mo–Do 8:00–12:00, 13:30–16:00" in text
    assert "Stand: 03/2025 · Quelle" in text
    assert "jetzt" not in text  # "open now" needs the reader's clock, a printed list has none
    assert "Kontakt über das Jugendamt" in shown_text(page.locator("#office-landkreis-coburg"))
    assert "noch nicht erfasst" in shown_text(page.locator("#office-stadt-hof"))
    assert watch.errors == [] and watch.csp == []


def test_english_cards(open_page, contacts_server):
    page, watch = open_at(open_page, contacts_server, "/?lang=en",
                          moments(contacts_server)["open"], locale="en-GB")
    card = responsible_card(page)
    text = card.inner_text()
    assert "Mon–Thu 8:00–12:00, 13:30–16:00" in text
    assert card.locator(".office__open").inner_text() == "open now"
    assert text.count("As of: 03/2025 · Source") == 1
    search(page, "96472")  # Rödental: Landkreis Coburg
    other = page.locator("#koki-responsible .office").first.inner_text()
    assert "Contact via the youth welfare office (Jugendamt)" in other
    english_list = page.context.new_page()
    english_list.goto(contacts_server + "/liste?lang=en")
    stand = english_list.locator("#office-landkreis-coburg .office__stand")
    assert shown_text(stand).startswith("As of: 01/2025 · Source 1")
    assert shown_text(stand.locator("a").nth(1)).startswith("Source 2")
    assert_clean(page, watch, contacts_server)
