"""The service around the routes: database setup, probes, gunicorn entry points, OpenAPI."""

import os
import re
import subprocess
import sys
import time

import pytest
import requests
from openapi_spec_validator import validate

from registry.db import db, is_sqlite


def test_sqlite_connections_are_configured_for_concurrent_workers(app):
    if not is_sqlite():
        pytest.skip("SQLite pragmas")
    with db.connection_context():
        pragma = lambda name: db.execute_sql(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("synchronous") == 1  # NORMAL
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") == app.config["PODIUM_SQLITE_BUSY_TIMEOUT_MS"]
        assert pragma("wal_autocheckpoint") == 0  # Podium checkpoints outside the writer queue


def test_writes_take_the_sqlite_write_lock_up_front(app):
    if not is_sqlite():
        pytest.skip("SQLite locking")
    import sqlite3

    path = app.config["PODIUM_DATABASE_URL"].removeprefix("sqlite:///")
    with db.connection_context(), db.atomic():
        other = sqlite3.connect(path, timeout=0.1, isolation_level=None)
        # IMMEDIATE: a second writer cannot even begin while this transaction is open.
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()


def test_writers_queue_on_a_file_lock_and_readers_do_not(app):
    """Write transactions hold the writers' file lock (so others wait in the kernel, not in
    SQLite's sleeping busy handler); read transactions and committed writes leave it free."""
    if not is_sqlite():
        pytest.skip("SQLite locking")
    from registry.db import reading

    with db.connection_context():
        with db.atomic():
            assert not _writers_queue_is_free(app)
        assert _writers_queue_is_free(app)
        with reading():
            assert _writers_queue_is_free(app)
        with pytest.raises(RuntimeError), db.atomic():
            raise RuntimeError("rolled back")
        assert _writers_queue_is_free(app)


def _writers_queue_is_free(app) -> bool:
    """Whether another process could take the writers' file lock now."""
    import fcntl

    path = app.config["PODIUM_DATABASE_URL"].removeprefix("sqlite:///") + "-writers"
    with open(path, "a") as other:  # a separate open file, as another process has
        try:
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(other, fcntl.LOCK_UN)
        return True


def test_write_commits_checkpoint_the_wal_after_leaving_the_writer_queue(app, monkeypatch):
    """The WAL stays bounded although SQLite's own checkpoint is off, and the checkpoint's
    fsync is paid after the writer queue is left, so queued writers do not wait for it."""
    if not is_sqlite():
        pytest.skip("SQLite WAL")
    from registry.models import RegisteredModel

    sqlite = db.obj
    monkeypatch.setattr(type(sqlite), "CHECKPOINT_EVERY", 10)
    queue_free_at_checkpoints = []
    checkpoint = sqlite._checkpoint

    def observed_checkpoint():
        queue_free_at_checkpoints.append(_writers_queue_is_free(app))
        checkpoint()

    monkeypatch.setattr(sqlite, "_checkpoint", observed_checkpoint)
    wal = app.config["PODIUM_DATABASE_URL"].removeprefix("sqlite:///") + "-wal"
    with db.connection_context():
        for i in range(300):
            with db.atomic():
                RegisteredModel.create(name=f"m{i}", description="x" * 3000)
        with db.atomic():  # a read-only transaction is not a write commit
            RegisteredModel.select().count()
        # 300 commits of a page or more each would leave well over 1.2 MB of WAL unchecked.
        assert os.path.getsize(wal) < 400_000
    assert len(queue_free_at_checkpoints) == 30 and all(queue_free_at_checkpoints)


def test_no_connection_crosses_a_fork(app):
    db.connect(reuse_if_open=True)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child reports whether it inherited the open connection
        os.write(write, b"closed" if db.is_closed() else b"open")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 16) == b"closed"
    assert not db.is_closed()  # the parent keeps its own
    db.close()


def test_health_and_version(client):
    from importlib.metadata import version

    health = client.get("/health")
    assert (health.status_code, health.data, health.mimetype) == (200, b"OK", "text/plain")
    assert client.get("/version").data.decode() == version("podium-registry")


def test_gunicorn_wsgi_app_with_the_deploy_config(database_url, tmp_path):
    """`gunicorn -c deploy/gunicorn.conf.py wsgi:app` from the project root serves the registry."""
    from conftest import _free_port

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    port = _free_port()
    env = {
        **os.environ,
        "PODIUM_DATABASE_URL": database_url,
        "PODIUM_PORT": str(port),
        "PODIUM_ARTIFACTS_DESTINATION": str(tmp_path / "artifacts"),
        "PODIUM_ACCESS_LOG": "",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "wsgi:app"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if requests.get(url + "/health", timeout=1).ok:
                    break
            except (requests.ConnectionError, requests.Timeout):  # workers still booting
                time.sleep(0.1)
        created = requests.post(
            url + "/api/2.0/mlflow/registered-models/create", json={"name": "via-gunicorn"}
        )
        assert created.json()["registered_model"]["name"] == "via-gunicorn"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_openapi_documents_every_route(app, client):
    document = client.get("/api/2.0/podium/openapi.json").json
    validate(document)
    documented = {
        (path, method.upper())
        for path, operations in document["paths"].items()
        for method in operations
    }
    served = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
        if rule.rule != "/api/2.0/podium/openapi.json"
    }
    assert served <= documented
    # MLflow's 21 registry routes, plus get-latest-versions by GET as well as POST.
    registry_routes = [
        op
        for op in documented
        if op[0].startswith(("/api/2.0/mlflow/registered-models", "/api/2.0/mlflow/model-versions"))
    ]
    assert len(registry_routes) == 22
    create = document["paths"]["/api/2.0/mlflow/model-versions/create"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/CreateModelVersionIn"}
    assert "source" in document["components"]["schemas"]["CreateModelVersionIn"]["required"]
