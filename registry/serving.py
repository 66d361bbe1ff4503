"""The gunicorn settings Podium runs with, shared by `podium serve` and deploy/gunicorn.conf.py."""

import logging
import os
import subprocess
import sys

from registry.config import load_settings

log = logging.getLogger(__name__)


def gunicorn_settings(
    *, host: str | None = None, port: int | None = None, workers: int | None = None
) -> dict:
    """gunicorn settings from PODIUM_* variables, with command-line overrides."""
    config = load_settings()
    return {
        "bind": f"{host or config['PODIUM_HOST']}:{port or config['PODIUM_PORT']}",
        "workers": workers or config["PODIUM_WORKERS"],
        # Sync workers: each request is short and SQLite work is CPU-bound; concurrency comes
        # from processes, which also keeps one database connection per worker.
        "worker_class": "sync",
        # Every worker builds its own app and connection: nothing database-related crosses fork.
        "preload_app": False,
        # Long enough for a large artifact upload on a slow link; a hung worker is still reaped.
        "timeout": int(os.environ.get("PODIUM_WORKER_TIMEOUT", "120")),
        # On SIGTERM, let in-flight requests finish before workers are killed.
        "graceful_timeout": 30,
        "keepalive": 5,
        # Access log to stdout, for the service manager or container runtime to collect;
        # PODIUM_ACCESS_LOG="" turns it off.
        "accesslog": os.environ.get("PODIUM_ACCESS_LOG", "-") or None,
        # Trust X-Forwarded-* only from these proxies (comma-separated; "*" behind a private LB).
        "forwarded_allow_ips": os.environ.get("PODIUM_FORWARDED_ALLOW_IPS", "127.0.0.1,::1"),
        # The webhook dispatcher runs beside the workers (PODIUM_DISPATCHER=false to run it
        # elsewhere with `podium worker`).
        "when_ready": start_dispatcher if config["PODIUM_DISPATCHER"] else _no_dispatcher,
        "on_exit": stop_dispatcher,
    }


_dispatcher: subprocess.Popen | None = None


def _no_dispatcher(server) -> None:
    log.info("PODIUM_DISPATCHER is off: run `podium worker` to deliver webhooks")


def start_dispatcher(server) -> None:
    """gunicorn when_ready hook: start `podium worker` as a child of the master."""
    global _dispatcher
    command = [sys.executable, "-m", "registry.cli", "worker", "--parent-pid", str(os.getpid())]
    _dispatcher = subprocess.Popen(command)
    log.info("started webhook dispatcher (pid %s)", _dispatcher.pid)


def stop_dispatcher(server) -> None:
    """gunicorn on_exit hook: let the dispatcher finish in-flight sends, then stop it."""
    if _dispatcher is not None and _dispatcher.poll() is None:
        _dispatcher.terminate()
        try:
            _dispatcher.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _dispatcher.kill()
