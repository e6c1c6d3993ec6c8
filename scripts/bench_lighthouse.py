"""Lighthouse figures for scripts/bench: the widget's pages on a phone (Lighthouse's mobile
preset, offline with a tile stub), as the browser test measures them. Imported by bench.py."""

from __future__ import annotations

import os
from pathlib import Path

from lighthouse import LIGHTHOUSE, TileStub, audit, summary
from live_server import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
PAGES = {"index": "/", "list": "/liste"}


def why_unavailable() -> str | None:
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing (scripts/install-chromium)"
    if not os.access(LIGHTHOUSE, os.X_OK):
        return "Lighthouse is not installed (scripts/install-lighthouse)"
    return None


def run(work_dir: Path, workers: int) -> dict:
    """Scores, LCP, CLS, TBT and the first load's transferred bytes (without tiles) per page."""
    out: dict = {}
    with TileStub() as tiles:
        with LiveServer(workers=workers, access_log="/dev/null",
                        env={"LOCATOR_TILE_URL": tiles.url_template}) as server:
            for name, path in PAGES.items():
                report = audit(server.url + path, CHROMIUM, work_dir)
                out[name] = summary(report, exclude_hosts={tiles.host})
    return out
