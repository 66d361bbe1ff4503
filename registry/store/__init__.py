"""The store: the database connection, its schema and migrations, compiled statements, the tables
by area, secrets at rest, and checking, exporting and importing a whole database. It imports
nothing of Podium's above it: only registry.config and registry.errors."""

import logging
import time

from flask import Flask, request

from registry.errors import TemporarilyUnavailable
from registry.store import migrations, secrets
from registry.store.db import create_database_file, db, is_sqlite, open_database
from registry.store.failures import DATABASE_ERRORS, database_fault, drop_connection, first_line
from registry.store.tables import ALL_TABLES, SEEDS

log = logging.getLogger(__name__)

# A web worker starting while the database is away looks again after this long, doubling.
_START_BACKOFF_SECONDS = (0.5, 5.0)


def setup(settings: dict, *, seeded: bool = True) -> tuple[int, int]:
    """Point the proxy at the configured database; bring its schema up to date; seed rows
    (unless `seeded` is false: an import brings its own).

    Returns the schema version before and after. Refuses (secrets.SecretKeyError) keys that
    cannot open the secrets already stored.
    """
    secrets.configure(settings)
    create_database_file(settings["PODIUM_DATABASE_URL"])
    db.initialize(
        open_database(
            settings["PODIUM_DATABASE_URL"],
            busy_timeout_ms=settings["PODIUM_SQLITE_BUSY_TIMEOUT_MS"],
            pool_size=settings.get("PODIUM_DATABASE_POOL_SIZE", 0),
            connect_timeout=settings.get("PODIUM_DATABASE_CONNECT_TIMEOUT", 5),
            prepared_statements=settings.get("PODIUM_DATABASE_PREPARED_STATEMENTS", True),
        )
    )
    versions = migrations.upgrade(ALL_TABLES, SEEDS if seeded else ())
    with db.connection_context():
        secrets.verify_stored(ALL_TABLES)  # a wrong key fails here, not as bad signatures
    return versions


def init_app(app: Flask) -> None:
    """Set the database up for the app: a connection for each request's thread."""
    _setup_when_reachable(app.config)

    @app.before_request
    def _connect():
        # Liveness probes answer without the database, so an outage does not get the process
        # restarted; everything else connects now (a first query would anyway).
        view = app.view_functions.get(request.endpoint)
        if not getattr(view, "without_database", False):
            db.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(_exc):
        # A SQLite connection stays open for the thread's next request: opening one costs its
        # pragmas, and closing the last one checkpoints and removes the WAL file every time.
        # Other databases hand the connection back (to the pool, where one is configured).
        if not db.is_closed() and not is_sqlite():
            drop_connection()  # a lost connection is discarded by the pool, not kept


def _setup_when_reachable(settings: dict) -> None:
    # A gunicorn worker that fails to boot stops the whole server, so one (re)started while
    # the database is away waits for it instead: the outage then ends with every worker up.
    delay, since = _START_BACKOFF_SECONDS[0], None
    while True:
        try:
            setup(settings)
        except DATABASE_ERRORS as error:
            if not isinstance(database_fault(error), TemporarilyUnavailable):
                raise
            if since is None:
                since = time.monotonic()
                log.warning("the database does not answer (%s); waiting for it", first_line(error))
            time.sleep(delay)
            delay = min(delay * 2, _START_BACKOFF_SECONDS[1])
            continue
        if since is not None:
            log.warning("the database answers after %.1f s; serving", time.monotonic() - since)
        return
