"""A bounded load test on a real gunicorn at 127.0.0.1: no errors, no memory growth.

20,000 requests over every endpoint (random origins across Bavaria, postcodes, places, and
bad input that must answer 400/404) after a warm-up; each worker's resident memory
(/proc/<pid>/status VmRSS) must not grow beyond a small allowance for allocator noise. A leak
of 100 bytes per request would show as 1 MB per worker.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections import Counter
from urllib.parse import quote

import pytest
from live_server import LiveServer, rss_kb

WORKERS = 2
WARM_UP = 3_000
REQUESTS = 20_000
CLIENT_THREADS = 6
# Allocator noise seen here: ~16 KiB per worker over 20,000 requests after the warm-up.
ALLOWED_GROWTH_KB = 1024

POSTCODES = ["96450", "93047", "94032", "88131", "95028", "80331", "84032", "97070", "90402",
             "86150", "63739", "87435", "83022", "92224", "95444", "01067", "10115"]
PLACES = ["Coburg", "Regensburg", "Passau", "Lindau", "Hof", "Neustadt b. Coburg", "wurzburg",
          "Landshut", "München", "Berlin"]


def request_mix(rng: random.Random, n: int) -> list[tuple[str, set[int]]]:
    """n (path, expected statuses) drawn from every endpoint, about one in eight bad."""
    mix = []
    for _ in range(n):
        lat, lon = rng.uniform(47.3, 50.5), rng.uniform(9.0, 13.8)
        pc, place = rng.choice(POSTCODES), quote(rng.choice(PLACES))
        origin = rng.choice([f"lat={lat:.5f}&lon={lon:.5f}", f"postcode={pc}", f"q={place}"])
        choice = rng.randrange(16)
        mix.append([
            (f"/api/v1/offices/nearest?{origin}&limit={rng.randint(1, 50)}", {200}),
            (f"/api/v1/offices/nearest?{origin}", {200}),
            (f"/api/v1/offices/within?{origin}&radius_km={rng.uniform(1, 200):.1f}", {200}),
            (f"/api/v1/offices/within?{origin}&radius_km=25", {200}),
            (f"/api/v1/responsible?{origin}", {200}),
            (f"/api/v1/responsible?lat={lat:.5f}&lon={lon:.5f}", {200}),
            (f"/api/v1/postcodes/{pc}", {200}),
            (f"/api/v1/places?q={quote(rng.choice(PLACES)[:3])}", {200}),
            ("/api/v1/offices", {200}),
            ("/api/v1/offices/stadt-coburg", {200}),
            ("/healthz", {200}),
            # Bad input: must be answered, as documented, never a 5xx.
            (f"/api/v1/offices/nearest?lat={lat:.5f}", {400}),
            ("/api/v1/offices/within?postcode=1234x&radius_km=5", {400}),
            (f"/api/v1/offices/nearest?{origin}&limit=0", {400}),
            ("/api/v1/responsible?q=Xyzzyqwertz", {404}),
            ("/api/v1/postcodes/00000", {404}),
        ][choice])
    return mix


def fetch_status(port: int, path: str) -> int:
    """One request on a fresh connection (gunicorn's sync workers close after each)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                     .encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head = b"".join(chunks[:1])
    return int(head.split(b" ", 2)[1])


def drive(port: int, mix: list[tuple[str, set[int]]]) -> tuple[Counter, list[str]]:
    """Send every request of the mix from CLIENT_THREADS threads; (statuses, failures)."""
    statuses: Counter = Counter()
    failures: list[str] = []
    lock = threading.Lock()
    chunks = [mix[i::CLIENT_THREADS] for i in range(CLIENT_THREADS)]

    def work(part):
        for path, expected in part:
            try:
                status = fetch_status(port, path)
            except OSError as err:
                status, problem = None, f"{path}: {type(err).__name__} {err}"
            else:
                problem = None if status in expected else f"{path}: {status}, not {expected}"
            with lock:
                statuses[status] += 1
                if problem:
                    failures.append(problem)

    threads = [threading.Thread(target=work, args=(part,)) for part in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses, failures


@pytest.mark.slow
def test_20000_requests_no_errors_no_memory_growth():
    rng = random.Random(20261123)
    with LiveServer(workers=WORKERS, access_log="/dev/null") as server:
        pids = server.wait_for_workers()
        statuses, failures = drive(server.port, request_mix(rng, WARM_UP))
        assert not failures, failures[:10]
        before = {pid: rss_kb(pid) for pid in pids}

        started = time.perf_counter()
        statuses, failures = drive(server.port, request_mix(rng, REQUESTS))
        elapsed = time.perf_counter() - started
        after = {pid: rss_kb(pid) for pid in pids}

        assert server.worker_pids() == pids, "a worker died or was replaced under load"
        assert not failures, failures[:10]
        assert sum(statuses.values()) == REQUESTS
        assert not [s for s in statuses if s is None or s >= 500], statuses
        growth = {pid: after[pid] - before[pid] for pid in pids}
        print(f"\n{REQUESTS} requests in {elapsed:.1f} s ({REQUESTS / elapsed:.0f}/s), "
              f"statuses {dict(statuses)}, RSS before {before} after {after} KiB")
        assert all(g <= ALLOWED_GROWTH_KB for g in growth.values()), (
            f"RSS grew by {growth} KiB across {REQUESTS} requests")
        assert "Traceback" not in server.error_log
        assert "[ERROR]" not in server.error_log
