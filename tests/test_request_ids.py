"""Request ids: a client's X-Request-Id is kept when plain and short, else one is made; every
answer carries it, and so do the request's log lines and the webhook events it causes."""

import json
import re
import textwrap

import pytest
import requests
from receivers import Receiver
from standardwebhooks import Webhook as StandardWebhook

from registry.request_ids import MAX_LENGTH, accepted_or_new

SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYg=="
MADE = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize(
    "offered",
    ["abc-123", "a" * MAX_LENGTH, "Root=1-5f84c7a7-abc;Parent=x"[:13], "trace/42:7=+_."],
)
def test_a_plain_short_id_is_kept(offered):
    assert accepted_or_new(offered) == offered


@pytest.mark.parametrize(
    "offered",
    [None, "", "a" * (MAX_LENGTH + 1), "two words", 'quote"', "semi;colon", "ünïcode", "%0a"],
)
def test_anything_else_gets_a_new_id(offered):
    assert MADE.fullmatch(accepted_or_new(offered))


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("get", "/health", {}, 200),
        ("get", "/no/such/route", {}, 404),
        ("delete", "/health", {}, 405),
        ("post", "/api/2.0/mlflow/registered-models/create", {"data": "{not json"}, 400),
        ("get", "/api/2.0/mlflow/registered-models/get", {"query_string": {"name": "nope"}}, 404),
    ],
)
def test_every_answer_carries_the_id(client, method, path, kwargs, status):
    kwargs.setdefault("headers", {})["X-Request-Id"] = "client-chosen-1"
    kwargs["headers"]["Content-Type"] = "application/json"
    answer = getattr(client, method)(path, **kwargs)
    assert answer.status_code == status
    assert answer.headers["X-Request-Id"] == "client-chosen-1"
    made = getattr(client, method)(path, **{**kwargs, "headers": {}})
    assert MADE.fullmatch(made.headers["X-Request-Id"])


def test_each_request_gets_its_own_id(client):
    ids = {client.get("/health").headers["X-Request-Id"] for _ in range(5)}
    assert len(ids) == 5


PLUGIN = """
import logging

from hooks import signals

log = logging.getLogger("request_id_plugin")


@signals.model_version_created.connect
def saw_version(sender, **data):
    log.info("plugin saw version %s of %s", data["version"], data["name"])
"""


def test_the_id_reaches_the_log_lines_and_the_webhook_payload(live_server_factory, tmp_path):
    (tmp_path / "request_id_plugin.py").write_text(textwrap.dedent(PLUGIN))
    server = live_server_factory(
        env={
            "PODIUM_WEBHOOK_ALLOWED_SCHEMES": "http",
            "PODIUM_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
            "PODIUM_PLUGINS": "request_id_plugin",
            "PYTHONPATH": str(tmp_path),
            "PODIUM_LOG_FORMAT": "json",
            "PODIUM_ACCESS_LOG": "-",
        }
    )
    receiver = Receiver()
    try:
        hook = requests.post(
            server.url + "/api/2.0/mlflow/webhooks",
            json={
                "name": "ids",
                "url": receiver.url,
                "events": [{"entity": "MODEL_VERSION", "action": "CREATED"}],
                "secret": SECRET,
            },
            timeout=10,
        )
        assert hook.status_code == 200, hook.text
        requests.post(
            server.url + "/api/2.0/mlflow/registered-models/create",
            json={"name": "traced"},
            timeout=10,
        ).raise_for_status()
        created = requests.post(
            server.url + "/api/2.0/mlflow/model-versions/create",
            json={"name": "traced", "source": "s3://models/traced/1"},
            headers={"X-Request-Id": "deploy-7f3a"},
            timeout=10,
        )
        assert created.headers["X-Request-Id"] == "deploy-7f3a"
        headers, body, _ = receiver.wait_for(1)[0]
    finally:
        receiver.close()

    event = StandardWebhook(SECRET).verify(body, headers)
    assert event["type"] == "model_version.created"
    assert event["request_id"] == "deploy-7f3a"

    server.stop()  # flushes every process's log
    lines = [json.loads(line) for line in server.log.read_text().splitlines() if line.strip()]
    tagged = [line for line in lines if line.get("request_id") == "deploy-7f3a"]
    plugin = [line for line in tagged if line["logger"] == "request_id_plugin"]
    assert [line["message"] for line in plugin] == ["plugin saw version 1 of traced"]
    assert plugin[0]["route"] == "/api/2.0/mlflow/model-versions/create"
    (access,) = [line for line in tagged if line["logger"] == "gunicorn.access"]
    assert access["status"] == 200
    assert access["method"] == "POST"
    assert access["route"] == "/api/2.0/mlflow/model-versions/create"
    assert access["path"] == "/api/2.0/mlflow/model-versions/create"
    assert access["duration_ms"] > 0
