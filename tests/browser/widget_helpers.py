"""Reading the widget's state from a page, and asking the API the same question directly."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

TILE_HOST = "tile.openstreetmap.org"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def offices_on_map(page) -> int:
    """Offices the map shows: single pins plus the counts of the clusters."""
    return page.evaluate("""() => {
        const map = document.getElementById('koki-map');
        const pins = map.querySelectorAll('.leaflet-marker-icon.koki-pin').length;
        const clustered = [...map.querySelectorAll('.leaflet-marker-icon .koki-cluster__count')]
            .reduce((sum, c) => sum + Number(c.dataset.count), 0);
        return pins + clustered;
    }""")


def wait_for_offices_on_map(page, count: int) -> None:
    """Until the map shows ``count`` offices (it redraws after a zoom)."""
    page.wait_for_function("""n => {
        const map = document.getElementById('koki-map');
        const pins = map.querySelectorAll('.leaflet-marker-icon.koki-pin').length;
        const clustered = [...map.querySelectorAll('.leaflet-marker-icon .koki-cluster__count')]
            .reduce((sum, c) => sum + Number(c.dataset.count), 0);
        return pins + clustered === n;
    }""", arg=count)


def result_ids(page) -> list[str]:
    return page.eval_on_selector_all("#koki-result-list > li",
                                     "items => items.map(i => i.dataset.officeId)")


def api(base: str, path: str, **params) -> dict:
    url = f"{base}/api/v1{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def search(page, text: str, radius_km: int | None = None) -> None:
    """Type into the field, pick the radius, press Enter, wait for the answer."""
    page.fill("#koki-q", text)
    if radius_km is not None:
        page.select_option("#koki-radius", str(radius_km))
    submit(page, lambda: page.press("#koki-q", "Enter"))


def submit(page, action, api_path: str = "/api/v1/offices/") -> None:
    """Run the action that starts a search and wait until the widget has drawn the answer."""
    with page.expect_request(lambda request: api_path in request.url):
        action()
    # aria-busy is "true" from before the request until everything is drawn.
    page.wait_for_selector("#koki-results[aria-busy='false']", state="attached")


def assert_clean(page, watch, base: str) -> None:
    """No script errors, no CSP violations, no cookies or storage, no foreign requests."""
    assert watch.errors == []
    assert watch.csp == []
    assert page.context.cookies() == []
    assert page.evaluate("() => localStorage.length + sessionStorage.length") == 0
    own = urlsplit(base).netloc
    foreign = {urlsplit(u).netloc for u in watch.requests
               if urlsplit(u).scheme in ("http", "https")} - {own, TILE_HOST}
    assert foreign == set()


def focus_by_tab(page, predicate: str, limit: int = 40) -> None:
    """Press Tab until the JS predicate (over document.activeElement) holds."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(el => {predicate})(document.activeElement)"):
            return
    raise AssertionError(f"Tab never reached an element where {predicate}")


def has_visible_focus(page) -> bool:
    return page.evaluate("""() => {
        const s = getComputedStyle(document.activeElement);
        return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
    }""")
