"""Compressed answers: brotli where the client asks for it, else gzip, through flask-compress.

Every text answer of 500 bytes or more is compressed and carries ``Vary: Accept-Encoding``.
Answers that are the same for everyone (pages, static files, the office list) opt in with
``cache_as(key)``: their compressed forms are kept, so each is compressed once per content.
A search answer never opts in: it is compressed for its one request and kept nowhere, and its
``Cache-Control: no-store`` passes through untouched.
"""

from __future__ import annotations

from flask import Flask, Request, g
from flask_compress import Compress

# Entries: a few pages and files per language, times two encodings; a data reload changes
# the pages' keys, and the old entries go when the limit is reached.
CACHE_LIMIT = 256
# Text this service sends: pages, assets, JSON and GeoJSON answers, problem details.
MIMETYPES = ["text/html", "text/css", "text/javascript", "text/plain", "image/svg+xml",
             "application/json", "application/geo+json", "application/problem+json",
             "application/vnd.oai.openapi+json"]


class SharedAnswerCache:
    """flask-compress's cache backend, holding only answers that opted in with cache_as()."""

    def __init__(self) -> None:
        self.entries: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self.entries.get(key)

    def set(self, key: str, value: bytes) -> None:
        if key.endswith(";"):
            return  # "<encoding>;" without a key: an answer for one request only
        if key not in self.entries and len(self.entries) >= CACHE_LIMIT:
            self.entries.clear()
        self.entries[key] = value


def cache_as(key: str) -> None:
    """Let this answer's compressed forms be kept under ``key``: only for content that is the
    same for every client, and the key must change when the content does."""
    g.compress_cache_key = key


def _cache_key(request: Request) -> str:
    return g.get("compress_cache_key", "")


def init_app(app: Flask) -> Compress:
    """Compress the app's answers; the cache is per process."""
    app.config.setdefault("COMPRESS_MIMETYPES", MIMETYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    # Streamed answers would be compressed chunk by chunk and never answer If-None-Match.
    app.config.setdefault("COMPRESS_STREAMS", False)
    app.config["COMPRESS_CACHE_BACKEND"] = SharedAnswerCache
    app.config["COMPRESS_CACHE_KEY"] = _cache_key
    compress = Compress(app)
    app.extensions["compress"] = compress
    return compress
