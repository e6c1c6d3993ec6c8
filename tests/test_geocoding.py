"""Online geocoding for real: geopy's own Nominatim client against a local stand-in server."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from nominatim_standin import NominatimStandin

from locator import create_app
from locator.config import Settings
from locator.errors import ConfigError, DataError
from locator.gazetteer import Gazetteer
from locator.geocoding import (
    CACHE_FILE,
    GeocodeCache,
    OnlineGeocoder,
    build_geocoder,
    make_backend,
)

ADDRESS = {"street": "Lauterer Str. 60", "postcode": "96450", "city": "Coburg"}
MIN_DELAY_S = 0.05
# How much later than sent the stand-in may see a request on a busy machine (measured: up to
# 60 ms with both cores taken by other test runs).
JITTER_S = 0.1


@pytest.fixture(scope="module")
def gazetteer(locator) -> Gazetteer:
    return locator.gazetteer


@pytest.fixture
def server():
    with NominatimStandin(slow_s=0.6, retry_after_s=1) as standin:
        standin.add("Lauterer Str. 60", "96450", "Coburg", 50.2612, 10.9686)
        standin.add("Bamberger Str. 4", "96450", "Coburg", 50.2571, 10.9779)
        standin.add("Ketschendorfer Str.", "96450", "Coburg", 50.2489, 10.9747, kind="road")
        standin.add("Marienplatz 8", "80331", "München", 48.1373, 11.5755)
        yield standin


def online_settings(server: NominatimStandin, tmp_path, **env: str) -> Settings:
    return Settings.from_env({
        "LOCATOR_GEOCODER": "nominatim", "LOCATOR_GEOCODER_URL": server.url,
        "LOCATOR_GEOCODER_MIN_DELAY_S": str(MIN_DELAY_S), "LOCATOR_GEOCODER_TIMEOUT_S": "0.3",
        "LOCATOR_CACHE_DIR": str(tmp_path / "cache"), **env,
    })


@pytest.fixture
def online(server, tmp_path, gazetteer):
    geocoder = build_geocoder(online_settings(server, tmp_path), gazetteer)
    assert isinstance(geocoder, OnlineGeocoder)
    yield geocoder
    geocoder.cache.close()


def test_offline_is_the_gazetteer_itself(gazetteer, settings):
    assert build_geocoder(settings, gazetteer) is gazetteer


def test_unknown_geocoder_is_a_config_error(gazetteer, settings):
    with pytest.raises(ConfigError, match="LOCATOR_GEOCODER: 'nosuchcoder'"):
        build_geocoder(settings, gazetteer, name="nosuchcoder")


def test_any_geopy_geocoder_is_configuration(tmp_path, server, gazetteer):
    settings = online_settings(server, tmp_path, LOCATOR_GEOCODER="photon")
    geocoder = build_geocoder(settings, gazetteer)
    assert type(geocoder.backend).__name__ == "Photon"
    assert geocoder.backend.domain == server.url.removeprefix("http://")
    assert server.requests == []  # building a geocoder asks nothing


def test_public_nominatim_is_held_to_one_request_per_second(tmp_path, gazetteer):
    settings = Settings.from_env({"LOCATOR_GEOCODER": "nominatim",
                                  "LOCATOR_GEOCODER_MIN_DELAY_S": "0",
                                  "LOCATOR_CACHE_DIR": str(tmp_path)})
    geocoder = build_geocoder(settings, gazetteer)
    assert geocoder.min_delay_s == 1.0
    assert geocoder.backend.headers["User-Agent"].startswith("koki-locator/")


def test_address_from_nominatim(online, server):
    found = online.geocode(ADDRESS)
    assert (found.latitude, found.longitude) == pytest.approx((50.2612, 10.9686))
    assert found.raw["precision"] == "address"
    assert found.raw["source"] == "nominatim"
    assert found.raw["postcode"] == "96450"
    (request,) = server.requests
    assert request.path == "/search"
    assert request.params["street"] == "Lauterer Str. 60"
    assert request.params["postalcode"] == "96450"
    assert request.params["city"] == "Coburg"
    assert request.params["countrycodes"] == "de"
    assert request.params["format"] == "json"
    assert request.user_agent.startswith("koki-locator/")


def test_street_precision_from_a_road(online):
    found = online.geocode("Ketschendorfer Str., 96450 Coburg")
    assert found.raw["precision"] == "street"


@pytest.mark.slow  # waits out real rate limits and back-offs
def test_requests_are_rate_limited(tmp_path, server, gazetteer):
    settings = online_settings(server, tmp_path, LOCATOR_GEOCODER_MIN_DELAY_S="0.3")
    geocoder = build_geocoder(settings, gazetteer)
    for street in ("Lauterer Str. 60", "Bamberger Str. 4", "Ketschendorfer Str.",
                   "Unbekannte Str. 1"):
        geocoder.geocode({**ADDRESS, "street": street})
    times = [r.at for r in server.requests]
    assert len(times) == 4
    # The stand-in sees each request a little after geopy sent it, so single gaps jitter;
    # their sum cannot shrink by more than one such delay.
    assert times[-1] - times[0] >= 3 * 0.3 - JITTER_S
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= 0.3 - JITTER_S


@pytest.mark.slow  # waits out real rate limits and back-offs
def test_transient_errors_are_retried_with_back_off(online, server):
    server.plan.extend(["500", "timeout", "garbage"])
    found = online.geocode(ADDRESS)
    assert found.raw["source"] == "nominatim"
    assert len(server.requests) == 4
    assert online.stats["retried"] == 3
    times = [r.at for r in server.requests]
    # back-off: 2 × min delay, then doubling (plus the 0.3 s timeout of the second request)
    backoff = online.backoff_s
    assert backoff == 2 * MIN_DELAY_S
    assert times[2] - times[1] >= 0.3 + 2 * backoff - JITTER_S
    assert times[3] - times[2] >= 4 * backoff - JITTER_S
    assert times[3] - times[0] >= 0.3 + 7 * backoff - JITTER_S  # 0.45 s without back-off


@pytest.mark.slow  # waits out real rate limits and back-offs
def test_429_waits_as_long_as_retry_after_says(online, server):
    server.plan.append("429")
    found = online.geocode(ADDRESS)
    assert found.raw["source"] == "nominatim"
    first, second = server.requests
    assert second.at - first.at >= 1.0 - JITTER_S  # Retry-After: 1


@pytest.mark.slow  # waits out real rate limits and back-offs
def test_failing_service_falls_back_to_the_gazetteer(online, server):
    server.plan.extend(["500"] * 4)
    found = online.geocode(ADDRESS)
    assert len(server.requests) == 1 + online.max_retries
    assert found.raw["source"] == "offline"
    assert found.raw["precision"] == "postcode"
    assert found.raw["postcode"] == "96450"
    assert "nominatim failed" in found.raw["fallback"]
    # A failure is not cached: the next run asks again (and now gets the address).
    again = online.geocode(ADDRESS)
    assert again.raw["source"] == "nominatim"
    assert len(server.requests) == 2 + online.max_retries


def test_a_bad_query_is_not_retried(online, server):
    server.plan.append("400")
    found = online.geocode(ADDRESS)
    assert len(server.requests) == 1
    assert found.raw["source"] == "offline"
    assert "GeocoderQueryError" in found.raw["fallback"]


def test_no_match_falls_back_and_is_remembered(online, server):
    query = {**ADDRESS, "street": "Gibtsnicht-Weg 99"}
    found = online.geocode(query)
    assert found.raw["source"] == "offline"
    assert found.raw["fallback"] == "nominatim found no match"
    assert online.geocode(query).raw["fallback"] == "nominatim found no match"
    assert len(server.requests) == 1


def test_cache_survives_the_process_and_normalises_the_query(tmp_path, server, gazetteer):
    settings = online_settings(server, tmp_path)
    first = build_geocoder(settings, gazetteer)
    first.geocode(ADDRESS)
    first.cache.close()
    assert len(server.requests) == 1
    second = build_geocoder(settings, gazetteer)
    found = second.geocode("Lauterer Straße 60, 96450 coburg")  # same address, other spelling
    assert found.raw["source"] == "nominatim"
    assert found.raw["precision"] == "address"
    assert len(server.requests) == 1
    assert second.stats["cached"] == 1
    assert len(GeocodeCache(tmp_path / "cache" / CACHE_FILE)) == 1


def test_an_unusable_cache_is_named(tmp_path):
    path = tmp_path / CACHE_FILE
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(DataError, match=f"{CACHE_FILE}: unusable geocoding cache"):
        GeocodeCache(path)


def test_cache_is_per_server(tmp_path, server, gazetteer):
    cache = GeocodeCache(tmp_path / CACHE_FILE)
    with NominatimStandin() as other:
        for url in (server.url, other.url):
            settings = online_settings(server, tmp_path, LOCATOR_GEOCODER_URL=url)
            OnlineGeocoder(make_backend("nominatim", settings), name="nominatim",
                           fallback=gazetteer, cache=cache, min_delay_s=0).geocode(ADDRESS)
        assert len(server.requests) == 1 and len(other.requests) == 1


def test_the_http_api_never_asks_an_online_geocoder(monkeypatch, tmp_path, server, state,
                                                    gazetteer):
    """A family's query stays in the process, whatever LOCATOR_GEOCODER says."""
    env = {"LOCATOR_GEOCODER": "nominatim", "LOCATOR_GEOCODER_URL": server.url,
           "LOCATOR_GEOCODER_MIN_DELAY_S": "0", "LOCATOR_CACHE_DIR": str(tmp_path)}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = create_app({"TESTING": True, "LOCATOR_STATE": state})
    assert app.extensions["settings"].geocoder == "nominatim"
    client = app.test_client()
    q = "Lauterer Str. 60, 96450 Coburg"
    for url, params in (("/api/v1/offices/nearest", {"q": q}),
                        ("/api/v1/offices/within", {"q": q, "radius_km": "20"}),
                        ("/api/v1/responsible", {"q": q}),
                        ("/api/v1/responsible", {"q": "Neustadt b. Coburg"}),
                        ("/api/v1/places", {"q": "Lauterer Str"}),
                        ("/api/v1/places", {"q": q}),
                        ("/api/v1/postcodes/96450", {})):
        response = client.get(url, query_string=params)
        assert response.status_code in (200, 404), (url, response.status_code)
    assert server.requests == []
    # The same configuration does reach the stand-in from the bulk geocoder.
    geocoder = build_geocoder(Settings.from_env(), gazetteer)
    assert geocoder.geocode(q).raw["source"] == "nominatim"
    assert len(server.requests) == 1


@pytest.mark.slow  # starts a fresh interpreter
def test_the_service_does_not_even_load_the_online_geocoders():
    """Structural half of the proof: serving, with a search, never imports locator.geocoding
    (geopy's geocoder classes themselves load with geopy; nothing builds or calls one)."""
    code = (
        "import sys\n"
        "from locator import create_app\n"
        "client = create_app({'TESTING': True}).test_client()\n"
        "assert client.get('/api/v1/responsible?q=Lauterer Str. 60, 96450 Coburg').status_code"
        " == 200\n"
        "assert client.get('/api/v1/places?q=Cob').status_code == 200\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('locator.geocoding',"
        " 'locator.bulk', 'locator.merge', 'locator.sheets', 'geopy.extra.rate_limiter')))\n"
        "assert not loaded, loaded\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCATOR_")}
    env["LOCATOR_GEOCODER"] = "nominatim"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
