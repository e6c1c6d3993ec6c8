"""Atomic writes with a backup: killed at any moment, the data file and its .bak are whole.

A child process rewrites a large file (with backup) in a loop; the test kills it with SIGKILL
at varied moments and checks that both files are each one complete version. With the former
shutil.copy2 backup the .bak was truncated by such kills (the issue: 3 times out of 3).
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from locator import storage
from locator.storage import write_atomically

LINES = 200_000  # ~5 MB per version: a copy of it takes long enough to be caught mid-way

WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from locator.storage import write_atomically

    path, lines = Path(sys.argv[1]), int(sys.argv[2])
    version = int(path.read_text().rsplit("END ", 1)[1]) if path.exists() else 0
    while True:
        version += 1
        line = f"version {version:08d} " + "x" * 8 + "\\n"
        write_atomically(path, lambda fh: fh.write(line * lines + f"END {version}"),
                         backup=True)
        print(version, flush=True)
""")


def whole_version(path) -> int:
    """The version a file holds, asserting it is complete and of one version only."""
    text = path.read_text()
    body, _, end = text.rpartition("END ")
    version = int(end)
    assert body == f"version {version:08d} xxxxxxxx\n" * LINES, f"{path.name} is not whole"
    return version


@pytest.mark.slow  # kills a writer process at 8 moments
def test_a_kill_at_any_moment_leaves_data_and_backup_whole(tmp_path):
    path = tmp_path / "offices.csv"
    backup = tmp_path / "offices.csv.bak"
    kills = 0
    for delay_s in (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(LINES)],
                                stdout=subprocess.PIPE, text=True)
        proc.stdout.readline()  # at least one version written by this process
        time.sleep(delay_s)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        kills += proc.returncode == -signal.SIGKILL
        data = whole_version(path)
        if backup.exists():
            assert whole_version(backup) in (data - 1, data)
    assert kills == 8 and backup.exists()
    # At most the two temp files (data, backup link) each kill interrupted; merges remove them.
    assert len(list(tmp_path.glob(".offices.csv.*.tmp"))) <= 2 * kills


def test_backup_is_the_previous_version_and_independent_of_the_new(tmp_path):
    path = tmp_path / "data.csv"
    write_atomically(path, lambda fh: fh.write("one\n"))
    write_atomically(path, lambda fh: fh.write("two\n"), backup=True)
    write_atomically(path, lambda fh: fh.write("three\n"), backup=True)
    assert path.read_text() == "three\n"
    assert (tmp_path / "data.csv.bak").read_text() == "two\n"
    assert os.stat(path).st_ino != os.stat(tmp_path / "data.csv.bak").st_ino
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "data.csv.bak"]


def test_without_hard_links_the_backup_is_a_synced_copy(tmp_path, monkeypatch):
    def no_links(*args, **kwargs):
        raise OSError(errno.EPERM, "hard links not supported")

    path = tmp_path / "data.csv"
    write_atomically(path, lambda fh: fh.write("one\n"))
    monkeypatch.setattr(storage.os, "link", no_links)
    write_atomically(path, lambda fh: fh.write("two\n"), backup=True)
    assert (tmp_path / "data.csv.bak").read_text() == "one\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "data.csv.bak"]


@pytest.mark.parametrize("fail_at", ["link", "replace"])
def test_a_failed_backup_leaves_no_temp_file_and_the_data_unchanged(tmp_path, monkeypatch,
                                                                    fail_at):
    path = tmp_path / "data.csv"
    write_atomically(path, lambda fh: fh.write("one\n"))
    real = os.replace

    def broken(*args, **kwargs):
        raise OSError(errno.EIO, "disk failed")

    if fail_at == "link":
        monkeypatch.setattr(storage.os, "link", broken)
        monkeypatch.setattr(storage.shutil, "copyfileobj", broken)
    else:
        monkeypatch.setattr(storage.os, "replace",
                            lambda src, dst: broken() if str(dst).endswith(".bak")
                            else real(src, dst))
    with pytest.raises(OSError, match="disk failed"):
        write_atomically(path, lambda fh: fh.write("two\n"), backup=True)
    assert path.read_text() == "one\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv"]
