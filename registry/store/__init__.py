"""The store: the database connection, its schema and migrations, compiled statements, the tables
by area, and checking, exporting and importing a whole database. It imports nothing of Podium's
above it: only registry.config and registry.errors."""

from flask import Flask, request

from registry.store import migrations
from registry.store.db import db, is_sqlite, open_database
from registry.store.failures import drop_connection
from registry.store.tables import ALL_TABLES, SEEDS


def setup(settings: dict, *, seeded: bool = True) -> tuple[int, int]:
    """Point the proxy at the configured database; bring its schema up to date; seed rows
    (unless `seeded` is false: an import brings its own).

    Returns the schema version before and after.
    """
    db.initialize(
        open_database(
            settings["PODIUM_DATABASE_URL"],
            busy_timeout_ms=settings["PODIUM_SQLITE_BUSY_TIMEOUT_MS"],
            pool_size=settings.get("PODIUM_DATABASE_POOL_SIZE", 0),
            connect_timeout=settings.get("PODIUM_DATABASE_CONNECT_TIMEOUT", 5),
        )
    )
    return migrations.upgrade(ALL_TABLES, SEEDS if seeded else ())


def init_app(app: Flask) -> None:
    """Set the database up for the app: a connection for each request's thread."""
    setup(app.config)

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
