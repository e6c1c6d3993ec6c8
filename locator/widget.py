"""The map widget: its page, the server-rendered office list, /embed.js and self-hosted assets.

Everything here works under a strict Content-Security-Policy (no inline script or style) and
sets no cookies. Leaflet and Leaflet.markercluster come from their XStatic packages and are
served by this blueprint; the only third-party requests a page makes are for map tiles.
Pages are rendered once per data version, language and embed flag (PageCache) and answered
with an ETag; a page ignores any search in its URL (?q=…): widget.js runs it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import xstatic.pkg.leaflet as xs_leaflet
import xstatic.pkg.leaflet_markercluster as xs_cluster
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from markupsafe import Markup

from .assets import AssetStore, asset_response
from .compression import cache_as
from .errors import ConfigError
from .hours import in_words

STATIC = Path(__file__).parent / "static"
bp = Blueprint("widget", __name__)

LANGS = {"de": "de-DE", "en": "en-GB"}
RADII_KM = (5, 10, 25, 50, 100)
DEFAULT_RADIUS_KM = 25
NEAREST_LIMIT = 5
# Initial map view: Bavaria's bounding box ([south, west], [north, east]).
BAVARIA_BOUNDS = ((47.27, 8.97), (50.57, 13.84))
VENDOR = {"leaflet": xs_leaflet, "leaflet.markercluster": xs_cluster}
PAGE_MAX_AGE_S = 300
EMBED_MAX_AGE_S = 3600
_ANCESTOR = re.compile(r"^(\*|'self'|'none'|https?://(\*\.)?[a-z0-9.-]+(:\d+)?|https?:)$",
                       re.IGNORECASE)


class PageCache:
    """Rendered pages of one data version: (body, ETag) per page, language and embed flag.

    A reload replaces state.Loaded, and the first request that sees the new one starts
    afresh. Per app, not in Loaded: a page also depends on the app's settings (tiles)."""

    def __init__(self) -> None:
        self._loaded: object = None
        self._pages: dict[tuple[str, str, bool], tuple[bytes, str]] = {}

    def get(self, loaded: object, key: tuple[str, str, bool],
            render: Callable[[], str]) -> tuple[bytes, str]:
        if loaded is not self._loaded:
            self._loaded, self._pages = loaded, {}
        page = self._pages.get(key)
        if page is None:
            body = render().encode()
            page = self._pages[key] = (body, hashlib.sha256(body).hexdigest()[:20])
        return page


@dataclass(frozen=True)
class WidgetConfig:
    """Per-app widget settings, fixed at start-up: messages, CSP, static files, page cache."""

    messages: dict[str, dict[str, str]]
    csp: str
    assets: AssetStore
    pages: PageCache


@bp.record_once
def _configure(state: BlueprintSetupState) -> None:
    app = state.app
    settings = app.extensions["settings"]
    messages = {lang: json.loads((STATIC / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))
                for lang in LANGS}
    ancestors = frame_ancestors(settings.frame_ancestors)
    roots = {"widget": STATIC, **{lib: Path(pkg.BASE_DIR) for lib, pkg in VENDOR.items()}}
    app.extensions["widget"] = WidgetConfig(
        messages=messages, csp=content_security_policy(settings.tile_url, ancestors),
        assets=AssetStore(roots), pages=PageCache(),
    )


def frame_ancestors(value: str) -> str:
    """Validated CSP frame-ancestors sources from LOCATOR_FRAME_ANCESTORS (space or comma list)."""
    sources = [s for s in re.split(r"[\s,]+", value.strip()) if s]
    bad = [s for s in sources if not _ANCESTOR.match(s)]
    if not sources or bad:
        raise ConfigError(f"LOCATOR_FRAME_ANCESTORS: {' '.join(bad) or value!r} is not a list "
                          "of origins like https://www.example.org, or *, 'self', 'none'")
    return " ".join(sources)


def tile_source(tile_url: str) -> str:
    """The CSP source of a tile URL template: its scheme and host, {s} as a wildcard label."""
    parts = urlsplit(tile_url)
    host = re.sub(r"\{[^}]*\}", "*", parts.netloc)
    if not parts.scheme or not host:
        return "'self'"  # a relative tile URL: served by this service
    if "*" in host.lstrip("*."):
        return f"{parts.scheme}:"  # a template CSP cannot express: allow the scheme only
    return f"{parts.scheme}://{host}"


def content_security_policy(tile_url: str, ancestors: str) -> str:
    return "; ".join((
        "default-src 'self'", "script-src 'self'", "style-src 'self'",
        f"img-src 'self' data: {tile_source(tile_url)}", "connect-src 'self'",
        "font-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'",
        f"frame-ancestors {ancestors}",
    ))


@bp.after_request
def _headers(response: Response) -> Response:
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = current_app.extensions["widget"].csp
        # The page may ask for the position only for itself (and when embedded, only if the
        # embedding page allows it with <iframe allow="geolocation">).
        response.headers["Permissions-Policy"] = "geolocation=(self), camera=(), microphone=()"
        response.cache_control.public = True
        response.cache_control.max_age = PAGE_MAX_AGE_S
    return response


# --- page context ------------------------------------------------------------------------------

def _lang() -> str:
    lang = request.args.get("lang", "de")
    return lang if lang in LANGS else "de"


def _messages(lang: str) -> dict[str, str]:
    return current_app.extensions["widget"].messages[lang]


def _fmt(template: str, **values: object) -> str:
    return template.format(**values)


def office_regions() -> list[tuple[str, list[dict]]]:
    """Every office as a dict (None for unknown fields), grouped by Regierungsbezirk: built
    once per data version (state.Loaded.regions)."""
    return current_app.extensions["locator"].loaded.regions


def _assets() -> AssetStore:
    return current_app.extensions["widget"].assets


def _asset(filename: str) -> str:
    return url_for("widget.static", filename=filename, v=_assets().version("widget", filename))


def _vendor(lib: str, filename: str) -> str:
    return url_for("widget.vendor", lib=lib, filename=filename,
                   v=_assets().version(lib, filename))


def _context(lang: str, embed: bool) -> dict:
    t = _messages(lang)
    settings = current_app.extensions["settings"]
    other = t["lang_switch_lang"]
    regions = office_regions()
    return {
        "lang": lang, "t": t, "embed": embed, "regions": regions,
        "office_total": sum(len(offices) for _, offices in regions),
        "fmt": _fmt, "asset": _asset, "vendor": _vendor, "hours_in_words": in_words,
        "tile_attribution": Markup(settings.tile_attribution),  # trusted operator config
        "postcode_attribution": Markup(t["attribution_postcodes"]),
        "lang_args": {} if lang == "de" else {"lang": lang},
        "other_lang_args": {**({} if other == "de" else {"lang": other}),
                            **({"embed": "1"} if embed else {})},
    }


# --- pages -------------------------------------------------------------------------------------

def _page(name: str, render: Callable[[str, bool], str]) -> Response:
    """A page rendered once per data version, language and embed flag; 304 when unchanged."""
    lang, embed = _lang(), request.args.get("embed") == "1"
    body, etag = current_app.extensions["widget"].pages.get(
        current_app.extensions["locator"].loaded, (name, lang, embed),
        lambda: render(lang, embed))
    response = current_app.response_class(body, mimetype="text/html")
    response.set_etag(etag)
    cache_as(f"page:{etag}")
    return response.make_conditional(request)


def _render_index(lang: str, embed: bool) -> str:
    context = _context(lang, embed)
    t = context["t"]
    settings = current_app.extensions["settings"]
    config = {
        "lang": lang, "locale": LANGS[lang], "embed": embed,
        "api": url_for("api.offices").rsplit("/", 1)[0],
        "tiles": {"url": settings.tile_url, "attribution": settings.tile_attribution},
        "postcode_attribution": t["attribution_postcodes_short"],
        "bounds": BAVARIA_BOUNDS, "nearest_limit": NEAREST_LIMIT,
        "messages": t,
    }
    return render_template("widget.html", config=config, radii=RADII_KM,
                           default_radius=DEFAULT_RADIUS_KM, **context)


def _render_list(lang: str, embed: bool) -> str:
    return render_template("list.html", standalone=True, **_context(lang, embed))


# --- routes ------------------------------------------------------------------------------------

@bp.get("/")
def index() -> Response:
    return _page("index", _render_index)


@bp.get("/liste")
def office_list() -> Response:
    return _page("list", _render_list)


@bp.get("/widget/static/<path:filename>")
def static(filename: str) -> Response:
    asset = _assets().get("widget", filename)
    if asset is None:
        abort(404)
    return asset_response(asset)


@bp.get("/embed.js")
def embed_js() -> Response:
    # Any site may load this script; it only inserts an <iframe> pointing back here.
    return asset_response(_assets().get("widget", "embed.js"), cross_origin=True,
                          max_age_s=EMBED_MAX_AGE_S)


@bp.get("/vendor/<lib>/<path:filename>")
def vendor(lib: str, filename: str) -> Response:
    asset = _assets().get(lib, filename) if lib in VENDOR else None
    if asset is None:
        abort(404)
    return asset_response(asset)
