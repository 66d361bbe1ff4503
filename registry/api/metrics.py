"""GET /metrics: Prometheus's text format, added up over every process of the server.

Served when PODIUM_METRICS says so: `true`, `false`, or `auto` (the default), which serves
them on a loopback bind only (registry.config.serves_metrics). PODIUM_METRICS_TOKEN, when set,
is a bearer token scrapers must send, and then the only credential the route takes; without one,
with authentication on (PODIUM_AUTH=basic), the route needs a signed-in user like any other.
"""

import hmac
import os

from flask import Blueprint, Flask, current_app, has_app_context, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from registry.api import request_metrics
from registry.api.health import without_database
from registry.api.scrape_gauges import ScrapeGauges
from registry.auth.rules import Rule, access
from registry.config import serves_metrics
from registry.errors import Unauthenticated

bp = Blueprint("metrics", __name__)


class ScraperOrSignedIn(Rule):
    """The scraper's token when PODIUM_METRICS_TOKEN is set (checked by the view, so the gate
    lets the request through); else whoever may call the API."""

    description = "PODIUM_METRICS_TOKEN, or signed in"

    @property
    def public(self) -> bool:
        return has_app_context() and bool(current_app.config["PODIUM_METRICS_TOKEN"])


def init_app(app: Flask) -> None:
    """Serve /metrics and measure every request, when metrics are on."""
    # Under gunicorn the master has settled `auto` from the real bind already
    # (registry/server/metrics.py); elsewhere PODIUM_HOST stands for it.
    if not serves_metrics(app.config["PODIUM_METRICS"], [app.config["PODIUM_HOST"]]):
        return
    request_metrics.init_app(app)
    gauges = CollectorRegistry()  # this app's own: several apps may live in one process
    gauges.register(ScrapeGauges())
    app.extensions["podium_metrics"] = (_process_counters(), gauges)
    app.register_blueprint(bp)


def _process_counters() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Every process's samples, read from the shared directory at each scrape.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY  # one process (tests, `flask run`): its own counters


@bp.get("/metrics")
@without_database  # counters are served while the database is away; podium_database_up says 0
@access(ScraperOrSignedIn())
def metrics():
    token = current_app.config["PODIUM_METRICS_TOKEN"]
    if token and not _bearer_matches(token):
        raise Unauthenticated("GET /metrics needs the bearer token PODIUM_METRICS_TOKEN")
    body = b"".join(map(generate_latest, current_app.extensions["podium_metrics"]))
    return body, 200, {"Content-Type": CONTENT_TYPE_LATEST}


def _bearer_matches(token: str) -> bool:
    scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
    # Constant time: how much of a guess matched must not show in the answer's timing.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        offered.strip().encode(), token.encode()
    )
