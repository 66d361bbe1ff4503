"""Every request counted and timed for /metrics: by method, route rule and status.

This runs on every request, so it does little: one read of the clock before and after, one
`g` entry, and the metric children of each (method, route, status) looked up once and kept.
"""

import time

from flask import Flask, g, request

from registry.metrics import HTTP_REQUEST_DATABASE, HTTP_REQUEST_DURATION, HTTP_REQUESTS
from registry.metrics import database as database_time
from registry.store.db import db

# Anything else (a fuzzer's invented verb) is counted as "other": labels stay a fixed set.
_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
UNMATCHED = "unmatched"  # the route label of a 404 or 405 no rule matched

# (method, route, status) -> its counter, duration and database-time children. Bounded: the
# labels are fixed sets. Two threads may both fill a missing entry; they get equal children.
_children: dict[tuple, tuple] = {}


def _metrics_for(method: str, route: str, status: str) -> tuple:
    key = (method, route, status)
    found = _children.get(key)
    if found is None:
        found = _children[key] = (
            HTTP_REQUESTS.labels(method, route, status),
            HTTP_REQUEST_DURATION.labels(method, route, status),
            HTTP_REQUEST_DATABASE.labels(method, route),
        )
    return found


def init_app(app: Flask) -> None:
    """Count and time each request. Registered before the store connects each request, so a
    request whose connection fails (503) is counted too."""

    @app.before_request
    def _start_clock():
        # The database object exists once create_app is done; wrapping it is done once.
        database_time.instrument(db.obj)
        database_time.start_request()
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _record(response):
        started = g.pop("metrics_started", None)
        if started is None:  # not a request this app's hooks started
            return response
        elapsed = time.perf_counter() - started
        current = request._get_current_object()  # one proxy lookup, not one per attribute
        method = current.method if current.method in _METHODS else "other"
        route = current.url_rule.rule if current.url_rule is not None else UNMATCHED
        count, duration, database = _metrics_for(method, route, str(response.status_code))
        count.inc()
        duration.observe(elapsed)
        database.observe(database_time.request_seconds())
        return response
