"""The store: the database connection, its schema and migrations, compiled statements, the tables
by area, secrets at rest, and checking, exporting and importing a whole database. It imports
nothing of Podium's above it: only registry.config and registry.errors."""

from flask import Flask

from registry.store import migrations, secrets
from registry.store.db import create_database_file, db, is_sqlite, open_database
from registry.store.tables import ALL_TABLES, SEEDS


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
        )
    )
    versions = migrations.upgrade(ALL_TABLES, SEEDS if seeded else ())
    with db.connection_context():
        secrets.verify_stored(ALL_TABLES)  # a wrong key fails here, not as bad signatures
    return versions


def init_app(app: Flask) -> None:
    """Set the database up for the app: a connection for each request's thread."""
    setup(app.config)

    @app.before_request
    def _connect():
        db.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(_exc):
        # A SQLite connection stays open for the thread's next request: opening one costs its
        # pragmas, and closing the last one checkpoints and removes the WAL file every time.
        # Other databases hand the connection back (to the pool, where one is configured).
        if not db.is_closed() and not is_sqlite():
            db.close()
