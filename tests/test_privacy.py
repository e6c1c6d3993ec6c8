"""A family's search never reaches a log: no coordinate, postcode or place text in any log line.

Runs searches of every kind (lat/lon, postcode, q= place, /postcodes/<pc>, suggestions, and bad
input answered with 400/404) against a real gunicorn started as scripts/serve starts it, and
against the app in process with every logger at DEBUG, and reads everything that was logged:
gunicorn's access log and error log (where the locator's own logging goes too) and Python's
logging records.
"""

from __future__ import annotations

import logging
import socket

import pytest
from live_server import LiveServer

from locator import create_app
from locator.state import LocatorState

# Distinctive values: none of these strings occurs in a log unless a query leaked into it.
SEARCHES = [
    ("/api/v1/offices/nearest?lat=49.01347&lon=12.10163", 200),
    ("/api/v1/offices/nearest?lat=49.01347&lon=12.10163&limit=7", 200),
    ("/api/v1/offices/within?postcode=96472&radius_km=30", 200),
    ("/api/v1/responsible?postcode=96472", 200),
    ("/api/v1/responsible?lat=49.01347&lon=12.10163", 200),
    ("/api/v1/responsible?q=Neustadt%20b.%20Coburg", 200),
    ("/api/v1/offices/nearest?q=Neustadt+b.+Coburg", 200),
    ("/api/v1/offices/within?q=R%C3%B6dental&radius_km=12.5", 200),
    ("/api/v1/postcodes/96472", 200),
    ("/api/v1/places?q=R%C3%B6den", 200),
    # Bad input: answered 400/404, and still not logged.
    ("/api/v1/offices/nearest?lat=49.01347", 400),
    ("/api/v1/offices/nearest?lat=91.01347&lon=12.10163", 400),
    ("/api/v1/offices/within?postcode=9647x&radius_km=5", 400),
    ("/api/v1/offices/within?postcode=96472&radius_km=999", 400),
    ("/api/v1/offices/nearest?postcode=96472&q=R%C3%B6dental", 400),
    ("/api/v1/postcodes/9647x", 400),
    ("/api/v1/postcodes/99999", 404),
    ("/api/v1/responsible?q=Kleinkleckersdorf", 404),
    ("/api/v1/offices/no-such-office", 404),
]
SECRETS = ["49.0134", "12.1016", "91.0134", "96472", "9647x", "99999", "Neustadt", "Coburg",
           "Rödental", "R%C3%B6", "Röden", "Kleinkleckersdorf", "q=", "lat=", "postcode=",
           "radius_km=", "example.org"]
# What a browser sends along: the page's address (it can hold ?q=) and its user agent.
HEADERS = {"Referer": "https://example.org/karte?q=R%C3%B6dental&postcode=96472",
           "User-Agent": "Mozilla/5.0 (Neustadt b. Coburg edition)"}


def leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def raw_request(port: int, request_line: str) -> bytes:
    """Send a request line exactly as given (a careless client does not encode spaces)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"{request_line}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.fixture(scope="module")
def served_logs() -> tuple[str, str]:
    """(access log, error log) of a real gunicorn that answered every search."""
    with LiveServer(workers=1) as server:
        for path, status in SEARCHES:
            got, _, _ = server.get(path, headers=HEADERS)
            assert got == status, path
        server.stop()
        return server.access_log, server.error_log


@pytest.mark.slow
def test_gunicorn_access_log_records_requests_without_their_queries(served_logs):
    access, _ = served_logs
    lines = [line for line in access.splitlines() if "/api/v1/" in line]
    assert len(lines) == len(SEARCHES)  # not vacuous: every search was logged
    assert leaks(access) == []
    assert sum("/api/v1/postcodes/…" in line for line in lines) == 3
    assert "127.0.0.1" not in access and "Mozilla" not in access


@pytest.mark.slow
def test_gunicorn_error_log_and_locator_logging_hold_no_query(served_logs):
    _, errors = served_logs
    assert "Booting worker" in errors  # not vacuous: the error log was captured
    assert leaks(errors) == []


def test_application_logging_at_debug_holds_no_query(app, caplog):
    client = app.test_client()
    with caplog.at_level(logging.DEBUG):
        for path, status in SEARCHES:
            assert client.get(path, headers=HEADERS).status_code == status, path
    everything = caplog.text + "".join(repr(r.args) for r in caplog.records)
    assert leaks(everything) == []


def _container_sizes(*objects) -> dict[str, int]:
    """len() of every dict, list, set and tuple held by these objects, by attribute name."""
    sizes = {}
    for obj in objects:
        fields = vars(obj) if hasattr(obj, "__dict__") else {
            name: getattr(obj, name) for name in getattr(type(obj), "__slots__", ())}
        for name, value in fields.items():
            if isinstance(value, dict | list | set | tuple):
                sizes[f"{type(obj).__name__}.{name}"] = len(value)
    return sizes


def test_searches_leave_nothing_behind_in_memory(settings):
    """No cache fills with what families asked: answers reuse only what was built from the
    data at load. A lazily filled cache (of responsibilities, answers, grid cells) would tell
    anyone reading the process memory which places were searched."""
    state = LocatorState(settings)
    client = create_app({"LOCATOR_STATE": state}).test_client()
    loaded = state.loaded
    parts = (loaded, loaded.locator, loaded.locator.gazetteer, loaded.locator.areas)
    before = _container_sizes(*parts)
    assert before["Locator._responsibilities"] > 96 and before["Loaded.responsibility_json"] > 96
    for path, status in SEARCHES * 2:
        assert client.get(path, headers=HEADERS).status_code == status, path
    for lat in range(470, 506, 3):  # positions across Bavaria, on and off district borders
        for lon in range(90, 138, 3):
            client.get(f"/api/v1/offices/nearest?lat={lat / 10}&lon={lon / 10}")
    assert _container_sizes(*parts) == before


# Requests as careless or hostile clients send them: gunicorn itself answers most of them and
# logs why, quoting what it could not parse.
ODD_REQUESTS = [
    ("GET /api/v1/responsible?q=Neustadt b. Coburg HTTP/1.1", b"HTTP/1.1 400"),
    ("GET /api/v1/offices/nearest?q=Neustadt b. Coburg&limit=3 HTTP/1.1", b"HTTP/1.1 400"),
    ("GET /api/v1/postcodes/96 472 HTTP/1.1", b"HTTP/1.1 400"),
    ("GET /api/v1/responsible?postcode=96472 HTTP/1.1\r\nReferer: https://example.org/?q=Röden"
     "tal\r\nBad Header Neustadt", b"HTTP/1.1 400"),
    ("GET /api/v1/responsible?postcode=96472&pad=" + "x" * 5000 + " HTTP/1.1", b"HTTP/1.1 414"),
    ("GET /api/v1/postcodes/%39%36%34%37%32 HTTP/1.1", b"HTTP/1.1 200"),
    ("GET http://127.0.0.1/api/v1/offices/within?postcode=96472&radius_km=5 HTTP/1.1",
     b"HTTP/1.1 200"),
    ("GET /api/v1/responsible?lat=49.01347&lon=12.10163 HTTP/1.0", b"HTTP/1.0 200"),
]


@pytest.mark.slow
def test_malformed_and_odd_requests_are_not_logged_either():
    with LiveServer(workers=1) as server:
        for line, status in ODD_REQUESTS:
            answer = raw_request(server.port, line)
            assert answer.startswith(status), (line[:80], answer[:60])
        server.stop()
        # Not vacuous: gunicorn logged the five it refused, the access log the three answered.
        assert server.error_log.count("Invalid request") == 5
        assert server.access_log.count("/api/v1/") == 3
        assert leaks(server.error_log + server.access_log) == []
        after_start = server.error_log.split("Listening at")[-1].split("\n", 1)[1]
        assert "127.0.0.1" not in after_start and "127.0.0.1" not in server.access_log


@pytest.mark.slow
def test_debug_log_level_does_not_log_postcodes_in_paths():
    with LiveServer(workers=1, args=("--log-level", "debug")) as server:
        assert server.get("/api/v1/postcodes/96472")[0] == 200
        server.stop()
        assert leaks(server.error_log + server.access_log) == []


# Paths that once reached gunicorn's access log (the mask stopped at a space, unknown routes
# were logged verbatim, %0A started a new line).
ODD_PATHS = ["/api/v1/postcodes/%2097085", "/api/v1/offices/nearest/97082",
             "/api/v1/offices/97082", "/x%0A[01/Jan/2026:00:00:00 +0000] \"GET /forged\" 200"]


@pytest.mark.slow
def test_odd_paths_are_masked_and_cannot_forge_a_line():
    with LiveServer(workers=1) as server:
        for path in ODD_PATHS:
            assert server.get(path.replace(" ", "%20"))[0] in (400, 404), path
        server.stop()
        lines = [line for line in server.access_log.splitlines() if "/healthz" not in line]
    assert len(lines) == len(ODD_PATHS)  # one line each: nothing forged
    assert "97085" not in "".join(lines) and "97082" not in "".join(lines)
    assert [line.split('"')[1] for line in lines] == [
        "GET /api/v1/postcodes/…", "GET /api/v1/…", "GET /api/v1/…", "GET /…"]
