"""What a database failure means to a client, and the one place write conflicts are retried.

Three kinds of failure are expected states, not bugs: the database is unreachable (a restart,
a failover, a cut network, a connection the server closed), it is full, or a write lost a race
for a lock. The first two become 503 and 507 answers; the third is retried a few times, then
answered 503 too.
"""

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from peewee import InterfaceError, PeeweeException
from playhouse.pool import MaxConnectionsExceeded

from registry.errors import PodiumError, StorageFull, TemporarilyUnavailable
from registry.store.db import db

log = logging.getLogger(__name__)

# Everything a database call may raise when the database, not Podium, is at fault.
DATABASE_ERRORS = (PeeweeException, MaxConnectionsExceeded)

# PostgreSQL SQLSTATEs of a write that lost a race and may simply run again: serialization
# failure, deadlock detected, lock not available (lock_timeout).
_CONFLICT_STATES = {"40001", "40P01", "55P03"}
CONFLICT_ATTEMPTS = 3
_UNREACHABLE_RETRY_AFTER = 2  # seconds: a restart or failover usually takes a few

F = TypeVar("F", bound=Callable)


def _causes(error: BaseException):
    # peewee wraps the driver's exception (as its first argument), and a failed rollback hides
    # the failure that caused it (as its context): look at all of them, nearest first.
    pending, seen = [error], set()
    while pending:
        error = pending.pop(0)
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        wrapped = error.args[0] if error.args and isinstance(error.args[0], BaseException) else None
        pending.extend((wrapped, error.__cause__, error.__context__))


def _sqlstate(error: BaseException) -> str | None:
    return getattr(error, "pgcode", None)


def is_conflict(error: BaseException) -> bool:
    """Whether `error` is a PostgreSQL write conflict, which running the transaction again cures."""
    return any(_sqlstate(cause) in _CONFLICT_STATES for cause in _causes(error))


def database_fault(error: BaseException) -> PodiumError | None:
    """The client-facing error for an expected database failure; None if `error` is a bug."""
    for cause in _causes(error):
        fault = _fault(cause)
        if fault is not None:
            fault.__cause__ = cause  # what the log names: the failure itself, not its aftermath
            return fault
    return None


def _fault(cause: BaseException) -> PodiumError | None:
    text = str(cause).lower()
    state = _sqlstate(cause)
    if "database or disk is full" in text or state == "53100":
        return StorageFull(
            "The database is full: no space is left for this write. Reads still work; "
            "retry once space is freed."
        )
    if "database is locked" in text or "database is busy" in text:
        return TemporarilyUnavailable("The database is busy; retry the request.")
    if state in _CONFLICT_STATES:
        return TemporarilyUnavailable(
            "The database is busy with conflicting writes; retry the request."
        )
    if _is_unreachable(cause):
        return TemporarilyUnavailable(
            "The database cannot be reached right now; retry the request.",
            retry_after=_UNREACHABLE_RETRY_AFTER,
        )
    return None


def _is_unreachable(cause: BaseException) -> bool:
    if isinstance(cause, (MaxConnectionsExceeded, InterfaceError)):
        return True  # every pooled connection busy; or a connection the driver has closed
    module = type(cause).__module__ or ""
    if not module.startswith(("psycopg2", "psycopg")):
        return False
    if type(cause).__name__ == "InterfaceError":
        return True
    state = _sqlstate(cause)
    # No SQLSTATE: the driver lost the server (refused, reset, timed out). Class 08 is a
    # connection exception, 57 an operator's (shutdown, starting up), 53300 too many clients.
    return type(cause).__name__ == "OperationalError" and (
        state is None or state[:2] in ("08", "57") or state == "53300"
    )


def retry_conflicts(function: F) -> F:
    """Run a service's transaction again when PostgreSQL aborted it for a conflict.

    A bounded number of attempts with a short jittered pause; then 503. Inside an outer
    transaction the call is not retried here: the outer one is.
    """

    @functools.wraps(function)
    def attempt(*args, **kwargs):
        if db.transaction_depth() > 0:
            return function(*args, **kwargs)
        for number in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                return function(*args, **kwargs)
            except DATABASE_ERRORS as error:
                if not is_conflict(error):
                    raise
                if number == CONFLICT_ATTEMPTS:
                    log.warning("write conflict persisted after %d attempts: %s", number, error)
                    raise TemporarilyUnavailable(
                        "The database is busy with conflicting writes; retry the request."
                    ) from error
                log.info("write conflict (%s); running the transaction again", first_line(error))
                time.sleep(random.uniform(0.01, 0.05) * number)
        raise AssertionError("unreachable")

    return attempt  # type: ignore[return-value]


def drop_connection() -> None:
    """Forget this thread's connection after a database failure; the next use reconnects.

    A pool discards a connection it cannot reuse (the driver reports it lost) rather than
    handing it out again.
    """
    try:
        db.close()
    except DATABASE_ERRORS:
        pass  # closing a connection the server already dropped; the state is reset anyway


def first_line(error: BaseException) -> str:
    """What to log of a database error: drivers add hints and context on further lines."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
