"""`podium db check`: how the configured database is set up, and whether its schema is current."""

from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from peewee import Model, OperationalError

from registry.store.db import db, is_sqlite, open_database
from registry.store.migrations import (
    LATEST_VERSION,
    SchemaVersion,
    missing_tables,
    recorded_version,
)


def redacted(url: str) -> str:
    """The URL with any password replaced, fit for printing."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


def check_database(settings: dict, models: Sequence[type[Model]], say=print) -> bool:
    """Report on the configured database without changing it; True if it is ready to serve."""
    url = settings["PODIUM_DATABASE_URL"]
    database = open_database(url, busy_timeout_ms=settings["PODIUM_SQLITE_BUSY_TIMEOUT_MS"])
    say(f"database:       {redacted(url)}")
    if url.startswith("sqlite:") and not Path(database.database).exists():
        say(f"no database file at {database.database}: `podium db upgrade` creates it")
        return False
    db.initialize(database)
    try:
        db.connect()
    except OperationalError as error:
        say(f"cannot connect: {str(error).strip()}")
        return False
    try:
        return _report(settings, models, say)
    finally:
        db.close()


def _report(settings: dict, models: Sequence[type[Model]], say) -> bool:
    if is_sqlite():
        say(f"journal mode:   {_pragma('journal_mode')}")
        say(f"busy timeout:   {_pragma('busy_timeout')} ms")
        say(f"synchronous:    {('off', 'normal', 'full', 'extra')[_pragma('synchronous')]}")
        say(f"foreign keys:   {'on' if _pragma('foreign_keys') else 'off'}")
    else:
        say(f"server:         PostgreSQL {db.execute_sql('SHOW server_version').fetchone()[0]}")
        say(f"pool size:      {settings.get('PODIUM_DATABASE_POOL_SIZE', 0)} per process")
    current = recorded_version()
    if current == LATEST_VERSION:
        state = "up to date"
    elif current < LATEST_VERSION:
        state = "behind: run `podium db upgrade`"
    else:
        state = "newer than this Podium: upgrade Podium"
    say(f"schema version: {current} (this Podium: {LATEST_VERSION}), {state}")
    missing = missing_tables([*models, SchemaVersion])
    if missing:
        say(f"missing tables: {', '.join(missing)}")
    say("rows:")
    for model in [*models, SchemaVersion]:
        name = model._meta.table_name
        say(f"  {name:<32} {'missing' if name in missing else model.select().count()}")
    return current == LATEST_VERSION and not missing


def _pragma(name: str):
    return db.execute_sql(f"PRAGMA {name}").fetchone()[0]
