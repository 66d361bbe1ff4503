"""Schema migrations and the `podium db` commands, on the suite's backend."""

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests
from peewee import IntegerField, Model

from registry.store import migrations
from registry.store.db import create_schema, db, open_database
from registry.store.migrations import LATEST_VERSION, Migration, SchemaTooNew, SchemaVersion
from registry.store.tables import ALL_TABLES, SEEDS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Probe(Model):
    """A table only the test migration below knows: each run of that step adds one row."""

    applied = IntegerField()

    class Meta:
        database = db
        table_name = "migration_probe"


def _add_probe_row(_models):
    db.create_tables([Probe], safe=True)
    Probe.create(applied=1)


def _fail(_models):
    db.create_tables([Probe], safe=True)
    raise RuntimeError("the probe step failed half-way")


# A step after the real ones, as the next schema change would append.
PROBE_STEP = Migration(LATEST_VERSION + 1, "probe", _add_probe_row)
AFTER_PROBE = list(range(1, LATEST_VERSION + 2))


@pytest.fixture
def database(database_url):
    db.initialize(open_database(database_url))
    yield database_url
    db.close()


def _versions() -> list[int]:
    with db.connection_context():
        return [row.version for row in SchemaVersion.select().order_by(SchemaVersion.version)]


def _tables() -> set[str]:
    with db.connection_context():
        return set(db.get_tables())


def test_an_empty_database_gets_every_table_and_the_latest_version_at_once(database):
    assert migrations.upgrade(ALL_TABLES, SEEDS) == (0, LATEST_VERSION)
    assert _versions() == list(range(1, LATEST_VERSION + 1))
    assert {model._meta.table_name for model in ALL_TABLES} <= _tables()
    # Applying again changes nothing.
    assert migrations.upgrade(ALL_TABLES, SEEDS) == (LATEST_VERSION, LATEST_VERSION)
    assert _versions() == list(range(1, LATEST_VERSION + 1))


def test_a_database_from_before_versioning_is_version_1_and_keeps_its_rows(database):
    from registry.store.tables.registry import RegisteredModel

    create_schema(ALL_TABLES, SEEDS)  # how Podium created schemas before migrations
    with db.connection_context():
        RegisteredModel.create(name="kept")
    assert migrations.upgrade(ALL_TABLES, SEEDS, [*migrations.MIGRATIONS, PROBE_STEP])[0] == 0
    assert _versions() == AFTER_PROBE
    with db.connection_context():
        assert [m.name for m in RegisteredModel.select()] == ["kept"]
        assert Probe.select().count() == 1  # the probe step ran on the old database


def test_steps_run_in_order_once_each(database):
    migrations.upgrade(ALL_TABLES, SEEDS)
    steps = [*migrations.MIGRATIONS, PROBE_STEP]
    after = LATEST_VERSION + 1
    assert migrations.upgrade(ALL_TABLES, SEEDS, steps) == (LATEST_VERSION, after)
    assert migrations.upgrade(ALL_TABLES, SEEDS, steps) == (after, after)
    assert _versions() == AFTER_PROBE
    with db.connection_context():
        assert Probe.select().count() == 1


def test_a_failing_step_leaves_the_database_as_it_was(database):
    migrations.upgrade(ALL_TABLES, SEEDS)
    with pytest.raises(RuntimeError, match="half-way"):
        failing = Migration(LATEST_VERSION + 1, "x", _fail)
        migrations.upgrade(ALL_TABLES, SEEDS, [*migrations.MIGRATIONS, failing])
    assert _versions() == list(range(1, LATEST_VERSION + 1))
    assert "migration_probe" not in _tables()  # its DDL rolled back with it


def test_a_database_newer_than_the_code_is_refused(database, tmp_path):
    migrations.upgrade(ALL_TABLES, SEEDS)
    with db.connection_context():
        SchemaVersion.create(version=LATEST_VERSION + 1, description="from the future")
    with pytest.raises(SchemaTooNew, match="upgrade Podium"):
        migrations.upgrade(ALL_TABLES, SEEDS)
    from registry import create_app

    with pytest.raises(SchemaTooNew):
        create_app({"PODIUM_DATABASE_URL": database, "PODIUM_ARTIFACTS_DESTINATION": str(tmp_path)})
    check = _podium(database, "db", "check")
    assert check.returncode == 1
    assert "newer than this Podium" in check.stdout


RACER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, sys.argv[3])
    from test_migrations import PROBE_STEP
    from registry.store import migrations
    from registry.store.db import db, open_database
    from registry.store.tables import ALL_TABLES, SEEDS

    db.initialize(open_database(sys.argv[1]))
    time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # every racer starts at once
    migrations.upgrade(ALL_TABLES, SEEDS, [*migrations.MIGRATIONS, PROBE_STEP])
    """
)


def _race(command_for, count: int, env=None) -> list[subprocess.CompletedProcess]:
    start_at = time.time() + 3  # after every interpreter has imported Podium
    racers = [
        subprocess.Popen(
            command_for(start_at),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    return [
        subprocess.CompletedProcess(r.args, r.wait(timeout=120), *r.communicate()) for r in racers
    ]


def test_processes_starting_together_apply_each_step_once(database):
    migrations.upgrade(ALL_TABLES, SEEDS)
    tests = os.path.join(ROOT, "tests")
    finished = _race(lambda at: [sys.executable, "-c", RACER, database, str(at), tests], 6)
    assert [f.returncode for f in finished] == [0] * 6, [f.stderr for f in finished]
    assert _versions() == AFTER_PROBE
    with db.connection_context():
        assert Probe.select().count() == 1


def test_podium_db_upgrade_from_many_processes_on_an_empty_database(database, tmp_path):
    script = "import sys, time; time.sleep(max(0.0, float(sys.argv[1]) - time.time())); " + (
        "from registry.cli import main; sys.exit(main(['db', 'upgrade']))"
    )
    env = {**os.environ, "PODIUM_DATABASE_URL": database}
    finished = _race(lambda at: [sys.executable, "-c", script, str(at)], 6, env)
    assert [f.returncode for f in finished] == [0] * 6, [f.stderr for f in finished]
    assert (
        sorted(f.stdout.strip() for f in finished)
        == [f"schema version {LATEST_VERSION} (was 0)"]
        + [f"schema version {LATEST_VERSION}: up to date"] * 5
    )
    assert _versions() == list(range(1, LATEST_VERSION + 1))


def _podium(database_url: str, *args: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "registry.cli", *args],
        cwd=ROOT,
        env={**os.environ, "PODIUM_DATABASE_URL": database_url, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_podium_db_check_reports_the_database_and_fails_when_behind(database, client):
    client.post("/api/2.0/mlflow/registered-models/create", json={"name": "counted"})
    check = _podium(database, "db", "check", PODIUM_SQLITE_BUSY_TIMEOUT_MS="4321")
    assert check.returncode == 0, check.stdout + check.stderr
    lines = check.stdout.splitlines()
    if database.startswith("sqlite:"):
        assert "journal mode:   wal" in lines
        assert "busy timeout:   4321 ms" in lines
    else:
        assert any(line.startswith("server:         PostgreSQL ") for line in lines)
    assert f"schema version: {LATEST_VERSION} (this Podium: {LATEST_VERSION}), up to date" in lines
    counts = dict(line.split() for line in lines[lines.index("rows:") + 1 :])
    assert counts["registered_model"] == "1"
    assert counts["experiment"] == "1"  # the Default experiment
    assert set(counts) == {m._meta.table_name for m in ALL_TABLES} | {"podium_schema_version"}

    with db.connection_context():
        SchemaVersion.delete().execute()  # as if nothing had been applied
    behind = _podium(database, "db", "check")
    assert behind.returncode == 1
    assert "behind: run `podium db upgrade`" in behind.stdout

    upgraded = _podium(database, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert _podium(database, "db", "check").returncode == 0


@pytest.fixture
def client(database, tmp_path):
    from registry import create_app

    app = create_app(
        {"PODIUM_DATABASE_URL": database, "PODIUM_ARTIFACTS_DESTINATION": str(tmp_path / "a")}
    )
    return app.test_client()


def test_podium_db_check_changes_nothing_where_there_is_no_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'absent.db'}"
    check = _podium(url, "db", "check")
    assert check.returncode == 1
    assert "no database file" in check.stdout
    assert not (tmp_path / "absent.db").exists()


def test_podium_db_check_redacts_passwords_and_fails_without_a_server():
    check = _podium("postgresql://podium:hunter2@127.0.0.1:1/podium", "db", "check")
    assert check.returncode == 1
    assert "postgresql://podium:***@127.0.0.1:1/podium" in check.stdout
    assert "cannot connect" in check.stdout
    assert "hunter2" not in check.stdout + check.stderr


RELEASE_SECRET = "whsec_dGVzdC1maXh0dXJlLW5vdC1hLXJlYWwtc2VjcmV0ISE="  # in the dump, not real


def test_a_database_from_the_release_before_the_layout_opens_upgrades_and_serves(tmp_path):
    """tests/data/schema-1-release.sql was dumped from a database that the release before
    registry/ moved into rooms wrote: today's code upgrades it and the MLflow client reads it."""
    from conftest import LiveServer
    from mlflow import MlflowClient
    from receivers import Receiver
    from standardwebhooks import Webhook as StandardWebhook

    database = tmp_path / "release.db"
    connection = sqlite3.connect(database)
    connection.executescript((Path(ROOT) / "tests/data/schema-1-release.sql").read_text())
    connection.close()
    url = f"sqlite:///{database}"

    upgraded = _podium(url, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"schema version {LATEST_VERSION}" in upgraded.stdout
    # Its webhook's secret was stored in plaintext; now the row holds only a Fernet token.
    (stored,) = sqlite3.connect(database).execute("SELECT secret FROM webhook").fetchone()
    assert RELEASE_SECRET not in stored and stored.startswith("gAAAAA")
    loopback = {
        "PODIUM_WEBHOOK_ALLOWED_SCHEMES": "http",
        "PODIUM_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    }
    server = LiveServer(url, tmp_path, env=loopback).start()
    receiver = Receiver()
    try:
        client = MlflowClient(tracking_uri=server.url, registry_uri=server.url)
        model = client.get_registered_model("churn-model")
        assert (model.description, model.tags) == ("predicts churn", {"team": "growth"})
        assert client.get_model_version_by_alias("churn-model", "champion").version == "2"
        assert client.get_model_version("churn-model", "2").tags == {"validated": "true"}
        production = client.get_latest_versions("churn-model", stages=["Production"])
        assert [v.version for v in production] == ["1"]
        run = client.get_run(production[0].run_id)
        assert (run.data.params, run.data.metrics) == ({"alpha": "0.5"}, {"auc": 0.91})
        (hook,) = client.list_webhooks()
        assert (hook.name, hook.url) == ("deployer", "http://127.0.0.1:9/hook")
        # Version numbers go on from the stored counter; the history goes on from its rows.
        assert client.create_model_version("churn-model", production[0].source).version == "4"
        client.transition_model_version_stage("churn-model", "4", "Production")
        history = requests.get(
            f"{server.url}/api/2.0/podium/registered-models/history",
            params={"name": "churn-model"},
            timeout=10,
        ).json()["history"]
        assert [(h["version"], h["kind"], h.get("to_stage"), h.get("alias")) for h in history] == [
            ("1", "stage", "Production", None),
            ("2", "alias", None, "champion"),
            ("4", "stage", "Production", None),
        ]
        # ... and it still signs with the secret it was given before the upgrade.
        client.update_webhook(hook.webhook_id, url=receiver.url)
        assert client.test_webhook(hook.webhook_id).success
        headers, body, _ = receiver.wait_for(1)[-1]
        StandardWebhook(RELEASE_SECRET).verify(body, headers)
    finally:
        receiver.close()
        server.stop()
