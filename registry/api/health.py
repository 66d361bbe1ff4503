"""Probes: /health (alive), /ready (able to serve: the database answers, its schema is this
Podium's, and, when PODIUM_READY_MAX_OUTBOX_AGE is set, webhooks are not falling behind),
/version."""

from importlib.metadata import version

from flask import Blueprint, current_app, jsonify

from hooks.backlog import oldest_pending_age_seconds
from registry.auth.rules import PUBLIC, access
from registry.errors import TemporarilyUnavailable
from registry.store.db import db
from registry.store.migrations import LATEST_VERSION, recorded_version

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
    schema = recorded_version()
    if schema < LATEST_VERSION:  # another host's `podium db upgrade` is due or under way
        raise TemporarilyUnavailable(
            f"The database has schema version {schema}; this Podium needs {LATEST_VERSION}."
        )
    answer = {"status": "ready", "database": "ok"}
    limit = current_app.config["PODIUM_READY_MAX_OUTBOX_AGE"]
    if limit > 0:
        age = oldest_pending_age_seconds()
        if age > limit:
            raise TemporarilyUnavailable(
                f"The oldest pending webhook delivery waits for {age:.0f} s, more than "
                f"PODIUM_READY_MAX_OUTBOX_AGE ({limit:g} s)."
            )
        answer["outbox_oldest_pending_age_seconds"] = round(age, 3)
    return jsonify(answer)


@bp.get("/version")
@without_database
@access(PUBLIC)
def server_version():
    return version("podium-registry"), 200, {"Content-Type": "text/plain; charset=utf-8"}
