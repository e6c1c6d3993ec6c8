"""Atomic file writes: a crash or kill mid-write never leaves a half-written data file."""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path


def write_atomically(path: Path, write, *, backup: bool = False, newline: str | None = "") -> None:
    """Call ``write(fh)`` on a temp file beside ``path``, fsync, then rename it over ``path``.

    With ``backup`` the previous version is kept as ``<name>.bak``. The rename is atomic on
    POSIX, so readers see either the old or the new file, never a mix.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        mode = os.stat(path).st_mode & 0o777 if path.exists() else 0o644
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if backup and path.exists():
            shutil.copy2(path, path.with_name(path.name + ".bak"))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def write_csv_atomically(path: Path, columns: list[str], rows: Iterable[Mapping[str, object]],
                         *, backup: bool = False) -> None:
    """Write rows as UTF-8 CSV with a header, atomically."""

    def write(fh) -> None:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n", extrasaction="raise")
        writer.writeheader()
        for row in rows:
            writer.writerow({col: row.get(col, "") for col in columns})

    write_atomically(path, write, backup=backup)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
