"""Podium's gunicorn configuration: every setting, where its value comes from, and why.

This is a gunicorn configuration file (module-level names, read by `gunicorn -c`). It lives in
the package so that `podium serve` loads it from any install, editable or not;
deploy/gunicorn.conf.py is a symbolic link to it, for `gunicorn -c deploy/gunicorn.conf.py
wsgi:app`. One file behind both entry points, so they cannot drift apart. Values come from
PODIUM_* environment variables (registry/config.py); `podium serve --host/--port/--workers`
override the matching ones.
"""

import os

from registry.config import load_settings
from registry.server import metrics
from registry.server.dispatcher import no_dispatcher, start_dispatcher, stop_dispatcher
from registry.server.exposure import refuse_unsafe_exposure
from registry.server.logs import TEXT_ACCESS_FORMAT
from registry.server.refusals import answer_refusals_in_json

_settings = load_settings()

# Where to listen (PODIUM_HOST:PODIUM_PORT). Behind a load balancer or in a container, bind
# 0.0.0.0; on one host behind a local reverse proxy, keep 127.0.0.1.
bind = f"{_settings['PODIUM_HOST']}:{_settings['PODIUM_PORT']}"

# Worker processes (PODIUM_WORKERS). Requests are short and database-bound; roughly two per core
# is a good start. Every worker opens its own database connections after the fork.
workers = _settings["PODIUM_WORKERS"]

# Worker class (PODIUM_WORKER_CLASS): "gthread" runs PODIUM_THREADS requests at once per process,
# so a few slow clients or long artifact transfers cannot take every worker (a client that goes
# silent mid-body is cut off after PODIUM_CLIENT_TIMEOUT: registry/api/slow_clients.py); each
# thread gets its own database connection. "sync" handles one request per process: simplest,
# and safe only behind a proxy that buffers whole requests. gthread runs as Podium's subclass,
# which takes a new connection only while one of its threads is free (registry/server/worker.py).
worker_class = {
    "gthread": "registry.server.worker.SpreadingThreadWorker",
    "sync": "sync",
}[_settings["PODIUM_WORKER_CLASS"]]

# Threads per worker (PODIUM_THREADS); only gthread workers use more than one.
threads = _settings["PODIUM_THREADS"]

# Build the app in each worker, never in the master: no database connection crosses a fork.
preload_app = False

# Seconds a worker may go silent before the master replaces it (PODIUM_WORKER_TIMEOUT): long
# enough for a large artifact upload on a slow link, short enough that a hung worker is reaped.
timeout = _settings["PODIUM_WORKER_TIMEOUT"]

# Graceful shutdown (PODIUM_GRACEFUL_TIMEOUT): on SIGTERM the master stops accepting, and
# workers get this long to finish in-flight requests before they are killed. Keep the service
# manager's stop timeout (systemd TimeoutStopSec, Kubernetes terminationGracePeriodSeconds)
# above it.
graceful_timeout = _settings["PODIUM_GRACEFUL_TIMEOUT"]

# Seconds an idle keep-alive connection stays open; above a load balancer's idle timeout it
# would make the balancer reuse connections gunicorn already closed, so keep it short.
keepalive = 5

# Access log to stdout ("-"), for the service manager or container runtime to collect;
# PODIUM_ACCESS_LOG names a file instead, and PODIUM_ACCESS_LOG="" turns it off.
accesslog = os.environ.get("PODIUM_ACCESS_LOG", "-") or None

# Log lines as readable text, or one JSON object a line (PODIUM_LOG_FORMAT=json), for gunicorn's
# own lines and Podium's alike; each carries its request's id (registry/server/logs.py).
logger_class = "registry.server.logs.PodiumLogger"

# The access line in text: gunicorn's combined format less the query string and referrer, then
# the time taken and the request id (registry/server/logs.py).
access_log_format = TEXT_ACCESS_FORMAT

# The longest request line (method, URL with its query string, version) gunicorn reads: its
# maximum short of "unlimited" (8190 bytes; the default is 4094), so a GET with a 4,096-character
# filter, as the schemas allow, reaches Podium. gunicorn refuses a longer one with a 414 before
# any route runs, which bounds a connection's memory.
limit_request_line = 8190

# At most 100 headers (gunicorn's default); more are refused with a 431.
limit_request_fields = 100

# At most 8190 bytes per header (gunicorn's default); a larger one is refused with a 431.
limit_request_field_size = 8190


# Once a worker has built the app (its database set up, after waiting for it if it was away):
# gunicorn's own refusals (those 414s and 431s, malformed request lines) are written in MLflow's
# JSON error shape instead of gunicorn's HTML page (registry/server/refusals.py), and one line
# says the worker serves. gunicorn logs only "Booting worker", at the fork.
def post_worker_init(worker):
    answer_refusals_in_json(worker)
    worker.log.info("worker %s is serving", worker.pid)


# Errors and lifecycle messages to stderr, likewise collected by the service manager.
errorlog = "-"

# Proxies whose X-Forwarded-For/-Proto headers are trusted (PODIUM_FORWARDED_ALLOW_IPS,
# comma-separated). "*" only when nothing but the load balancer can reach the workers.
forwarded_allow_ips = _settings["PODIUM_FORWARDED_ALLOW_IPS"]

# The workers' heartbeat files: on a RAM disk when there is one, because a container's overlay
# filesystem can stall the heartbeat and get healthy workers killed.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# Name the processes "podium" in ps and top (when setproctitle is installed).
proc_name = "podium"

# gunicorn 25.1+ opens a control socket at $HOME/.gunicorn/gunicorn.ctl: every instance a user
# runs on one host would share that path, and a read-only home (containers, systemd's
# ProtectHome) breaks it. Podium is managed with signals through its service manager instead.
control_socket_disable = True


def _starting(server):
    refuse_unsafe_exposure(server)
    metrics.prepare(server)


# Before anything listens: refuse a non-loopback address with PODIUM_AUTH unset, and
# PODIUM_AUTH=basic with no admin to sign in as (registry/server/exposure.py). Then, before
# anything forks, settle PODIUM_METRICS's `auto` from the bind and set up
# PROMETHEUS_MULTIPROC_DIR, which every worker and the dispatcher record into
# (registry/server/metrics.py).
on_starting = _starting

# Each exiting worker is marked dead in that directory, as prometheus_client's multiprocess mode
# asks.
child_exit = metrics.worker_exited


def _stop(server):
    stop_dispatcher(server)
    metrics.remove()


# The webhook dispatcher, started by the master once the workers are listening and stopped when
# it exits (PODIUM_DISPATCHER=false leaves delivery to separate `podium worker` processes);
# then the metrics directory goes.
when_ready = start_dispatcher if _settings["PODIUM_DISPATCHER"] else no_dispatcher
on_exit = _stop
