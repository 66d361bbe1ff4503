"""The stack's own ceiling: Flask + peewee/SQLite with no registry logic.

Serves the same paths the wrk scenarios hit. Reads fetch one row by key; writes insert one row
in a transaction. A registry built on the same stack cannot beat this; the bar is how close it gets.
Run: gunicorn -w 2 -b 127.0.0.1:5088 floor_app:app   (FLOOR_DB=/tmp/floor.db)

As in the reference, each request opens and closes its connection, and closing the last one
checkpoints the WAL. FLOOR_KEEP_CONNECTION=1 keeps one connection per worker instead, as
Podium does: a stricter ceiling, reported beside the reference one.

FLOOR_DATABASE_URL=postgresql://... runs the same app on PostgreSQL, keeping its connection
(the ceiling for Podium on PostgreSQL).
"""

import os
import time

from flask import Flask, jsonify, request
from peewee import CharField, IntegerField, Model, SqliteDatabase
from playhouse.db_url import connect

DATABASE_URL = os.environ.get("FLOOR_DATABASE_URL", "")
POSTGRES = DATABASE_URL.startswith("postgres")
if POSTGRES:
    db = connect(DATABASE_URL)
else:
    db = SqliteDatabase(
        os.environ.get("FLOOR_DB", "/tmp/floor.db"),
        pragmas={"journal_mode": "wal", "synchronous": "normal", "busy_timeout": 5000},
    )


class Row(Model):
    name = CharField()
    version = IntegerField()

    class Meta:
        database = db
        indexes = ((("name", "version"), False),)


db.connect()
with db.atomic():
    if POSTGRES:  # every worker creates the table: one at a time
        db.execute_sql("SELECT pg_advisory_xact_lock(5088)")
    db.create_tables([Row])
db.close()
app = Flask(__name__)


@app.before_request
def _open():
    db.connect(reuse_if_open=True)


KEEP_CONNECTION = POSTGRES or os.environ.get("FLOOR_KEEP_CONNECTION") == "1"


@app.teardown_request
def _close(exc):
    if not KEEP_CONNECTION and not db.is_closed():
        db.close()


def _write():
    body = request.get_json(silent=True) or {}
    with db.atomic() if POSTGRES else db.atomic("IMMEDIATE"):
        row = Row.create(name=body.get("name", "x"), version=int(time.time()))
    return jsonify({"id": row.id})


def _read():
    row = Row.select().where(Row.id <= 1 + (time.time_ns() % 100)).order_by(Row.id.desc()).first()
    return jsonify({"id": row.id if row else None})


for path in (
    "model-versions/create",
    "registered-models/create",
    "model-versions/transition-stage",
    "registered-models/alias",
    "runs/log-metric",
):
    app.add_url_rule("/api/2.0/mlflow/" + path, path, _write, methods=["POST"])
for path in (
    "model-versions/get",
    "registered-models/get-latest-versions",
    "model-versions/search",
):
    app.add_url_rule("/api/2.0/mlflow/" + path, path, _read, methods=["GET"])


@app.post("/api/2.0/mlflow/experiments/create")
def _exp():
    _write()
    return jsonify({"experiment_id": "1"})


@app.post("/api/2.0/mlflow/runs/create")
def _run():
    _write()
    return jsonify(
        {"run": {"info": {"run_id": "r1", "artifact_uri": "mlflow-artifacts:/1/r1/artifacts"}}}
    )
