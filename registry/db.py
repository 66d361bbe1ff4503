"""The database: one proxy for every model, opened per request, configured from a URL."""

import os

from flask import Flask
from peewee import Database, DatabaseProxy, SqliteDatabase
from playhouse import db_url

db = DatabaseProxy()

# Any fixed 64-bit number: PostgreSQL advisory lock serialising schema setup across processes.
_SCHEMA_LOCK_ID = 0x50_6F_64_69_75_6D


def open_database(url: str, *, busy_timeout_ms: int = 30000) -> Database:
    """Build (but do not connect) the database named by a sqlite:/// or postgresql:// URL."""
    if url.startswith("sqlite:"):
        return db_url.connect(
            url,
            # busy_timeout first: the WAL switch itself may have to wait for another process.
            pragmas=(
                ("busy_timeout", busy_timeout_ms),
                ("journal_mode", "wal"),
                ("synchronous", "normal"),
                ("foreign_keys", 1),
            ),
            # Every transaction takes the write lock up front, so two writers never deadlock on
            # a read-to-write upgrade; they queue on busy_timeout instead.
            lock_type="IMMEDIATE",
        )
    if url.startswith(("postgres:", "postgresql:", "postgresql+pool:")):
        return db_url.connect(url)
    raise ValueError(f"unsupported PODIUM_DATABASE_URL {url!r}: use sqlite:/// or postgresql://")


def is_sqlite() -> bool:
    return isinstance(db.obj, SqliteDatabase)


def locked(query):
    """Add FOR UPDATE where the database has row locks; SQLite's IMMEDIATE transaction suffices."""
    return query if is_sqlite() else query.for_update()


def reading():
    """A read-only transaction: one consistent snapshot without taking SQLite's write lock."""
    return db.atomic("DEFERRED") if is_sqlite() else db.atomic()


def create_schema(models, seeds=()) -> None:
    """Create missing tables, then run each seed, safely when several processes start at once."""
    with db.connection_context():
        with db.atomic():
            if not is_sqlite():
                db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_ID,))
            db.create_tables(models, safe=True)
            for seed in seeds:  # rows that must always exist, e.g. the Default experiment
                seed()


def _forget_inherited_connection() -> None:
    # A connection opened before a fork must not be shared with the child: drop it unclosed.
    if db.obj is not None:
        db.obj._state.reset()


os.register_at_fork(after_in_child=_forget_inherited_connection)


def setup(settings: dict, models, seeds=()) -> None:
    """Point the proxy at the configured database; create missing tables and seed rows."""
    db.initialize(
        open_database(
            settings["PODIUM_DATABASE_URL"],
            busy_timeout_ms=settings["PODIUM_SQLITE_BUSY_TIMEOUT_MS"],
        )
    )
    create_schema(models, seeds)


def init_app(app: Flask, models, seeds=()) -> None:
    """Set the database up for the app: a connection for each request's thread."""
    setup(app.config, models, seeds)

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
