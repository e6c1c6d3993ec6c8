"""The OGC API peer for scripts/bench: pygeoapi serving the same offices, the same items query.

pygeoapi is what a GIS team would deploy instead of /ogc. It is installed into a throwaway venv
of its own (never the project's .venv), fed the 96 offices as this service's /ogc items write
them (its GeoJSON provider), and run like the locator: gunicorn, the same number of sync
workers. wrk then asks both for the same bbox query around Coburg, in alternating rounds.
Imported by scripts/bench.py; anything that cannot be set up is a ``skipped`` line, not a crash.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import bench_http
from live_server import free_port

# Around Coburg: Stadt and Landkreis Coburg and Lichtenfels.
BBOX = "10.8,50.1,11.2,50.4"
OURS = f"/ogc/collections/offices/items?bbox={BBOX}&f=json"
THEIRS = f"/collections/offices/items?bbox={BBOX}&f=json"
PACKAGES = ("pygeoapi>=0.18,<1", "gunicorn>=22,<28")

CONFIG = """\
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  language: de-DE
  cors: false
  pretty_print: false
  limits: {{default_items: 100, max_items: 1000}}
  map: {{url: 'https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png', attribution: OSM}}
logging:
  level: ERROR
metadata:
  identification:
    title: KoKi
    description: KoKi offices (benchmark peer)
    keywords: [koki]
    keywords_type: theme
    terms_of_service: https://example.org
    url: https://example.org
  license: {{name: MIT, url: 'https://opensource.org/licenses/MIT'}}
  provider: {{name: KoKi, url: 'https://example.org'}}
  contact: {{name: KoKi, email: koki@example.org, url: 'https://example.org'}}
resources:
  offices:
    type: collection
    title: offices
    description: KoKi offices
    keywords: [koki]
    extents:
      spatial: {{bbox: [8.9, 47.2, 13.9, 50.6], crs: 'http://www.opengis.net/def/crs/OGC/1.3/CRS84'}}
    providers:
      - type: feature
        name: GeoJSON
        data: {data}
        id_field: id
"""


def venv_dir() -> Path:
    """A venv of pygeoapi's own, kept between runs (installing takes a minute or two)."""
    return Path(os.environ.get("BENCH_PYGEOAPI_VENV",
                               Path(tempfile.gettempdir()) / "koki-bench-pygeoapi-venv"))


def install() -> tuple[Path | None, str]:
    """The venv's bin directory, or None and why it could not be installed."""
    venv = venv_dir()
    bin_dir = venv / "bin"
    if (bin_dir / "gunicorn").exists() and (bin_dir / "pygeoapi").exists():
        return bin_dir, "reused"
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True,
                       capture_output=True, timeout=120)
        subprocess.run([str(bin_dir / "pip"), "install", "--quiet", *PACKAGES], check=True,
                       capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.SubprocessError) as err:
        output = getattr(err, "stderr", "") or ""
        return None, f"pygeoapi could not be installed: {err} {output[-300:]}".strip()
    return bin_dir, "installed"


def _version(bin_dir: Path) -> str:
    out = subprocess.run([str(bin_dir / "python"), "-c",
                          "import pygeoapi; print(pygeoapi.__version__)"],
                         capture_output=True, text=True, timeout=60)
    return out.stdout.strip() or "?"


def start(bin_dir: Path, work: Path, features: bytes, workers: int) -> tuple:
    """pygeoapi under gunicorn on a free port: (process, url)."""
    port = free_port()
    data = work / "offices.geojson"
    data.write_bytes(features)
    config = work / "pygeoapi.yml"
    config.write_text(CONFIG.format(port=port, data=data), encoding="utf-8")
    openapi = work / "pygeoapi-openapi.yml"
    env = {**os.environ, "PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    subprocess.run([str(bin_dir / "pygeoapi"), "openapi", "generate", str(config),
                    "--output-file", str(openapi)], check=True, env=env, capture_output=True,
                   timeout=120)
    log = (work / "pygeoapi.log").open("wb")
    process = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--access-logfile", "/dev/null", "pygeoapi.flask_app:APP"],
        env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=work)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + THEIRS, timeout=5) as answer:
                if answer.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("pygeoapi did not answer: "
                       + (work / "pygeoapi.log").read_text(errors="replace")[-2000:])


def _ids(url: str) -> list[str]:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return sorted(str(f["id"]) for f in json.load(answer)["features"])


def compare(workers: int, *, seconds: float, rounds: int, work: Path) -> dict:
    """wrk on the same bbox query against this service and pygeoapi, alternating rounds."""
    if not bench_http.wrk_available():
        return {"skipped": "wrk is not installed (apt-get install wrk)"}
    bin_dir, how = install()
    if bin_dir is None:
        return {"skipped": how}
    ours = bench_http.start_server(workers)
    process = None
    try:
        ours.wait_for_workers()
        with urllib.request.urlopen(ours.url + "/ogc/collections/offices/items?limit=1000",
                                    timeout=10) as answer:
            collection = json.load(answer)
        features = json.dumps({"type": "FeatureCollection",
                               "features": collection["features"]}).encode()
        try:
            process, theirs = start(bin_dir, work, features, workers)
        except (OSError, subprocess.SubprocessError, RuntimeError) as err:
            return {"skipped": f"pygeoapi did not start: {err}"[:500]}
        same = _ids(ours.url + OURS) == _ids(theirs + THEIRS)
        scripts = {"ours": bench_http.write_lua(work / "wrk-ogc.lua", OURS, []),
                   "theirs": bench_http.write_lua(work / "wrk-pygeoapi.lua", THEIRS, [])}
        urls = {"ours": ours.url + "/", "theirs": theirs + "/"}
        runs: dict[str, list[dict]] = {"ours": [], "theirs": []}
        for name in runs:  # warm-up, unmeasured
            bench_http.run_wrk(urls[name], scripts[name], seconds=1, connections=4 * workers)
        for _ in range(rounds):
            for name in runs:
                runs[name].append(bench_http.run_wrk(urls[name], scripts[name], seconds=seconds,
                                                     connections=4 * workers))
    finally:
        if process is not None:
            process.terminate()
            process.wait(30)
        ours.stop()
        ours.cleanup()
    result: dict = {"pygeoapi": _version(bin_dir), "install": how, "same_features": same,
                    "query": f"offices items, bbox={BBOX}", "workers": workers}
    for name, results in runs.items():
        result[name] = {
            "requests_per_s": round(statistics.median(r["requests_per_s"] or 0 for r in results)),
            "p50_ms": statistics.median(r["p50_ms"] or 0 for r in results),
            "errors": sum(r["non_2xx"] + sum(r["socket_errors"].values()) for r in results)}
    ratios = [(o["requests_per_s"] or 0) / max(t["requests_per_s"] or 0, 1)
              for o, t in zip(runs["ours"], runs["theirs"], strict=True)]
    result["ratios"] = [round(r, 2) for r in ratios]
    result["ours_over_pygeoapi"] = round(statistics.median(ratios), 2)
    result["errors"] = result["ours"]["errors"] + result["theirs"]["errors"] + (not same)
    return result
