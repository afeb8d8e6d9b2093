"""Service endpoints outside any audience: liveness."""

from __future__ import annotations

from flask import Blueprint, jsonify

from service.forms.catalog import catalog

bp = Blueprint("public", __name__)


@bp.get("/healthz")
def healthz():
    """Liveness: the catalogue loads."""
    return jsonify(status="ok", campaigns=sorted(catalog().campaigns))
