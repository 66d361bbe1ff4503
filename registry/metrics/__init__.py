"""The Prometheus metrics Podium's processes record, each defined once, here.

Podium is several processes (gunicorn workers, the dispatcher), so prometheus_client runs in
multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set (registry/server/metrics.py sets it up
before any worker starts): each process writes its samples to files there and GET /metrics
adds them up. What a scrape can count in the database (registry sizes, the outbox's backlog)
is read then instead (registry/api/scrape_gauges.py), so no process keeps a copy of it.

Labels stay few: a route's rule (never its URL or a model name), a method, a status.
This room imports nothing of Podium's, so the store and hooks may record here.
"""

from prometheus_client import Counter, Histogram, disable_created_metrics

# The *_created samples double a single-process exposition for no use here (multiprocess
# mode never has them).
disable_created_metrics()

# Request latencies: Podium answers most requests in milliseconds; the top buckets catch
# uploads and queued writes.
_REQUEST_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# Commit to a receiver's 2xx: milliseconds when all is well, hours while retries back off.
_DELIVERY_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 1800, 7200, 36000, 86400)

HTTP_REQUESTS = Counter(
    "podium_http_requests",
    "HTTP requests answered, by method, route rule and status",
    ("method", "route", "status"),
)
HTTP_REQUEST_DURATION = Histogram(
    "podium_http_request_duration_seconds",
    "Time from the request reaching Flask to its response, by method, route rule and status",
    ("method", "route", "status"),
    buckets=_REQUEST_BUCKETS,
)
HTTP_REQUEST_DATABASE = Histogram(
    "podium_http_request_database_seconds",
    "Time one request spent in the database driver (statements and commits), by route rule",
    ("method", "route"),
    buckets=_REQUEST_BUCKETS,
)
SQLITE_WRITE_QUEUE_WAIT = Histogram(
    "podium_sqlite_write_queue_wait_seconds",
    "Time a SQLite write transaction queued for the write lock behind other writers",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30),
)
DELIVERY_ATTEMPTS = Counter(
    "podium_webhook_delivery_attempts",
    "Webhook delivery attempts recorded, by outcome: delivered, retry (scheduled again), "
    "failed (retries exhausted or not retryable)",
    ("outcome",),
)
# Every outcome exported from the start, at 0: a rate() over a series that is missing until the
# first failure would leave alerts on it silent.
for _outcome in ("delivered", "retry", "failed"):
    DELIVERY_ATTEMPTS.labels(_outcome)
DELIVERY_LATENCY = Histogram(
    "podium_webhook_delivery_latency_seconds",
    "Time from an event's commit to its receiver's 2xx, retries included",
    buckets=_DELIVERY_BUCKETS,
)
WEBHOOKS_DISABLED = Counter(
    "podium_webhooks_disabled",
    "Webhooks the dispatcher disabled (410 Gone, or too many failures in a row)",
)
