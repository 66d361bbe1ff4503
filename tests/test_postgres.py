"""PostgreSQL for scale-out: pooled connections, returned after each request, never shared."""

import os

import psycopg2
import pytest
import requests
from peewee import PostgresqlDatabase
from playhouse.pool import PooledPostgresqlDatabase

from registry.store.db import db, open_database


def test_postgres_urls_open_a_pool_unless_the_pool_size_is_zero():
    url = "postgresql://podium@db.internal:5432/podium"
    pooled = open_database(url, pool_size=4)
    assert isinstance(pooled, PooledPostgresqlDatabase)
    assert pooled._max_connections == 4
    assert (pooled.database, pooled.connect_params["host"]) == ("podium", "db.internal")
    plain = open_database(url, pool_size=0)
    assert type(plain) is PostgresqlDatabase
    with pytest.raises(ValueError, match="names no database"):
        open_database("postgresql://podium@db.internal:5432", pool_size=4)


def _sessions(database_url: str) -> list[int]:
    """Backend pids of the sessions connected to the database (the checker's excluded)."""
    with psycopg2.connect(database_url) as checker, checker.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        return sorted(pid for (pid,) in cursor.fetchall())


def _app(database_url, tmp_path, pool_size):
    from registry import create_app

    return create_app(
        {
            "PODIUM_DATABASE_URL": database_url,
            "PODIUM_ARTIFACTS_DESTINATION": str(tmp_path / "artifacts"),
            "PODIUM_DATABASE_POOL_SIZE": pool_size,
        }
    )


def test_requests_reuse_one_pooled_connection(postgres_database_url, tmp_path):
    client = _app(postgres_database_url, tmp_path, pool_size=4).test_client()
    seen = set()
    for i in range(10):
        created = client.post("/api/2.0/mlflow/registered-models/create", json={"name": f"m{i}"})
        assert created.status_code == 200
        assert db.is_closed()  # handed back at the end of the request...
        seen.update(_sessions(postgres_database_url))
    assert len(seen) == 1  # ...and the same session served every request
    db.obj.close_all()


def _end_sessions(database_url: str) -> int:
    """End every other session on the database, as a server restart or idle timeout would."""
    with psycopg2.connect(database_url) as admin, admin.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_pooled_sessions_the_server_ended_are_replaced_without_an_error(
    postgres_database_url, tmp_path
):
    """The pool hands connections out without a round trip to check them: the first statement
    finding its session ended runs again on a new one, for writes, reads and bare queries."""
    client = _app(postgres_database_url, tmp_path, pool_size=4).test_client()
    assert client.post("/api/2.0/mlflow/registered-models/create", json={"name": "m"}).status_code
    before = _sessions(postgres_database_url)
    assert len(before) == 1 and _end_sessions(postgres_database_url) == 1
    created = client.post("/api/2.0/mlflow/registered-models/create", json={"name": "n"})
    assert created.status_code == 200, created.get_json()
    after = _sessions(postgres_database_url)
    assert len(after) == 1 and after != before

    _end_sessions(postgres_database_url)
    read = client.get("/api/2.0/mlflow/registered-models/get", query_string={"name": "n"})
    assert read.status_code == 200, read.get_json()

    _end_sessions(postgres_database_url)
    with db.connection_context():  # a statement outside any transaction
        assert db.execute_sql("SELECT 1").fetchone() == (1,)
    assert len(_sessions(postgres_database_url)) == 1
    db.obj.close_all()


class _RecordingCursor(psycopg2.extensions.cursor):
    """The driver's own cursor, noting each query it sends to the server."""

    sent: list[str] = []

    def execute(self, query, vars=None):
        self.sent.append(query if isinstance(query, str) else query.decode())
        return super().execute(query, vars)


def _record_queries(monkeypatch) -> list[str]:
    sent = _RecordingCursor.sent = []
    open_raw = db.obj._connect

    def connect():
        connection = open_raw()
        connection.cursor_factory = _RecordingCursor
        return connection

    monkeypatch.setattr(db.obj, "_connect", connect)
    db.obj.close_all()  # connections opened from now on record
    return sent


def test_begin_travels_with_the_first_statement_and_reads_need_no_transaction(
    postgres_database_url, tmp_path, monkeypatch
):
    client = _app(postgres_database_url, tmp_path, pool_size=2).test_client()
    assert client.post("/api/2.0/mlflow/registered-models/create", json={"name": "m"}).status_code
    sent = _record_queries(monkeypatch)

    created = client.post("/api/2.0/mlflow/registered-models/create", json={"name": "n"})
    assert created.status_code == 200
    assert sent[0].startswith("BEGIN; ") and sent[-1] == "COMMIT"
    assert not any(query.startswith("BEGIN") for query in sent[1:])

    sent.clear()
    read = client.get("/api/2.0/mlflow/registered-models/get", query_string={"name": "n"})
    assert read.status_code == 200
    assert sent and not any(query.startswith(("BEGIN", "COMMIT")) for query in sent)

    # A write refused after its first statement rolls back whole, and the connection goes
    # back to the pool clean for the next request.
    sent.clear()
    taken = client.post("/api/2.0/mlflow/registered-models/create", json={"name": "n"})
    assert taken.get_json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
    assert sent[0].startswith("BEGIN; ") and sent[-1] == "ROLLBACK"
    assert client.post("/api/2.0/mlflow/registered-models/create", json={"name": "o"}).status_code
    listed = client.get("/api/2.0/mlflow/registered-models/search").get_json()
    assert [model["name"] for model in listed["registered_models"]] == ["m", "n", "o"]
    db.obj.close_all()


def test_compiled_statements_are_prepared_once_per_connection(
    postgres_database_url, tmp_path, monkeypatch
):
    client = _app(postgres_database_url, tmp_path, pool_size=1).test_client()
    assert client.post("/api/2.0/mlflow/registered-models/create", json={"name": "m"}).status_code
    sent = _record_queries(monkeypatch)  # a new connection: nothing prepared on it yet

    def get(name):
        sent.clear()
        read = client.get("/api/2.0/mlflow/registered-models/get", query_string={"name": name})
        return read.get_json(), list(sent)

    first, on_first = get("m")
    assert first["registered_model"]["name"] == "m"
    assert all(query.startswith("PREPARE podium_") for query in on_first)
    again, on_again = get("m")
    assert again == first
    assert on_again and all(query.startswith("EXECUTE podium_") for query in on_again)
    missing, _ = get("nope")  # other values, the same prepared statements
    assert missing["error_code"] == "RESOURCE_DOES_NOT_EXIST"

    # A session the server ended takes its prepared statements with it: the first EXECUTE
    # finds it gone, and the next connection prepares its own; the client sees nothing.
    _end_sessions(postgres_database_url)
    after, on_after = get("m")
    assert after == first and on_after[0].startswith("EXECUTE ")
    assert all(query.startswith("PREPARE ") for query in on_after[1:]) and on_after[1:]
    db.obj.close_all()


def test_prepared_statements_can_be_turned_off_for_pgbouncer(
    postgres_database_url, tmp_path, monkeypatch
):
    monkeypatch.setenv("PODIUM_DATABASE_PREPARED_STATEMENTS", "off")
    client = _app(postgres_database_url, tmp_path, pool_size=1).test_client()
    assert client.post("/api/2.0/mlflow/registered-models/create", json={"name": "m"}).status_code
    sent = _record_queries(monkeypatch)
    for _ in range(2):
        read = client.get("/api/2.0/mlflow/registered-models/get", query_string={"name": "m"})
        assert read.status_code == 200
    assert sent and not any(query.startswith(("PREPARE", "EXECUTE")) for query in sent)
    db.obj.close_all()


def test_a_statement_postgresql_will_not_prepare_runs_as_a_query_in_its_transaction(
    postgres_database_url, tmp_path
):
    from peewee import Value

    from registry.store import prepared
    from registry.store.statements import Statement
    from registry.store.tables.registry import RegisteredModel

    _app(postgres_database_url, tmp_path, pool_size=1)
    # "$1 IS NULL": PostgreSQL cannot infer the parameter's type, so PREPARE fails.
    untyped = Statement(
        lambda value: RegisteredModel.select(RegisteredModel.name).where(
            Value(value, converter=False).is_null()
        )
    )
    with db.connection_context(), db.atomic():
        RegisteredModel.create(name="kept", creation_timestamp=1, last_updated_timestamp=1)
        assert untyped.tuples(None) == [("kept",)]
        RegisteredModel.create(name="also", creation_timestamp=1, last_updated_timestamp=1)
    sql = next(iter(untyped._compiled.values())).sql
    assert prepared.verdict(sql) is False
    with db.connection_context():
        assert untyped.tuples(1) == []  # refused once, then simply sent as a query
        names = [name for (name,) in RegisteredModel.select(RegisteredModel.name).tuples()]
    assert sorted(names) == ["also", "kept"]
    db.obj.close_all()


def test_without_a_pool_each_request_connects_and_disconnects(postgres_database_url, tmp_path):
    client = _app(postgres_database_url, tmp_path, pool_size=0).test_client()
    assert client.get("/health").status_code == 200
    assert _sessions(postgres_database_url) == []


def test_a_forked_child_never_uses_the_parents_pooled_connection(postgres_database_url):
    db.initialize(open_database(postgres_database_url, pool_size=2))
    with db.connection_context():
        parent_pid = db.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
    # The connection now idles in the parent's pool.
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            with db.connection_context():
                pid = db.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
            os.write(write, str(pid).encode())
        finally:
            os._exit(0)
    os.waitpid(child, 0)
    child_pid = int(os.read(read, 32))
    assert child_pid != parent_pid
    with db.connection_context():  # the parent's pooled session survived the child
        assert db.execute_sql("SELECT pg_backend_pid()").fetchone()[0] == parent_pid
    db.obj.close_all()


def test_gunicorn_workers_hold_one_pooled_connection_each(postgres_database_url, tmp_path):
    from conftest import LiveServer

    server = LiveServer(postgres_database_url, tmp_path, workers=2).start()
    try:
        for i in range(40):
            response = requests.post(
                server.url + "/api/2.0/mlflow/registered-models/create", json={"name": f"m{i}"}
            )
            assert response.status_code == 200
        # Workers keep their pooled sessions between requests (without a pool only the
        # dispatcher would be connected now), at most one per thread (gthread, 4 threads each,
        # a request may start before the last one's connection is back in the pool), however
        # many requests; the master, which checked the database before forking, holds none.
        assert 2 <= len(_sessions(postgres_database_url)) <= 2 * 4 + 1
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _no_connection_left_open():
    yield
    if db.obj is not None and not db.is_closed():
        db.close()
