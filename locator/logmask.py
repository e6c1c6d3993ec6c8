"""What of a request path may reach an access log: known routes only, nothing of a family's
search. Shared by gunicorn's private logger (locator/gunicorn_conf.py) and the nginx
configuration (locator/deploy/nginx.py renders the same patterns into its log map), so both
logs mask alike.

A path is logged as it is only when it matches one of ``KEPT_ROUTES`` and holds no run of
five digits (a postcode's length: ``/api/v1/offices/97082`` is someone's postcode, not an
office). Of the paths with an id, only those naming a district office are kept
(``/api/v1/offices/landkreis-coburg``); ``/api/v1/offices/wuerzburg`` may be a family's town.
Everything else is cut to the longest known prefix and ``…``:
``/api/v1/postcodes/96472`` → ``/api/v1/postcodes/…``, ``/api/v1/offices/nearest/97082`` →
``/api/v1/…``, ``/x%0Aforged`` → ``/…``. Kept paths contain no control character, quote or
space (the patterns do not allow them), so no log line can be forged through a path.
"""

from __future__ import annotations

import re

MASK = "…"
# The ids of the 96 district offices (slugs of the district's name: "landkreis-coburg",
# "stadt-ingolstadt", "landeshauptstadt-muenchen"). Any other slug is cut: a family that types
# a place into an office's URL ("/api/v1/offices/wuerzburg") must not have it logged. Offices
# merged by staff under other ids are logged as "/api/v1/…".
_OFFICE_ID = r"(?:landeshauptstadt|landkreis|stadt)-[a-z0-9]+(?:-[a-z0-9]+)*"
_SEGMENTS = r"[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*"
# Every route of the app (tests/test_logmask.py checks that each url_map rule is covered).
# Written in the subset of regular expressions that Python and nginx (PCRE) read alike.
KEPT_ROUTES = (
    r"/", r"/liste", r"/embed\.js", r"/healthz",
    r"/api/v1/offices", r"/api/v1/offices/nearest", r"/api/v1/offices/within",
    r"/api/v1/offices/" + _OFFICE_ID,
    r"/api/v1/responsible", r"/api/v1/places", r"/api/v1/openapi\.json", r"/api/v1/docs",
    r"/widget/static/" + _SEGMENTS, r"/static/" + _SEGMENTS,
    r"/vendor/[a-z.]+/" + _SEGMENTS,
    # OGC API - Features (locator/ogc)
    r"/ogc/", r"/ogc/conformance", r"/ogc/api", r"/ogc/collections",
    r"/ogc/collections/[a-z0-9_-]+", r"/ogc/collections/[a-z0-9_-]+/queryables",
    r"/ogc/collections/[a-z0-9_-]+/items",
    r"/ogc/collections/[a-z0-9_-]+/items/" + _OFFICE_ID,  # a district area's key has 5 digits
    r"/ogc/static/" + _SEGMENTS,
)
# A kept route must not hold a postcode-length digit run anywhere. The pattern is anchored at
# the very end ($ would also match before a final newline: "/healthz%0A"); Python writes that
# end \Z, PCRE \z, so each user appends its own.
KEPT_PATTERN = r"^(?![^?]*[0-9]{5})(?:" + "|".join(KEPT_ROUTES) + ")"
# Longest first: what an unknown or private path is cut to.
PREFIXES = ("/api/v1/postcodes/", "/api/v1/", "/ogc/", "/widget/static/", "/vendor/", "/")

_KEPT = re.compile(KEPT_PATTERN + r"\Z")
# The routes without a variable part, answered by a set lookup before the pattern: this runs
# for every request, and most requests are searches on these (50 ns instead of 1 µs).
_FIXED = frozenset(r.replace("\\", "") for r in KEPT_ROUTES if not re.search(r"[\[(+*?]", r))


def mask_path(path: str | None) -> str:
    """The path as the access log may show it (see the module's docstring)."""
    if path in _FIXED:
        return path  # type: ignore[return-value]
    if path and _KEPT.match(path):
        return path
    for prefix in PREFIXES:
        if path and path.startswith(prefix):
            return prefix + MASK
    return "/" + MASK


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def escape_controls(text: str) -> str:
    r"""Control characters as ``\xNN``: a log line stays one line, whatever it quotes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
