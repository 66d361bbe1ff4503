"""Locks held too long: SQLite's write lock in another process, a PostgreSQL row lock.

SQLite: a writer that waits out PODIUM_SQLITE_BUSY_TIMEOUT_MS answers 503 with Retry-After
while reads go on. PostgreSQL: a write that loses a lock (lock_timeout, deadlock, serialization)
runs again inside the service call a bounded number of times, then answers 503.
"""

import logging
import subprocess
import sys
import textwrap

import pytest
import requests
from conftest import LiveServer
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

SOURCE = "s3://models/locks/1"

HOLD_WRITE_LOCK = textwrap.dedent(
    """
    import sqlite3, sys
    connection = sqlite3.connect(sys.argv[1], isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")  # SQLite's write lock, until stdin closes
    print("locked", flush=True)
    sys.stdin.read()
    connection.execute("COMMIT")
    """
)


def _assert_busy(response) -> None:
    """A 503 to retry, from a live server (requests) or the Flask test client."""
    body = response.json() if isinstance(response, requests.Response) else response.get_json()
    assert response.status_code == 503, body
    assert body["error_code"] == "TEMPORARILY_UNAVAILABLE"
    assert int(response.headers["Retry-After"]) >= 1


def test_a_sqlite_write_behind_another_process_lock_is_503_with_retry_after(tmp_path):
    database = tmp_path / "locked.db"
    server = LiveServer(
        f"sqlite:///{database}", tmp_path, env={"PODIUM_SQLITE_BUSY_TIMEOUT_MS": "300"}
    ).start()
    holder = None
    try:
        client = MlflowClient(tracking_uri=server.url, registry_uri=server.url)
        client.create_registered_model("held")
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_WRITE_LOCK, str(database)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout.readline().strip() == "locked"

        for _ in range(3):  # both workers
            _assert_busy(
                requests.post(
                    server.url + "/api/2.0/mlflow/model-versions/create",
                    json={"name": "held", "source": SOURCE},
                    timeout=30,
                )
            )
        with pytest.raises(MlflowException, match="503"):
            client.set_registered_model_tag("held", "k", "v")
        assert client.get_registered_model("held").name == "held"  # reads go on (WAL)

        holder.communicate("", timeout=30)  # commits and lets go
        assert client.create_model_version("held", SOURCE).version == "1"
    finally:
        if holder and holder.poll() is None:
            holder.kill()
        server.stop()


class _ReleaseOnConflict(logging.Handler):
    """Ends the lock holder's transaction when Podium reports its first conflict."""

    def __init__(self, holder):
        super().__init__(logging.INFO)
        self.holder = holder
        self.conflicts = 0

    def emit(self, record):
        if "write conflict" in record.getMessage():
            self.conflicts += 1
            self.holder.commit()


def test_a_postgres_lock_timeout_is_retried_inside_the_call_then_503(
    postgres_database_url, tmp_path
):
    import psycopg2

    from registry import create_app
    from registry.store.db import db

    name = postgres_database_url.rsplit("/", 1)[1]
    admin = psycopg2.connect(postgres_database_url)
    admin.autocommit = True
    with admin.cursor() as cursor:  # every session Podium opens gives up on a lock after 200 ms
        cursor.execute(f"ALTER DATABASE \"{name}\" SET lock_timeout = '200ms'")
    admin.close()
    app = create_app(
        {
            "TESTING": True,
            "PODIUM_DATABASE_URL": postgres_database_url,
            "PODIUM_ARTIFACTS_DESTINATION": str(tmp_path / "artifacts"),
        }
    )
    client = app.test_client()
    created = client.post("/api/2.0/mlflow/registered-models/create", json={"name": "m"})
    assert created.status_code == 200, created.text
    holder = psycopg2.connect(postgres_database_url)
    lock_model = "SELECT id FROM registered_model WHERE name = 'm' FOR UPDATE"
    failures = logging.getLogger("registry.store.failures")
    release = _ReleaseOnConflict(holder)
    try:
        holder.cursor().execute(lock_model)  # held for every attempt: retried, then 503
        create = {"name": "m", "source": SOURCE}
        _assert_busy(client.post("/api/2.0/mlflow/model-versions/create", json=create))

        holder.rollback()
        holder.cursor().execute(lock_model)  # released after the first attempt failed
        failures.addHandler(release)
        failures.setLevel(logging.INFO)
        answer = client.post("/api/2.0/mlflow/model-versions/create", json=create)
        assert answer.status_code == 200, answer.text
        assert release.conflicts == 1
        # The failed attempt rolled back whole: the version counter did not move.
        assert answer.json["model_version"]["version"] == "1"
    finally:
        failures.removeHandler(release)
        failures.setLevel(logging.NOTSET)
        holder.close()
        db.obj.close_all()
