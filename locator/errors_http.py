"""One error handler: LocatorError and HTTP errors become RFC 9457 application/problem+json."""

from __future__ import annotations

import logging
import traceback
from urllib.parse import urlsplit

from flask import Flask, Response, json, redirect, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from .errors import LocatorError

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
PROBLEM_BASE = "/api/v1/docs#problem-"


def problem(status: int, title: str, detail: str, slug: str, *,
            headers: dict[str, str] | None = None, **extra):
    """An RFC 9457 problem+json answer, never cached."""
    body = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail,
            **extra}
    # The instance is the path only: a query string may hold a family's postcode or position.
    body["instance"] = request.path
    response = Flask.response_class(json.dumps(body), status=status, mimetype=PROBLEM,
                                    headers=headers)
    response.headers["Cache-Control"] = "no-store"
    return response


def relative_location(response: Response) -> Response:
    """A redirect's Location as path and query only.

    Werkzeug's own redirects (/api//v1/offices → /api/v1/offices) are absolute URLs built from
    the request's Host header; Flask hands them out as responses, past every error handler. A
    relative Location (RFC 9110 §10.2.2) names no host, whatever the client called this one.
    """
    location = response.headers.get("Location")
    if not (location and "//" in location):
        return response
    target = urlsplit(location)
    path = "/" + target.path.lstrip("/")  # never "//host": that would name a host again
    # A new answer, not an edited one: Werkzeug's page also names the absolute URL.
    return redirect(path + (f"?{target.query}" if target.query else ""), response.status_code)


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
            return err  # Werkzeug's own page; its 405 carries Allow
        headers = None
        if isinstance(err, MethodNotAllowed) and err.valid_methods:
            # RFC 9110 §15.5.6: a 405 names the methods the resource has.
            headers = {"Allow": ", ".join(sorted(err.valid_methods))}
        slug = (err.name or "error").lower().replace(" ", "-")
        return problem(err.code or 500, err.name, err.description or err.name, slug,
                       headers=headers)

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        # The frames, not the message: a message could quote a family's query.
        frames = "".join(traceback.format_tb(err.__traceback__))
        log.error("unexpected %s in %s\n%s", type(err).__name__, request.endpoint, frames)
        return problem(500, "Internal error", "an unexpected error occurred", "internal-error")
