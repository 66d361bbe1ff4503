"""Moving a registry between databases: every table out to JSON Lines, and into an empty one.

An export is a directory holding one `<table>.jsonl` per table (one JSON object per row, keyed
by field name, primary keys included) and `manifest.json` (format, schema version, the tables in
dependency order with their row counts), written last: a directory without a manifest is not an
export. Everything is carried, webhook secrets and pending deliveries included, so the files
are created readable by their owner only. Webhook secrets are carried as they are stored,
encrypted (registry.store.secrets), never in plaintext: an import checks that its keys open
them, so it needs the exporting side's key (PODIUM_SECRET_KEY or its key file).

`podium export` reads one consistent snapshot. `podium import` fills an empty database of the
same schema version in one transaction, keeping every id, and moves PostgreSQL's id sequences
past the imported rows. Tables come from registry.store.tables.ALL_TABLES, so new tables are carried
without changes here.
"""

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

from peewee import AutoField, CompositeKey, Model, SqliteDatabase, Value, sort_models

from registry.store import secrets
from registry.store.db import db, is_sqlite, schema_lock
from registry.store.migrations import LATEST_VERSION, recorded_version
from registry.store.tables.base import now_ms

FORMAT = "podium-export/1"
MANIFEST = "manifest.json"
_PAGE = 2000  # rows read per query on export


class TransferError(RuntimeError):
    """The export or import cannot proceed; the message says why."""


def export_registry(directory: Path, models: Sequence[type[Model]]) -> dict:
    """Write every row of `models` under `directory` (new or empty); return the manifest."""
    directory = Path(directory)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if any(directory.iterdir()):
        raise TransferError(f"{directory} is not empty: export into a new directory")
    tables = []
    with db.connection_context(), _snapshot():
        schema_version = recorded_version()
        for model in sort_models(models):
            name = model._meta.table_name
            count = 0
            with _private_file(directory / f"{name}.jsonl") as out:
                for row in _rows(model):
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
                    count += 1
            tables.append({"name": name, "rows": count})
    manifest = {
        "format": FORMAT,
        "schema_version": schema_version,
        "podium_version": version("podium-registry"),
        "source": "sqlite" if is_sqlite() else "postgresql",
        "exported_at": now_ms(),
        "tables": tables,
    }
    with _private_file(directory / MANIFEST) as out:
        json.dump(manifest, out, indent=2)
        out.write("\n")
    return manifest


def import_registry(directory: Path, models: Sequence[type[Model]], seeds=()) -> dict:
    """Load an export into the connected database, which must hold no data; return the manifest.

    The schema must already be current (`migrations.upgrade`). Rows that the seeds create on a
    fresh database (the Default experiment) do not count as data: the export carries its own.
    """
    directory = Path(directory)
    manifest = _read_manifest(directory)
    by_name = {model._meta.table_name: model for model in models}
    exported = [table["name"] for table in manifest["tables"]]
    if set(exported) != set(by_name):
        missing, unknown = set(by_name) - set(exported), set(exported) - set(by_name)
        raise TransferError(
            f"the export's tables differ from this Podium's: missing {sorted(missing)}, "
            f"unknown {sorted(unknown)}"
        )
    with schema_lock():  # one transaction, which no other process can interleave with
        _clear_seed_rows(models, seeds)
        for model in sort_models(models):
            _insert_rows(model, directory / f"{model._meta.table_name}.jsonl")
        if not is_sqlite():
            _advance_sequences(models)
        for seed in seeds:  # only adds what the export did not carry
            seed()
        for table in manifest["tables"]:
            stored = by_name[table["name"]].select().count()
            if stored != table["rows"]:
                raise TransferError(
                    f"{table['name']}: the export lists {table['rows']} rows, {stored} were stored"
                )
    return manifest


def _read_manifest(directory: Path) -> dict:
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TransferError(f"{directory} holds no {MANIFEST}: not a complete export") from None
    if manifest.get("format") != FORMAT:
        raise TransferError(f"unknown export format {manifest.get('format')!r}")
    if manifest["schema_version"] != LATEST_VERSION:
        raise TransferError(
            f"the export has schema version {manifest['schema_version']}, this Podium "
            f"{LATEST_VERSION}: export and import with the same Podium version"
        )
    return manifest


@contextmanager
def _snapshot():
    """A read-only transaction that sees one instant of the database, across every table."""
    if is_sqlite():
        with db.atomic("DEFERRED"):  # WAL: a reader keeps the snapshot of its first read
            yield
    else:
        with db.atomic():
            db.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield


def _rows(model: type[Model]) -> Iterator[dict]:
    """Every row as {field name: value}, in primary key order, a page at a time; secrets as
    stored (encrypted)."""
    key = model._meta.primary_key
    fields = [
        f.coerce(False) if isinstance(f, secrets.EncryptedTextField) else f
        for f in model._meta.sorted_fields
    ]
    if isinstance(key, CompositeKey):
        yield from model.select(*fields).order_by(*key.field_names).dicts().iterator()
        return
    last = None
    while True:
        query = model.select(*fields).order_by(key).limit(_PAGE).dicts()
        page = list(query if last is None else query.where(key > last))
        yield from page
        if len(page) < _PAGE:
            return
        last = page[-1][key.name]


def _opened(model: type[Model], row: dict) -> dict:
    """The row, its encrypted secrets checked to open with this Podium's keys and kept as
    they are (the field would otherwise encrypt the token once more)."""
    for field in secrets.encrypted_fields(model):
        if row.get(field.name) is not None:
            try:
                secrets.decrypt(row[field.name])
            except secrets.SecretKeyError:
                raise TransferError(
                    f"{model._meta.table_name}: the export's secrets were encrypted with "
                    "another key; import with the exporting Podium's PODIUM_SECRET_KEY "
                    "(or key file)"
                ) from None
            row[field.name] = Value(row[field.name], converter=False)
    return row


def _insert_rows(model: type[Model], path: Path) -> None:
    # Rows per INSERT kept well below SQLite's limit on bound parameters.
    batch_size = max(1, 5000 // len(model._meta.sorted_fields))
    batch = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            batch.append(_opened(model, json.loads(line)))
            if len(batch) == batch_size:
                model.insert_many(batch).execute()
                batch = []
    if batch:
        model.insert_many(batch).execute()


def _clear_seed_rows(models: Sequence[type[Model]], seeds) -> None:
    """Refuse a database holding data; delete the rows the seeds made, which the export holds."""
    seeded = _seeded_keys(models, seeds)
    for model in models:
        query = model.select()
        if seeded.get(model._meta.table_name):
            query = query.where(model._meta.primary_key.not_in(seeded[model._meta.table_name]))
        if query.exists():
            raise TransferError(
                f"the target database already holds data ({model._meta.table_name}): "
                "import into an empty database"
            )
    for model in reversed(sort_models(models)):
        if seeded.get(model._meta.table_name):
            model.delete().execute()


def _seeded_keys(models: Sequence[type[Model]], seeds) -> dict[str, list]:
    """The primary keys the seeds create in an empty database, per table."""
    scratch = SqliteDatabase(":memory:")
    with scratch.bind_ctx(models):
        scratch.create_tables(models)
        for seed in seeds:
            seed()
        keys = {
            model._meta.table_name: [
                row[0] for row in model.select(model._meta.primary_key).tuples()
            ]
            for model in models
        }
    scratch.close()
    return keys


def _advance_sequences(models: Sequence[type[Model]]) -> None:
    """Point each PostgreSQL id sequence past the highest imported id."""
    for model in models:
        key = model._meta.primary_key
        if not isinstance(key, AutoField):
            continue
        table, column = model._meta.table_name, key.column_name
        db.execute_sql(
            f'SELECT setval(pg_get_serial_sequence(%s, %s), GREATEST(MAX("{column}"), 1), '
            f'COALESCE(MAX("{column}"), 0) >= 1) FROM "{table}"',
            (table, column),
        )


@contextmanager
def _private_file(path: Path):
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(descriptor, "w", encoding="utf-8") as handle:
        yield handle
