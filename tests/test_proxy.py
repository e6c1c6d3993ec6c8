"""The production stack: Debian's nginx, configured by locator/deploy/nginx.py, in front of a
real gunicorn with 2 sync workers on a Unix socket (tests/proxy_stack.py).

Slow clients (50 at a time of each kind) must not keep /healthz from answering; malformed
requests are refused with 4xx and never cost a worker, through nginx and directly; searches are
rate-limited per client with a problem+json 429; neither log holds a query, postcode,
coordinate or client address. Everything is on loopback and bounded in time (~1 min in all).
Without nginx these tests skip with a hint (scripts/install-nginx); under CI=true they fail.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import time

import pytest
from live_server import LiveServer
from proxy_stack import Nginx, nginx_binary, raw_exchange, socket_dir, unix_bind
from slow_clients import KINDS, Probe, SlowClients
from test_privacy import HEADERS, SEARCHES, leaks

pytestmark = pytest.mark.slow

# Requests gunicorn 27 once answered by losing a worker (its logger failed on them).
MALFORMED = {
    "content-length and transfer-encoding": (
        b"POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    "duplicate content-length": (
        b"POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"),
    "invalid content-length": b"POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\nabc",
    "chunked, identity": (
        b"POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n"
        b"0\r\n\r\n"),
    "transfer-encoding on http/1.0": (
        b"POST /healthz HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    "two hosts": b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "garbage request line": b"GARBAGE\r\n\r\n",
    "control character in path": b"GET /\x01x HTTP/1.1\r\nHost: a\r\n\r\n",
}
# nginx's log line: time "method path" status bytes request-time upstream-status
NGINX_LINE = re.compile(r'^\S+ "[A-Z]* /[^"\s]*" \d{3} \d+ [\d.]+ ?[\d, :-]*$')


@pytest.fixture(scope="module")
def sock():
    return socket_dir() / "gunicorn.sock"


@pytest.fixture(scope="module")
def gunicorn(sock):
    """gunicorn with 2 sync workers on the Unix socket (and on a TCP port, to test it bare)."""
    nginx_binary()  # skip (or fail under CI) before starting anything
    with LiveServer(workers=2, args=unix_bind(sock)) as server:
        server.wait_for_workers()
        yield server


@pytest.fixture
def nginx(gunicorn, sock):
    """A fresh nginx per test: rate-limit state and logs start empty."""
    with Nginx(sock) as proxy:
        yield proxy


def test_the_rendered_configuration_passes_nginx_own_check(nginx):
    result = subprocess.run(nginx.command("-t"), capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


P99_LIMIT_MS = 200.0


@pytest.mark.parametrize("kind", KINDS)
def test_fifty_slow_clients_do_not_keep_healthz_from_answering(nginx, gunicorn, kind):
    """p99 of /healthz under 50 slow clients stays under 200 ms. On a machine so busy that
    /healthz alone is slower than that (other engineers' tests share its 2 cores), the limit is
    1.5 times the p99 measured just before without slow clients: blocked workers would cost
    seconds (the probe times out after 2 s), not a busy machine's tens of milliseconds."""
    baseline = Probe(nginx.port, duration_s=3.0, interval_s=0.03).run()
    workers = gunicorn.worker_pids()
    with SlowClients(nginx.port, kind, count=50) as slow:
        time.sleep(0.5)  # all 50 connected and started before the first probe
        probe = Probe(nginx.port, duration_s=8.0, interval_s=0.03).run()
        connected = slow.still_connected()
    p50, p99 = probe.percentile_ms(50), probe.percentile_ms(99)
    limit = max(P99_LIMIT_MS, 1.5 * baseline.percentile_ms(99))
    print(f"\n{kind}: {len(probe.latencies_s) - len(probe.failures)}/{len(probe.latencies_s)} "
          f"answered, p50 {p50:.1f} ms, p99 {p99:.1f} ms (alone: p99 "
          f"{baseline.percentile_ms(99):.1f} ms), slow clients still connected {connected}/50")
    assert probe.failures == [] and baseline.failures == []
    assert len(probe.latencies_s) >= 100  # so that p99 is not just the slowest probe
    assert p99 < limit, f"p99 {p99:.1f} ms, limit {limit:.0f} ms"
    assert connected >= 45  # not vacuous: nginx held them for the whole probe
    assert gunicorn.worker_pids() == workers


def test_without_the_proxy_four_slow_clients_stop_gunicorn():
    """Why the proxy: the same probe against gunicorn alone fails while 4 slow-header clients
    hold its 2 sync workers (the issue's finding, kept here so the probe is known to see it)."""
    with LiveServer(workers=2) as bare:
        bare.wait_for_workers()
        with SlowClients(bare.port, "header", count=4):
            time.sleep(0.5)
            probe = Probe(bare.port, duration_s=3.0, timeout_s=1.0, interval_s=0.2).run()
    assert len(probe.failures) == len(probe.latencies_s) > 0


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_requests_are_refused_through_nginx(nginx, gunicorn, name):
    workers = gunicorn.worker_pids()
    answer = raw_exchange(nginx.port, MALFORMED[name], timeout_s=5)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert b"Content-Type: application/problem+json" in head
    assert json.loads(body)["status"] == 400
    assert gunicorn.worker_pids() == workers


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_requests_do_not_cost_gunicorn_a_worker(gunicorn, name):
    workers = gunicorn.worker_pids()
    answer = raw_exchange(gunicorn.port, MALFORMED[name], timeout_s=5)
    assert re.match(rb"HTTP/1\.[01] 4\d\d ", answer), answer[:200]
    time.sleep(0.2)  # a dying worker would be gone and replaced by now
    assert gunicorn.worker_pids() == workers
    assert "exited with code" not in gunicorn.error_log
    assert gunicorn.get("/healthz")[0] == 200


@pytest.mark.parametrize("search", ["/api/v1/responsible?postcode=96472",
                                    "/ogc/collections/offices/items?bbox=10.8,50.1,11.2,50.4"])
def test_searches_are_rate_limited_per_client_with_a_problem(nginx, search):
    conn = http.client.HTTPConnection("127.0.0.1", nginx.port, timeout=10)
    statuses, refused = [], None
    for _ in range(60):  # well inside a second: the rate (10/s) adds at most a few
        conn.request("GET", search)
        response = conn.getresponse()
        body = response.read()
        statuses.append(response.status)
        if response.status == 429 and refused is None:
            refused = response, body
    conn.close()
    assert statuses[:21] == [200] * 21  # the burst of 20 beyond the first
    assert 30 <= statuses.count(429) <= 39 and set(statuses) == {200, 429}, statuses
    response, body = refused
    assert response.getheader("Content-Type") == "application/problem+json"
    assert response.getheader("Retry-After") == "1"
    assert response.getheader("Cache-Control") == "no-store"
    assert json.loads(body)["status"] == 429
    # Not every request: the widget's pages and the health check are not limited.
    assert all(nginx.get("/healthz")[0] == 200 for _ in range(30))
    assert all(nginx.get("/ogc/collections/offices")[0] == 200 for _ in range(30))
    time.sleep(1.1)  # and the limit is a rate: a second later searches pass again
    assert nginx.get(search)[0] == 200


ODD_PATHS = [
    ("/api/v1/postcodes/%2097085", 400),  # a space before the postcode
    ("/api/v1/offices/nearest/97082", 404),  # an unknown route holding a postcode
    ("/api/v1/offices/97082", 404),  # an office id that is a postcode
    ("/x%0A2026-01-01T00:00:00+00:00%20%22GET%20/forged%22%20200", 404),  # a forged line
    ("/api/v1/places/Neustadt%20b.%20Coburg", 404),
]


def test_neither_log_holds_a_query_postcode_coordinate_or_client_address(nginx, gunicorn):
    requests = [*SEARCHES, *ODD_PATHS]
    for path, status in requests:
        assert nginx.get(path, headers=HEADERS)[0] == status, path
    nginx.stop()  # flushes and closes its logs
    access, errors = nginx.access_log, nginx.error_log
    lines = access.splitlines()
    assert len(lines) == len(requests)  # one line per request: nothing forged, nothing lost
    assert all(NGINX_LINE.match(line) for line in lines), lines
    assert sum('"GET /api/v1/postcodes/…"' in line for line in lines) == 4
    assert leaks(access + errors) == [] and "97085" not in access and "97082" not in access
    assert "127.0.0.1" not in access + errors and "Mozilla" not in access + errors
    assert "forged" not in access
    # gunicorn's side of the same requests (the app saw them through the socket)
    assert leaks(gunicorn.access_log) == [] and "97082" not in gunicorn.access_log
    after_start = gunicorn.error_log.split("Listening at")[-1].split("\n", 1)[1]
    assert leaks(after_start) == [] and "127.0.0.1" not in gunicorn.access_log


def test_the_app_headers_pass_through_and_nginx_adds_no_version(nginx):
    status, headers, _ = nginx.get("/")
    assert status == 200
    assert "frame-ancestors" in headers["Content-Security-Policy"]
    assert headers["Permissions-Policy"].startswith("geolocation=(self)")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Server"] == "nginx"  # no version, and not gunicorn's header
    status, headers, _ = nginx.get("/api/v1/offices/nearest?postcode=96472")
    assert status == 200 and headers["Cache-Control"] == "no-store"
    status, headers, _ = nginx.get("/api/v1/offices")
    assert status == 200 and headers["ETag"] and headers["Cache-Control"].startswith("public")


def test_redirects_do_not_echo_the_host_header(nginx):
    answer = raw_exchange(nginx.port, b"GET /api//v1/offices HTTP/1.1\r\nHost: evil.example\r\n"
                                      b"Connection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 308 ")
    assert b"\r\nLocation: /api/v1/offices\r\n" in answer and b"evil" not in answer


def test_a_stopped_app_is_a_problem_502_not_an_html_page(gunicorn):
    with Nginx(socket_dir() / "nobody-listens.sock") as proxy:
        status, headers, body = proxy.get("/api/v1/offices")
    assert status == 502
    assert headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["title"] == "Bad Gateway"


def test_oversized_requests_are_refused_before_the_app(nginx, gunicorn):
    before = gunicorn.access_log.count("\n")
    long_line = raw_exchange(nginx.port, b"GET /api/v1/places?q=" + b"x" * 9000
                             + b" HTTP/1.1\r\nHost: a\r\n\r\n")
    big_body = raw_exchange(nginx.port, b"POST /api/v1/offices HTTP/1.1\r\nHost: a\r\n"
                            b"Content-Length: 20000\r\n\r\n" + b"z" * 20000)
    assert long_line.startswith(b"HTTP/1.1 414 ") and b"problem+json" in long_line
    assert big_body.startswith(b"HTTP/1.1 413 ") and b"problem+json" in big_body
    assert gunicorn.access_log.count("\n") == before
