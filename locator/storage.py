"""Atomic file writes: a crash or kill mid-write never leaves a half-written data file."""

from __future__ import annotations

import csv
import os
import secrets
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
            _backup(path)
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


def _backup(path: Path) -> None:
    """Make ``<name>.bak`` the current ``path``, atomically: a kill at any moment leaves the
    previous backup or the new one, each whole.

    A hard link under a temp name, renamed over the backup: no byte is copied, and the data
    file is never changed in place (it is always replaced by rename), so the linked version
    stays as it is. Where the file system has no hard links, a copy under a temp name, synced,
    then renamed, like the data file itself.
    """
    backup = path.with_name(path.name + ".bak")
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        try:
            os.link(path, tmp)
        except OSError:  # no hard links here (some network and FAT file systems)
            with path.open("rb") as src, tmp.open("xb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
                dst.flush()
                os.fsync(dst.fileno())
            shutil.copystat(path, tmp)
        os.replace(tmp, backup)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
