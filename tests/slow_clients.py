"""Slow clients and a latency probe for tests/test_proxy.py, all on loopback and bounded.

Three kinds, as gunicorn's deployment notes describe them: ``header`` sends its request header
one byte a second, ``body`` announces a body and sends it one byte a second, ``reader`` sends a
whole request for the office list (~50 kB) and never reads the answer (a 4 kB receive window).
"""

from __future__ import annotations

import http.client
import math
import socket
import threading
import time
from dataclasses import dataclass, field

KINDS = ("header", "body", "reader")
_START = {
    "header": b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ",
    "body": (b"POST /api/v1/offices HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n"
             b"Content-Length: 10000\r\n\r\n"),
    "reader": b"GET /api/v1/offices HTTP/1.1\r\nHost: localhost\r\n\r\n",
}


class SlowClients:
    """``count`` connections of one kind to 127.0.0.1:``port``, kept slow until stop()."""

    def __init__(self, port: int, kind: str, *, count: int = 50, drip_s: float = 1.0) -> None:
        self.port, self.kind, self.count, self.drip_s = port, kind, count, drip_s
        self.sockets: list[socket.socket] = []
        self.alive = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drip, daemon=True)

    def start(self) -> SlowClients:
        for _ in range(self.count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if self.kind == "reader":  # before connect: the window the server sees
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(5)
            sock.connect(("127.0.0.1", self.port))
            sock.sendall(_START[self.kind])
            self.sockets.append(sock)
        self.alive = len(self.sockets)
        self._thread.start()
        return self

    def _drip(self) -> None:
        while not self._stop.wait(self.drip_s):
            if self.kind == "reader":
                continue  # it only ever does not read
            alive = 0
            for sock in self.sockets:
                try:
                    sock.send(b"a")
                    alive += 1
                except OSError:
                    pass
            self.alive = alive

    def still_connected(self) -> int:
        """How many connections the server has not closed yet (a readable socket is at EOF
        or holds an answer: the server gave up on it)."""
        if self.kind != "reader":
            return self.alive
        return len(self.sockets)  # the reader's answer is pending in its window by design

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock in self.sockets:
            sock.close()

    def __enter__(self) -> SlowClients:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass
class Probe:
    """GET /healthz on a new connection every ``interval_s`` for ``duration_s``."""

    port: int
    duration_s: float
    interval_s: float = 0.05
    timeout_s: float = 2.0
    latencies_s: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def run(self) -> Probe:
        end = time.monotonic() + self.duration_s
        while time.monotonic() < end:
            started = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout_s)
            try:
                conn.request("GET", "/healthz")
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    self.failures.append(f"status {response.status}")
            except OSError as err:
                self.failures.append(type(err).__name__)
            finally:
                conn.close()
            self.latencies_s.append(time.perf_counter() - started)
            time.sleep(self.interval_s)
        return self

    def percentile_ms(self, p: float) -> float:
        """Nearest-rank percentile of the latencies, in ms."""
        ordered = sorted(self.latencies_s)
        return 1000 * ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]
