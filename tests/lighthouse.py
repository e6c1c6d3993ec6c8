"""Lighthouse (npm, pinned in scripts/lighthouse/) against the widget, offline: used by the browser
test and by scripts/bench.

    with TileStub() as tiles, LiveServer(env={"LOCATOR_TILE_URL": tiles.url_template}) as s:
        report = run_lighthouse(s.url + "/", CHROMIUM, work_dir)
        figures = summary(report, exclude_hosts={tiles.host})

Lighthouse runs its mobile preset (simulated slow 4G, a phone's screen, the CPU slowed down
4×) in Debian's Chromium. The 4× is calibrated for a fast desktop; on a slower or busy machine
(a shared CI runner) ``audit()`` measures again with the slowdown that brings this machine to
Lighthouse's target phone, as Lighthouse's throttling docs ask and Chrome DevTools' CPU
calibration does: benchmark index / 264 (DevTools' "low-tier mobile", a Moto G Power, the
phone Lighthouse emulates), never more than 4×. The tile stub answers every tile with a grey
PNG from loopback, so the map loads as it would online, offline and without console errors.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / "scripts" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
DEFAULT_SLOWDOWN = 4.0
TARGET_BENCHMARK_INDEX = 264  # Chrome DevTools' calibration target for a low-tier phone
# PaintHolding: headless Chromium holds the blank start page's frame for up to a second or
# two after the new page could paint (seen here: first paint at 0.2, 1.2 or 2.2 s for one
# static page), which would measure the browser's timer rather than the page.
CHROME_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-quic", "--disable-features=PaintHolding")


def grey_png(size: int, rgb: tuple[int, int, int] = (229, 233, 236)) -> bytes:
    """A square PNG of one colour: what a tile server sends, without a tile's picture."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    row = b"\x00" + bytes(rgb) * size  # filter byte 0, then RGB pixels
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(row * size, 9)) + chunk(b"IEND", b""))


class TileStub:
    """A tile server on a free loopback port; ``url_template`` is for LOCATOR_TILE_URL.

    Like a tile server with high-resolution tiles, it answers ``…@2x.png`` (Leaflet's {r} on
    a screen of more than one device pixel per CSS pixel, as Lighthouse's phone has) with a
    512 px tile, anything else with 256 px."""

    def __init__(self) -> None:
        tiles = {True: grey_png(512), False: grey_png(256)}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                body = tiles[self.path.endswith("@2x.png")]
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "public, max-age=86400")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self._server.server_address[1]}"
        self.url_template = f"http://{self.host}/{{z}}/{{x}}/{{y}}{{r}}.png"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> TileStub:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


def audit(url: str, chromium: Path, work_dir: Path, **options) -> dict:
    """Lighthouse's report of the page, measured again with a calibrated CPU slowdown when the
    first run found this machine slower than the 4× default assumes."""
    report = run_lighthouse(url, chromium, work_dir, **options)
    slowdown = calibrated_slowdown(report)
    if slowdown < DEFAULT_SLOWDOWN:
        report = run_lighthouse(url, chromium, work_dir, cpu_slowdown=slowdown, **options)
    return report


def calibrated_slowdown(report: dict) -> float:
    """The CPU slowdown that makes this machine (by the report's benchmark index) Lighthouse's
    target phone: between 1 and the default 4."""
    index = report.get("environment", {}).get("benchmarkIndex") or 0
    return round(min(DEFAULT_SLOWDOWN, max(1.0, index / TARGET_BENCHMARK_INDEX)), 1)


def run_lighthouse(url: str, chromium: Path, work_dir: Path, *, cpu_slowdown: float | None = None,
                   timeout_s: float = 240.0, lighthouse: Path = LIGHTHOUSE) -> dict:
    """One Lighthouse run of the mobile preset over the four categories: its JSON report."""
    out = work_dir / f"lighthouse-{abs(hash(url))}.json"
    command = [str(lighthouse), url, "--output=json", f"--output-path={out}", "--quiet",
               f"--only-categories={','.join(CATEGORIES)}", "--max-wait-for-load=60000",
               f"--chrome-flags={' '.join(CHROME_FLAGS)}"]
    if cpu_slowdown is not None:
        command.append(f"--throttling.cpuSlowdownMultiplier={cpu_slowdown}")
    env = {**os.environ, "CHROME_PATH": str(chromium)}
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, env=env,
                          cwd=work_dir)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"lighthouse exited with {done.returncode}:\n{done.stderr[-3000:]}")
    report = json.loads(out.read_text(encoding="utf-8"))
    if report.get("runtimeError"):
        raise RuntimeError(f"lighthouse: {report['runtimeError']}")
    return report


def summary(report: dict, *, exclude_hosts: set[str] = frozenset()) -> dict:
    """Scores, the metrics behind them, and the bytes the first load transferred (without
    the hosts excluded, e.g. the tiles)."""
    audits = report["audits"]
    requests = audits["network-requests"]["details"]["items"]
    own = [r for r in requests if urlsplit(r["url"]).netloc not in exclude_hosts]
    failing = {name: [audit["id"] for audit in _failing(report, name)] for name in CATEGORIES}
    lcp_element = audits.get("largest-contentful-paint-element", {}).get("details", {})
    return {
        "scores": {name: report["categories"][name]["score"] for name in CATEGORIES},
        "lcp_ms": round(audits["largest-contentful-paint"]["numericValue"]),
        "fcp_ms": round(audits["first-contentful-paint"]["numericValue"]),
        "tbt_ms": round(audits["total-blocking-time"]["numericValue"]),
        "si_ms": round(audits["speed-index"]["numericValue"]),
        "cls": round(audits["cumulative-layout-shift"]["numericValue"], 3),
        "transferred_kb": round(sum(r.get("transferSize", 0) for r in own) / 1024, 1),
        "resource_kb": round(sum(r.get("resourceSize", 0) for r in own) / 1024, 1),
        "requests": len(own),
        "dom_elements": audits.get("dom-size", {}).get("numericValue"),
        "lcp_element": _lcp_snippet(lcp_element),
        "failing_audits": {name: ids for name, ids in failing.items() if ids},
        "lighthouse": report.get("lighthouseVersion"),
        "benchmark_index": report.get("environment", {}).get("benchmarkIndex"),
        "cpu_slowdown": report["configSettings"]["throttling"]["cpuSlowdownMultiplier"],
    }


def _failing(report: dict, category: str) -> list[dict]:
    audits = report["audits"]
    refs = report["categories"][category]["auditRefs"]
    return [audits[ref["id"]] for ref in refs
            if ref.get("weight", 0) > 0 and audits[ref["id"]].get("score") not in (None, 1)]


def _lcp_snippet(details: dict) -> str | None:
    for item in details.get("items", []):
        for sub in item.get("items", [item]):
            node = sub.get("node") if isinstance(sub, dict) else None
            if node:
                return node.get("snippet")
    return None
