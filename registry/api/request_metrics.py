"""Every request counted and timed for /metrics: by method, route rule and status."""

import time

from flask import Flask, g, request

from registry.metrics import HTTP_REQUEST_DATABASE, HTTP_REQUEST_DURATION, HTTP_REQUESTS
from registry.metrics import database as database_time
from registry.store.db import db

# Anything else (a fuzzer's invented verb) is counted as "other": labels stay a fixed set.
_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
UNMATCHED = "unmatched"  # the route label of a 404 for a path no rule has


def init_app(app: Flask) -> None:
    """Count and time each request. Registered before the store connects each request, so a
    request whose connection fails (503) is counted too."""

    @app.before_request
    def _start_clock():
        g.metrics_started = time.perf_counter()
        # The database object exists once create_app is done; wrapping it is done once.
        database_time.instrument(db.obj)
        g.metrics_database_token = database_time.start_request()

    @app.after_request
    def _record(response):
        started = g.pop("metrics_started", None)
        if started is None:  # not a request this app's hooks started
            return response
        method = request.method if request.method in _METHODS else "other"
        route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
        status = str(response.status_code)
        elapsed = time.perf_counter() - started
        HTTP_REQUESTS.labels(method, route, status).inc()
        HTTP_REQUEST_DURATION.labels(method, route, status).observe(elapsed)
        database = database_time.finish_request(g.pop("metrics_database_token"))
        HTTP_REQUEST_DATABASE.labels(method, route).observe(database)
        return response

    @app.teardown_request
    def _drop_clock(_exc):
        token = g.pop("metrics_database_token", None)
        if token is not None:  # after_request never ran
            database_time.finish_request(token)
