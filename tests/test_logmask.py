"""The access log's path mask (locator/logmask.py): every route of the app is kept as it is,
everything that could be a family's search is cut, and no path can forge a log line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from locator.logmask import KEPT_PATTERN, escape_controls, mask_path

SAMPLES = {"office_id": "landkreis-coburg", "postcode": "96472", "filename": "widget.js",
           "lib": "leaflet", "collection": "offices", "feature_id": "landkreis-coburg"}


def test_every_route_of_the_app_is_kept_except_postcodes(app):
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: SAMPLES[m.group(1)], rule.rule)
        expected = "/api/v1/postcodes/…" if "postcode" in rule.arguments else path
        assert mask_path(path) == expected, rule.rule


@pytest.mark.parametrize(("path", "logged"), [
    ("/api/v1/offices/nearest", "/api/v1/offices/nearest"),
    ("/vendor/leaflet/images/marker-icon-2x.png", "/vendor/leaflet/images/marker-icon-2x.png"),
    ("/api/v1/postcodes/96472", "/api/v1/postcodes/…"),
    ("/api/v1/postcodes/ 97085", "/api/v1/postcodes/…"),
    ("/api/v1/offices/nearest/97082", "/api/v1/…"),
    ("/api/v1/offices/97082", "/api/v1/…"),
    ("/api/v1/offices/koki-97082-x", "/api/v1/…"),
    # Only a district office's id is kept: anything else in its place may be a family's town.
    ("/api/v1/offices/landkreis-coburg", "/api/v1/offices/landkreis-coburg"),
    ("/api/v1/offices/landeshauptstadt-muenchen", "/api/v1/offices/landeshauptstadt-muenchen"),
    ("/api/v1/offices/wuerzburg", "/api/v1/…"),
    ("/api/v1/offices/neustadt-an-der-aisch", "/api/v1/…"),
    ("/api/v1/offices/stadt-", "/api/v1/…"),
    ("/ogc/collections/offices/items/stadt-coburg", "/ogc/collections/offices/items/stadt-coburg"),
    ("/ogc/collections/offices/items/roedental", "/ogc/…"),
    ("/api/v1/places/Neustadt b. Coburg", "/api/v1/…"),
    ("/healthz\n", "/…"),
    ("/ogc/collections/offices/items/09463", "/ogc/…"),
    ("/ogc/collections/offices/items/x y", "/ogc/…"),
    ("/x\n2026-01-01 \"GET /forged\" 200", "/…"),
    ("/liste/49.01347", "/…"),
    ("/widget/static/../../etc/passwd 96472", "/widget/static/…"),
    ("", "/…"),
    (None, "/…"),
])
def test_unknown_and_private_paths_are_cut(path, logged):
    assert mask_path(path) == logged


def test_the_pattern_reads_alike_in_python_and_as_rendered_for_nginx():
    from locator.deploy.nginx import ProxyConfig, render

    text = render(ProxyConfig("127.0.0.1:8000", Path("/tmp/s.sock"), Path("/tmp/r")))
    assert f'"~{KEPT_PATTERN}\\z" $uri;' in text


def test_control_characters_are_escaped():
    assert escape_controls("a\nb\rc\x00d\x7f") == "a\\x0ab\\x0dc\\x00d\\x7f"
    assert escape_controls("Rödental – ok") == "Rödental – ok"
