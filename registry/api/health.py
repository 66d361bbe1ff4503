"""Probes: /health (alive), /ready (able to serve: the database answers), /version."""

from importlib.metadata import version

from flask import Blueprint, jsonify

from registry.auth.rules import PUBLIC, access
from registry.store.db import db

bp = Blueprint("health", __name__)


def without_database(view):
    """Mark a view that must answer without touching the database (see store.init_app)."""
    view.without_database = True
    return view


@bp.get("/health")
@without_database
@access(PUBLIC)
def health():
    # Liveness: the process answers. A database outage must not get healthy processes
    # restarted; /ready is the probe that follows the database.
    return "OK", 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.get("/ready")
@access(PUBLIC)
def ready():
    # An unreachable database raises here and is answered 503 with Retry-After by the one
    # error renderer, within PODIUM_DATABASE_CONNECT_TIMEOUT.
    db.execute_sql("SELECT 1")
    return jsonify(status="ready", database="ok")


@bp.get("/version")
@without_database
@access(PUBLIC)
def server_version():
    return version("podium-registry"), 200, {"Content-Type": "text/plain; charset=utf-8"}
