"""KoKi locator: find the Bavarian KoKi office near you, and the one responsible for you."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask


def create_app(test_config: Mapping[str, object] | None = None) -> Flask:
    """Build the app: defaults → LOCATOR_* environment → test_config; data loaded once."""
    from flask_cors import CORS

    from . import api, compression, errors_http, widget
    from .config import DEFAULTS, Settings
    from .ogc.views import bp as ogc_bp
    from .state import LocatorState

    _log_to_stderr()
    app = Flask(__name__)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("LOCATOR", loads=str)
    if test_config:
        app.config.from_mapping(test_config)
    settings = Settings.from_mapping(app.config)
    app.extensions["settings"] = settings
    state = app.config.get("LOCATOR_STATE") or LocatorState(settings)
    app.extensions["locator"] = state

    if settings.cors_origins:
        # Only the API is cross-origin; no credentials, so no cookies ever travel.
        CORS(app, resources={r"/api/*": {"origins": list(settings.cors_origins)}},
             supports_credentials=False, methods=["GET", "HEAD", "OPTIONS"], max_age=3600)
    errors_http.register(app)
    compression.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(api.ops)
    app.register_blueprint(widget.bp)
    app.register_blueprint(ogc_bp)

    @app.before_request
    def _reload_if_changed() -> None:
        state.maybe_reload()

    @app.after_request
    def _headers(response):
        response = errors_http.relative_location(response)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    return app


def _log_to_stderr() -> None:
    """INFO and above of the locator's own loggers to stderr (gunicorn's error log), once."""
    import logging

    log = logging.getLogger("locator")
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(
            "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s",
            "%Y-%m-%d %H:%M:%S %z"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
