"""Responsibility follows the district, not the distance: points, postcodes, places."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(("lat", "lon", "ags", "office"), [
    (50.2580, 10.9645, "09463", "stadt-coburg"),          # Coburg, Marktplatz
    (50.2952, 11.0412, "09473", "landkreis-coburg"),      # Rödental
    (49.0195, 12.0975, "09362", "stadt-regensburg"),      # Regensburg, Dom
    (49.1236, 12.1319, "09375", "landkreis-regensburg"),  # Regenstauf
    (48.5747, 13.4650, "09262", "stadt-passau"),          # Passau, Dom
    (48.6333, 13.1833, "09275", "landkreis-passau"),      # Vilshofen an der Donau
    (47.5459, 9.6840, "09776", "landkreis-lindau-bodensee"),  # Lindau, Insel
    (50.3135, 11.9128, "09464", "stadt-hof"),             # Hof
    (50.2486, 12.0356, "09475", "landkreis-hof"),         # Rehau
    (48.1374, 11.5755, "09162", "landeshauptstadt-muenchen"),  # Marienplatz
    (48.0658, 11.6156, "09184", "landkreis-muenchen"),    # Unterhaching
    (49.4540, 11.0775, "09564", "stadt-nuernberg"),       # Hauptmarkt
    (49.5103, 11.2772, "09574", "landkreis-nuernberger-land"),  # Lauf an der Pegnitz
])
def test_point_is_answered_by_its_districts_office(locator, lat, lon, ags, office):
    responsibility = locator.responsible_at(lat, lon)
    assert responsibility.in_bavaria is True
    assert responsibility.ambiguous is False
    assert [a for a, _ in responsibility.districts] == [ags]
    assert responsibility.office_ids == (office,)


@pytest.mark.parametrize(("lat", "lon", "ags"), [
    (48.3984, 9.9916, "08421"),   # Ulm, Baden-Württemberg
    (48.7758, 9.1829, "08111"),   # Stuttgart
    (50.9787, 11.0328, "16051"),  # Erfurt, Thüringen
])
def test_point_in_another_state_names_its_district_but_no_office(locator, lat, lon, ags):
    responsibility = locator.responsible_at(lat, lon)
    assert responsibility.in_bavaria is False
    assert [a for a, _ in responsibility.districts] == [ags]
    assert responsibility.office_ids == ()


@pytest.mark.parametrize(("lat", "lon"), [
    (47.8095, 13.0550),  # Salzburg
    (50.0796, 12.3739),  # Cheb
    (47.5596, 7.5886),   # Basel
    (0.0, 0.0),          # far outside any area
])
def test_point_abroad_is_not_in_bavaria(locator, lat, lon):
    responsibility = locator.responsible_at(lat, lon)
    assert responsibility.in_bavaria is False
    assert responsibility.districts == ()
    assert responsibility.office_ids == ()


@pytest.mark.parametrize(("postcode", "ags"), [
    ("96450", ("09463",)),
    ("96472", ("09473",)),
    ("93047", ("09362",)),
    ("93128", ("09375",)),   # Regenstauf
    ("84032", ("09261", "09274")),
    ("82152", ("09188", "09184")),  # Krailling / Planegg
])
def test_postcode_districts(locator, postcode, ags):
    origin = locator.locate(postcode=postcode)
    assert tuple(a for a, _ in origin.responsibility.districts) == ags
    assert origin.responsibility.ambiguous is (len(ags) > 1)


def test_jungholz_has_a_german_postcode_but_is_austrian(locator):
    origin = locator.locate(postcode="87491")
    assert origin.responsibility.in_bavaria is False
    assert origin.responsibility.districts == ()


@pytest.mark.parametrize(("q", "ags"), [
    ("Neustadt bei Coburg", "09473"),
    ("Neustadt b. Coburg", "09473"),
    ("Neustadt an der Aisch", "09575"),
    ("Weiden i.d.OPf.", "09363"),
    ("Mühldorf a.Inn", "09183"),
    ("regensburg", "09362"),
])
def test_place_origin_districts(locator, q, ags):
    origin = locator.locate(q=q)
    assert origin.resolved_by == "place"
    assert [a for a, _ in origin.responsibility.districts] == [ags]
