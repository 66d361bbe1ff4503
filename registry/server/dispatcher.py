"""The webhook dispatcher beside gunicorn: hooks registry/server/gunicorn_config.py installs."""

import logging
import os
import subprocess
import sys

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
        _dispatcher.terminate()
        try:
            _dispatcher.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _dispatcher.kill()
