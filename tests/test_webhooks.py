"""Webhooks end to end: real gunicorn, real dispatcher, a real receiver on loopback, verified
with the standardwebhooks package and MLflow's own signature function."""

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from conftest import LiveServer, fresh_database
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.webhooks.delivery import _generate_hmac_signature as mlflow_signature
from receivers import Receiver
from standardwebhooks import Webhook as StandardWebhook

SOURCE = "s3://models/face/1"
SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYg=="
SERVER_ENV = {
    "PODIUM_WEBHOOK_ALLOWED_SCHEMES": "http,https",
    "PODIUM_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    "PODIUM_WEBHOOK_RETRY_SCHEDULE": "0.3,0.3",
    "PODIUM_WEBHOOK_TIMEOUT": "2",
    "PODIUM_WEBHOOK_DISABLE_AFTER": "4",
    "PODIUM_DISPATCH_POLL_MS": "10",
}
EXAMPLES = Path(__file__).resolve().parent.parent / "deploy" / "examples"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("webhooks")
    with fresh_database(directory) as url:
        live = LiveServer(url, directory, env=SERVER_ENV).start()
        yield live
        live.stop()


@pytest.fixture
def client(server):
    return MlflowClient(tracking_uri=server.url, registry_uri=server.url)


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


def _create(server, receiver, model, events, secret=SECRET, **extra) -> dict:
    body = {
        "name": f"hook-{model}",
        "url": receiver.url,
        "events": [
            {"entity": e.split(".")[0].upper(), "action": e.split(".")[1].upper()} for e in events
        ],
        "secret": secret,
        "model_names": [model],
        **extra,
    }
    response = requests.post(server.url + "/api/2.0/mlflow/webhooks", json=body)
    assert response.status_code == 200, response.text
    return response.json()["webhook"]


def _deliveries(server, webhook_id) -> list[dict]:
    response = requests.get(f"{server.url}/api/2.0/podium/webhooks/{webhook_id}/deliveries")
    assert response.status_code == 200, response.text
    return response.json()["deliveries"]


def _settled(server, webhook_id, count, timeout=15.0) -> list[dict]:
    """Wait until `count` deliveries exist and none is pending."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deliveries = _deliveries(server, webhook_id)
        if len(deliveries) >= count and all(d["status"] != "pending" for d in deliveries):
            return deliveries
        time.sleep(0.05)
    raise AssertionError(f"deliveries did not settle: {_deliveries(server, webhook_id)}")


def test_delivery_is_signed_for_standard_webhooks_and_mlflow(server, client, receiver, model_name):
    _create(server, receiver, model_name, ["model_version.created"])
    client.create_registered_model(model_name)
    client.create_model_version(model_name, SOURCE, tags={"t": "1"}, description="first")

    headers, body, _ = receiver.wait_for(1)[0]
    event = StandardWebhook(SECRET).verify(body, headers)  # raises if the signature is wrong
    assert event == {
        "type": "model_version.created",
        "entity": "model_version",
        "action": "created",
        "timestamp": event["timestamp"],
        "data": {
            "name": model_name,
            "version": "1",
            "source": SOURCE,
            "run_id": None,
            "tags": {"t": "1"},
            "description": "first",
        },
        # The request that made the version: its X-Request-Id (tests/test_request_ids.py).
        "request_id": event["request_id"],
    }
    assert headers["X-MLflow-Delivery-Id"] == headers["webhook-id"]
    assert headers["X-MLflow-Signature"] == mlflow_signature(
        SECRET, headers["webhook-id"], headers["X-MLflow-Timestamp"], body.decode()
    )


def test_every_registry_change_becomes_an_event(server, client, receiver, model_name):
    types = [
        "registered_model.created",
        "registered_model.updated",
        "registered_model_tag.set",
        "registered_model_tag.deleted",
        "model_version.created",
        "model_version.updated",
        "model_version.deleted",
        "model_version.stage_transitioned",
        "model_version_tag.set",
        "model_version_tag.deleted",
        "model_version_alias.created",
        "model_version_alias.deleted",
    ]
    _create(server, receiver, model_name, types)
    client.create_registered_model(model_name, description="d")
    client.update_registered_model(model_name, description="d2")
    client.set_registered_model_tag(model_name, "team", "vision")
    client.delete_registered_model_tag(model_name, "team")
    for _ in range(2):
        client.create_model_version(model_name, SOURCE)
    client.update_model_version(model_name, "1", description="v1")
    client.set_model_version_tag(model_name, "1", "validated", "true")
    client.delete_model_version_tag(model_name, "1", "validated")
    client.transition_model_version_stage(model_name, "1", "Production")
    client.transition_model_version_stage(
        model_name, "2", "Production", archive_existing_versions=True
    )
    client.set_registered_model_alias(model_name, "champion", "1")
    client.set_registered_model_alias(model_name, "champion", "2")
    client.delete_registered_model_alias(model_name, "champion")
    client.delete_model_version(model_name, "1")

    receiver.wait_for(16)
    events = sorted(receiver.events(), key=lambda e: e["timestamp"])
    assert [e["type"] for e in events] == [
        "registered_model.created",
        "registered_model.updated",
        "registered_model_tag.set",
        "registered_model_tag.deleted",
        "model_version.created",
        "model_version.created",
        "model_version.updated",
        "model_version_tag.set",
        "model_version_tag.deleted",
        "model_version.stage_transitioned",
        "model_version.stage_transitioned",
        "model_version.stage_transitioned",
        "model_version_alias.created",
        "model_version_alias.created",
        "model_version_alias.deleted",
        "model_version.deleted",
    ]
    data = [e["data"] for e in events]
    assert data[0] == {"name": model_name, "tags": {}, "description": "d"}
    assert data[2] == {"name": model_name, "key": "team", "value": "vision"}
    assert data[7] == {"name": model_name, "version": "1", "key": "validated", "value": "true"}
    # The archiving promotion: v1 archived, v2 promoted, one event each.
    assert {(d["version"], d["from_stage"], d["to_stage"]) for d in data[10:12]} == {
        ("1", "Production", "Archived"),
        ("2", "None", "Production"),
    }
    assert data[12] == {"name": model_name, "alias": "champion", "version": "1"}
    assert data[13] == {
        "name": model_name,
        "alias": "champion",
        "version": "2",
        "previous_version": "1",
    }
    assert data[14] == {"name": model_name, "alias": "champion"}


def test_filters_by_model_and_stage(server, client, receiver, model_name):
    _create(
        server, receiver, model_name, ["model_version.stage_transitioned"], stages=["Production"]
    )
    for name in (model_name, model_name + "-other"):
        client.create_registered_model(name)
        client.create_model_version(name, SOURCE)
    client.transition_model_version_stage(model_name, "1", "Staging")
    client.transition_model_version_stage(model_name + "-other", "1", "Production")
    client.transition_model_version_stage(model_name, "1", "Production")

    receiver.wait_for(1)
    time.sleep(0.5)  # anything wrongly queued would have arrived by now
    assert [(e["data"]["name"], e["data"]["to_stage"]) for e in receiver.events()] == [
        (model_name, "Production")
    ]


def test_disabled_and_new_webhooks_apply_to_the_very_next_event(
    server, client, receiver, model_name
):
    webhook = client.create_webhook(
        name="x", url=receiver.url, events=["registered_model.created"], secret=SECRET
    )
    client.update_webhook(webhook.webhook_id, status="DISABLED")
    client.create_registered_model(model_name)
    assert _deliveries(server, webhook.webhook_id) == []

    client.update_webhook(webhook.webhook_id, status="ACTIVE")
    client.create_registered_model(model_name + "-2")
    assert [d["payload"]["data"]["name"] for d in _settled(server, webhook.webhook_id, 1)] == [
        model_name + "-2"
    ]
    client.delete_webhook(webhook.webhook_id)


def test_retries_keep_the_webhook_id_and_log_every_attempt(server, client, receiver, model_name):
    webhook = _create(server, receiver, model_name, ["registered_model.created"])
    receiver.answer(503, 500)
    client.create_registered_model(model_name)

    arrivals = receiver.wait_for(3)
    assert len({headers["webhook-id"] for headers, _, _ in arrivals}) == 1
    for headers, body, _ in arrivals:
        StandardWebhook(SECRET).verify(body, headers)
    [delivery] = _settled(server, webhook["webhook_id"], 1)
    assert delivery["delivery_id"] == arrivals[0][0]["webhook-id"]
    assert delivery["status"] == "succeeded"
    assert [a["response_status"] for a in delivery["attempts"]] == [503, 500, 200]


def test_retry_after_is_honoured(server, client, receiver, model_name):
    _create(server, receiver, model_name, ["registered_model.created"])
    receiver.answer((429, {"Retry-After": "2"}))
    client.create_registered_model(model_name)
    first, second = receiver.wait_for(2, timeout=20)
    assert second[2] - first[2] >= 1.9  # the schedule alone would retry after ~0.3 s


def test_failed_after_the_schedule_then_redelivered(server, client, receiver, model_name):
    webhook = _create(server, receiver, model_name, ["registered_model.created"])
    receiver.answer(500, 500, 500)
    client.create_registered_model(model_name)
    [delivery] = _settled(server, webhook["webhook_id"], 1)
    assert delivery["status"] == "failed"
    assert len(delivery["attempts"]) == 3  # the first try and the two scheduled retries

    response = requests.post(
        f"{server.url}/api/2.0/podium/deliveries/{delivery['delivery_id']}/redeliver"
    )
    assert response.status_code == 200
    arrivals = receiver.wait_for(4)
    assert arrivals[-1][0]["webhook-id"] == delivery["delivery_id"]
    [again] = _settled(server, webhook["webhook_id"], 1)
    assert again["status"] == "succeeded"


def test_410_gone_disables_the_webhook(server, client, receiver, model_name):
    webhook = _create(server, receiver, model_name, ["registered_model.created"])
    receiver.answer(410)
    client.create_registered_model(model_name)
    _settled(server, webhook["webhook_id"], 1)
    disabled = client.get_webhook(webhook["webhook_id"])
    assert disabled.status.value == "DISABLED"
    reason = requests.get(f"{server.url}/api/2.0/mlflow/webhooks/{webhook['webhook_id']}")
    assert "410" in reason.json()["webhook"]["disabled_reason"]
    client.create_registered_model(model_name + "-after")
    assert len(_deliveries(server, webhook["webhook_id"])) == 1


def test_continuous_failures_disable_the_webhook(server, client, receiver, model_name):
    webhook = _create(server, receiver, model_name, ["registered_model_tag.set"])
    receiver.answer(400, 400, 400, 400)  # not retried, but each is a failure in a row
    client.create_registered_model(model_name)
    for value in "abcd":
        client.set_registered_model_tag(model_name, "k", value)
    _settled(server, webhook["webhook_id"], 4)
    found = requests.get(f"{server.url}/api/2.0/mlflow/webhooks/{webhook['webhook_id']}").json()
    assert found["webhook"]["status"] == "DISABLED"
    assert "4 consecutive failed deliveries" in found["webhook"]["disabled_reason"]


def test_successes_log_one_attempt_each_and_end_a_failure_streak(
    server, client, receiver, model_name
):
    webhook = _create(server, receiver, model_name, ["registered_model_tag.set"])
    client.create_registered_model(model_name)
    receiver.answer(400, 400, 400)  # three failures in a row, one short of disabling
    for value in "abc":
        client.set_registered_model_tag(model_name, "k", value)
    _settled(server, webhook["webhook_id"], 3)
    with ThreadPoolExecutor(4) as pool:  # a burst, so successes settle in batches
        tags = [f"t{i}" for i in range(12)]
        list(pool.map(lambda tag: client.set_registered_model_tag(model_name, tag, "v"), tags))
    deliveries = _settled(server, webhook["webhook_id"], 15)
    succeeded = [d for d in deliveries if d["status"] == "succeeded"]
    assert len(succeeded) == 12
    assert all([a["response_status"] for a in d["attempts"]] == [200] for d in succeeded)
    receiver.answer(400, 400, 400)  # three more: the successes began the count anew
    for value in "def":
        client.set_registered_model_tag(model_name, "k", value)
    _settled(server, webhook["webhook_id"], 18)
    found = requests.get(f"{server.url}/api/2.0/mlflow/webhooks/{webhook['webhook_id']}").json()
    assert found["webhook"]["status"] == "ACTIVE", found["webhook"]["disabled_reason"]


def test_secret_rotation_signs_with_both_secrets(server, client, receiver, model_name):
    webhook = _create(server, receiver, model_name, ["registered_model_tag.set"])
    rotated = requests.post(
        f"{server.url}/api/2.0/podium/webhooks/{webhook['webhook_id']}/rotate-secret", json={}
    ).json()
    new_secret = rotated["secret"]
    assert new_secret.startswith("whsec_") and new_secret != SECRET
    client.create_registered_model(model_name)
    client.set_registered_model_tag(model_name, "k", "v")

    headers, body, _ = receiver.wait_for(1)[0]
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert len(headers["X-MLflow-Signature"].split(" ")) == 2
    StandardWebhook(new_secret).verify(body, headers)
    StandardWebhook(SECRET).verify(body, headers)


def test_mlflow_client_webhook_methods(server, client, receiver):
    created = client.create_webhook(
        name="deployer",
        url=receiver.url,
        events=["model_version.created"],
        description="deploys",
        secret=SECRET,
    )
    assert created.name == "deployer" and created.status.value == "ACTIVE"
    assert client.get_webhook(created.webhook_id).url == receiver.url
    assert created.webhook_id in [w.webhook_id for w in client.list_webhooks()]

    updated = client.update_webhook(
        created.webhook_id, description="deploys v2", events=["model_version_alias.created"]
    )
    assert updated.description == "deploys v2"
    assert [str(e) for e in updated.events] == ["model_version_alias.created"]

    result = client.test_webhook(created.webhook_id)
    assert result.success and result.response_status == 200 and result.response_body == "ok"
    headers, body, _ = receiver.wait_for(1)[0]
    assert StandardWebhook(SECRET).verify(body, headers)["type"] == "model_version_alias.created"

    client.delete_webhook(created.webhook_id)
    with pytest.raises(MlflowException) as error:
        client.get_webhook(created.webhook_id)
    assert error.value.error_code == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.parametrize("status", [302, 307, 404, 500])
def test_the_test_call_judges_an_answer_as_a_delivery_does(
    server, client, receiver, model_name, status
):
    """A redirect is not followed and is no success, for `test` as for a real delivery."""
    webhook = _create(server, receiver, model_name, ["model_version.created"])
    receiver.answer(*[(status, {"Location": "http://127.0.0.1:9/elsewhere"})] * 4)
    result = client.test_webhook(webhook["webhook_id"])
    assert not result.success and result.response_status == status
    assert f"HTTP {status}" in result.error_message
    client.create_registered_model(model_name)
    client.create_model_version(model_name, SOURCE)
    delivery = _settled(server, webhook["webhook_id"], 1)[0]
    assert delivery["status"] == "failed"
    assert {attempt["response_status"] for attempt in delivery["attempts"]} == {status}


def test_secret_is_write_only_and_generated_once(server, receiver):
    created = requests.post(
        server.url + "/api/2.0/mlflow/webhooks",
        json={
            "name": "gen",
            "url": receiver.url,
            "events": [{"entity": "MODEL_VERSION", "action": "CREATED"}],
        },
    ).json()
    assert created["secret"].startswith("whsec_")
    assert len(__import__("base64").b64decode(created["secret"][6:])) == 32
    webhook_id = created["webhook"]["webhook_id"]
    fetched = requests.get(f"{server.url}/api/2.0/mlflow/webhooks/{webhook_id}").json()
    assert "secret" not in json.dumps(fetched)
    listed = requests.get(server.url + "/api/2.0/mlflow/webhooks").json()
    assert created["secret"] not in json.dumps(listed)


@pytest.mark.parametrize(
    "body, says",
    [
        ({"url": "ftp://example.com/x"}, "scheme"),
        ({"url": "http://user:pw@127.0.0.1/x"}, "user names"),
        ({"url": "http://169.254.169.254/latest"}, "not public"),
        # Loopback is allowed on this server, but none of these is loopback or global.
        ({"url": "http://[::127.0.0.1]/x"}, "not public"),
        ({"url": "http://[::7f00:1]/x"}, "not public"),
        ({"url": "http://[fec0::1]/x"}, "not public"),
        ({"url": "http://[64:ff9b::a9fe:a9fe]/x"}, "not public"),
        ({"url": "http://[2002:a9fe:a9fe::1]/x"}, "not public"),
        ({"url": "http://127.0.0.1/a b"}, "Invalid webhook URL"),
        ({"url": "http://127.0.0.1/x\r\nX-Injected: 1"}, "Invalid webhook URL"),
        ({"url": "http://127.0.0.1/\tx"}, "Invalid webhook URL"),
        ({"url": "http://127.0.0.1/\u00e9"}, "Invalid webhook URL"),
        ({"events": []}, "non-empty"),
        ({"events": [{"entity": "REGISTERED_MODEL", "action": "EXPLODED"}]}, "EXPLODED".lower()),
        ({"secret": "whsec_short"}, "secret"),
    ],
)
def test_bad_webhooks_are_refused(server, receiver, body, says):
    request = {
        "name": "bad",
        "url": receiver.url,
        "events": [{"entity": "MODEL_VERSION", "action": "CREATED"}],
        **body,
    }
    response = requests.post(server.url + "/api/2.0/mlflow/webhooks", json=request)
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert says in response.json()["message"]
    listed = requests.get(server.url + "/api/2.0/mlflow/webhooks").json().get("webhooks", [])
    assert "bad" not in [w["name"] for w in listed]


def test_several_dispatchers_never_double_send(server, client, receiver, model_name, tmp_path):
    """Two extra `podium worker` processes race the server's own dispatcher for 40 events."""
    import subprocess
    import sys

    env = {**server.env}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "registry.cli", "worker"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        _create(server, receiver, model_name, ["model_version_tag.set"])
        client.create_registered_model(model_name)
        client.create_model_version(model_name, SOURCE)
        for i in range(40):
            client.set_model_version_tag(model_name, "1", "k", str(i))
        arrivals = receiver.wait_for(40)
        time.sleep(0.5)
        ids = [headers["webhook-id"] for headers, _, _ in receiver.wait_for(40)]
        assert len(ids) == len(set(ids)) == 40 == len(arrivals)
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=30)


def test_nothing_committed_is_lost_when_every_process_is_killed(tmp_path, receiver):
    """SIGKILL the server (master, workers, dispatcher) right after commits; restart; all arrive."""
    with fresh_database(tmp_path) as url:
        # First life: the dispatcher is off, so every committed delivery is still pending when
        # everything is killed.
        first = LiveServer(url, tmp_path, env={**SERVER_ENV, "PODIUM_DISPATCHER": "false"}).start()
        client = MlflowClient(tracking_uri=first.url, registry_uri=first.url)
        client.create_webhook(
            name="k", url=receiver.url, events=["model_version.created"], secret=SECRET
        )
        client.create_registered_model("killed")
        for _ in range(5):
            client.create_model_version("killed", SOURCE)
        first.kill()
        assert receiver.received == []

        second = LiveServer(url, tmp_path, env=SERVER_ENV).start()
        try:
            arrivals = receiver.wait_for(5)
            versions = sorted(json.loads(body)["data"]["version"] for _, body, _ in arrivals)
            assert versions == ["1", "2", "3", "4", "5"]
        finally:
            second.stop()


def test_policy_plugin_vetoes_unvalidated_promotions(tmp_path, receiver):
    """The documented example plug-in, loaded with PODIUM_PLUGINS, through the MLflow client."""
    env = {
        **SERVER_ENV,
        "PODIUM_PLUGINS": "production_policy",
        "PYTHONPATH": os.pathsep.join([str(EXAMPLES), os.environ.get("PYTHONPATH", "")]),
    }
    with fresh_database(tmp_path) as url:
        server = LiveServer(url, tmp_path, env=env).start()
        try:
            client = MlflowClient(tracking_uri=server.url, registry_uri=server.url)
            client.create_webhook(
                name="p", url=receiver.url, secret=SECRET, events=["model_version_alias.created"]
            )
            client.create_registered_model("guarded")
            client.create_model_version("guarded", SOURCE)
            with pytest.raises(MlflowException) as error:
                client.transition_model_version_stage("guarded", "1", "Production")
            assert error.value.error_code == "PERMISSION_DENIED"
            assert "validated=true" in error.value.message
            assert client.get_model_version("guarded", "1").current_stage == "None"
            history = requests.get(
                server.url + "/api/2.0/podium/registered-models/history", params={"name": "guarded"}
            ).json()["history"]
            assert history == []

            client.set_model_version_tag("guarded", "1", "validated", "true")
            moved = client.transition_model_version_stage("guarded", "1", "Production")
            assert moved.current_stage == "Production"
        finally:
            server.stop()
