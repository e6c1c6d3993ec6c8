"""A local stand-in for a Nominatim server on 127.0.0.1, for geopy's real Nominatim client.

It answers /search in Nominatim's JSON format (format=json, addressdetails=1) from a small
table of known streets, records every request (time, parameters, user agent) and can be told
to misbehave for the next requests: "500", "400", "429" (with Retry-After), "timeout" (answers after
``slow_s``), "garbage" (not JSON).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from locator.textnorm import street_key


@dataclass
class Request:
    at: float  # time.monotonic()
    path: str
    params: dict[str, str]
    user_agent: str


@dataclass
class NominatimStandin:
    """Start with ``with NominatimStandin() as server:``; ``server.url`` is its address."""

    slow_s: float = 1.0
    retry_after_s: int = 0
    requests: list[Request] = field(default_factory=list)
    plan: deque[str] = field(default_factory=deque)
    streets: dict[str, dict] = field(default_factory=dict)

    def add(self, street: str, postcode: str, city: str, lat: float, lon: float, *,
            kind: str = "house") -> None:
        """Teach it an address; ``kind`` "house" answers with a house number, "road" without."""
        road, _, number = street.rpartition(" ") if kind == "house" else (street, "", "")
        address = {"road": road, "postcode": postcode, "city": city, "state": "Bayern",
                   "country": "Deutschland", "country_code": "de"}
        if kind == "house":
            address["house_number"] = number
        self.streets[street_key(street)] = {
            "place_id": len(self.streets) + 1,
            "licence": "Data © OpenStreetMap contributors, ODbL 1.0.",
            "osm_type": "way", "osm_id": 1000 + len(self.streets),
            "lat": f"{lat:.7f}", "lon": f"{lon:.7f}",
            "class": "building" if kind == "house" else "highway",
            "type": "yes" if kind == "house" else "residential",
            "place_rank": 30 if kind == "house" else 26, "importance": 0.1,
            "addresstype": "building" if kind == "house" else "road",
            "name": "", "display_name": f"{street}, {postcode} {city}, Bayern, Deutschland",
            "address": address,
            "boundingbox": [f"{lat - 1e-4:.7f}", f"{lat + 1e-4:.7f}", f"{lon - 1e-4:.7f}",
                            f"{lon + 1e-4:.7f}"],
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> NominatimStandin:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                standin._answer(self)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append(Request(time.monotonic(), parts.path, params,
                                         handler.headers.get("User-Agent", "")))
            action = self.plan.popleft() if self.plan else "ok"
        if action == "timeout":
            time.sleep(self.slow_s)
            action = "ok"
        if action == "500":
            return self._send(handler, 500, b"<html>Internal Server Error</html>", "text/html")
        if action == "400":
            return self._send(handler, 400, b"Bad Request", "text/plain")
        if action == "429":
            return self._send(handler, 429, b"Too Many Requests", "text/plain",
                              {"Retry-After": str(self.retry_after_s)})
        if action == "garbage":
            return self._send(handler, 200, b"<html>proxy error</html>", "application/json")
        if parts.path.rstrip("/") != "/search":
            return self._send(handler, 404, b"not found", "text/plain")
        street = params.get("street") or params.get("q", "").split(",")[0]
        found = self.streets.get(street_key(street))
        body = json.dumps([found] if found else []).encode()
        self._send(handler, 200, body, "application/json; charset=utf-8")

    @staticmethod
    def _send(handler, status: int, body: bytes, content_type: str,
              headers: dict[str, str] | None = None) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)
