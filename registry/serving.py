"""The gunicorn settings Podium runs with, shared by `podium serve` and deploy/gunicorn.conf.py."""

import os

from registry.config import load_settings


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
    }
