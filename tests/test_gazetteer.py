"""The offline gazetteer as a geopy Geocoder: real German address forms over the embedded data."""

from __future__ import annotations

import time

import pytest
from geopy.exc import GeocoderServiceError
from geopy.location import Location

from locator.config import Settings
from locator.districts import load_bavarian_districts
from locator.errors import DataError
from locator.gazetteer import AddressQuery, Gazetteer, Place, Postcode, clean_postcode, parse_query
from locator.textnorm import place_key, short_place_keys, slug, split_house_number, street_key


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    settings = Settings.from_env({})
    districts = load_bavarian_districts(settings.district_names_file)
    return Gazetteer.load(settings.postcodes_file,
                          district_names={a: d.name for a, d in districts.items()})


def test_the_offline_gazetteer_cannot_make_a_request(gazetteer):
    # geopy's own adapter would build a TLS context and could reach the network; this one
    # refuses, whatever a later change to geopy's Geocoder might call.
    with pytest.raises(GeocoderServiceError, match="^the offline gazetteer makes no requests$"):
        gazetteer.adapter.get_json("https://nominatim.openstreetmap.org/search?q=96450",
                                   timeout=1, headers={})


@pytest.mark.parametrize(("query", "postcode", "place", "ags", "precision"), [
    ("Lauterer Str. 60, 96450 Coburg", "96450", "Coburg", "09463", "postcode"),
    ("Lauterer Straße 60, 96450 Coburg", "96450", "Coburg", "09463", "postcode"),
    ("lauterer  str.60 ,96450   coburg ", "96450", "Coburg", "09463", "postcode"),
    ("Lauterer Str. 60 96450 Coburg", "96450", "Coburg", "09463", "postcode"),
    ("D-96450 Coburg", "96450", "Coburg", "09463", "postcode"),
    ("Coburg, 96450", "96450", "Coburg", "09463", "postcode"),
    ("96450", "96450", "Coburg", "09463", "postcode"),
    ("96465 Neustadt b. Coburg", "96465", "Neustadt bei Coburg", "09473", "postcode"),
    ("92637 Weiden i.d.OPf.", "92637", "Weiden", "09363", "postcode"),
    ("88131 Lindau", "88131", "Lindau (Bodensee)", "09776", "postcode"),
    ("Neustadt b. Coburg", None, "Neustadt bei Coburg", "09473", "place"),
    ("Neustadt bei Coburg", None, "Neustadt bei Coburg", "09473", "place"),
    ("Weiden i.d.OPf.", None, "Weiden", "09363", "place"),
    ("Weiden in der Oberpfalz", None, "Weiden", "09363", "place"),
    ("wurzburg", None, "Würzburg", "09663", "place"),
    ("WUERZBURG", None, "Würzburg", "09663", "place"),
    ("Mühldorf a.Inn", None, "Mühldorf am Inn", "09183", "place"),
    ("Muehldorf am Inn", None, "Mühldorf am Inn", "09183", "place"),
    ("St. Englmar", None, "Sankt Englmar", "09278", "place"),
    ("Neumarkt i.d.OPf.", None, "Neumarkt in der Oberpfalz", "09373", "place"),
    ("Lindau", None, "Lindau (Bodensee)", "09776", "place"),  # Bavaria's, not Saxony-Anhalt's
    ("Hof", None, "Hof", "09464", "place"),
    ("Hof/Saale", None, "Hof", "09464", "place"),
    ("Lindau (B)", None, "Lindau (Bodensee)", "09776", "place"),
    ("Neustadt a.d.Waldnaab", None, "Neustadt an der Waldnaab", "09374", "place"),
    ("Dillingen a.d.Donau", None, "Dillingen an der Donau", "09773", "place"),
    ("Pfaffenhofen a.d.Ilm", None, "Pfaffenhofen an der Ilm", "09186", "place"),
    ("München-Schwabing", None, "München", "09162", "place"),
    ("Mering", None, "Mering", "09771", "place"),  # ends like a street ("-ring"), is a town
    ("Lauterer Str. 60, Coburg, Deutschland", None, "Coburg", "09463", "place"),
    ({"street": "Lauterer Str. 60", "postcode": "96450", "city": "Coburg"},
     "96450", "Coburg", "09463", "postcode"),
    ({"street": "Lauterer Str.", "housenumber": "60", "postalcode": "96450"},
     "96450", "Coburg", "09463", "postcode"),
    ({"city": "Regensburg"}, None, "Regensburg", "09362", "place"),
])
def test_german_address_forms(gazetteer, query, postcode, place, ags, precision):
    found = gazetteer.geocode(query)
    assert isinstance(found, Location)
    assert found.raw["postcode"] == postcode
    assert found.raw["place"] == place
    assert found.raw["district_ags"] == [ags]
    assert found.raw["precision"] == precision
    assert found.raw["source"] == "offline"
    assert found.raw["in_bavaria"] is True


def test_coordinates_are_the_postcode_point(gazetteer):
    found = gazetteer.geocode("Lauterer Str. 60, 96450 Coburg")
    assert (found.latitude, found.longitude) == pytest.approx((50.2594, 10.9638), abs=1e-4)


@pytest.mark.parametrize(("query", "unmatched"), [
    ("Lauterer Str. 60, 96450 Coburg", ["street"]),  # the offline data has no streets
    ("96450 München", ["city"]),
    ("99999 Coburg", ["postcode"]),
    ("96450 Coburg", []),
])
def test_unmatched_parts_are_reported(gazetteer, query, unmatched):
    assert gazetteer.geocode(query).raw["unmatched"] == unmatched


def test_a_city_narrows_a_shared_postcode_to_its_point(gazetteer):
    # 84032 serves Landshut (city) and Altdorf (Landkreis Landshut).
    whole = gazetteer.geocode("84032")
    altdorf = gazetteer.geocode("84032 Altdorf")
    assert whole.raw["district_ags"] == ["09261", "09274"]
    assert altdorf.raw["district_ags"] == ["09274"]
    assert altdorf.raw["precision"] == "postcode"
    assert (altdorf.latitude, altdorf.longitude) != (whole.latitude, whole.longitude)


def test_exactly_one_false_lists_every_candidate(gazetteer):
    found = gazetteer.geocode("Kirchdorf", exactly_one=False)
    assert isinstance(found, list) and len(found) > 2
    assert found[0].raw["in_bavaria"] is True
    assert len({loc.raw["district_ags"][0] for loc in found if loc.raw["in_bavaria"]}) > 1


@pytest.mark.parametrize("query", ["Atlantis", "00000", "", "   ", {"street": "Hauptstr. 1"}, {}])
def test_nothing_found_is_none(gazetteer, query):
    assert gazetteer.geocode(query) is None
    assert gazetteer.geocode(query, exactly_one=False) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("Lauterer Str. 60, 96450 Coburg", AddressQuery("Lauterer Str. 60", "96450", "Coburg")),
    ("96450 Coburg, Lauterer Str. 60", AddressQuery("Lauterer Str. 60", "96450", "Coburg")),
    ("Coburg 96450", AddressQuery("", "96450", "Coburg")),
    ("Am Markt, 96450 Coburg", AddressQuery("Am Markt", "96450", "Coburg")),
    ("Tel. 09561-89123, 96450 Coburg", AddressQuery("Tel. 09561-89123", "96450", "Coburg")),
    ("Neustadt b. Coburg", AddressQuery("", "", "Neustadt b. Coburg")),
    ("Am Markt 1, Coburg", AddressQuery("Am Markt 1", "", "Coburg")),
    ({"street": " Lauterer  Str. ", "house_number": "60", "postcode": "D-96450"},
     AddressQuery("Lauterer Str. 60", "96450", "")),
])
def test_parse_query(text, expected):
    assert parse_query(text) == expected


@pytest.mark.parametrize(("given", "expected"), [
    ("96450", "96450"), (" 96 450 ", "96450"), ("D-96450", "96450"), ("DE 96450", "96450"),
    ("9645", "9645"), ("96450 Coburg", "96450 Coburg"),
])
def test_clean_postcode(given, expected):
    assert clean_postcode(given) == expected


@pytest.mark.parametrize(("a", "b"), [
    ("Lauterer Str. 60", "Lauterer Straße 60"),
    ("Lauterer Str. 60", "lautererstrasse 60"),
    ("Hauptstr. 1", "Hauptstraße 1"),
    ("St.-Anna-Platz 2", "Sankt-Anna-Platz 2"),
])
def test_street_keys_meet(a, b):
    assert street_key(a) == street_key(b)


def test_street_keys_keep_numbers_apart():
    assert street_key("Hauptstr. 1") != street_key("Hauptstr. 11")


@pytest.mark.parametrize(("street", "expected"), [
    ("Lauterer Str. 60", ("Lauterer Str.", "60")),
    ("Lauterer Str. 60a", ("Lauterer Str.", "60a")),
    ("Bahnhofstraße 12 - 14", ("Bahnhofstraße", "12-14")),
    ("Am Markt", ("Am Markt", "")),
])
def test_split_house_number(street, expected):
    assert split_house_number(street) == expected


@pytest.mark.parametrize(("name", "keys"), [
    ("Lindau (Bodensee)", ["lindau"]),
    ("Mühldorf am Inn", ["muhldorf"]),
    ("Biburg, Gemeinde Gars am Inn", ["biburg"]),
    ("Coburg", []),
])
def test_short_place_keys(name, keys):
    assert short_place_keys(name) == keys


def test_place_keys_unify_abbreviations():
    assert place_key("Neustadt b. Coburg") == place_key("Neustadt bei Coburg")
    assert place_key("Weiden i.d.OPf.") == place_key("Weiden in der Oberpfalz")
    assert place_key("Straße") == place_key("STRASSE")


def test_slug():
    assert slug("KoKi – Netzwerk frühe Kindheit, Landkreis Mühldorf a.Inn") == (
        "koki-netzwerk-fruehe-kindheit-landkreis-muehldorf-a-inn")


def test_public_api_kept(gazetteer):
    assert isinstance(gazetteer.postcode("96450"), Postcode)
    assert all(isinstance(p, Place) for p in gazetteer.places("Coburg"))
    assert gazetteer.district_names()["09463"] == "Stadt Coburg"
    suggestions = gazetteer.suggest("Cob")
    assert suggestions and suggestions[0].name == "Coburg"
    with pytest.raises(NotImplementedError):
        gazetteer.reverse("50.26, 10.96")


@pytest.mark.parametrize("call", [
    lambda g: g.geocode("Lauterer Str. 60, 96450 Coburg"),
    lambda g: g.geocode("Neustadt b. Coburg"),
    lambda g: g.suggest("Würz"),
])
def test_request_path_stays_fast(gazetteer, call):
    call(gazetteer)
    n, runs = 1000, []
    for _ in range(5):  # best of five, in CPU time: other processes on the machine do not count
        start = time.process_time()
        for _ in range(n):
            call(gazetteer)
        runs.append((time.process_time() - start) / n * 1e6)
    assert min(runs) < 150, f"{min(runs):.0f} µs per call"  # ~20-30 µs here


def test_reverse_geocoding_is_refused_in_words(gazetteer):
    with pytest.raises(NotImplementedError,
                       match="^the offline gazetteer does not reverse-geocode$"):
        gazetteer.reverse("50.2594, 10.9638")


def test_suggestions_are_ten_unless_asked_otherwise(gazetteer):
    assert len(gazetteer.suggest("Neu")) == 10
    assert len(gazetteer.suggest("9")) == 10
    assert len(gazetteer.suggest("Neu", limit=3)) == 3


@pytest.mark.parametrize(("query", "raw"), [
    # What bulk geocoding reports from: the precision, what the query held that the data has
    # not (a street), and for a name of several places each of them with its district.
    ("Lauterer Str. 60, 96450 Coburg", {
        "precision": "postcode", "source": "offline", "postcode": "96450", "place": "Coburg",
        "district_ags": ["09463"], "district_name": "Stadt Coburg", "in_bavaria": True,
        "unmatched": ["street"], "alternatives": []}),
    ("Wörth", {
        "precision": "place", "source": "offline", "postcode": None, "place": "Wörth am Main",
        "district_ags": ["09676", "09177", "09375", "09274"],
        "district_name": "Landkreis Miltenberg", "in_bavaria": True, "unmatched": [],
        "alternatives": [
            {"place": "Wörth am Main", "district_ags": "09676", "postcode": "63939",
             "lat": 49.7972, "lon": 9.1539},
            {"place": "Wörth", "district_ags": "09177", "postcode": "85457",
             "lat": 48.2453, "lon": 11.9021},
            {"place": "Wörth an der Donau", "district_ags": "09375", "postcode": "93086",
             "lat": 49.0009, "lon": 12.4054},
            {"place": "Wörth an der Isar", "district_ags": "09274", "postcode": "84109",
             "lat": 48.623, "lon": 12.3394}]}),
])
def test_a_location_s_raw_answer_in_full(gazetteer, query, raw):
    assert gazetteer.geocode(query).raw == raw


def test_the_shipped_data_is_built_into_postcodes_and_places(settings):
    """Built in the test, not taken from a fixture: scripts/mutate runs a test against the
    mutants of the functions the test itself calls, and this one pins what loading makes."""
    districts = load_bavarian_districts(settings.district_names_file)
    built = Gazetteer.from_file(settings.postcodes_file,
                                district_names={a: d.name for a, d in districts.items()})
    assert built.counts() == {"postcodes": 8308, "places": 14517}
    assert built.headers["User-Agent"] == "koki-locator offline gazetteer"
    with pytest.raises(GeocoderServiceError, match="^the offline gazetteer makes no requests$"):
        built.adapter.get_json("https://nominatim.openstreetmap.org/search?q=96450",
                               timeout=1, headers={})
    coburg = Place("Coburg", "09463", "Stadt Coburg", "BY", 50.2594, 10.9638, ("96450",),
                   population=41901, seat="kreisfreie Stadt")
    assert built.postcode("96450") == Postcode(
        "96450", 50.2594, 10.9638, (coburg,), ((50.2594, 10.9638),), ("09463",), True,
        "96450 Coburg")
    # A postcode of two places: the one with more postcodes names it and comes first; its point
    # is the mean of the places' points there; a place's point is the mean of its postcodes'.
    landshut = Place("Landshut", "09261", "Stadt Landshut", "BY", 48.53836, 12.14578,
                     ("84028", "84030", "84032", "84034", "84036"), population=71863,
                     seat="kreisfreie Stadt")
    altdorf = Place("Altdorf", "09274", "Landkreis Landshut", "BY", 48.5559, 12.11, ("84032",),
                    population=0, seat="")
    assert built.postcode("84032") == Postcode(
        "84032", 48.5446, 12.13, (landshut, altdorf), ((48.5333, 12.15), (48.5559, 12.11)),
        ("09261", "09274"), True, "84032 Landshut u. a.")
    # Outside Bavaria: the district's name from the file, not in Bavaria.
    saalfeld = built.postcode("07318")
    assert (saalfeld.lat, saalfeld.lon, saalfeld.label, saalfeld.district_ags,
            saalfeld.in_bavaria) == (50.62007, 11.30867, "07318 Arnsgereuth u. a.", ("16073",),
                                     False)
    assert [(p.name, p.state_code, p.district_name, p.population) for p in saalfeld.places] == [
        ("Arnsgereuth", "TH", "Saalfeld-Rudolstadt", 0),
        ("Saalfeld/Saale", "TH", "Saalfeld-Rudolstadt", 28023),
        ("Wittgendorf", "TH", "Saalfeld-Rudolstadt", 216)]
    assert [e.postcode for e in built.suggest("8403")] == ["84030", "84032", "84034", "84036"]
    assert built.district_names()["09261"] == "Stadt Landshut"


def test_a_postcode_shared_across_a_state_border_names_its_bavarian_place_first(tmp_path):
    path = tmp_path / "postcodes.csv"
    path.write_text(  # Ludwigsstadt's postcode, given here also to two Thuringian villages
        "postcode,place,state,state_code,district,district_ags,lat,lon,accuracy\n"
        "96337,Ludwigsstadt,Bayern,BY,Kronach,09476,50.4869,11.3876,4\n"
        "96337,Lehesten,Thüringen,TH,Saalfeld-Rudolstadt,16073,50.4833,11.45,4\n"
        "96338,Lehesten,Thüringen,TH,Saalfeld-Rudolstadt,16073,50.48,11.44,4\n",
        encoding="utf-8")
    shared = Gazetteer.from_file(path).postcode("96337")
    assert [p.name for p in shared.places] == ["Ludwigsstadt", "Lehesten"]
    assert (shared.label, shared.district_ags, shared.in_bavaria) == (
        "96337 Ludwigsstadt u. a.", ("09476", "16073"), True)


def test_a_gazetteer_is_read_as_utf8_whatever_the_locale(tmp_path, ascii_locale):
    path = tmp_path / "postcodes.csv"
    path.write_text("postcode,place,state,state_code,district,district_ags,lat,lon,accuracy\n"
                    "96472,Rödental,Bayern,BY,Coburg,09473,50.29,11.04,4\n", encoding="utf-8")
    assert Gazetteer.from_file(path).postcode("96472").label == "96472 Rödental"


def test_an_empty_gazetteer_file_is_named(tmp_path):
    path = tmp_path / "postcodes.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(DataError) as refused:
        Gazetteer.from_file(path)
    assert str(refused.value) == (f"{path}, line 1: missing column(s): postcode, place, state, "
                                  "state_code, district, district_ags, lat, lon")


WHAT_IS_NOT_REFLECTED = [
    # What the data does not reflect adds up: a street and a town the postcode does not serve.
    ("Hauptstr. 1, 96450 Rödental", "96450 Coburg", "Coburg", ("street", "city")),
    ("Hauptstr. 1, 99999 Coburg", "Coburg", "Coburg", ("street", "postcode")),
    # Words after a known name: the longest known start, and the rest picks the district.
    ("Neustadt Landkreis Coburg", "Neustadt bei Coburg", "Neustadt bei Coburg", ()),
    ("Bad Neustadt xyz", "Bad Neustadt an der Saale", "Bad Neustadt an der Saale", ()),
    ("Neustadt a.d. Aisch Mitte", "Neustadt an der Aisch", "Neustadt an der Aisch", ()),
]


def test_what_a_query_s_answer_does_not_reflect(settings):
    # Built here, once for the table: scripts/mutate counts a test for the gazetteer code it
    # runs itself.
    districts = load_bavarian_districts(settings.district_names_file)
    built = Gazetteer.from_file(settings.postcodes_file,
                                district_names={a: d.name for a, d in districts.items()})
    answers = [(q, (m := built.match(q)[0]).label, m.place.name, m.unmatched)
               for q, *_ in WHAT_IS_NOT_REFLECTED]
    assert answers == WHAT_IS_NOT_REFLECTED


def test_a_small_file_is_built_as_written(tmp_path):
    # No seat column, a row without its district's name or key, a point to six decimals.
    path = tmp_path / "postcodes.csv"
    path.write_text("postcode,place,state,state_code,district,district_ags,lat,lon,accuracy\n"
                    "96450,Coburg,Bayern,BY,Coburg,09463,50.259401,10.963801,4\n"
                    "96450,Coburg,Bayern,BY,Coburg,09463,50.259402,10.963802,4\n"
                    "01001,Irgendwo,,,,,51.0,13.0,1\n", encoding="utf-8")
    built = Gazetteer.from_file(path)
    coburg = built.places("Coburg")[0]
    assert (coburg.lat, coburg.lon, coburg.seat, coburg.population) == (50.2594, 10.9638, "", 0)
    nowhere = built.match("01001")[0]
    assert (nowhere.place.district_name, nowhere.district_ags, nowhere.in_bavaria) == (
        "", (), False)
    assert built.match("Irgendwo")[0].district_ags == ()
