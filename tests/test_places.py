"""Places resolve like postcodes (issue 10): one ranking for q= and the suggestions, short names,
and a name shared by places in several districts answered with all of them, never one silently."""

from __future__ import annotations

import pytest

from locator.errors import DataError
from locator.gazetteer import Gazetteer
from locator.names import STANDS_OUT, Place, contenders
from locator.textnorm import short_place_keys

SEARCHES = [("/api/v1/offices/nearest", {"limit": 5}),
            ("/api/v1/offices/within", {"radius_km": 25}), ("/api/v1/responsible", {})]


def search(client, endpoint: tuple[str, dict] | str, q: str) -> tuple[dict, dict]:
    """The answer of one endpoint (path, other parameters) to q=, and its responsibility."""
    path, params = endpoint if isinstance(endpoint, tuple) else (endpoint, {})
    r = client.get(path, query_string={**params, "q": q})
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    return body, body.get("responsible", body)


def office_ids(collection: dict) -> set[str]:
    return {f["id"] for f in collection["features"]}


# --- names that clearly mean one place -------------------------------------------------------

CLEAR = [
    # q, the place, its district, the responsible office
    ("Garmisch", "Garmisch-Partenkirchen", "09180", "landkreis-garmisch-partenkirchen"),
    ("Partenkirchen", "Garmisch-Partenkirchen", "09180", "landkreis-garmisch-partenkirchen"),
    ("Tölz", "Bad Tölz", "09173", "landkreis-bad-toelz-wolfratshausen"),
    ("tolz", "Bad Tölz", "09173", "landkreis-bad-toelz-wolfratshausen"),
    ("Wunsiedel", "Wunsiedel", "09479", "landkreis-wunsiedel-i-fichtelgebirge"),
    # Neumarkt i.d.OPf. (39,557) and Neumarkt-Sankt Veit (6,231): more than 5 times as large.
    ("Neumarkt", "Neumarkt in der Oberpfalz", "09373", "landkreis-neumarkt-i-d-opf"),
    ("Rothenburg", "Rothenburg ob der Tauber", "09571", "landkreis-ansbach"),
    ("Hof", "Hof", "09464", "stadt-hof"),  # the city, not the hamlets named Hof
    ("Lindau", "Lindau (Bodensee)", "09776", "landkreis-lindau-bodensee"),  # not Saxony-Anhalt's
    ("Mühldorf", "Mühldorf am Inn", "09183", "landkreis-muehldorf-a-inn"),
    ("Pfaffenhofen a.d.Ilm", "Pfaffenhofen an der Ilm", "09186", "landkreis-pfaffenhofen-a-d-ilm"),
    ("Neustadt b. Coburg", "Neustadt bei Coburg", "09473", "landkreis-coburg"),
    ("Lisberg", "Lisberg", "09471", "landkreis-bamberg"),  # issue 9: not Landkreis Schweinfurt
]


@pytest.mark.parametrize("endpoint", SEARCHES)
@pytest.mark.parametrize(("q", "label", "ags", "office"), CLEAR)
def test_a_clear_name_resolves_to_one_place(client, endpoint, q, label, ags, office):
    body, responsible = search(client, endpoint, q)
    assert body["origin"]["resolved_by"] == "place"
    assert body["origin"]["label"] == label
    assert "alternatives" not in body["origin"]
    assert responsible["ambiguous"] is False
    assert [d["ags"] for d in responsible["districts"]] == [ags]
    assert office in office_ids(responsible["offices"])


# --- names the family must choose between ----------------------------------------------------

AMBIGUOUS = [
    # q, the alternatives' first names in order, districts that must be among them
    ("Pfaffenhofen", ["Pfaffenhofen an der Ilm", "Pfaffenhofen an der Roth",
                      "Pfaffenhofen an der Glonn"], {"09186", "09775", "09174"}),
    ("Neustadt", ["Bad Neustadt an der Saale", "Neustadt an der Aisch"],
     {"09673", "09575", "09374", "09473", "09273", "09677"}),
    ("Kirchdorf", ["Kirchdorf am Inn"], {"09277", "09178", "09276", "09183", "09273"}),
    ("Wörth", [], {"09375", "09274", "09676"}),  # a.d.Donau, a.d.Isar, am Main
]


@pytest.mark.parametrize("endpoint", SEARCHES)
@pytest.mark.parametrize(("q", "first", "districts"), AMBIGUOUS)
def test_an_ambiguous_name_lists_every_place_and_all_their_districts(client, endpoint, q, first,
                                                                     districts):
    body, responsible = search(client, endpoint, q)
    alternatives = body["origin"]["alternatives"]
    assert [a["name"] for a in alternatives[:len(first)]] == first
    assert all(a["district_ags"].startswith("09") for a in alternatives)  # Bavarian only
    # Answered as for a postcode spanning districts (84032): every candidate's district.
    in_order = list(dict.fromkeys(a["district_ags"] for a in alternatives))
    assert [d["ags"] for d in responsible["districts"]] == in_order
    assert districts <= set(in_order)
    assert responsible["ambiguous"] is True and responsible["in_bavaria"] is True
    assert {f["properties"]["district_ags"] for f in responsible["offices"]["features"]} == set(
        in_order)
    # The search itself starts at the best-ranked place.
    assert body["origin"]["label"] == alternatives[0]["name"]
    assert (body["origin"]["lat"], body["origin"]["lon"]) == pytest.approx(
        (alternatives[0]["lat"], alternatives[0]["lon"]), abs=1e-5)
    for a in alternatives:
        assert set(a) == {"label", "name", "district_ags", "district_name", "postcode", "lat",
                          "lon"}
        assert a["label"] == f"{a['postcode']} {a['name']}"


@pytest.mark.parametrize("q", ["Pfaffenhofen", "Neustadt", "Kirchdorf"])
def test_each_alternative_searched_again_is_that_place_alone(client, q):
    body, _ = search(client, "/api/v1/responsible", q)
    for alternative in body["origin"]["alternatives"]:
        again, responsible = search(client, "/api/v1/responsible", alternative["label"])
        assert "alternatives" not in again["origin"]
        assert responsible["ambiguous"] is False
        assert [d["ags"] for d in responsible["districts"]] == [alternative["district_ags"]]


def test_every_ambiguous_name_of_the_data_can_be_settled_by_its_labels(locator):
    # Not just the table above: every name with alternatives, each label back to one place.
    gazetteer = locator.gazetteer
    names = {m.place.name for pc in gazetteer.all_postcodes() for m in gazetteer.match(
        pc.places[0].name)[:1] if m.alternatives}
    assert len(names) > 100
    for name in names:
        for place in gazetteer.match(name)[0].alternatives:
            found = gazetteer.match(place.label)[0]
            assert found.district_ags == (place.district_ags,), place.label
            assert found.alternatives == ()


def test_an_ambiguous_answer_is_still_cached_nowhere(client):
    r = client.get("/api/v1/responsible?q=Pfaffenhofen")
    assert r.headers["Cache-Control"] == "no-store"


# --- one ranking for the suggestions and q= --------------------------------------------------

@pytest.mark.parametrize(("q", "first"), [
    ("Cob", "Coburg"),  # before Cobbel and Cobbelsdorf (Saxony-Anhalt)
    ("Pfaffenhofen", "Pfaffenhofen an der Ilm"),  # the Kreisstadt, before Baden-Württemberg's
    ("Tölz", "Bad Tölz"),
    ("Garmisch", "Garmisch-Partenkirchen"),
    ("Neumarkt", "Neumarkt in der Oberpfalz"),
    ("Rothenburg", "Rothenburg ob der Tauber"),
    ("Hof", "Hof"),
    ("Lindau", "Lindau (Bodensee)"),
    ("Kirchdorf", "Kirchdorf am Inn"),
])
def test_suggestions_rank_bavaria_then_standing(client, q, first):
    suggestions = client.get("/api/v1/places", query_string={"q": q}).get_json()["suggestions"]
    assert suggestions[0]["name"] == first
    bavarian = [s["in_bavaria"] for s in suggestions]
    assert bavarian == sorted(bavarian, reverse=True)  # no place outside Bavaria before one in it
    # One ranking: for a whole name, the first suggestion is where q= starts its search; a
    # mere prefix is no name (404).
    r = client.get("/api/v1/responsible", query_string={"q": q})
    if q == "Cob":
        assert r.status_code == 404
    else:
        assert r.get_json()["origin"]["label"] == first


def test_a_named_place_comes_before_longer_names_it_begins(client):
    # "Au" is a place's name; Augsburg only begins with it.
    names = [s["name"] for s in client.get("/api/v1/places?q=Au").get_json()["suggestions"]]
    assert names.index("Augsburg") > 0
    assert names[0].startswith("Au")


# --- the rule, on its edges ------------------------------------------------------------------

def place(name: str, ags: str, population: int, *, state: str = "BY", seat: str = "") -> Place:
    return Place(name, ags, "", state, 48.0, 11.0, ("80000",), population, seat)


@pytest.mark.parametrize(("places", "ambiguous"), [
    ([place("Neumarkt in der Oberpfalz", "09373", 39557, seat="Kreisstadt"),
      place("Neumarkt-Sankt Veit", "09183", 6231)], False),
    ([place("Pfaffenhofen an der Ilm", "09186", 23192, seat="Kreisstadt"),
      place("Pfaffenhofen an der Roth", "09775", 7158), place("Pfaffenhofen an der Glonn",
                                                             "09174", 0)], True),
    ([place("A", "09001", STANDS_OUT * 1000), place("B", "09002", 1000)], False),
    ([place("A", "09001", STANDS_OUT * 1000 - 1), place("B", "09002", 1000)], True),
    # Unknown population counts as 500: 2,500 stand out against it, 2,499 do not.
    ([place("A", "09001", 2500), place("B", "09002", 0)], False),
    ([place("A", "09001", 2499), place("B", "09002", 0)], True),
    # Two places of one district: one responsibility, nothing to choose.
    ([place("A", "09001", 100), place("B", "09001", 100)], False),
    # Places outside Bavaria do not compete with a Bavarian one.
    ([place("Lindau (Bodensee)", "09776", 24518),
      place("Lindau", "15086", 100000, state="ST")], False),
    ([place("A", "15086", 1000, state="ST"), place("B", "03251", 1000, state="NI")], True),
])
def test_a_place_stands_out_by_five_times_the_population(places, ambiguous):
    assert bool(contenders(places)) is ambiguous


@pytest.mark.parametrize(("name", "keys"), [
    ("Bad Tölz", ["tolz"]),
    ("Garmisch-Partenkirchen", ["garmisch", "partenkirchen"]),
    ("Rothenburg ob der Tauber", ["rothenburg"]),
    ("Neunburg vorm Wald", ["neunburg"]),
    ("Bad Neustadt an der Saale", ["bad neustadt", "neustadt a d saale", "neustadt"]),
    ("Neumarkt-Sankt Veit", ["neumarkt", "sankt veit"]),
])
def test_everyday_short_forms(name, keys):
    assert short_place_keys(name) == keys


# --- the standing in the data ----------------------------------------------------------------

HEADER = "postcode,place,state,state_code,district,district_ags,lat,lon,accuracy"


@pytest.mark.parametrize(("standing", "field", "message"), [
    (",12a,", "population", "not a population: '12a'"),
    (",-5,", "population", "not a population: '-5'"),
    (",1000,Hauptstadt", "seat",
     "seat must be one of '', 'kreisfreie Stadt', 'Kreisstadt', not 'Hauptstadt'"),
])
def test_bad_standing_in_the_gazetteer_names_line_and_field(tmp_path, standing, field, message):
    path = tmp_path / "postcodes.csv"
    path.write_text(f"{HEADER},population,seat\n"
                    "96450,Coburg,Bayern,BY,Coburg,09463,50.2594,10.9638,4,41000,"
                    "kreisfreie Stadt\n"
                    f"96472,Rödental,Bayern,BY,Coburg,09473,50.29,11.04,4{standing}\n",
                    encoding="utf-8")
    with pytest.raises(DataError) as refused:
        Gazetteer.from_file(path)
    assert str(refused.value) == f"{path}, line 3, field '{field}': {message}"


def test_a_gazetteer_without_standing_still_loads_and_ranks_by_name(tmp_path):
    path = tmp_path / "postcodes.csv"
    path.write_text(f"{HEADER}\n96465,Neustadt bei Coburg,Bayern,BY,Coburg,09473,50.32,11.12,4\n"
                    "91413,Neustadt an der Aisch,Bayern,BY,Neustadt,09575,49.58,10.61,4\n",
                    encoding="utf-8")
    found = Gazetteer.from_file(path).match("Neustadt")[0]
    assert [p.name for p in found.alternatives] == ["Neustadt an der Aisch",
                                                    "Neustadt bei Coburg"]


def test_the_committed_data_knows_every_seat_and_its_population(locator):
    places = {(p.name, p.district_ags): p for pc in locator.gazetteer.all_postcodes()
              for p in pc.places}
    seats = [p for p in places.values() if p.seat]
    assert len(seats) == 79  # 96 districts; 17 Landkreise are run from their city
    assert all(p.population > 0 for p in seats)
    assert places[("Pfaffenhofen an der Ilm", "09186")].seat == "Kreisstadt"
    assert places[("Regensburg", "09362")].seat == "kreisfreie Stadt"  # also Landkreis' seat


def test_load_reuses_the_last_gazetteer_only_for_the_same_bytes_and_names(tmp_path):
    path = tmp_path / "postcodes.csv"
    coburg = "96450,Coburg,Bayern,BY,Coburg,09463,50.2594,10.9638,4\n"
    path.write_text(f"{HEADER}\n{coburg}", encoding="utf-8")
    names = {"09463": "Coburg"}
    first = Gazetteer.load(path, district_names=names)
    assert Gazetteer.load(path, district_names=dict(names)) is first
    # Other district names: other labels, so a gazetteer of its own.
    renamed = Gazetteer.load(path, district_names={"09463": "Stadt Coburg"})
    assert renamed is not first
    assert renamed.postcode("96450").places[0].district_name == "Stadt Coburg"
    # The same path with other bytes (a rebuilt file) is loaded anew, not served from memory.
    path.write_text(f"{HEADER}\n{coburg}96472,Rödental,Bayern,BY,Coburg,09473,50.29,11.04,4\n",
                    encoding="utf-8")
    rebuilt = Gazetteer.load(path, district_names={"09463": "Stadt Coburg"})
    assert rebuilt is not renamed
    assert rebuilt.postcode("96472") is not None and renamed.postcode("96472") is None
    # A bad file is refused by name, as from_file refuses it, and a missing one too.
    path.write_text(f"{HEADER}\n96450,Coburg,Bayern,BY,Coburg,09463,95.0,10.9638,4\n",
                    encoding="utf-8")
    with pytest.raises(DataError, match=r"postcodes.csv, line 2, field 'lat'"):
        Gazetteer.load(path)
    with pytest.raises(DataError, match="gazetteer file not found"):
        Gazetteer.load(tmp_path / "nosuch.csv")


def test_a_reload_of_new_offices_keeps_the_gazetteer(seat_offices):
    from locator.config import Settings
    from locator.service import Locator

    shipped = Locator.from_settings(Settings.from_env({}))
    merged = Locator.from_settings(Settings.from_env({"LOCATOR_OFFICES_FILE": str(seat_offices)}))
    assert merged.data_version != shipped.data_version  # other offices: another version
    assert merged.gazetteer is shipped.gazetteer  # but the same postcodes, loaded once


@pytest.mark.parametrize(("text", "message"), [
    ("postcode,place,state\n96450,Coburg,Bayern\n", "line 1: missing column(s): state_code, "
     "district, district_ags, lat, lon"),
    (f"{HEADER}\n", "gazetteer file has no rows"),
    (f"{HEADER}\n96450,Coburg,Bayern,BY,Coburg,09463,50.2594\n",
     "unreadable gazetteer file: list index out of range"),
    (f"{HEADER}\n96450,Coburg,Bayern,BY,Coburg,09463,50°15',10.9638,4\n",
     "line 2, field 'lat': not a coordinate: \"50°15'\""),
    (f"{HEADER}\n96450,Coburg,Bayern,BY,Coburg,09463,50.2594,180.5,4\n",
     "line 2, field 'lon': not a coordinate: '180.5'"),
    (f"{HEADER}\n96450,Coburg,Bayern,BY,Coburg,09463,-90.5,10.9638,4\n",
     "line 2, field 'lat': not a coordinate: '-90.5'"),
    (f"{HEADER}\n9645,Coburg,Bayern,BY,Coburg,09463,50.2594,10.9638,4\n",
     "line 2, field 'postcode': not a 5-digit postcode: '9645'"),
])
def test_a_bad_gazetteer_file_is_named_with_line_and_field(tmp_path, text, message):
    path = tmp_path / "postcodes.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as refused:
        Gazetteer.from_file(path)
    where = ", " if message.startswith("line ") else ": "
    assert str(refused.value) == f"{path}{where}{message}"


def test_a_gazetteer_file_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "postcodes.csv"
    path.write_bytes(f"{HEADER}\n96472,Rödental,Bayern,BY,Coburg,09473,50.29,11.04,4\n"
                     .encode("cp1252"))
    with pytest.raises(DataError) as refused:
        Gazetteer.from_file(path)
    assert str(refused.value).startswith(f"{path}: unreadable gazetteer file: 'utf-8' codec")


def test_coordinates_on_their_bounds_are_read(tmp_path):
    path = tmp_path / "postcodes.csv"
    path.write_text(f"{HEADER}\n96450,Nordpol,Bayern,BY,Coburg,09463,90,180,4\n"
                    "96472,Südpol,Bayern,BY,Coburg,09473,-90,-180,4\n", encoding="utf-8")
    read = Gazetteer.from_file(path)
    assert (read.postcode("96450").lat, read.postcode("96450").lon) == (90.0, 180.0)
    assert (read.postcode("96472").lat, read.postcode("96472").lon) == (-90.0, -180.0)
