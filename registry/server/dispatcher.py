"""The webhook dispatcher beside gunicorn: hooks registry/server/gunicorn_config.py installs."""

import logging
import os
import subprocess
import sys

from registry.config import load_settings
from registry.server import metrics

log = logging.getLogger(__name__)


_dispatcher: subprocess.Popen | None = None


def no_dispatcher(server) -> None:
    """gunicorn when_ready hook when the dispatcher runs elsewhere: say so once."""
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
        # SIGTERM: it claims nothing more, records the sends in flight and releases its
        # leases, so another dispatcher takes over at once (hooks/dispatcher.py).
        _dispatcher.terminate()
        try:
            _dispatcher.wait(timeout=load_settings()["PODIUM_GRACEFUL_TIMEOUT"])
        except subprocess.TimeoutExpired:
            log.warning("the webhook dispatcher did not stop in time; killing it")
            _dispatcher.kill()
            _dispatcher.wait()
    if _dispatcher is not None:
        metrics.process_exited(_dispatcher.pid)
