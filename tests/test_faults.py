"""Faults: bad or missing data files give a clear error naming file, line and field, never
touch a file, and a reload with a bad file keeps the old data serving (real gunicorn).

Every case works on a private copy of geodata/ so that nothing here can harm the real data.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from live_server import LiveServer
from nominatim_standin import NominatimStandin
from script_loader import load_script

from locator.config import REPO_GEODATA, Settings
from locator.districts import load_bavarian_districts
from locator.errors import DataError
from locator.offices import OFFICE_COLUMNS, read_offices
from locator.service import Locator

DATA_FILES = ("offices.csv", "districts.csv", "postcodes.csv", "district_areas.geojson")


def _seat_offices() -> str:
    """offices.csv as the builder makes it without research (every office at its seat): the
    faults below cut and edit known rows, whatever the research has found since."""
    with tempfile.TemporaryDirectory() as empty:
        rows = load_script("build_offices").build(REPO_GEODATA, contacts_dir=Path(empty))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(OFFICE_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


OFFICES = _seat_offices()
PASSAU_ROW = next(line for line in OFFICES.splitlines() if line.startswith("landkreis-passau,"))
PASSAU_LINE = OFFICES.splitlines().index(PASSAU_ROW) + 1


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A private copy of the embedded data."""
    target = tmp_path / "geodata"
    target.mkdir()
    for name in DATA_FILES:
        shutil.copy2(REPO_GEODATA / name, target / name)
    (target / "offices.csv").write_text(OFFICES, encoding="utf-8")
    return target


def digests(directory: Path) -> dict[str, str]:
    """Every file under ``directory`` (recursively) and its SHA-256."""
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def replace(path: Path, data: bytes | str) -> None:
    """Put new content in place atomically, as an operator's deploy would."""
    tmp = path.with_name(path.name + ".new")
    tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    os.replace(tmp, path)


def load(data_dir: Path, **overrides) -> Locator:
    return Locator.from_settings(Settings.from_env({}, data_dir=str(data_dir), **overrides))


# --- start-up: each bad file is named, with its line and field ---------------------------------

def _cut_inside_a_row(text: str, after: str) -> bytes:
    """The file as a copy interrupted in the Passau row, just after ``after``, leaves it."""
    row = text.index(PASSAU_ROW)
    return text[:row + PASSAU_ROW.index(after) + len(after)].encode()


OFFICE_FAULTS = {
    # name: (file content, what the message must say)
    "partial copy, cut inside a row": (
        _cut_inside_a_row(OFFICES, ",48.57"), [f"line {PASSAU_LINE}", "field 'lon': is empty"]),
    # Cut in the last (quoted) field the row is whole but the rest is missing.
    "partial copy, cut in the last field": (
        _cut_inside_a_row(OFFICES, ',place,,,"Ort'), ["no office for district(s) 09276"]),
    "latitude not a number": (
        OFFICES.replace(PASSAU_ROW, PASSAU_ROW.replace(",48.57717,", ",4x.5,")),
        [f"line {PASSAU_LINE}", "field 'lat'", "'4x.5' is not a number"]),
    "point outside Bavaria": (
        OFFICES.replace(PASSAU_ROW, PASSAU_ROW.replace("48.57717,13.41997", "48.5,9.0")),
        [f"line {PASSAU_LINE}", "field 'lat'", "not inside Bavaria"]),
    "unclosed quote": (
        OFFICES.replace('"KoKi – Netzwerk frühe Kindheit, Landkreis Passau"', '"KoKi Passau'),
        [f"line {PASSAU_LINE}", "field 'lat'", "is empty"]),
    "duplicate id": (
        OFFICES.replace(PASSAU_ROW, PASSAU_ROW.replace("landkreis-passau,", "stadt-passau,")),
        ["field 'id'", "duplicate id 'stadt-passau'"]),
    "unknown district": (
        OFFICES.replace(PASSAU_ROW, PASSAU_ROW.replace(",09275,", ",09999,")),
        [f"line {PASSAU_LINE}", "field 'district_ags'", "'09999'"]),
    "missing column": (
        OFFICES.replace("location_precision", "precision", 1),
        ["line 1", "missing column(s): location_precision"]),
    "empty file": (b"", ["line 1", "missing column(s)"]),
    "header only": (OFFICES.splitlines()[0] + "\n", ["no offices"]),
    "rows missing": (
        "\n".join(OFFICES.splitlines()[:60]) + "\n", ["no office for district(s)"]),
    "not UTF-8": (OFFICES.encode("latin-1", "replace"), ["not UTF-8", "at byte"]),
}


@pytest.mark.parametrize("fault", OFFICE_FAULTS, ids=list(OFFICE_FAULTS))
def test_bad_office_file_is_named_with_line_and_field_and_left_untouched(data_dir, fault):
    content, expected = OFFICE_FAULTS[fault]
    replace(data_dir / "offices.csv", content)
    before = digests(data_dir)
    with pytest.raises(DataError) as raised:
        if fault == "point outside Bavaria":
            load(data_dir)  # the whole start-up: only the district areas know this one
        else:
            # The office reader alone, as start-up calls it (the full load takes ~1 s more).
            read_offices(data_dir / "offices.csv",
                         load_bavarian_districts(data_dir / "districts.csv"))
    message = str(raised.value)
    assert message.startswith(str(data_dir / "offices.csv"))
    for part in expected:
        assert part in message, message
    assert digests(data_dir) == before


def test_missing_gazetteer_is_named(data_dir):
    (data_dir / "postcodes.csv").unlink()
    with pytest.raises(DataError, match="postcodes.csv: gazetteer file not found"):
        load(data_dir)


def test_district_file_without_an_ags_column_is_named(data_dir, tmp_path):
    areas = json.loads((data_dir / "district_areas.geojson").read_text(encoding="utf-8"))
    for feature in areas["features"]:
        feature["properties"] = {"name": "somewhere"}
    official = tmp_path / "kreise.geojson"
    official.write_text(json.dumps(areas), encoding="utf-8")
    before = digests(tmp_path)
    with pytest.raises(DataError) as raised:
        load(data_dir, districts_file=str(official))
    assert str(raised.value).startswith(str(official))
    assert "no district key column" in str(raised.value)
    assert "columns are name" in str(raised.value)
    with pytest.raises(DataError, match=r"kreise.geojson, field 'KRS_KEY': no district key"):
        load(data_dir, districts_file=str(official), districts_ags_column="KRS_KEY")
    assert digests(tmp_path) == before


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_district_geojson_in_a_metric_crs_is_read_in_it_or_refused_by_name(data_dir, tmp_path):
    import geopandas as gpd

    areas = gpd.read_file(data_dir / "district_areas.geojson")
    official = tmp_path / "kreise_25832.geojson"
    # What ogr2ogr or QGIS write for a layer in EPSG:25832: a "crs" member (GeoJSON 2008).
    areas[areas["ags"].str.fullmatch(r"\d{5}")].to_crs(25832).to_file(official,
                                                                       driver="GeoJSON")
    assert "EPSG::25832" in official.read_text(encoding="utf-8")[:500]
    try:
        locator = load(data_dir, districts_file=str(official))
    except DataError as err:
        assert str(err).startswith(str(official)), err
    else:
        assert locator.areas.key_at(49.0134, 12.1016) == "09362"  # Regensburg


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["latitude not a number", "missing gazetteer"])
def test_gunicorn_refuses_to_start_and_says_why(data_dir, fault):
    if fault == "missing gazetteer":
        (data_dir / "postcodes.csv").unlink()
        expected = f"DataError: {data_dir / 'postcodes.csv'}: gazetteer file not found"
    else:
        replace(data_dir / "offices.csv", OFFICE_FAULTS[fault][0])
        expected = (f"DataError: {data_dir / 'offices.csv'}, line {PASSAU_LINE}, field 'lat': "
                    "'4x.5' is not a number")
    before = digests(data_dir)
    server = LiveServer(env={"LOCATOR_DATA_DIR": str(data_dir)})
    try:
        with pytest.raises(RuntimeError, match="gunicorn exited with 1"):
            server.start(timeout_s=60)
        # The last line an operator sees names the file, the line and the field.
        assert server.error_log.strip().splitlines()[-1].endswith(expected)
    finally:
        server.stop()
        server.cleanup()
    assert digests(data_dir) == before


# --- bulk geocoding: an unusable cache stops the run before anything is asked or written ----------

@pytest.mark.slow  # starts the command
@pytest.mark.parametrize("fault", ["cache folder is a file", "cache file is not SQLite"])
def test_unusable_geocoding_cache_stops_the_cli_and_loses_nothing(data_dir, tmp_path, fault):
    source = tmp_path / "stellen.csv"
    source.write_text("Name;Straße;PLZ;Ort\nKoKi Test;Lauterer Str. 1;96450;Coburg\n",
                      encoding="utf-8")
    if fault == "cache folder is a file":
        (tmp_path / "var").write_text("not a folder", encoding="utf-8")
        cache_dir = tmp_path / "var" / "cache"  # root or not: nothing can be created here
        cache_file = cache_dir / "geocode-cache.sqlite3"
    else:
        cache_dir = tmp_path / "cache"
        cache_dir.mkdir()
        cache_file = cache_dir / "geocode-cache.sqlite3"
        cache_file.write_bytes(b"these are a previous run's answers, damaged" * 100)
    out = tmp_path / "out.csv"
    before = digests(tmp_path)  # the data copy, the staff list and the cache
    assert any(name.endswith("offices.csv") for name in before)
    with NominatimStandin() as nominatim:
        nominatim.add("Lauterer Str. 1", "96450", "Coburg", 50.2601, 10.968)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOCATOR_")}
        env.update({"LOCATOR_GEOCODER": "nominatim", "LOCATOR_GEOCODER_URL": nominatim.url,
                    "LOCATOR_CACHE_DIR": str(cache_dir), "LOCATOR_DATA_DIR": str(data_dir)})
        done = subprocess.run([str(Path(sys.executable).parent / "locator"), "geocode",
                               str(source), "-o", str(out), "--merge"],
                              env=env, capture_output=True, text=True, timeout=120)
        assert nominatim.requests == []  # stopped before asking anyone
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"error: {cache_file}: unusable geocoding cache" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()
    assert digests(tmp_path) == before


# --- reload: a bad file keeps the old data serving ------------------------------------------------

def healthz(server: LiveServer) -> dict:
    status, _, body = server.get("/healthz")
    assert status == 200
    return json.loads(body)


def office_name(server: LiveServer, office_id: str) -> str:
    status, _, body = server.get(f"/api/v1/offices/{office_id}")
    assert status == 200
    return json.loads(body)["properties"]["name"]


def wait_for_new_workers(server: LiveServer, old: list[int], timeout_s: float = 60) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pids = server.worker_pids()
        if len(pids) == server.workers and not set(pids) & set(old):
            return server.wait_for_workers()
        time.sleep(0.05)
    raise AssertionError(f"workers {old} were not replaced:\n{server.error_log[-3000:]}")


class Traffic:
    """Requests in a loop on a background thread, counting any that is not a 200."""

    def __init__(self, server: LiveServer) -> None:
        self.server, self.done, self.failures, self.count = server, threading.Event(), [], 0
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self.done.is_set():
            try:
                status, _, _ = self.server.get("/api/v1/offices/nearest?postcode=94032")
            except OSError as err:
                status = repr(err)
            self.count += 1
            if status != 200:
                self.failures.append(status)

    def __enter__(self) -> Traffic:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join(30)


@pytest.mark.slow
def test_sighup_reload_keeps_old_data_on_a_bad_file_and_takes_a_good_one(data_dir):
    with LiveServer(workers=2, env={"LOCATOR_DATA_DIR": str(data_dir)}) as server:
        workers = server.wait_for_workers()
        first = healthz(server)
        assert first["offices"] == 96

        with Traffic(server) as traffic:
            replace(data_dir / "offices.csv", OFFICE_FAULTS["latitude not a number"][0])
            os.kill(server.pid, signal.SIGHUP)
            workers = wait_for_new_workers(server, workers)
            assert healthz(server) == first
            assert office_name(server, "landkreis-passau").endswith("Landkreis Passau")
            assert "reload failed, still serving data version " + first["data_version"] in (
                server.error_log)
            assert f"line {PASSAU_LINE}, field 'lat': '4x.5' is not a number" in server.error_log

            renamed = OFFICES.replace("Kindheit, Landkreis Passau", "Kindheit, Lkr. Passau (neu)")
            replace(data_dir / "offices.csv", renamed)
            os.kill(server.pid, signal.SIGHUP)
            wait_for_new_workers(server, workers)
        second = healthz(server)
        assert second["data_version"] != first["data_version"]
        assert second["offices"] == 96
        assert office_name(server, "landkreis-passau").endswith("Lkr. Passau (neu)")
        # Graceful: not one request failed while the workers were replaced twice.
        assert traffic.count > 0
        assert traffic.failures == []
        assert (data_dir / "offices.csv").read_text(encoding="utf-8") == renamed


@pytest.mark.slow
def test_file_change_check_reloads_a_good_file_and_keeps_old_data_on_a_bad_one(data_dir):
    check_s = 0.3
    env = {"LOCATOR_DATA_DIR": str(data_dir), "LOCATOR_RELOAD_CHECK_S": str(check_s)}
    with LiveServer(workers=1, env=env) as server:
        server.wait_for_workers()
        first = healthz(server)

        replace(data_dir / "offices.csv", OFFICE_FAULTS["point outside Bavaria"][0])
        time.sleep(check_s * 1.5)
        assert healthz(server) == first  # this request ran the check and the failed reload
        assert healthz(server) == first
        assert "reload failed, still serving data version " + first["data_version"] in (
            server.error_log)
        assert "not inside Bavaria" in server.error_log

        renamed = OFFICES.replace("Kindheit, Landkreis Passau", "Kindheit, Lkr. Passau (neu)")
        replace(data_dir / "offices.csv", renamed)
        time.sleep(check_s * 1.5)
        healthz(server)  # runs the check and the reload
        assert healthz(server)["data_version"] != first["data_version"]
        assert office_name(server, "landkreis-passau").endswith("Lkr. Passau (neu)")
        assert "reloaded data: version" in server.error_log


@pytest.mark.slow
def test_a_bad_file_is_tried_once_per_change_not_at_every_check(data_dir):
    check_s = 0.3
    env = {"LOCATOR_DATA_DIR": str(data_dir), "LOCATOR_RELOAD_CHECK_S": str(check_s)}
    with LiveServer(workers=1, env=env) as server:
        server.wait_for_workers()
        replace(data_dir / "offices.csv", OFFICE_FAULTS["latitude not a number"][0])
        for _ in range(3):
            time.sleep(check_s * 1.5)
            healthz(server)
        assert server.error_log.count("reload failed") == 1


@pytest.mark.slow
def test_sighup_to_a_worker_drops_no_request(data_dir):
    with LiveServer(workers=1, env={"LOCATOR_DATA_DIR": str(data_dir)}) as server:
        (worker,) = server.wait_for_workers()
        # A request in flight for certain: the worker has read half of it and waits for the rest.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"GET /api/v1/offices/nearest?postcode=94032 HTTP/1.1\r\n")
            time.sleep(0.3)
            os.kill(worker, signal.SIGHUP)
            time.sleep(0.3)
            try:
                sock.sendall(b"Host: 127.0.0.1\r\nConnection: close\r\n\r\n")
                answer = sock.recv(64)
            except OSError as err:
                answer = repr(err).encode()
        assert answer.startswith(b"HTTP/1.1 200"), answer
