"""One error handler: LocatorError and HTTP errors become RFC 9457 application/problem+json."""

from __future__ import annotations

import logging
import traceback

from flask import Flask, json, request
from werkzeug.exceptions import HTTPException

from .errors import LocatorError

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
PROBLEM_BASE = "/api/v1/docs#problem-"


def problem(status: int, title: str, detail: str, slug: str, **extra):
    body = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail,
            **extra}
    # The instance is the path only: a query string may hold a family's postcode or position.
    body["instance"] = request.path
    response = Flask.response_class(json.dumps(body), status=status, mimetype=PROBLEM)
    response.headers["Cache-Control"] = "no-store"
    return response


def register(app: Flask) -> None:
    @app.errorhandler(LocatorError)
    def _locator_error(err: LocatorError):
        if err.status >= 500:
            log.error("%s: %s", type(err).__name__, err.detail)
        extra = {"parameter": err.parameter} if err.parameter else {}
        return problem(err.status, err.title, err.detail, err.type_slug, **extra)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        if not request.path.startswith(("/api/", "/ogc")) and request.path != "/healthz":
            return err
        slug = (err.name or "error").lower().replace(" ", "-")
        return problem(err.code or 500, err.name, err.description or err.name, slug)

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        # The frames, not the message: a message could quote a family's query.
        frames = "".join(traceback.format_tb(err.__traceback__))
        log.error("unexpected %s in %s\n%s", type(err).__name__, request.endpoint, frames)
        return problem(500, "Internal error", "an unexpected error occurred", "internal-error")
