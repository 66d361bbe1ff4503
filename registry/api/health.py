"""Probes: /health for load balancers and orchestrators, /version for the MLflow client."""

from importlib.metadata import version

from flask import Blueprint

from registry.store.db import db

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    db.execute_sql("SELECT 1")  # healthy means the database answers, not just the process
    return "OK", 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.get("/version")
def server_version():
    return version("podium-registry"), 200, {"Content-Type": "text/plain; charset=utf-8"}
