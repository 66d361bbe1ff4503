"""Time in the database: summed per request, and the SQLite write queue's wait.

The database object is wrapped where it is built (its execute_sql and commit), not each
query: every statement of every area passes there, compiled or not, and a request's total is
summed in a contextvar that only requests set, so the dispatcher's queries count nowhere.
"""

import time
from contextvars import ContextVar

from registry.metrics import SQLITE_WRITE_QUEUE_WAIT

_request_seconds: ContextVar[list | None] = ContextVar("podium_database_seconds", default=None)


def instrument(database) -> None:
    """Time `database`'s statements and commits for the current request, and its queue."""
    if getattr(database, "podium_instrumented", False):
        return
    execute, commit = database.execute_sql, database.commit

    def timed_execute(sql, params=None, *args, **kwargs):
        started = time.perf_counter()
        try:
            return execute(sql, params, *args, **kwargs)
        finally:
            _add(time.perf_counter() - started)

    def timed_commit():
        started = time.perf_counter()
        try:
            return commit()
        finally:
            _add(time.perf_counter() - started)

    database.execute_sql, database.commit = timed_execute, timed_commit
    if hasattr(database, "on_queue_wait"):  # registry.store.db.QueuedWritersSqliteDatabase
        database.on_queue_wait = SQLITE_WRITE_QUEUE_WAIT.observe
    database.podium_instrumented = True


def _add(seconds: float) -> None:
    total = _request_seconds.get()
    if total is not None:
        total[0] += seconds


def start_request() -> None:
    """Start summing the database time of the request this thread now serves."""
    # Set afresh for each request, never reset: a thread serves one request at a time, and
    # whatever runs after one request ends adds only to that request's finished total.
    _request_seconds.set([0.0])


def request_seconds() -> float:
    """The database seconds of the current request so far."""
    total = _request_seconds.get()
    return total[0] if total else 0.0
