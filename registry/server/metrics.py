"""prometheus_client's multiprocess directory, set up by the gunicorn master before any worker
or the dispatcher starts, so every process records into it and GET /metrics adds them all up.

The documented pattern: PROMETHEUS_MULTIPROC_DIR names an empty directory, exported before
prometheus_client is first imported (it picks its storage then), and `mark_process_dead` runs
as each worker exits. An operator's own PROMETHEUS_MULTIPROC_DIR is emptied and used; without
one, a private directory is made and removed when the master exits. Counts restart with the
server, which Prometheus's rate() expects of a process that restarts.
"""

import logging
import os
import shutil
import tempfile
from pathlib import Path

from registry.config import load_settings, serves_metrics

log = logging.getLogger(__name__)

_directory: Path | None = None  # set up by this master
_owned = False  # made by this master, so removed again when it exits


PREFIX = "podium-metrics-"  # then the master's pid, then a random part


def remove_orphans(parent: Path) -> None:
    """Remove the directories of masters that died without cleaning up (SIGKILL)."""
    for directory in parent.glob(PREFIX + "*-*"):
        pid = directory.name[len(PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(directory, ignore_errors=True)  # another user's stays: not ours


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def prepare(server) -> None:
    """gunicorn on_starting hook: decide PODIUM_METRICS and set up the directory, once."""
    global _directory, _owned
    enabled = serves_metrics(load_settings()["PODIUM_METRICS"], list(server.cfg.bind))
    # Exported, so the workers and the dispatcher (started later, with this environment)
    # decide the same without seeing the bind.
    os.environ["PODIUM_METRICS"] = "true" if enabled else "false"
    if not enabled or _directory is not None:  # set up once per master
        return
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):  # a previous run's samples would be added in
            stale.unlink()
    else:
        # On a RAM disk when there is one: every sample is a write to a memory-mapped file,
        # which on a real disk the kernel keeps writing back (and faulting in again).
        parent = Path("/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir())
        remove_orphans(parent)
        prefix = f"{PREFIX}{os.getpid()}-"
        directory, _owned = Path(tempfile.mkdtemp(prefix=prefix, dir=parent)), True
    _directory = directory
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    log.info("metrics from every process in %s, served at /metrics", directory)


def process_exited(pid: int) -> None:
    """A worker or dispatcher ended: prometheus_client drops its live-only gauges."""
    if _directory is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)


def worker_exited(server, worker) -> None:
    """gunicorn child_exit hook."""
    process_exited(worker.pid)


def remove() -> None:
    """At the master's exit: remove the directory if this master made it."""
    if _owned and _directory is not None:
        shutil.rmtree(_directory, ignore_errors=True)
