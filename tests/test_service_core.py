"""The Locator's answers pinned to the metre and its errors to the word: origins, distances,
radius edges, bounds, data versions. Written against mutation testing (scripts/mutate): each
table holds the real places and boundaries at which a plausible bug would change an answer."""

from __future__ import annotations

import math
import shutil

import pytest
from pyproj import Geod, Transformer

from locator.config import REPO_GEODATA, Settings
from locator.errors import InvalidParameter, NotFound
from locator.service import MAX_LIMIT, MAX_RADIUS_KM, Hit, Locator, check_point

# Independent of locator.crs: the same EPSG codes, a Transformer of the test's own.
_TO_UTM = Transformer.from_crs("EPSG:4326", "EPSG:25832", always_xy=True)
_GEOD = Geod(ellps="GRS80")


def planar_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    (x1, x2), (y1, y2) = _TO_UTM.transform([lon1, lon2], [lat1, lat2])
    return math.hypot(x2 - x1, y2 - y1)


def geodesic_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return _GEOD.inv(lon1, lat1, lon2, lat2)[2] / 1000.0


# Pinned to the offices at their districts' seats (the builder without research), so that new
# research does not move the distances below.
@pytest.fixture(scope="module")
def locator(seat_offices) -> Locator:
    return Locator.from_settings(Settings.from_env({}, offices_file=str(seat_offices)))


def office_point(locator: Locator, office_id: str) -> tuple[float, float]:
    row = locator.office(office_id)
    return float(row["lat"]), float(row["lon"])


# --- origins ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("lat", "lon"), [
    (50.2580, 10.9645),   # Coburg, Marktplatz
    (49.0195, 12.0975),   # Regensburg, Dom
    (48.5747, 13.4650),   # Passau, Dom
    (47.5459, 9.6840),    # Lindau, Insel
    (50.3135, 11.9128),   # Hof
    (47.8095, 13.0550),   # Salzburg: answered too, outside Bavaria
])
def test_coordinates_origin(locator, lat, lon):
    origin = locator.locate(lat=lat, lon=lon)
    assert (origin.lat, origin.lon) == (lat, lon)
    assert origin.resolved_by == "coordinates"
    assert origin.precision == "coordinates"
    assert origin.label is None and origin.postcode is None
    x, y = _TO_UTM.transform(lon, lat)
    assert (origin.x, origin.y) == (pytest.approx(x, abs=1e-3), pytest.approx(y, abs=1e-3))
    assert origin.responsibility is locator.responsible_at(lat, lon)


@pytest.mark.parametrize(("given", "postcode", "lat", "lon", "label", "ags"), [
    ("96450", "96450", 50.2594, 10.9638, "96450 Coburg", ("09463",)),
    (" 96472 ", "96472", 50.2952, 11.0412, "96472 Rödental", ("09473",)),
    ("93047", "93047", 49.0168, 12.0954, "93047 Regensburg", ("09362",)),
    ("94032", "94032", 48.5732, 13.4506, "94032 Passau", ("09262",)),
    ("88131", "88131", 47.5584, 9.6876, "88131 Bodolz u. a.", ("09776",)),
    ("95028", "95028", 50.3209, 11.9172, "95028 Hof", ("09464",)),
    ("84032", "84032", 48.5446, 12.13, "84032 Landshut u. a.", ("09261", "09274")),
])
def test_postcode_origin_by_postcode_and_by_q(locator, given, postcode, lat, lon, label, ags):
    for origin in (locator.locate(postcode=given), locator.locate(q=given)):
        assert origin.resolved_by == "postcode"
        assert origin.precision == "postcode"
        assert origin.postcode == postcode
        assert origin.label == label
        assert (origin.lat, origin.lon) == (pytest.approx(lat), pytest.approx(lon))
        x, y = _TO_UTM.transform(lon, lat)
        assert (origin.x, origin.y) == (pytest.approx(x, abs=1e-3), pytest.approx(y, abs=1e-3))
        assert tuple(a for a, _ in origin.responsibility.districts) == ags


@pytest.mark.parametrize(("q", "resolved_by", "label", "postcode", "lat", "lon", "ags"), [
    ("Regensburg", "place", "Regensburg", None, 49.01781, 12.09889, "09362"),
    ("Passau", "place", "Passau", None, 48.57717, 13.41997, "09262"),
    ("Hof", "place", "Hof", None, 50.31117, 11.90787, "09464"),
    ("Lindau (Bodensee)", "place", "Lindau (Bodensee)", None, 47.5501, 9.7085, "09776"),
    ("Neustadt   bei  Coburg", "place", "Neustadt bei Coburg", None, 50.3298, 11.1206, "09473"),
    ("Coburg 96450", "postcode", "96450 Coburg", "96450", 50.2594, 10.9638, "09463"),
])
def test_place_origin(locator, q, resolved_by, label, postcode, lat, lon, ags):
    origin = locator.locate(q=q)
    assert origin.resolved_by == resolved_by
    assert origin.precision == resolved_by
    assert origin.label == label
    assert origin.postcode == postcode
    assert (origin.lat, origin.lon) == (pytest.approx(lat), pytest.approx(lon))
    x, y = _TO_UTM.transform(lon, lat)
    assert (origin.x, origin.y) == (pytest.approx(x, abs=1e-3), pytest.approx(y, abs=1e-3))
    assert [a for a, _ in origin.responsibility.districts] == [ags]


def test_q_of_200_characters_is_searched_and_201_refused(locator):
    with pytest.raises(NotFound):
        locator.locate(q="x" * 200)
    with pytest.raises(InvalidParameter, match="q is longer than 200 characters"):
        locator.locate(q="x" * 201)
    # Runs of whitespace count once.
    with pytest.raises(NotFound):
        locator.locate(q="x " * 100 + "    ")


ERRORS = [
    # (locate() arguments, error, parameter, detail)
    ({}, InvalidParameter, "lat", "give an origin: lat and lon, postcode, or q"),
    ({"postcode": "96450", "q": "Coburg"}, InvalidParameter, "postcode",
     "give only one origin, not postcode and q"),
    ({"lat": 50.258, "lon": 10.9645, "q": "Coburg"}, InvalidParameter, "lat/lon",
     "give only one origin, not lat/lon and q"),
    ({"lon": 10.9645, "postcode": "96450"}, InvalidParameter, "lat/lon",
     "give only one origin, not lat/lon and postcode"),
    ({"lat": 50.258, "postcode": "96450", "q": "Coburg"}, InvalidParameter, "lat/lon",
     "give only one origin, not lat/lon and postcode and q"),
    ({"lat": 50.258}, InvalidParameter, "lon", "lon is missing (give lat and lon together)"),
    ({"lon": 10.9645}, InvalidParameter, "lat", "lat is missing (give lat and lon together)"),
    ({"postcode": "9645"}, InvalidParameter, "postcode", "postcode must be 5 digits, got '9645'"),
    ({"postcode": "96450x"}, InvalidParameter, "postcode",
     "postcode must be 5 digits, got '96450x'"),
    ({"postcode": "00000"}, NotFound, "postcode", "postcode 00000 is not in the gazetteer"),
    ({"q": "00000"}, NotFound, "postcode", "postcode 00000 is not in the gazetteer"),
    ({"q": ""}, InvalidParameter, "q", "q is empty"),
    ({"q": " \t "}, InvalidParameter, "q", "q is empty"),
    ({"q": "x" * 201}, InvalidParameter, "q", "q is longer than 200 characters"),
    ({"q": "Atlantis"}, NotFound, "q", "no postcode or place matches q='Atlantis'"),
    ({"q": "  Atlantis   am  Meer "}, NotFound, "q",
     "no postcode or place matches q='Atlantis am Meer'"),
]


@pytest.mark.parametrize(("kwargs", "error", "parameter", "detail"), ERRORS)
def test_origin_errors_name_the_parameter(locator, kwargs, error, parameter, detail):
    with pytest.raises(error) as caught:
        locator.locate(**kwargs)
    assert type(caught.value) is error
    assert caught.value.parameter == parameter
    assert caught.value.detail == detail


def test_unknown_office_names_the_id(locator):
    with pytest.raises(NotFound) as caught:
        locator.office("landkreis-atlantis")
    assert caught.value.parameter == "id"
    assert caught.value.detail == "no office with id 'landkreis-atlantis'"
    assert locator.office("stadt-passau")["district_ags"] == "09262"


# --- latitude and longitude bounds --------------------------------------------------------------

@pytest.mark.parametrize(("lat", "lon"), [
    (90.0, 180.0), (-90.0, -180.0), (90.0, -180.0), (-90.0, 180.0), (0.0, 0.0),
    (90, 180), (-90, -180), (49, 11), (89.999999, 179.999999),
])
def test_points_on_the_bounds_are_accepted(lat, lon):
    assert check_point(lat, lon) == (float(lat), float(lon))
    assert all(type(v) is float for v in check_point(lat, lon))


@pytest.mark.parametrize(("lat", "lon", "parameter", "detail"), [
    (90.000001, 11.0, "lat", "lat must be between -90 and 90, got 90.000001"),
    (-90.000001, 11.0, "lat", "lat must be between -90 and 90, got -90.000001"),
    (91, 11, "lat", "lat must be between -90 and 90, got 91"),
    (49.0, 180.000001, "lon", "lon must be between -180 and 180, got 180.000001"),
    (49.0, -180.000001, "lon", "lon must be between -180 and 180, got -180.000001"),
    (49, -181, "lon", "lon must be between -180 and 180, got -181"),
    (math.nan, 11.0, "lat", "lat must be a finite number, got nan"),
    (49.0, math.inf, "lon", "lon must be a finite number, got inf"),
    ("49", 11.0, "lat", "lat must be a finite number, got '49'"),
    (None, 11.0, "lat", "lat is missing (give lat and lon together)"),
    (49.0, None, "lon", "lon is missing (give lat and lon together)"),
    (91.0, 181.0, "lat", "lat must be between -90 and 90, got 91.0"),
])
def test_points_past_the_bounds_are_refused_naming_the_coordinate(lat, lon, parameter, detail):
    with pytest.raises(InvalidParameter) as caught:
        check_point(lat, lon)
    assert caught.value.parameter == parameter
    assert caught.value.detail == detail


# --- distances ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("where", "lat", "lon", "expected"), [
    # The nearest offices and their distances (km, rounded to the metre), nearest first; ties
    # (the Stadt and Landkreis offices in one building) by id.
    ("Rödental", 50.2952, 11.0412, [("landkreis-coburg", 6.803), ("stadt-coburg", 6.803),
                                    ("landkreis-lichtenfels", 16.677)]),
    ("Lauf a. d. Pegnitz", 49.5103, 11.2772, [("landkreis-nuernberger-land", 0.555)]),
    ("Vilshofen", 48.6333, 13.1833, [("landkreis-passau", 18.552)]),
    ("Regenstauf", 49.1236, 12.1319, [("landkreis-regensburg", 12.013),
                                      ("stadt-regensburg", 12.013)]),
    ("Lindau, Insel", 47.5459, 9.6840, [("landkreis-lindau-bodensee", 1.902)]),
    ("Hof", 50.3135, 11.9128, [("landkreis-hof", 0.437), ("stadt-hof", 0.437)]),
])
def test_nearest_distances(locator, where, lat, lon, expected):
    search = locator.nearest(locator.locate(lat=lat, lon=lon), len(expected))
    assert search.office_ids == [i for i, _ in expected]
    assert [m / 1000 for m in search.distances_m] == pytest.approx([d for _, d in expected])
    assert search.hits == tuple(Hit(i, pytest.approx(d)) for i, d in expected)
    for office_id, km in expected:
        assert planar_m(lat, lon, *office_point(locator, office_id)) / 1000 == pytest.approx(
            km, abs=0.0005)
        # Projected, not geodesic, but within 0.2 % of it (README, crs.py).
        assert km == pytest.approx(geodesic_km(lat, lon, *office_point(locator, office_id)),
                                   rel=0.002)


@pytest.mark.parametrize(("postcode", "limit", "responsible", "km"), [
    # The responsible office is not among the nearest: its distance comes along anyway.
    ("95236", 3, "landkreis-hof", 24.052),             # Stammbach: Kulmbach and Bayreuth nearer
    ("87499", 3, "landkreis-oberallgaeu", 28.995),     # Wildpoldsried: Kempten nearer
    ("90427", 3, "stadt-nuernberg", 9.755),            # Nürnberg-Nord: Fürth nearer
    ("93047", 1, "stadt-regensburg", 0.279),           # the Landkreis office first, by id
    ("96472", 1, "landkreis-coburg", 6.803),           # Rödental: it is the nearest
])
def test_responsible_office_distance(locator, postcode, limit, responsible, km):
    origin = locator.locate(postcode=postcode)
    search = locator.nearest(origin, limit)
    assert origin.responsibility.office_ids == (responsible,)
    assert search.responsible == (Hit(responsible, pytest.approx(km)),)
    assert search.responsible_m == [round(km * 1000)]
    everything = locator.nearest(origin, MAX_LIMIT)
    assert everything.distances_m[everything.office_ids.index(responsible)] == round(km * 1000)
    lat, lon = office_point(locator, responsible)
    assert planar_m(origin.lat, origin.lon, lat, lon) / 1000 == pytest.approx(km, abs=0.0005)


def test_ambiguous_postcode_gives_every_responsible_office_its_distance(locator):
    origin = locator.locate(postcode="84032")  # Stadt and Landkreis Landshut
    search = locator.nearest(origin, 1)
    assert search.office_ids == ["landkreis-landshut"]
    assert search.responsible == (Hit("stadt-landshut", 1.357), Hit("landkreis-landshut", 1.357))


def test_nearest_gives_five_unless_told(locator):
    assert len(locator.nearest(locator.locate(postcode="96450")).office_ids) == 5


@pytest.mark.parametrize("limit", [1, 2, 49, MAX_LIMIT])
def test_nearest_limit_bounds(locator, limit):
    search = locator.nearest(locator.locate(postcode="96450"), limit)
    assert len(search.office_ids) == len(search.distances_m) == limit
    assert search.distances_m == sorted(search.distances_m)


@pytest.mark.parametrize("limit", [0, -1, MAX_LIMIT + 1])
def test_nearest_limit_out_of_range(locator, limit):
    with pytest.raises(InvalidParameter) as caught:
        locator.nearest(locator.locate(postcode="96450"), limit)
    assert caught.value.parameter == "limit"
    assert caught.value.detail == f"limit must be 1..50, got {limit}"


# --- radius edges ------------------------------------------------------------------------------

@pytest.mark.parametrize(("origin", "office_id"), [
    ({"postcode": "96450"}, "landkreis-lichtenfels"),      # 14.366 km from Coburg
    ({"lat": 50.2952, "lon": 11.0412}, "landkreis-lichtenfels"),   # Rödental
    ({"lat": 48.6333, "lon": 13.1833}, "landkreis-passau"),        # Vilshofen, 18.552 km
    ({"postcode": "93047"}, "stadt-regensburg"),            # 279 m
    ({"lat": 47.5459, "lon": 9.6840}, "landkreis-lindau-bodensee"),  # 1.902 km
])
def test_radius_just_inside_and_just_outside_an_office(locator, origin, office_id):
    o = locator.locate(**origin)
    exact_km = planar_m(o.lat, o.lon, *office_point(locator, office_id)) / 1000
    inside = locator.within(o, exact_km + 0.0005)   # half a metre more
    outside = locator.within(o, exact_km - 0.0005)  # half a metre less
    assert office_id in inside.office_ids
    assert office_id not in outside.office_ids
    assert inside.distances_m[inside.office_ids.index(office_id)] == round(exact_km * 1000)
    assert set(outside.office_ids) < set(inside.office_ids)


def test_half_a_kilometre(locator):
    lauf = locator.locate(lat=49.5103, lon=11.2772)  # the office is 555 m away
    assert locator.within(lauf, 0.5).office_ids == []
    assert locator.within(lauf, 0.56).office_ids == ["landkreis-nuernberger-land"]
    hof = locator.locate(lat=50.3135, lon=11.9128)  # both Hof offices 437 m away
    search = locator.within(hof, 0.5)
    assert search.office_ids == ["landkreis-hof", "stadt-hof"]
    assert search.distances_m == [437, 437]


def test_two_hundred_kilometres_is_the_largest_radius(locator):
    lindau = locator.locate(postcode="88131")
    search = locator.within(lindau, MAX_RADIUS_KM)
    expected = sorted(
        (round(planar_m(lindau.lat, lindau.lon, lat, lon)), i)
        for i, lat, lon in zip(locator.offices.index, locator.offices["lat"],
                               locator.offices["lon"], strict=True)
        if planar_m(lindau.lat, lindau.lon, lat, lon) <= 200_000)
    assert len(expected) == len(search.office_ids) == 34
    assert search.office_ids == [i for _, i in expected]
    assert search.distances_m == [m for m, _ in expected]
    assert max(search.distances_m) <= 200_000


def test_a_tiny_radius_finds_the_offices_at_the_origin(locator):
    coburg = locator.locate(postcode="96450")  # both Coburg offices sit on the postcode point
    search = locator.within(coburg, 1e-9)
    assert search.office_ids == ["landkreis-coburg", "stadt-coburg"]
    assert search.distances_m == [0, 0]
    assert search.responsible == (Hit("stadt-coburg", 0.0),)


@pytest.mark.parametrize("radius_km", [0, 0.0, -1.0, 200.000001, 201, math.nan, math.inf])
def test_radius_out_of_range(locator, radius_km):
    with pytest.raises(InvalidParameter) as caught:
        locator.within(locator.locate(postcode="96450"), radius_km)
    assert caught.value.parameter == "radius_km"
    assert caught.value.detail == f"radius_km must be > 0 and <= 200, got {radius_km}"


# --- responsibility and names ----------------------------------------------------------------

@pytest.mark.parametrize(("ags", "name"), [
    ("09463", "Stadt Coburg"),
    ("09473", "Landkreis Coburg"),
    ("09362", "Stadt Regensburg"),
    ("09776", "Landkreis Lindau (Bodensee)"),
    ("08421", "Ulm"),              # GeoNames' name outside Bavaria
    ("11000", "Berlin, Stadt"),
    ("99999", "99999"),            # unknown: the key itself
])
def test_district_names(locator, ags, name):
    assert locator.district_name(ags) == name


def test_every_area_and_postcode_district_set_has_its_responsibility(locator):
    built = locator.responsibilities()
    assert len(built) == len(set(map(id, built)))
    # Reused, not rebuilt: an answer finds its encoded parts by the object's identity.
    for lat, lon in [(50.2580, 10.9645), (49.0195, 12.0975), (47.8095, 13.0550), (0.0, 0.0)]:
        assert any(r is locator.responsible_at(lat, lon) for r in built)
    for postcode in ("84032", "96450", "10115"):
        assert any(r is locator.locate(postcode=postcode).responsibility for r in built)
    nowhere = locator.responsible_at(0.0, 0.0)
    assert (nowhere.in_bavaria, nowhere.ambiguous, nowhere.districts, nowhere.office_ids) == (
        False, False, (), ())


RESPONSIBILITIES = [  # origin, (in_bavaria, ambiguous, districts, office_ids)
    ({"postcode": "96450"}, (True, False, (("09463", "Stadt Coburg"),), ("stadt-coburg",))),
    ({"postcode": "85570"}, (True, True, (("09175", "Landkreis Ebersberg"),
                                          ("09177", "Landkreis Erding")),
                             ("landkreis-ebersberg", "landkreis-erding"))),
    ({"lat": 48.7758, "lon": 9.1829}, (False, False, (("08111", "Stuttgart"),), ())),
    ({"lat": 47.8095, "lon": 13.0550}, (False, False, (), ())),  # Salzburg: a country code
]


def test_responsibilities_built_at_load(settings):
    # A Locator of its own, not the session's: mutation testing runs a test against mutants of
    # the functions the test itself calls, and the session's Locator is built only once.
    locator = Locator.from_settings(settings)
    for origin, expected in RESPONSIBILITIES:
        found = locator.locate(**origin).responsibility
        assert (found.in_bavaria, found.ambiguous, found.districts, found.office_ids) == (
            expected), origin
    # The gazetteer's places carry the official district names, not GeoNames' own.
    place = locator.gazetteer.match("Mühldorf am Inn")[0].place
    assert (place.district_ags, place.district_name) == ("09183", "Landkreis Mühldorf a.Inn")


def test_each_bavarian_district_is_answered_by_its_own_offices(locator):
    for ags, district in locator.districts.items():
        found = [r for r in locator.responsibilities() if r.districts == ((ags, district.name),)]
        assert len(found) == 1, ags
        assert found[0].in_bavaria and not found[0].ambiguous
        assert found[0].office_ids == tuple(
            locator.offices.index[locator.offices["district_ags"] == ags])


# --- data version ------------------------------------------------------------------------------

def test_data_version_follows_the_data(tmp_path, locator, seat_offices):
    assert len(locator.data_version) == 12
    assert int(locator.data_version, 16) >= 0
    data = tmp_path / "data"
    shutil.copytree(REPO_GEODATA, data, ignore=shutil.ignore_patterns("*.md", "sources"))
    offices = data / "offices.csv"
    # One office's provenance note changes: same offices, new data.
    text = seat_offices.read_text(encoding="utf-8")
    assert "keine Quelle gefunden" in text
    offices.write_text(text.replace("keine Quelle gefunden", "geprüft", 1), encoding="utf-8")
    changed = Locator.from_settings(Settings.from_env({"LOCATOR_DATA_DIR": str(data)}))
    assert len(changed.data_version) == 12
    assert changed.data_version != locator.data_version
    assert changed.nearest(changed.locate(postcode="96450"), 3).distances_m == [0, 0, 14366]
