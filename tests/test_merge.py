"""Merging staff records into the office data, branch by branch: what a record at a known
address may update, what is refused and why, and that a refused merge writes nothing."""

from __future__ import annotations

import csv
import fcntl
import io
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from locator import merge
from locator.bulk import geocode_records
from locator.errors import DataError
from locator.merge import merge_offices
from locator.offices import read_offices
from locator.sheets import Sheet, detect_roles, read_sheet

SOURCE = "https://www.coburg.de/"
HEADER = "Name;Straße;PLZ;Ort;Telefon;Website;Landkreis;Quelle;Stand\n"


@pytest.fixture
def offices(tmp_path, seat_offices) -> Path:
    path = tmp_path / "data" / "offices.csv"
    path.parent.mkdir()
    shutil.copy(seat_offices, path)
    return path


def merge_text(tmp_path: Path, offices: Path, locator, records: str, *, today="2025-01-31",
               name="neu.csv", dry_run=False):
    source = tmp_path / name
    source.write_text(HEADER + records, encoding="utf-8")
    sheet = read_sheet(source)
    results = geocode_records(sheet.rows, locator.gazetteer, roles=sheet.roles,
                              problems=sheet.problems)
    return merge_offices(results, sheet, locator, offices_file=offices, today=today,
                         dry_run=dry_run)


def row(name, street="", postcode="", city="", phone="", website="", district="",
        checked="2025-01-31") -> str:
    return f"{name};{street};{postcode};{city};{phone};{website};{district};{SOURCE};{checked}\n"


TEST_OFFICE = row("KoKi Test", "Lauterer Str. 60", "96450", "Coburg", "09561 89-0",
                  "www.coburg.de")


def office_rows(path: Path) -> dict[str, dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return {r["id"]: r for r in csv.DictReader(fh)}


def test_an_address_without_its_scheme_becomes_https_and_http_is_refused(tmp_path, offices,
                                                                         locator):
    report = merge_text(tmp_path, offices, locator, TEST_OFFICE + row(
        "KoKi Web", postcode="96450", city="Coburg", website="http://www.coburg.de"))
    (added,) = report.added
    assert (added["id"], added["website"]) == ("koki-test", "https://www.coburg.de")
    assert report.skipped == [
        "line 3 (KoKi Web): website: 'http://www.coburg.de' is not an https:// address"]
    assert report.lines()[1] == ("  + koki-test: KoKi Test (09463, Lauterer Str. 60, "
                                 "96450 Coburg, postcode)")


def test_a_record_at_a_known_address_updates_its_facts(tmp_path, offices, locator):
    merge_text(tmp_path, offices, locator, TEST_OFFICE)
    before = office_rows(offices)["koki-test"]
    report = merge_text(tmp_path, offices, locator, row(
        "KoKi Test", "Lauterer Str. 60", "96450", "Coburg", "09561 89-2525",
        checked="2025-02-01"), today="2025-02-01", name="review.csv")
    ((old, new),) = report.updated
    assert old == before
    assert (new["phone"], new["checked_on"], new["website"]) == (
        "09561 89-2525", "2025-02-01", "https://www.coburg.de")
    assert new["provenance"] == (before["provenance"].rstrip(". ")
                                 + ". Kontakt aktualisiert am 2025-02-01 (review.csv, Zeile 2)")
    assert report.lines() == [
        f"merge into {offices}: 0 added, 0 moved, 1 updated, 0 duplicate(s), 0 skipped — "
        "written; previous version in offices.csv.bak",
        "  * koki-test: phone '09561 89-2525', checked_on '2025-02-01'"]
    assert office_rows(offices)["koki-test"] == new


def test_a_bad_fact_for_a_known_address_is_skipped_and_nothing_written(tmp_path, offices,
                                                                       locator):
    merge_text(tmp_path, offices, locator, TEST_OFFICE)
    written = offices.read_bytes()
    report = merge_text(tmp_path, offices, locator, row(
        "KoKi Test", "Lauterer Str. 60", "96450", "Coburg", "1234", checked="2025-02-01"))
    assert report.skipped == ["line 2 (KoKi Test): phone: '1234' is not a phone number "
                              "(German, with its area code)"]
    assert not report.changed and not report.written
    assert offices.read_bytes() == written


def test_a_less_precise_record_does_not_move_an_office(tmp_path, offices, locator):
    merge_text(tmp_path, offices, locator, TEST_OFFICE)
    report = merge_text(tmp_path, offices, locator, row("KoKi Test", city="Rödental"))
    assert report.skipped == [
        "line 2 (KoKi Test): koki-test is located more precisely already (postcode)"]
    # As precise, elsewhere: a move.
    moved = merge_text(tmp_path, offices, locator, row("KoKi Test", postcode="96472",
                                                      city="Rödental"))
    ((old, new),) = moved.moved
    assert (old["postcode"], new["postcode"], new["city"]) == ("96450", "96472", "Rödental")
    assert (new["street"], new["district_ags"]) == ("", "09463")  # the old street is gone


def test_a_point_outside_bavaria_is_refused_whatever_district_the_sheet_names(tmp_path, offices,
                                                                             locator):
    report = merge_text(tmp_path, offices, locator, row(
        "KoKi Sonneberg", postcode="96515", city="Sonneberg", district="Landkreis Coburg"))
    assert report.skipped == ["line 2 (KoKi Sonneberg): (50.3592, 11.1746) is not inside Bavaria"]


def test_office_data_that_would_not_load_stops_the_merge_and_nothing_is_written(
        tmp_path, offices, locator):
    rows = list(office_rows(offices).values())
    rows[4]["lat"] = "47,9"  # a decimal comma, typed by hand since the last load
    with offices.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    broken = offices.read_bytes()
    with pytest.raises(DataError) as refused:
        merge_text(tmp_path, offices, locator, TEST_OFFICE)
    assert str(refused.value) == (
        f"{offices}: the merged office data would not load, nothing was written: "
        "line 6, field 'lat': '47,9' is not a number")
    assert refused.value.path == offices
    assert offices.read_bytes() == broken
    assert not offices.with_name("offices.csv.bak").exists()


def test_a_missing_or_unreadable_office_file_is_named(tmp_path, offices, locator):
    missing = offices.with_name("nosuch.csv")
    with pytest.raises(DataError) as refused:
        merge_text(tmp_path, missing, locator, TEST_OFFICE)
    assert str(refused.value) == f"{missing}: office file not found"
    offices.write_bytes(offices.read_bytes().replace("frühe".encode(), "frühe".encode("cp1252")))
    with pytest.raises(DataError) as refused:
        merge_text(tmp_path, offices, locator, TEST_OFFICE)
    assert str(refused.value).startswith(f"{offices}: unreadable office file: 'utf-8' codec")


def test_a_merge_waits_for_another_and_gives_up_after_the_timeout(tmp_path, offices, locator,
                                                                  monkeypatch):
    held = os.open(offices.parent, os.O_RDONLY)
    fcntl.flock(held, fcntl.LOCK_EX)
    monkeypatch.setattr(merge, "_LOCK_TIMEOUT_S", 0.3)
    try:
        started = time.monotonic()
        with pytest.raises(DataError) as refused:
            merge_text(tmp_path, offices, locator, TEST_OFFICE)
        assert time.monotonic() - started >= 0.3
        assert str(refused.value) == (f"{offices.parent}: another merge holds the office data; "
                                      "try again when it has finished")
        # Released while the next merge waits: it goes ahead.
        monkeypatch.setattr(merge, "_LOCK_TIMEOUT_S", 10.0)
        threading.Timer(0.3, os.close, args=(held,)).start()
        held = None
        assert merge_text(tmp_path, offices, locator, TEST_OFFICE).written
    finally:
        if held is not None:
            os.close(held)
    assert "koki-test" in read_offices(offices, locator.districts).index


def test_an_office_already_outside_bavaria_stops_the_merge(tmp_path, offices, locator):
    rows = list(office_rows(offices).values())
    rows[7].update(lat="50.3592", lon="11.1746")  # Sonneberg, Thuringia: inside the bbox
    with offices.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(DataError) as refused:
        merge_text(tmp_path, offices, locator, TEST_OFFICE)
    assert str(refused.value) == (
        f"{offices}: the merged office data would not load, nothing was written: "
        "line 9, field 'lat': (50.3592, 11.1746) is not inside Bavaria")


def test_temporary_files_of_a_killed_merge_are_removed_once_stale(tmp_path, offices, locator):
    stale = offices.with_name(".offices.csv.0a1b2c.tmp")
    fresh = offices.with_name(".offices.csv.3d4e5f.tmp")  # maybe another writer's, right now
    other = offices.with_name(".districts.csv.0a1b2c.tmp")
    for path in (stale, fresh, other):
        path.write_text("id,name\n", encoding="utf-8")
    an_hour_ago = time.time() - 3600
    for path in (stale, other):
        os.utime(path, (an_hour_ago, an_hour_ago))
    os.utime(fresh, (time.time() - 50, time.time() - 50))
    merge_text(tmp_path, offices, locator, TEST_OFFICE, dry_run=True)
    assert not stale.exists()
    assert fresh.exists() and other.exists()


class CountingFile(io.StringIO):
    """A text file that counts its flushes: the hook flushes each row so a killed merge can be
    caught mid-write."""

    flushes = 0

    def flush(self):
        self.flushes += 1
        super().flush()


@pytest.mark.parametrize(("hook", "flushes"), [(None, 0), ("", 0), ("0.05", 3)])
def test_the_row_delay_hook_flushes_and_waits_after_each_row(monkeypatch, hook, flushes):
    # The hook lets tests/test_bulk.py kill a merge mid-write; unset, a write neither waits nor
    # flushes, and either way the same text results.
    if hook is None:
        monkeypatch.delenv(merge.TEST_ROW_DELAY_ENV, raising=False)
    else:
        monkeypatch.setenv(merge.TEST_ROW_DELAY_ENV, hook)
    rows = [{"id": f"koki-{i}", "name": f"KoKi {i}"} for i in range(3)]
    out = CountingFile()
    started = time.monotonic()
    merge._write_offices(out, ["id", "name"], rows)
    assert out.flushes == flushes
    assert (time.monotonic() - started >= 0.15) == bool(flushes)
    assert out.getvalue() == "id,name\nkoki-0,KoKi 0\nkoki-1,KoKi 1\nkoki-2,KoKi 2\n"
    # An explicit delay wins over the hook (the merge's own check passes 0.0).
    out = CountingFile()
    merge._write_offices(out, ["id", "name"], rows, delay_s=0.0)
    assert out.flushes == 0
def test_a_merge_under_a_c_locale_reads_and_writes_utf8(tmp_path, offices, locator,
                                                       ascii_locale):
    report = merge_text(tmp_path, offices, locator, row(
        "KoKi Außenstelle Rödental", "Bürgerplatz 1", "96472", "Rödental"))
    assert [r["id"] for r in report.added] == ["koki-aussenstelle-roedental"]
    assert office_rows(offices)["koki-aussenstelle-roedental"]["street"] == "Bürgerplatz 1"


@pytest.mark.parametrize(("notes", "joined"), [
    (("Recherche: Umzug 2017.", "Kontakt aktualisiert"), "Recherche: Umzug 2017. Kontakt "
                                                          "aktualisiert"),
    (("Stand 2025. ", "", "Quelle: Amt X"), "Stand 2025. Quelle: Amt X"),
    ((". Zeile 2", "neu"), ". Zeile 2. neu"),
])
def test_notes_are_joined_as_sentences(notes, joined):
    assert merge._join_notes(*notes) == joined


def test_a_report_without_changes_says_nothing_was_written_and_why(tmp_path, offices, locator):
    merge_text(tmp_path, offices, locator, TEST_OFFICE)
    again = merge_text(tmp_path, offices, locator, TEST_OFFICE)
    assert again.lines() == [
        f"merge into {offices}: 0 added, 0 moved, 0 updated, 1 duplicate(s), 0 skipped — "
        "nothing written", "  = line 2 (KoKi Test): already in the office data as koki-test"]
    dry = merge_text(tmp_path, offices, locator, row("KoKi Neu", postcode="96472",
                                                    city="Rödental"), dry_run=True)
    assert dry.lines()[0].endswith("1 added, 0 moved, 0 updated, 0 duplicate(s), 0 skipped — "
                                   "nothing written (dry run)")


def test_an_office_without_an_address_is_shown_as_a_question_mark(tmp_path):
    report = merge.MergeReport(tmp_path / "offices.csv", added=[{
        "id": "koki-x", "name": "KoKi X", "district_ags": "09473", "street": "",
        "postcode": "", "city": "", "location_precision": "place"}])
    assert report.lines()[1] == "  + koki-x: KoKi X (09473, ?, place)"


@pytest.mark.parametrize(("first", "then"), [
    # Each part of the address alone makes it another place: the office moves there.
    (row("KoKi Test", "Hauptstr. 1", "96450", "Coburg"),
     row("KoKi Test", "Markt 2", "96450", "Coburg")),
    (row("KoKi Test", "Hauptstr. 1", "96450", "Coburg"),
     row("KoKi Test", "Hauptstr. 1", "96472", "Coburg")),
    (row("KoKi Test", "Sonnenring 14", "84032", "Landshut", district="Landkreis Landshut"),
     row("KoKi Test", "Sonnenring 14", "84032", "Altdorf", district="Landkreis Landshut")),
])
def test_a_known_office_moves_when_any_part_of_its_address_changes(tmp_path, offices, locator,
                                                                   first, then):
    merge_text(tmp_path, offices, locator, first)
    report = merge_text(tmp_path, offices, locator, then)
    assert not report.duplicates and not report.updated
    ((old, new),) = report.moved
    assert old["id"] == new["id"] == "koki-test"
    assert [new[k] for k in ("street", "postcode", "city")] == then.split(";")[1:4]


def test_a_record_without_a_name_is_skipped_and_the_next_one_merged(tmp_path, offices, locator):
    report = merge_text(tmp_path, offices, locator, row("", "Markt 1", "96450", "Coburg")
                        + TEST_OFFICE)
    assert report.skipped == ["line 2: no name, so no office"]
    assert [r["id"] for r in report.added] == ["koki-test"]


def test_records_given_as_values_are_named_records_in_the_provenance(offices, locator):
    # The bench's and other callers' records come without a file.
    records = [{"Name": "KoKi Test", "PLZ": "96450", "Ort": "Coburg",
                "Quelle": SOURCE, "Stand": "2025-01-31"}]
    sheet = Sheet(None, list(records[0]), records, [2], detect_roles(records[0]))
    results = geocode_records(sheet.rows, locator.gazetteer, roles=sheet.roles)
    report = merge_offices(results, sheet, locator, offices_file=offices, today="2025-01-31")
    assert report.added[0]["provenance"].startswith(
        "Bulk-Geokodierung mit dem Offline-Ortsverzeichnis (GeoNames) am 2025-01-31 "
        "(records, Zeile 2); ")


def test_an_office_file_without_address_columns_takes_a_merge(tmp_path, offices, locator):
    # An office file from before addresses were kept: the merge adds the columns it needs.
    rows = list(office_rows(offices).values())
    old = [c for c in rows[0] if c not in ("street", "postcode", "city")]
    with offices.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=old, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    name = rows[10]["name"]
    report = merge_text(tmp_path, offices, locator, row(name, "Markt 1", "96450", "Coburg")
                        + TEST_OFFICE)
    ((before, after),) = report.moved
    assert (before["id"], after["street"], after["postcode"], after["city"]) == (
        rows[10]["id"], "Markt 1", "96450", "Coburg")
    assert [r["id"] for r in report.added] == ["koki-test"]
    with offices.open(encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    assert header[:len(old)] == old and header[len(old):] == ["street", "postcode", "city"]


@pytest.mark.parametrize("missing", ["street", "postcode", "city"])
def test_a_record_at_an_office_s_address_is_the_same_place_though_a_column_is_missing(
        tmp_path, offices, locator, missing):
    # A file without one of the address columns: the record, without that part too, is at
    # the same place, not a move.
    rows = list(office_rows(offices).values())
    rows[10].update(street="Markt 1", postcode="96450", city="Coburg")
    columns = [c for c in rows[0] if c != missing]
    with offices.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    parts = {"street": "Markt 1", "postcode": "96450", "city": "Coburg", missing: ""}
    report = merge_text(tmp_path, offices, locator, row(rows[10]["name"], parts["street"],
                                                        parts["postcode"], parts["city"]))
    assert not report.moved and not report.added and not report.skipped
    ((before, after),) = report.updated  # only the record's source and date are new
    assert (after["sources"], after["checked_on"]) == (SOURCE, "2025-01-31")


def test_each_record_is_merged_after_an_update_or_a_refused_one(tmp_path, offices, locator):
    merge_text(tmp_path, offices, locator, TEST_OFFICE)
    update = row("KoKi Test", "Lauterer Str. 60", "96450", "Coburg", "09561 89-2525",
                 checked="2025-02-01")
    refused = row("KoKi Test", "Lauterer Str. 60", "96450", "Coburg", "1234")
    report = merge_text(tmp_path, offices, locator, update + row(
        "KoKi Neu", postcode="96472", city="Rödental"))
    assert [len(report.updated), [r["id"] for r in report.added]] == [1, ["koki-neu"]]
    report = merge_text(tmp_path, offices, locator, refused + row(
        "KoKi Neu 2", postcode="96472", city="Rödental"))
    assert len(report.skipped) == 1 and [r["id"] for r in report.added] == ["koki-neu-2"]


@pytest.mark.parametrize(("cells", "field", "expected"), [
    ({"email": "mailto:koki@coburg.de"}, "email", "koki@coburg.de"),
    ({"checked": "2025-01-31T00:00:00"}, "checked_on", "2025-01-31"),  # a spreadsheet's date
    ({"checked": "31.01.2025"}, "checked_on", "2025-01-31"),
])
def test_spreadsheet_forms_become_the_data_s_forms(tmp_path, offices, locator, cells, field,
                                                   expected):
    header = "Name;PLZ;Ort;E-Mail;Quelle;Stand\n"
    source = tmp_path / "neu.csv"
    source.write_text(header + f"KoKi Test;96450;Coburg;{cells.get('email', '')};{SOURCE};"
                               f"{cells.get('checked', '2025-01-31')}\n", encoding="utf-8")
    sheet = read_sheet(source)
    results = geocode_records(sheet.rows, locator.gazetteer, roles=sheet.roles)
    report = merge_offices(results, sheet, locator, offices_file=offices, today="2025-02-01")
    assert report.added[0][field] == expected


@pytest.mark.parametrize(("cells", "skipped"), [
    # Not a date, and kept whole in the message: only a date with a time is cut to the date.
    (row("KoKi Test", postcode="96450", city="Coburg", checked="im Januar 2025 geprüft"),
     "checked_on: 'im Januar 2025 geprüft' is not an ISO date (YYYY-MM-DD)"),
    # An address with a space is no address to complete with https://.
    (row("KoKi Test", postcode="96450", city="Coburg", website="www.landkreis coburg.de"),
     "website: 'www.landkreis coburg.de' is not an https:// address"),
    (row("KoKi Test", postcode="96450", city="Coburg", phone="Tel: 1234"),
     "phone: 'Tel: 1234' is not a phone number (German, with its area code)"),
])
def test_a_refused_record_is_named_with_its_field_and_the_whole_value(tmp_path, offices,
                                                                     locator, cells, skipped):
    report = merge_text(tmp_path, offices, locator, cells)
    assert report.skipped == [f"line 2 (KoKi Test): {skipped}"]


def test_an_office_row_with_more_fields_than_columns_is_not_updated(tmp_path, offices, locator):
    merge_text(tmp_path, offices, locator, TEST_OFFICE)
    lines = offices.read_text(encoding="utf-8").splitlines(keepends=True)
    last = lines[-1].rstrip("\n") + ",Notiz ohne Spalte\n"  # koki-test, merged last
    offices.write_text("".join(lines[:-1]) + last, encoding="utf-8")
    report = merge_text(tmp_path, offices, locator, row(
        "KoKi Test", "Lauterer Str. 60", "96450", "Coburg", "09561 89-2525"))
    assert report.skipped == ["line 2 (KoKi Test): more fields than columns"]


def test_the_office_file_keeps_its_order_of_columns(tmp_path, offices, locator):
    rows = list(office_rows(offices).values())
    columns = list(reversed(rows[0]))  # as a spreadsheet may have saved it
    with offices.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    merge_text(tmp_path, offices, locator, TEST_OFFICE)
    with offices.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        merged = list(reader)
    assert reader.fieldnames == columns
    assert merged[:-1] == rows and merged[-1]["id"] == "koki-test"


def test_a_merge_leaves_the_other_rows_byte_for_byte(tmp_path, offices, locator):
    # A line break inside a cell (a spreadsheet writes CRLF) is data: a merge that adds an
    # office must not rewrite it.
    rows = list(office_rows(offices).values())
    rows[3]["provenance"] = "Stand 2025.\r\nQuelle: Landratsamt"
    with offices.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    before = offices.read_bytes()
    merge_text(tmp_path, offices, locator, TEST_OFFICE)
    after = offices.read_bytes()
    assert after.startswith(before)
    assert after[len(before):].decode("utf-8").startswith("koki-test,KoKi Test,09463,")


def test_records_after_a_skipped_one_are_still_merged(tmp_path, offices, locator):
    merge_text(tmp_path, offices, locator, TEST_OFFICE)
    report = merge_text(tmp_path, offices, locator, (
        row("KoKi Test", city="Rödental")  # less precise than the office: skipped
        + row("KoKi Zwei", postcode="96472", city="Rödental")
        + row("KoKi Zwei", "Markt 1", "96450", "Coburg")  # same name, another place: skipped
        + row("KoKi Drei", postcode="96465", city="Neustadt bei Coburg")))
    assert [r["id"] for r in report.added] == ["koki-zwei", "koki-drei"]
    assert len(report.skipped) == 2


@pytest.mark.parametrize(("name", "office_id"), [
    ("€", "koki"),  # no letter to make an id of
    ("Landkreis Coburg", "landkreis-coburg-2"),  # the district office has that id already
])
def test_a_new_office_gets_an_id_of_its_own(tmp_path, offices, locator, name, office_id):
    report = merge_text(tmp_path, offices, locator, row(name, postcode="96472",
                                                        city="Rödental"))
    assert [r["id"] for r in report.added] == [office_id]


def test_a_move_takes_the_district_the_record_names_or_keeps_its_own(tmp_path, offices, locator):
    merge_text(tmp_path, offices, locator, TEST_OFFICE)  # 09463, Stadt Coburg
    moved = merge_text(tmp_path, offices, locator, row("KoKi Test", postcode="96472",
                                                      city="Rödental"))
    assert moved.moved[0][1]["district_ags"] == "09463"  # it moved, it serves the same
    named = merge_text(tmp_path, offices, locator, row(
        "KoKi Test", postcode="96465", city="Neustadt bei Coburg", district="Landkreis Coburg"))
    assert named.moved[0][1]["district_ags"] == "09473"


def test_a_move_clears_the_street_and_postcode_the_new_address_lacks(tmp_path, offices,
                                                                   locator):
    rows = list(office_rows(offices).values())
    rows[10].update(name="KoKi Test", street="Markt 1", postcode="96450", city="Coburg")
    with offices.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    report = merge_text(tmp_path, offices, locator, row("KoKi Test", city="Rödental"))
    ((before, after),) = report.moved
    assert (after["street"], after["postcode"], after["city"]) == ("", "", "Rödental")


def test_an_update_of_an_office_without_provenance_starts_one(tmp_path, offices, locator):
    merge_text(tmp_path, offices, locator, TEST_OFFICE)
    rows = list(office_rows(offices).values())
    columns = [c for c in rows[0] if c != "provenance"]
    with offices.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore",
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    report = merge_text(tmp_path, offices, locator, row(
        "KoKi Test", "Lauterer Str. 60", "96450", "Coburg", "09561 89-2525"),
        today="2025-02-01", name="review.csv")
    assert report.updated[0][1]["provenance"] == (
        "Kontakt aktualisiert am 2025-02-01 (review.csv, Zeile 2)")


@pytest.mark.parametrize(("text", "location", "answer"), [
    # Five letters are a name, not a district key.
    ("Fürth", ["09563"], ("09563", None)),
    ("Fürth", ["09573"], ("09573", None)),
    ("", ["09261", "09274"], ("", "the location lies in 2 districts (09261, 09274): add a "
                                  "Landkreis/Jugendamt column")),
    ("Fürth", ["09162"], ("", "'Fürth' may be 09563 or 09573: write 'Stadt …' or "
                              "'Landkreis …'")),
])
def test_the_district_a_record_names_in_full(locator, text, location, answer):
    assert merge._office_district(text, location, locator) == answer
