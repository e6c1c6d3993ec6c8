"""The map widget's page and static files (built out in the widget issue)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("widget", __name__)


@bp.get("/")
def index() -> str:
    return "<!doctype html><title>KoKi</title><p>KoKi – Netzwerk frühe Kindheit</p>"
