"""The service around the routes: database setup, probes, gunicorn entry points, OpenAPI."""

import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from openapi_spec_validator import validate

from registry.store.db import db, is_sqlite


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
    from registry.store.db import reading

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


def _write_models(count: int, prefix: str) -> None:
    from registry.store.tables.registry import RegisteredModel

    for i in range(count):
        with db.atomic():
            RegisteredModel.create(name=f"{prefix}-{i}", description="x" * 3000)


def test_wal_checkpoints_run_on_their_own_thread(app, monkeypatch):
    """SQLite's own checkpoint is off; every CHECKPOINT_EVERY-th write commit wakes a checkpoint
    thread, which the committing writers do not wait for."""
    if not is_sqlite():
        pytest.skip("SQLite WAL")
    sqlite = db.obj
    monkeypatch.setattr(type(sqlite), "CHECKPOINT_EVERY", 10)
    started, release, finished, threads = threading.Event(), threading.Event(), queue.Queue(), []
    checkpoint = sqlite._checkpoint

    def held_checkpoint():
        threads.append(threading.current_thread().name)
        started.set()
        release.wait(30)
        checkpoint()
        finished.put(True)

    monkeypatch.setattr(sqlite, "_checkpoint", held_checkpoint)
    with db.connection_context():
        _write_models(10, "a")  # the tenth commit wakes the thread
        # Wait for the thread itself, not for the scheduler to have run it within ten writes.
        assert started.wait(30) and threads == ["wal-checkpoint"]
        _write_models(10, "b")  # the first checkpoint holds; writes go on and wake it again
        assert finished.empty()
        release.set()
        assert finished.get(timeout=30) and finished.get(timeout=30)  # the second wake, too


def test_a_checkpoint_overtaken_by_writers_still_lets_the_wal_start_over(app, monkeypatch):
    """Writes during a checkpoint keep it from completing; past RESTART_PAGES the checkpoint
    finishes holding the writers' queue, so the next writer starts the WAL over and later
    writes reuse the file instead of growing it."""
    if not is_sqlite():
        pytest.skip("SQLite WAL")
    sqlite = db.obj
    monkeypatch.setattr(type(sqlite), "CHECKPOINT_EVERY", 10**9)  # checkpoints only by hand
    monkeypatch.setattr(type(sqlite), "RESTART_PAGES", 50)
    wal = app.config["PODIUM_DATABASE_URL"].removeprefix("sqlite:///") + "-wal"
    stop = threading.Event()

    def keep_writing():
        with db.connection_context():
            while not stop.is_set():
                _write_models(1, f"w{time.monotonic_ns()}")

    with db.connection_context():
        _write_models(100, "m")  # ~3 MB of WAL, none of it checkpointed
        writer = threading.Thread(target=keep_writing)
        writer.start()
        try:
            time.sleep(0.05)
            sqlite._checkpoint()  # what the checkpoint thread runs, overtaken by the writer
        finally:
            stop.set()
            writer.join(30)
        size = os.path.getsize(wal)
        _write_models(20, "after")
        assert os.path.getsize(wal) == size, "the WAL did not start over: it grew"


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


def test_what_orjson_refuses_is_encoded_as_flask_would(app):
    # Integers past 64 bits and non-string keys fall back to the standard encoder.
    import json

    with app.app_context():
        for value in ({"n": 2**70}, {1: "one"}, {"nested": [{"n": -(2**64)}]}):
            body = app.json.response(value).get_data()
            assert json.loads(body) == json.loads(json.dumps(value))
        assert app.json.response({"a": "é"}).get_data() == '{"a":"é"}\n'.encode()


def test_health_and_version(client):
    from importlib.metadata import version

    health = client.get("/health")
    assert (health.status_code, health.data, health.mimetype) == (200, b"OK", "text/plain")
    ready = client.get("/ready")
    assert (ready.status_code, ready.json) == (200, {"status": "ready", "database": "ok"})
    assert client.get("/version").data.decode() == version("podium-registry")


def test_every_setting_is_in_the_readme_configuration_table():
    from registry.config import SETTINGS

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in SETTINGS if f"`PODIUM_{name}`" not in table]
    assert not missing, f"settings missing from the README's table: {missing}"


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
        # A worker still booting when SIGTERM arrives is stopped at the graceful timeout (30 s).
        server.wait(timeout=60)


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
        and "/permissions/" not in op[0]  # the auth API's, beside them
    ]
    assert len(registry_routes) == 22
    create = document["paths"]["/api/2.0/mlflow/model-versions/create"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/CreateModelVersionIn"}
    assert "source" in document["components"]["schemas"]["CreateModelVersionIn"]["required"]
