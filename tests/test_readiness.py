"""/ready answers 503 while the schema is behind this Podium, and, with
PODIUM_READY_MAX_OUTBOX_AGE, while a committed event waits longer than that for delivery.
(/ready during a database outage: tests/test_database_outage.py.)"""

import pytest

from registry.store.db import db
from registry.store.migrations import LATEST_VERSION, SchemaVersion
from registry.store.tables.base import now_ms
from registry.store.tables.webhooks import Delivery, Webhook

API = "/api/2.0/mlflow"


@pytest.fixture
def app(app):
    app.config.update(
        PODIUM_WEBHOOK_ALLOWED_SCHEMES=["http"],
        PODIUM_WEBHOOK_ALLOWED_NETWORKS=["127.0.0.0/8"],
        PODIUM_READY_MAX_OUTBOX_AGE=60.0,
    )
    return app


def _pending_delivery(client) -> None:
    hook = client.post(
        API + "/webhooks",
        json={
            "name": "ready",
            "url": "http://127.0.0.1:9/hook",
            "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}],
        },
    )
    assert hook.status_code == 200, hook.json
    assert client.post(API + "/registered-models/create", json={"name": "m"}).status_code == 200


def _age_deliveries(seconds: float) -> None:
    with db.connection_context():
        Delivery.update(created_at=now_ms() - int(seconds * 1000)).execute()


def test_ready_while_the_outbox_keeps_up(client):
    _pending_delivery(client)  # no dispatcher runs here: it stays pending
    answer = client.get("/ready")
    assert answer.status_code == 200
    assert answer.json["status"] == "ready"
    assert 0 <= answer.json["outbox_oldest_pending_age_seconds"] < 60


def test_unready_once_the_oldest_pending_delivery_is_too_old(client):
    _pending_delivery(client)
    _age_deliveries(120)
    answer = client.get("/ready")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"]
    assert answer.json["error_code"] == "TEMPORARILY_UNAVAILABLE"
    assert "PODIUM_READY_MAX_OUTBOX_AGE" in answer.json["message"]
    # A disabled webhook's deliveries wait for it, not for the dispatcher: no reason to drain.
    with db.connection_context():
        Webhook.update(status="DISABLED").execute()
    assert client.get("/ready").status_code == 200


def test_the_outbox_age_is_not_checked_unless_asked_for(app, client):
    app.config["PODIUM_READY_MAX_OUTBOX_AGE"] = 0.0
    _pending_delivery(client)
    _age_deliveries(10_000)
    answer = client.get("/ready")
    assert answer.status_code == 200
    assert "outbox_oldest_pending_age_seconds" not in answer.json


def test_unready_while_migrations_are_pending(client):
    assert client.get("/ready").status_code == 200
    with db.connection_context():
        SchemaVersion.delete().where(SchemaVersion.version == LATEST_VERSION).execute()
    answer = client.get("/ready")
    assert answer.status_code == 503
    assert f"needs {LATEST_VERSION}" in answer.json["message"]
