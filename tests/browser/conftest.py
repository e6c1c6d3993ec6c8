"""Browser fixtures: a real gunicorn on loopback, Debian's Chromium driven by Playwright.

Chromium is /usr/bin/chromium (``scripts/install-chromium``); Playwright never downloads a
browser here. Without it the browser tests are skipped, except under CI=true where they fail.
Map tiles come from the default (internet) tile server and fail to load, as they do offline:
the widget must work without them. A failing test leaves a screenshot in tests/artifacts/.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from live_server import LiveServer
from required_tools import missing
from widget_helpers import ARTIFACTS, TILE_HOST

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not os.access(CHROMIUM, os.X_OK):
        missing(f"{CHROMIUM} is missing: run scripts/install-chromium")
    return CHROMIUM


@pytest.fixture(scope="session")
def live_server() -> Iterator[str]:
    """gunicorn serving create_app() on a free loopback port, as scripts/serve runs it."""
    server = LiveServer(workers=2)
    try:
        server.start()
    except RuntimeError as err:
        pytest.fail(str(err), pytrace=False)
    yield server.url
    server.stop()
    server.cleanup()


@pytest.fixture(scope="session")
def browser(chromium_path: Path):
    """One Chromium for the session; launch() gives it a fresh temporary user-data-dir."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium_path), args=CHROMIUM_ARGS, headless=True,
        )
        yield browser
        browser.close()


@dataclass
class Watch:
    """What a page did that a test may assert on: errors, CSP reports, requested URLs."""

    errors: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def open_page(browser, live_server: str, request: pytest.FixtureRequest
              ) -> Iterator[Callable[..., tuple]]:
    """open_page(path, **context_options) → (page, watch); contexts are fresh per call."""
    contexts = []
    pages = []

    def _open(path: str = "/", *, wait_for: str | None = "#koki-map .koki-cluster, "
              "#koki-map .koki-pin", **options):
        options.setdefault("viewport", {"width": 1280, "height": 900})
        options.setdefault("locale", "de-DE")
        options.setdefault("service_workers", "block")
        context = browser.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        pages.append(page)
        watch = Watch()
        page.on("pageerror", lambda exc: watch.errors.append(str(exc)))

        def _console(message) -> None:
            text = message.text
            if "Content Security Policy" in text or "Content-Security-Policy" in text:
                watch.csp.append(text)
            elif message.type == "error" and not _is_tile_failure(message):
                watch.errors.append(f"{text} ({message.location.get('url')})")

        page.on("console", _console)
        page.on("request", lambda req: watch.requests.append(req.url))
        page.set_default_timeout(10_000)
        if path is not None:
            url = path if "://" in path else live_server + path
            page.goto(url, wait_until="domcontentloaded")
            if wait_for:
                page.wait_for_selector(wait_for, state="attached")
        return page, watch

    yield _open
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::", 1)[-1])
        for i, page in enumerate(pages):
            try:
                page.screenshot(path=str(ARTIFACTS / f"{name}-{i}.png"))
            except Exception:  # noqa: BLE001 - a broken page must not hide the real failure
                pass
    for context in contexts:
        context.close()


def _is_tile_failure(message) -> bool:
    """Expected offline: the tile server cannot be reached."""
    url = message.location.get("url") or ""
    return (message.text.startswith("Failed to load resource")
            and urlsplit(url).netloc == TILE_HOST)


@pytest.fixture
def axe():
    """axe_check(page) fails with axe-core's report when any WCAG 2.1 A/AA rule is violated."""
    from axe_playwright_python.sync_playwright import Axe

    engine = Axe()

    def _check(page, context: str | None = None) -> None:
        results = engine.run(page, context=context, options={
            "resultTypes": ["violations"],
            "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                                  "best-practice"]},
        })
        assert results.violations_count == 0, results.generate_report()

    return _check


@pytest.fixture
def host_site(live_server: str) -> Iterator[str]:
    """Another site (origin) on loopback whose page embeds the widget with the script tag."""
    body = ("<!doctype html><html lang=en><title>Ministry</title><h1>Ministry</h1>"
            f"<script src='{live_server}/embed.js' data-lang='en' data-height='700' async>"
            "</script><p id=after>after</p>").encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
