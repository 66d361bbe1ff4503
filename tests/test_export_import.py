"""Moving a registry between backends: `podium export` and `podium import`, row for row."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from conftest import LiveServer
from mlflow import MlflowClient
from mlflow.entities import (
    Dataset,
    DatasetInput,
    InputTag,
    LoggedModelInput,
    LoggedModelOutput,
    Metric,
    Param,
    RunTag,
)
from peewee import sort_models
from receivers import Receiver
from standardwebhooks import Webhook as StandardWebhook

from registry.store.db import db, open_database
from registry.store.tables import ALL_TABLES
from registry.store.transfer import _rows

ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_SETTINGS = {
    "PODIUM_WEBHOOK_ALLOWED_SCHEMES": "http,https",
    "PODIUM_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
}
DISPATCH_SETTINGS = {
    "PODIUM_WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.0/8"],
    "PODIUM_WEBHOOK_TIMEOUT": 5.0,
    "PODIUM_WEBHOOK_RETRY_SCHEDULE": [3600.0],  # a failed first attempt stays pending
    "PODIUM_WEBHOOK_DISABLE_AFTER": 30,
}


def podium(database_url: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "registry.cli", *map(str, args)],
        cwd=ROOT,
        env={**os.environ, "PODIUM_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )


def dispatch_due(settings: dict) -> int:
    """One dispatcher pass in this process: claim what is due, send it, record the attempts."""
    from hooks.dispatcher import claim_due_deliveries, record_attempts, send_once

    with db.connection_context():
        claimed = claim_due_deliveries(limit=1000, owner="test", lease_ms=60_000)
        outcomes = [(d, send_once(d.webhook, d.id, d.body, settings=settings)) for d in claimed]
        record_attempts(outcomes, settings=settings)
    return len(claimed)


def populate(url: str, artifact: Path) -> dict:
    """Put a row in every table through the real MLflow client and the REST API."""
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    settled, pending = Receiver(), Receiver()
    pending.answer(*[500] * 100)  # its deliveries fail once and wait for a retry
    hooks, secrets = {}, {}
    for name, receiver in (("settled", settled), ("pending", pending)):
        created = requests.post(
            url + "/api/2.0/mlflow/webhooks",
            json={
                "name": name,
                "url": receiver.url,
                "events": [
                    {"entity": "model_version", "action": "created"},
                    {"entity": "model_version_alias", "action": "created"},
                ],
            },
        ).json()
        hooks[name] = created["webhook"]["webhook_id"]
        secrets[name] = created["secret"]
    rotated = requests.post(
        f"{url}/api/2.0/podium/webhooks/{hooks['pending']}/rotate-secret", json={}
    ).json()

    experiment = client.create_experiment("moved", tags={"team": "vision"})
    run = client.create_run(experiment, tags={"source": "ci"}, run_name="train")
    run_id = run.info.run_id
    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric("loss", 0.1 + 0.2, now, 0), Metric("loss", 1e-300, now + 1, 1)],
        params=[Param("lr", "0.01")],
        tags=[RunTag("note", "ünïcødé ✓")],
    )
    client.log_artifact(run_id, str(artifact))
    logged = client.create_logged_model(
        experiment, name="net", source_run_id=run_id, params={"depth": "3"}, tags={"t": "1"}
    )
    client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step=2)])
    client.log_inputs(
        run_id,
        datasets=[
            DatasetInput(
                Dataset("train", "d1", "local", '{"uri": "x"}'),
                tags=[InputTag("mlflow.data.context", "training")],
            )
        ],
        models=[LoggedModelInput(logged.model_id)],
    )
    client.set_terminated(run_id)

    client.create_registered_model("face", tags={"team": "vision"}, description="faces")
    for _ in range(3):
        client.create_model_version("face", f"runs:/{run_id}/model", run_id=run_id)
    client.set_model_version_tag("face", "2", "validated", "true")
    client.transition_model_version_stage("face", "2", "Production")
    client.set_registered_model_alias("face", "champion", "2")
    client.delete_model_version("face", "3")  # the next version is 4, never 3 again
    mlflow_api, podium_api = url + "/api/2.0/mlflow", url + "/api/2.0/podium"
    for path, body in (
        ("/transition-requests/create", {"name": "face", "version": "1", "stage": "Staging"}),
        ("/comments/create", {"name": "face", "version": "2", "comment": "**good**"}),
    ):
        assert requests.post(mlflow_api + path, json=body).status_code == 200
    policy = {"name": "face", "approvals_required": 2}
    assert requests.post(podium_api + "/registered-models/approval-policy", json=policy).ok
    settled.close()
    pending.close()
    # The pending webhook signs with its new secret and, during the overlap, the one it replaced.
    return {"hooks": hooks, "pending_secrets": [rotated["secret"], secrets["pending"]]}


def table_rows() -> dict[str, list[dict]]:
    with db.connection_context():
        return {model._meta.table_name: list(_rows(model)) for model in sort_models(ALL_TABLES)}


def rows_of(url: str) -> dict[str, list[dict]]:
    db.initialize(open_database(url))
    try:
        return table_rows()
    finally:
        db.close()


@pytest.fixture
def source(tmp_path):
    """A SQLite registry with rows in every table, some deliveries settled and some pending."""
    url = f"sqlite:///{tmp_path / 'source.db'}"
    server = LiveServer(url, tmp_path, env={**WEBHOOK_SETTINGS, "PODIUM_DISPATCHER": "false"})
    artifact = tmp_path / "weights.bin"
    artifact.write_bytes(os.urandom(4096))
    try:
        made = populate(server.start().url, artifact)
    finally:
        server.stop()
    db.initialize(open_database(url))
    settled = Receiver()
    failing = Receiver()
    failing.answer(*[500] * 100)
    with db.connection_context():
        from registry.store.tables.webhooks import Webhook

        # The receivers of the populate step are gone: point the webhooks at live ones.
        Webhook.update(url=settled.url).where(Webhook.id == made["hooks"]["settled"]).execute()
        Webhook.update(url=failing.url).where(Webhook.id == made["hooks"]["pending"]).execute()
        # Accounts move too: a user (hashed password), their token (hashed), a grant, and a
        # failed sign-in still being counted.
        from registry.auth import login_limits
        from registry.services import grants, tokens, users

        ana = users.create_user(username="ana", password="ana-password")
        tokens.create_token(user=ana, name="ci")
        grants.grant(
            username="ana", resource_type="registered_model", resource_id="face", permission="EDIT"
        )
        login_limits.record_failure("ana", "10.0.0.1", window=300)
    assert dispatch_due(DISPATCH_SETTINGS) == 8  # 3 versions + 1 alias, for each webhook
    settled.close()
    failing.close()
    db.close()
    empty = [name for name, rows in rows_of(url).items() if not rows]
    assert not empty, f"the round trip must carry a row in every table; none in {empty}"
    return {"url": url, **made}


def move(from_url: str, to_url: str, directory: Path) -> None:
    exported = podium(from_url, "export", directory)
    assert exported.returncode == 0, exported.stderr
    imported = podium(to_url, "import", directory)
    assert imported.returncode == 0, imported.stderr
    assert re.fullmatch(
        rf"\d+ rows in \d+ tables imported from {re.escape(str(directory))} "
        r"in [\d.]+ s \([\d,]+ rows/s\)",
        imported.stdout.strip(),
    ), imported.stdout


def test_sqlite_to_postgresql_and_back_carries_every_row(source, postgres_database_url, tmp_path):
    back = f"sqlite:///{tmp_path / 'back.db'}"
    move(source["url"], postgres_database_url, tmp_path / "out")
    move(postgres_database_url, back, tmp_path / "back")

    original = rows_of(source["url"])
    assert rows_of(postgres_database_url) == original
    assert rows_of(back) == original
    for table in original:  # the two exports are the same bytes, whichever backend wrote them
        name = f"{table}.jsonl"
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "back" / name).read_bytes()
    manifest = json.loads((tmp_path / "back" / "manifest.json").read_text())
    assert manifest["source"] == "postgresql"

    continues_after_import(postgres_database_url, tmp_path)
    pending_deliveries_are_sent_with_the_original_secrets(back, source)


def test_sqlite_to_sqlite_carries_every_row(source, tmp_path):
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    move(source["url"], copy, tmp_path / "out")
    assert rows_of(copy) == rows_of(source["url"])
    continues_after_import(copy, tmp_path)


def continues_after_import(url: str, tmp_path: Path) -> None:
    """New rows get fresh ids (PostgreSQL sequences moved on) and versions continue densely."""
    server = LiveServer(url, tmp_path).start()
    try:
        client = MlflowClient(tracking_uri=server.url, registry_uri=server.url)
        assert client.get_model_version_by_alias("face", "champion").version == "2"
        assert client.create_model_version("face", "s3://b/m").version == "4"
        client.create_registered_model("after-import")
        run = client.create_run(client.get_experiment_by_name("moved").experiment_id)
        client.log_metric(run.info.run_id, "loss", 0.5)
        client.create_experiment("another")
    finally:
        server.stop()


def pending_deliveries_are_sent_with_the_original_secrets(url: str, source: dict) -> None:
    from registry.store.tables.webhooks import Delivery, Webhook

    receiver = Receiver()
    db.initialize(open_database(url))
    with db.connection_context():
        Webhook.update(url=receiver.url).execute()
        pending = {d.id for d in Delivery.select().where(Delivery.status == "pending")}
        # As if the hour to the retry had passed.
        Delivery.update(next_attempt_at=0).where(Delivery.status == "pending").execute()
    assert len(pending) == 4
    assert dispatch_due(DISPATCH_SETTINGS) == 4
    for headers, body, _ in receiver.wait_for(4):
        for secret in source["pending_secrets"]:
            StandardWebhook(secret).verify(body, headers)
        pending.discard(headers["webhook-id"])
    assert pending == set()
    receiver.close()
    db.close()


def test_import_refuses_a_database_that_holds_data(source, tmp_path):
    exported = podium(source["url"], "export", tmp_path / "out")
    assert exported.returncode == 0, exported.stderr
    before = rows_of(source["url"])
    again = podium(source["url"], "import", tmp_path / "out")
    assert again.returncode == 1
    assert "already holds data" in again.stderr
    assert rows_of(source["url"]) == before


def test_import_refuses_an_incomplete_export_and_export_refuses_a_used_directory(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / "registered_model.jsonl").write_text("")
    refused = podium(url, "import", tmp_path / "partial")
    assert refused.returncode == 1
    assert "not a complete export" in refused.stderr
    assert podium(url, "export", tmp_path / "partial").returncode == 1


def test_an_export_is_readable_by_its_owner_only(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    assert podium(url, "export", tmp_path / "out").returncode == 0
    modes = {path.name: path.stat().st_mode & 0o777 for path in (tmp_path / "out").iterdir()}
    assert set(modes.values()) == {0o600}
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o700
