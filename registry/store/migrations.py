"""Schema migrations: numbered steps, each applied once, recorded in a schema version table.

Every start (`podium serve`, each gunicorn worker, `podium worker`) and `podium db upgrade` call
`upgrade`, which runs inside `db.schema_lock()`: one process at a time applies what is missing
while the others wait, then find nothing left to do.

- An empty database gets the current tables at once and is stamped with the latest version.
- A database from before versioning (Podium tables, no version table) is schema version 1.
- Otherwise each step newer than the recorded version runs, in order. The steps, their records
  and the seeds commit together: a step that fails leaves the database as it was.

To change the schema: change the models, then append a step that brings a database of the
previous version to the new one (add the column, create the table, backfill). Fresh databases
never run it, since they are created from the models, so a step only ever sees the schema of
the version before it.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from peewee import BigIntegerField, IntegerField, Model, TextField

from registry.store import secrets
from registry.store.db import db, schema_lock
from registry.store.tables.base import now_ms
from registry.store.tables.tracking import INPUT_TABLES

log = logging.getLogger(__name__)


class SchemaVersion(Model):
    """One row per applied migration step; the highest is the database's schema version."""

    version = IntegerField(primary_key=True)
    description = TextField()
    applied_at = BigIntegerField(default=now_ms)

    class Meta:
        database = db
        table_name = "podium_schema_version"


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Sequence[type[Model]]], None]  # called with every model Podium keeps


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer Podium than this one."""


def _create_tables(models: Sequence[type[Model]]) -> None:
    db.create_tables(models, safe=True)


def _encrypt_secrets(models: Sequence[type[Model]]) -> None:
    count = secrets.encrypt_plaintext_columns(models)
    log.info("encrypted %d stored webhook secrets", count)


def _create_input_tables(models: Sequence[type[Model]]) -> None:
    # The tables of this step as they are now; a later step that changes them migrates them.
    db.create_tables(INPUT_TABLES, safe=True)


MIGRATIONS = [
    Migration(1, "create the registry, tracking and webhook tables", _create_tables),
    Migration(2, "encrypt webhook secrets at rest", _encrypt_secrets),
    Migration(3, "create the user, token, grant and sign-in failure tables", _create_tables),
    Migration(4, "keep the datasets and models runs log as inputs", _create_input_tables),
    Migration(
        5, "create the transition request, comment and approval policy tables", _create_tables
    ),
    Migration(6, "count changes to webhook subscriptions", _create_tables),
]
LATEST_VERSION = MIGRATIONS[-1].version


def recorded_version() -> int:
    """The schema version the connected database records; 0 if it records none."""
    if not SchemaVersion.table_exists():
        return 0
    return (
        SchemaVersion.select(SchemaVersion.version).order_by(SchemaVersion.version.desc()).scalar()
        or 0
    )


def missing_tables(models: Sequence[type[Model]]) -> list[str]:
    """Tables of `models` the connected database lacks."""
    present = set(db.get_tables())
    return [model._meta.table_name for model in models if model._meta.table_name not in present]


def upgrade(
    models: Sequence[type[Model]], seeds=(), migrations: Sequence[Migration] = MIGRATIONS
) -> tuple[int, int]:
    """Apply every missing step, then the seeds; return (version before, version after)."""
    latest = migrations[-1].version
    with schema_lock():
        SchemaVersion.create_table(safe=True)
        before = recorded_version()
        if before > latest:
            raise SchemaTooNew(
                f"the database has schema version {before}, but this Podium knows only up to "
                f"{latest}: upgrade Podium before starting it on this database"
            )
        if before == 0 and len(missing_tables(models)) == len(models):
            db.create_tables(models)  # an empty database: the models already hold every step
            applied = list(migrations)
        else:
            applied = [step for step in migrations if step.version > before]
            for step in applied:
                log.info("applying schema migration %s: %s", step.version, step.description)
                step.apply(models)
        for step in applied:
            SchemaVersion.create(version=step.version, description=step.description)
        for seed in seeds:  # rows that must always exist, e.g. the Default experiment
            seed()
    return before, latest
