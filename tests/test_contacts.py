"""Office contact facts: validated at load, carried by the API, built from research, merged from
staff sheets, summarised by `locator check` and in geodata/README.md."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from script_loader import load_script

from locator.bulk import geocode_records
from locator.cli import main
from locator.completeness import (
    README_MARKERS,
    completeness_markdown,
    older_than,
    read_office_rows,
)
from locator.config import REPO_GEODATA
from locator.districts import load_bavarian_districts
from locator.errors import DataError
from locator.gazetteer import AddressQuery
from locator.hours import in_words, weekly
from locator.merge import merge_offices
from locator.offices import OFFICE_COLUMNS, as_uri, read_offices, split_sources
from locator.openapi import openapi_document
from locator.sheets import read_sheet

HEADER = ("ags,district,office_name,street,postcode,city,phone,email,website,opening_hours,"
          "contact_level,sources,checked_on,checked_on_kind,provenance\n")
ALTDORF = ("09274,Landkreis Landshut,Kreisjugendamt Landshut,Sonnenring 14,84032,Altdorf,"
           "0871 408-0,,,,verwaltung,https://www.wochenblatt.de/news-stream/landshut/artikel/"
           "184573/kreisjugendamt-zieht-um-nach-altdorf,2017-07-11,source,Umzug 2017\n")


@pytest.fixture(scope="module")
def builder():
    return load_script("build_offices")


@pytest.fixture(scope="module")
def districts():
    return load_bavarian_districts(REPO_GEODATA / "districts.csv")


def seat_rows(seat_offices: Path) -> list[dict]:
    with seat_offices.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def write_rows(path: Path, rows: list[dict], columns=OFFICE_COLUMNS) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


# --- validation at load ------------------------------------------------------------------------

SOURCED = {"sources": "https://www.coburg.de/", "checked_on": "2025-03-14"}


@pytest.mark.parametrize(("values", "field", "message"), [
    ({"opening_hours": "Mo-Do 8-12", **SOURCED}, "opening_hours", "not OpenStreetMap"),
    ({"contact_level": "amt"}, "contact_level", "is not one of koki, jugendamt, verwaltung"),
    ({"sources": "www.coburg.de", "checked_on": "2025-03-14"}, "sources", "not an http(s) URL"),
    ({"sources": "https://a.de https://b.de", "checked_on": "2025-03-14"}, "sources",
     "not an http(s) URL"),
    ({**SOURCED, "checked_on": "14.03.2025"}, "checked_on", "not an ISO date"),
    ({**SOURCED, "checked_on": "20250314"}, "checked_on", "not an ISO date"),
    ({**SOURCED, "checked_on": "2999-01-01"}, "checked_on", "is in the future"),
    ({"sources": "https://www.coburg.de/"}, "checked_on",
     "is empty, but the sources need the date they were checked"),
    ({"sources": "ftp://www.coburg.de/", "checked_on": "2025-03-14"}, "sources",
     "'ftp://www.coburg.de/' is not an http(s) URL"),
    ({"phone": "09561 89-2525"}, "sources", "is empty, but phone must say where it comes from"),
    ({"street": "Markt 1", "postcode": "96450"}, "sources",
     "is empty, but street, postcode must say where they come from"),
    ({"opening_hours": "Mo-Fr 08:00-12:00"}, "sources", "opening_hours must say"),
    ({"phone": "1234", **SOURCED}, "phone", "not a phone number"),
    # Served as a URI, its host must be a name IDNA can write (no empty or 64-letter label).
    ({"sources": "https://www.jugendämter..de/koki", "checked_on": "2025-03-14"}, "sources",
     "'https://www.jugendämter..de/koki' has no valid host name"),
    ({"sources": "https://" + "ä" * 64 + ".de/", "checked_on": "2025-03-14"}, "sources",
     "has no valid host name"),
])
def test_bad_contact_fields_name_file_line_and_field(tmp_path, districts, seat_offices, values,
                                                     field, message):
    rows = seat_rows(seat_offices)
    rows[4].update(values)
    path = write_rows(tmp_path / "offices.csv", rows)
    with pytest.raises(DataError) as err:
        read_offices(path, districts)
    assert str(err.value).startswith(f"{path}, line 6, field '{field}': ")
    assert message in str(err.value)


def test_facts_checked_today_are_not_in_the_future(tmp_path, districts, seat_offices):
    rows = seat_rows(seat_offices)
    rows[4].update(sources="https://www.coburg.de/", checked_on=dt.date.today().isoformat())
    offices = read_offices(write_rows(tmp_path / "offices.csv", rows), districts)
    assert offices.loc[rows[4]["id"], "checked_on"] == dt.date.today().isoformat()


def test_an_old_file_without_the_new_columns_still_loads(tmp_path, districts, seat_offices):
    old = [c for c in OFFICE_COLUMNS if c not in ("opening_hours", "contact_level", "sources",
                                                  "checked_on")]
    path = write_rows(tmp_path / "offices.csv", seat_rows(seat_offices), old)
    offices = read_offices(path, districts)
    assert len(offices) == 96 and set(offices["sources"]) == {""}


@pytest.mark.parametrize(("text", "urls"), [
    ("https://a.de/x", ["https://a.de/x"]),
    ("https://a.de/x;https://b.de/y", ["https://a.de/x", "https://b.de/y"]),
    ("https://a.de/x ; http://b.de/y", ["https://a.de/x", "http://b.de/y"]),
    # A newspaper URL of the old kind carries a ";" of its own: only one before "http" splits.
    ("http://www.donaukurier.de/lokales/Lenting;art575,3444100;https://b.de",
     ["http://www.donaukurier.de/lokales/Lenting;art575,3444100", "https://b.de"]),
    ("", []),
])
def test_sources_split_only_before_a_url(text, urls):
    assert split_sources(text) == urls


# --- opening hours ------------------------------------------------------------------------------

DAYS_DE = "Mo Di Mi Do Fr Sa So".split()


@pytest.mark.parametrize(("hours", "words"), [
    ("Mo-Th 08:00-12:00,13:30-15:30; Fr 08:00-12:00; PH off",
     ["Mo–Do 8:00–12:00, 13:30–15:30", "Fr 8:00–12:00"]),
    ("Mo-Fr 08:00-12:00; Tu 14:00-18:00", ["Mo 8:00–12:00", "Di 14:00–18:00",
                                            "Mi–Fr 8:00–12:00"]),
    ("Mo,We 08:30-12:00", ["Mo 8:30–12:00", "Mi 8:30–12:00"]),
    ("Mo-Fr 22:00-02:00", ["Mo 22:00–24:00", "Di–Fr 0:00–2:00, 22:00–24:00", "Sa 0:00–2:00"]),
])
def test_hours_become_a_week_and_words(hours, words):
    week, _ = weekly(hours, dt.date(2026, 11, 30))
    assert in_words(week, DAYS_DE) == words


def test_holidays_are_exceptions_and_irregular_hours_no_week():
    week, exceptions = weekly("Mo-Fr 08:00-12:00; PH off", dt.date(2026, 11, 30))
    assert week[4] == (("08:00", "12:00"),) and week[5] == ()
    # Christmas Day and New Year's Day 2027 fall on weekdays, the 26th on a Saturday.
    assert "2026-12-25" in exceptions and "2027-01-01" in exceptions
    assert "2026-12-26" not in exceptions
    assert weekly("Mo-Fr 08:00-12:00; Jul-Aug off", dt.date(2026, 11, 30)) == (None, ())
    assert weekly('Mo-Fr 08:00-12:00 "nach Vereinbarung"', dt.date(2026, 11, 30)) == (None, ())


# --- API and OpenAPI ---------------------------------------------------------------------------

def test_every_office_answer_carries_the_contact_properties(client):
    schema = openapi_document()["components"]["schemas"]["OfficeProperties"]
    validator = Draft202012Validator({**schema, "components": openapi_document()["components"]})
    answers = [client.get("/api/v1/offices").get_json()["features"],
               [client.get("/api/v1/offices/landkreis-landshut").get_json()],
               client.get("/api/v1/offices/nearest?postcode=84032").get_json()["features"],
               client.get("/api/v1/responsible?postcode=84032").get_json()["offices"]["features"]]
    for features in answers:
        for feature in features:
            p = feature["properties"]
            validator.validate(p)
            assert isinstance(p["sources"], list)
            assert {"opening_hours", "contact_level", "checked_on"} <= set(p)
            if p["phone"] or p["street"]:
                assert p["sources"] and p["checked_on"], p["id"]
            assert all(url.isascii() for url in p["sources"]), p["id"]  # URIs, not IRIs


@pytest.mark.parametrize(("written", "served"), [
    # Found by schemathesis: the OpenAPI document promises URIs, a source was an IRI.
    ("https://de.wikipedia.org/wiki/Kempten_(Allgäu)?oldformat=true",
     "https://de.wikipedia.org/wiki/Kempten_(Allg%C3%A4u)?oldformat=true"),
    ("https://www.münchen.de/ämter", "https://www.xn--mnchen-3ya.de/%C3%A4mter"),
    ("https://docslib.org/doc/1/amt-f%C3%BCr", "https://docslib.org/doc/1/amt-f%C3%BCr"),
    # The host is found by its place, not by its lower-cased text; port and user part stay.
    ("https://www.München.DE/ämter", "https://www.xn--mnchen-3ya.DE/%C3%A4mter"),
    ("https://www.münchen.de:8443/ä", "https://www.xn--mnchen-3ya.de:8443/%C3%A4"),
    ("https://münchen@münchen.de/", "https://m%C3%BCnchen@xn--mnchen-3ya.de/"),
])
def test_sources_are_served_as_uris(written, served):
    assert as_uri(written) == served


def test_landkreis_landshut_sits_in_altdorf(client):
    # The Kreisjugendamt moved from Landshut to Altdorf in 2017 (Wochenblatt, 11.07.2017).
    p = client.get("/api/v1/offices/landkreis-landshut").get_json()["properties"]
    assert (p["street"], p["postcode"], p["city"]) == ("Sonnenring 14", "84032", "Altdorf")
    assert p["location_precision"] == "postcode"
    assert p["sources"][0].startswith("https://www.wochenblatt.de/")


# --- the builder -------------------------------------------------------------------------------

def build_with(builder, tmp_path: Path, text: str):
    research = tmp_path / "research"
    research.mkdir(exist_ok=True)
    (research / "part.csv").write_text(HEADER + text, encoding="utf-8")
    return {r["id"]: r for r in builder.build(REPO_GEODATA, contacts_dir=research,
                                               today=dt.date(2026, 11, 29))}


def test_builder_places_an_office_at_its_address_postcode(builder, tmp_path, locator):
    rows = build_with(builder, tmp_path, ALTDORF)
    office = rows["landkreis-landshut"]
    # "Kreisjugendamt Landshut" names the Jugendamt, not the KoKi: the program's name stays.
    assert office["name"] == "KoKi – Netzwerk frühe Kindheit, Landkreis Landshut"
    assert (office["city"], office["location_precision"]) == ("Altdorf", "postcode")
    # 84032 serves Landshut and Altdorf: the point is Altdorf's within the postcode.
    point = locator.gazetteer.match(AddressQuery("", "84032", "Altdorf"))[0]
    assert (office["lat"], office["lon"]) == (point.lat, point.lon)
    assert point.district_ags == ("09274",)
    assert office["provenance"].startswith("Recherche: Umzug 2017. Ort: Postleitzahlpunkt")
    assert "Stand 2017-07-11: Datum der Quelle" in office["provenance"]
    seat = rows["landkreis-coburg"]  # no research: the seat, as before
    assert (seat["name"], seat["location_precision"], seat["city"]) == (
        "KoKi – Netzwerk frühe Kindheit, Landkreis Coburg", "place", "Coburg")
    assert "keine Quelle gefunden" in seat["provenance"]


@pytest.mark.parametrize(("named", "expected"), [
    ("Koordinierende Kinderschutzstelle (KoKi)", "Koordinierende Kinderschutzstelle (KoKi)"),
    ("Familienbüro KoKi", "Familienbüro KoKi"),
    ("KoKi – Koordinierungsstelle „Frühe Hilfen“", "KoKi – Koordinierungsstelle „Frühe Hilfen“"),
    ("Stadtjugendamt München", "KoKi – Netzwerk frühe Kindheit, Landkreis Landshut"),
    ("Amt für Jugend und Familie", "KoKi – Netzwerk frühe Kindheit, Landkreis Landshut"),
    ("", "KoKi – Netzwerk frühe Kindheit, Landkreis Landshut"),
])
def test_builder_takes_a_source_s_name_only_when_it_names_the_koki(builder, tmp_path, named,
                                                                    expected):
    row = ALTDORF.replace("Kreisjugendamt Landshut", named, 1)
    assert build_with(builder, tmp_path, row)["landkreis-landshut"]["name"] == expected


def test_builder_output_is_deterministic_and_loads(builder, tmp_path, districts):
    first = tmp_path / "a.csv"
    second = tmp_path / "b.csv"
    for path in (first, second):
        rows = list(build_with(builder, tmp_path, ALTDORF).values())
        write_rows(path, rows)
    assert first.read_bytes() == second.read_bytes()
    assert len(read_offices(first, districts)) == 96


@pytest.mark.parametrize(("row", "field", "message"), [
    (ALTDORF.replace("0871 408-0", "0871"), "phone", "not a phone number"),
    (ALTDORF.replace("09274,", "09999,"), "ags", "not one of Bavaria's 96 district keys"),
    (ALTDORF.replace(",source,", ",gelesen,"), "checked_on_kind", "is not one of source, read"),
    (ALTDORF.replace("verwaltung", ""), "contact_level", "say whose contact it is"),
    (ALTDORF.replace(",Altdorf,", ",Nürnberg,"), "postcode", "84032 Nürnberg"),
    (ALTDORF.replace("2017-07-11", "2027-07-11"), "checked_on", "in the future"),
    ("09274,Landkreis Landshut,Kreisjugendamt,,,,,,,,jugendamt,,,,\n", "sources",
     "office name must say"),
])
def test_builder_refuses_a_bad_research_row(builder, tmp_path, row, field, message):
    with pytest.raises(DataError) as err:
        build_with(builder, tmp_path, row)
    assert f"part.csv, line 2, field '{field}': " in str(err.value)
    assert message in str(err.value)


def test_builder_refuses_two_rows_with_facts_for_one_district(builder, tmp_path):
    with pytest.raises(DataError, match=r"line 3, field 'ags': 09274 has facts here and in "
                                        r"part.csv, line 2"):
        build_with(builder, tmp_path, ALTDORF + ALTDORF)


def test_report_writes_the_table_between_the_markers(builder, tmp_path, seat_offices):
    data = tmp_path / "geodata"
    data.mkdir()
    shutil.copy(REPO_GEODATA / "districts.csv", data)
    rows = list(build_with(builder, tmp_path, ALTDORF).values())
    write_rows(data / "offices.csv", rows)
    start, end = README_MARKERS
    (data / "README.md").write_text(f"# Data\n{start}\nold\n{end}\nrest\n", encoding="utf-8")
    assert builder.main(["--data-dir", str(data), "--report"]) == 0
    text = (data / "README.md").read_text(encoding="utf-8")
    assert "old" not in text and text.endswith(f"{end}\nrest\n")
    assert "| Landkreis Landshut | Verwaltung | ✓ | ✓ | – | – | – | 2017-07-11 |" in text
    assert "| **96 Kreise** | KoKi 0, Jugendamt 0, Verwaltung 1 | **1** | **1** |" in text


def test_the_committed_readme_table_is_the_data_s(settings):
    rows = read_office_rows(settings.offices_file)
    text = (REPO_GEODATA / "README.md").read_text(encoding="utf-8")
    assert completeness_markdown(rows) in text, "run scripts/build_offices.py --report"


# --- staff: merge and check ---------------------------------------------------------------------

@pytest.mark.parametrize("header", [
    "Name;Straße;PLZ;Ort;Telefon;Öffnungszeiten;Kontaktebene;Quelle;Stand",
    "name;street;postcode;city;phone;opening_hours;contact_level;sources;checked_on",
])
def test_merge_keeps_the_contact_columns(tmp_path, seat_offices, locator, header):
    offices = tmp_path / "offices.csv"
    shutil.copy(seat_offices, offices)
    sheet_path = tmp_path / "review.csv"
    sheet_path.write_text(
        f"{header}\nKoKi – Netzwerk frühe Kindheit, Landkreis Coburg;Lauterer Str. 60;96450;"
        "Coburg;09561 514-0;Mo-Fr 08:00-12:00;Jugendamt;https://www.landkreis-coburg.de/ "
        "https://www.coburg.de/;14.03.2025\n", encoding="utf-8")
    sheet = read_sheet(sheet_path)
    results = geocode_records(sheet.rows, locator.gazetteer, roles=sheet.roles)
    report = merge_offices(results, sheet, locator, offices_file=offices, today="2025-03-20")
    (_, after), = report.moved
    assert (after["opening_hours"], after["contact_level"], after["checked_on"]) == (
        "Mo-Fr 08:00-12:00", "jugendamt", "2025-03-14")
    assert after["sources"] == "https://www.landkreis-coburg.de/;https://www.coburg.de/"
    # A later review at the same address brings a new phone: the office is updated, not doubled.
    sheet_path.write_text(sheet_path.read_text(encoding="utf-8").replace("514-0", "514-1234"),
                          encoding="utf-8")
    sheet = read_sheet(sheet_path)
    results = geocode_records(sheet.rows, locator.gazetteer, roles=sheet.roles)
    again = merge_offices(results, sheet, locator, offices_file=offices, today="2025-03-21")
    (_, updated), = again.updated
    assert updated["phone"] == "09561 514-1234" and not again.added
    assert "Kontakt aktualisiert am 2025-03-21" in updated["provenance"]
    assert "* landkreis-coburg: phone '09561 514-1234'" in "\n".join(again.lines())


def test_merge_skips_contacts_without_a_source(tmp_path, seat_offices, locator):
    offices = tmp_path / "offices.csv"
    shutil.copy(seat_offices, offices)
    sheet_path = tmp_path / "ohne.csv"
    sheet_path.write_text("Name;Straße;PLZ;Ort;Telefon\nKoKi Neu;Markt 1;96450;Coburg;"
                          "09561 89-0\n", encoding="utf-8")
    sheet = read_sheet(sheet_path)
    results = geocode_records(sheet.rows, locator.gazetteer, roles=sheet.roles)
    report = merge_offices(results, sheet, locator, offices_file=offices)
    assert not report.added
    assert "sources: is empty, but street, postcode, phone must say" in report.skipped[0]


def test_check_prints_completeness_and_lists_old_facts(capsys):
    assert main(["check", "--older-than", "5"]) == 0
    out = capsys.readouterr().out
    assert "contacts     96 offices with address " in out
    assert "contact level: koki " in out and "oldest checked_on " in out
    listed = [line.split() for line in out.splitlines() if line.startswith("  20")]
    cutoff = (dt.date.today() - dt.timedelta(days=round(365.25 * 5))).isoformat()
    assert listed and all(date < cutoff for date, *_ in listed)
    assert listed == sorted(listed)
    assert main(["check", "--older-than", "0"]) == 1


def test_older_than_takes_the_years_from_today():
    offices = [{"id": "a", "checked_on": "2024-03-01"}, {"id": "b", "checked_on": "2025-03-01"},
               {"id": "c", "checked_on": None}]
    assert [o["id"] for o in older_than(offices, 1, dt.date(2025, 12, 1))] == ["a"]
    assert [o["id"] for o in older_than(offices, 0.5, dt.date(2025, 12, 1))] == ["a", "b"]
