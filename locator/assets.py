"""The widget's static files, served from memory under content-hashed URLs.

A page links ``/widget/static/widget.js?v=<hash of that file>``; an answer whose ``v`` is the
file's current hash may be kept by any cache for a year (``immutable``): a changed file gets a
new URL. Any other ``v`` (an old page, a hand-typed URL) gets the file with a short lifetime.
Files are read once per process; their compressed forms are kept by ``compression``.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from flask import Response, current_app, request
from werkzeug.security import safe_join

from .compression import cache_as

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT_MAX_AGE_S = 300
# Python's table differs between versions (application/javascript before 3.12).
_TYPES = {".js": "text/javascript", ".json": "application/json", ".css": "text/css"}


@dataclass(frozen=True)
class Asset:
    """One file: its bytes, media type and content hash (the ``v`` of its URL)."""

    body: bytes
    mimetype: str
    digest: str


class AssetStore:
    """Files under a few named folders, each read and hashed on first use."""

    def __init__(self, roots: dict[str, Path]) -> None:
        self.roots = roots
        self._files: dict[tuple[str, str], Asset | None] = {}

    def get(self, root: str, filename: str) -> Asset | None:
        """The file, or None when there is no such file under that folder."""
        key = (root, filename)
        if key not in self._files:
            self._files[key] = self._read(root, filename)
        return self._files[key]

    def _read(self, root: str, filename: str) -> Asset | None:
        folder = self.roots.get(root)
        # safe_join refuses names that leave the folder (.., absolute paths).
        path = safe_join(str(folder), filename) if folder else None
        if path is None or not Path(path).is_file():
            return None
        body = Path(path).read_bytes()
        suffix = Path(path).suffix.lower()
        mimetype = _TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"
        return Asset(body, mimetype, hashlib.sha256(body).hexdigest()[:16])

    def version(self, root: str, filename: str) -> str | None:
        """The ``v`` for the file's URL: its content hash."""
        asset = self.get(root, filename)
        return asset.digest if asset else None


def asset_response(asset: Asset, *, cross_origin: bool = False,
                   max_age_s: int = SHORT_MAX_AGE_S) -> Response:
    """The file as an answer: immutable when asked for by its current hash, 304 when unchanged."""
    response = current_app.response_class(asset.body, mimetype=asset.mimetype)
    response.set_etag(asset.digest)
    if request.args.get("v") == asset.digest:
        response.headers["Cache-Control"] = IMMUTABLE
    else:
        response.headers["Cache-Control"] = f"public, max-age={max_age_s}"
    if cross_origin:
        response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    cache_as(f"asset:{asset.digest}")
    return response.make_conditional(request)
