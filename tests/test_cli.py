"""The `locator` command, called directly (main([...])) and as the installed console script."""

from __future__ import annotations

import csv
import fcntl
import os
import pty
import shutil
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
import urllib.request
from pathlib import Path

import pytest
from nominatim_standin import NominatimStandin

from locator.cli import main
from locator.offices import OFFICE_COLUMNS

DATA = Path(__file__).parent / "data" / "bulk"
LOCATOR_BIN = Path(sys.executable).parent / "locator"


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120,
        **kwargs) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LOCATOR_")}
    return subprocess.run([str(LOCATOR_BIN), *args], env={**clean, **(env or {})},
                          capture_output=True, text=True, timeout=timeout, **kwargs)


@pytest.fixture(autouse=True)
def _no_developer_settings(monkeypatch):
    for name in [k for k in os.environ if k.startswith("LOCATOR_")]:
        monkeypatch.delenv(name)


# --- geocode, called directly -------------------------------------------------------------

def test_geocode_writes_the_output_and_a_summary(tmp_path, capsys):
    out = tmp_path / "out.csv"
    assert main(["geocode", str(DATA / "semicolon_cp1252.csv"), "--output", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert "10 records" in stdout
    assert "ok 5, not_found 1, invalid 2, conflict 2 (ok by precision: place 1, postcode 4)" in (
        stdout)
    with out.open(encoding="utf-8") as fh:
        assert len(list(csv.DictReader(fh))) == 10


def test_geocode_to_geojson(tmp_path):
    out = tmp_path / "out.geojson"
    assert main(["geocode", str(DATA / "comma_bom.csv"), "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith('{"type":"FeatureCollection"')


def test_dry_run_writes_nothing(tmp_path, capsys):
    out = tmp_path / "out.csv"
    assert main(["geocode", str(DATA / "comma_bom.csv"), "-o", str(out), "--dry-run"]) == 0
    assert not out.exists()
    assert "dry run" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "message"), [
    (["not_text.csv", "-o", "out.csv"], "not_text.csv, line 3: neither UTF-8 nor Windows-1252"),
    (["no_address.csv", "-o", "out.csv"], "no_address.csv, line 1: no address columns"),
    (["missing.csv", "-o", "out.csv"], "missing.csv: cannot read the file"),
    (["comma_bom.csv", "-o", "out.txt"], "out.txt: the output must end in .csv or .geojson"),
    (["comma_bom.csv", "-o", "out.csv", "--geocoder", "nosuch"], "LOCATOR_GEOCODER: 'nosuch'"),
    (["comma_bom.csv", "-o", "no/such/dir/out.csv"], "out.csv: cannot write into"),
])
def test_geocode_errors_name_the_file(tmp_path, capsys, args, message):
    args = [str(DATA / args[0]), args[1], str(tmp_path / args[2]), *args[3:]]
    assert main(["geocode", *args]) == 1
    assert message in capsys.readouterr().err


def test_usage_errors_exit_2():
    with pytest.raises(SystemExit) as exit_info:
        main(["geocode", "x.csv"])  # --output is required
    assert exit_info.value.code == 2


def test_merge_with_dry_run_reports_without_writing(tmp_path, seat_offices, monkeypatch,
                                                    capsys):
    offices = tmp_path / "offices.csv"
    shutil.copy(seat_offices, offices)
    monkeypatch.setenv("LOCATOR_OFFICES_FILE", str(offices))
    before = offices.read_bytes()
    assert main(["geocode", str(DATA / "new_offices.csv"), "-o", str(tmp_path / "o.csv"),
                 "--merge", "--dry-run"]) == 0
    stdout = capsys.readouterr().out
    assert "2 added, 1 moved, 0 updated, 1 duplicate(s), 4 skipped" in stdout
    assert "+ koki-aussenstelle-roedental" in stdout
    assert offices.read_bytes() == before


# --- the installed console script ---------------------------------------------------------

@pytest.mark.slow  # starts the console script twice
def test_console_script_geocodes_and_merges(tmp_path, settings):
    offices = tmp_path / "offices.csv"
    shutil.copy(settings.offices_file, offices)
    done = run("geocode", str(DATA / "new_offices.csv"), "-o", str(tmp_path / "o.geojson"),
               "--merge", env={"LOCATOR_OFFICES_FILE": str(offices)})
    assert done.returncode == 0, done.stderr
    assert "written; previous version in offices.csv.bak" in done.stdout
    assert "geocoding" not in done.stderr  # no progress bar when stderr is not a terminal
    check = run("check", env={"LOCATOR_OFFICES_FILE": str(offices)})
    assert check.returncode == 0, check.stderr
    assert "98 offices in 96 of 96 districts" in check.stdout


def test_check_passes_on_the_shipped_data(capsys):
    assert main(["check"]) == 0
    assert "all checks passed" in capsys.readouterr().out


def test_check_names_file_line_and_field(tmp_path, settings, monkeypatch, capsys):
    lines = settings.offices_file.read_text(encoding="utf-8").splitlines(keepends=True)
    fields = next(csv.reader([lines[4]]))
    fields[OFFICE_COLUMNS.index("lat")] = "4x.1"  # lat of the office on line 5
    broken = tmp_path / "offices.csv"
    with broken.open("w", encoding="utf-8", newline="") as fh:
        fh.writelines(lines[:4])
        csv.writer(fh, lineterminator="\n").writerow(fields)
        fh.writelines(lines[5:])
    monkeypatch.setenv("LOCATOR_OFFICES_FILE", str(broken))
    assert main(["check"]) == 1
    assert f"{broken}, line 5, field 'lat': '4x.1' is not a number" in capsys.readouterr().err


@pytest.mark.slow  # starts `locator serve` (gunicorn)
def test_serve_answers_health_checks(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LOCATOR_")}
    proc = subprocess.Popen([str(LOCATOR_BIN), "serve", "--workers", "1"],
                            env={**clean, "HOST": "127.0.0.1", "PORT": str(port),
                                 "LOCATOR_ACCESS_LOG": str(tmp_path / "access.log")},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert proc.poll() is None, "locator serve exited"
                assert time.monotonic() < deadline, "locator serve did not answer"
                time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.mark.slow  # starts, interrupts and re-runs the command
def test_interrupted_online_run_resumes_from_the_cache(tmp_path):
    """Ctrl-C loses nothing: what was geocoded is cached, the re-run asks only for the rest."""
    source = tmp_path / "streets.csv"
    with source.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(["Name", "Straße", "PLZ", "Ort"])
        for i in range(1, 13):
            writer.writerow([f"KoKi {i}", f"Lauterer Str. {i}", "96450", "Coburg"])
    out = tmp_path / "out.csv"
    with NominatimStandin() as server:
        for i in range(1, 13):
            server.add(f"Lauterer Str. {i}", "96450", "Coburg", 50.26 + i / 1e4, 10.968)
        env = {"LOCATOR_GEOCODER": "nominatim", "LOCATOR_GEOCODER_URL": server.url,
               "LOCATOR_GEOCODER_MIN_DELAY_S": "0.2", "LOCATOR_CACHE_DIR": str(tmp_path / "c")}
        clean = {k: v for k, v in os.environ.items() if not k.startswith("LOCATOR_")}
        proc = subprocess.Popen([str(LOCATOR_BIN), "geocode", str(source), "-o", str(out)],
                                env={**clean, **env}, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while len(server.requests) < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 130, stderr
        assert "Run the same command again to resume" in stderr
        assert not out.exists()
        asked = len(server.requests)
        assert 4 <= asked < 12
        done = run("geocode", str(source), "-o", str(out), env=env)
        assert done.returncode == 0, done.stderr
        assert len(server.requests) - asked <= 12 - asked + 1  # at most one was in flight
        assert "from the cache" in done.stdout
    with out.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["precision"] for r in rows] == ["address"] * 12
    assert [r["Name"] for r in rows] == [f"KoKi {i}" for i in range(1, 13)]


@pytest.mark.slow  # starts the command on a pseudo-terminal
def test_progress_bar_on_a_terminal(tmp_path):
    """On a terminal, stderr shows tqdm's bar; off a terminal (the other tests), nothing."""
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LOCATOR_")}
    proc = subprocess.Popen([str(LOCATOR_BIN), "geocode", str(DATA / "comma_bom.csv"), "-o",
                             str(tmp_path / "out.csv")], env=clean, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=secondary)
    os.close(secondary)
    seen = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        seen += chunk
    assert proc.wait(timeout=60) == 0
    os.close(primary)
    text = seen.decode(errors="replace")
    assert "geocoding: 100%" in text and "4/4" in text
